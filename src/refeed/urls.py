"""URL helpers shared by the stages (pure): resolution and IRI → URI conversion."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

# Characters left as they are when percent-encoding: RFC 3986 reserved + unreserved + "%".
_SAFE = "!#$%&'()*+,/:;=?@[]~"
# A relative path with no scheme, no leading "/" or ".", no query or fragment, no whitespace.
_PLAIN_RELATIVE = re.compile(r"(?![A-Za-z][A-Za-z0-9+.\-]*:)[^/.?#;\s][^?#;\s]*\Z")
_ALREADY_URI = re.compile(r"[A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]*\Z")


def to_uri(iri: str) -> str:
    """Percent-encode what a URI may not carry (non-ASCII, spaces); IDNA-encode the host."""
    if _ALREADY_URI.match(iri):
        return iri  # nothing to encode: skip the (comparatively slow) split and re-join
    parts = urlsplit(iri.strip())
    netloc = parts.netloc
    if netloc and not netloc.isascii():
        userinfo, _, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(host, safe="")
        netloc = (f"{userinfo}@" if userinfo else "") + host + colon + port
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_SAFE),
            quote(parts.query, safe=_SAFE),
            quote(parts.fragment, safe=_SAFE),
        )
    )


def is_http(url: str) -> bool:
    """An absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def resolve(base: str, ref: str) -> str:
    """``ref`` made absolute against ``base``; returns ``ref`` unchanged if it cannot be parsed."""
    if _is_plain_absolute(ref):
        return ref  # urljoin would hand it back as it is
    plain = _PLAIN_RELATIVE.match(ref) and "/." not in ref and "//" not in ref
    if plain and base.endswith("/") and "?" not in base and "#" not in base:
        return base + ref  # what urljoin gives for a plain relative path, without its cost
    try:
        return urljoin(base, ref.strip())
    except ValueError:
        return ref


def _is_plain_absolute(ref: str) -> bool:
    # urljoin re-serializes absolute URLs and drops empty parts ("x?#y", "x;", "x?"): not plain.
    if not ref.startswith(("https://", "http://")) or not _ALREADY_URI.match(ref):
        return False
    return ";" not in ref and "?#" not in ref and not ref.endswith(("?", "#"))


def join_path(base: str, path: str) -> str:
    """A public URL for ``path`` under the folder URL ``base`` (which ends in ``/``)."""
    return to_uri(base + quote(path, safe="/"))
