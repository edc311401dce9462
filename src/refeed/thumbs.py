"""Enclosure facts for thumbnails: the pluggable lookup and its offline default, magic bytes,
and the check a mirrored copy must pass (the only imagesize import).

The default guesses the MIME type from the URL's file extension and reports length 0, which
RSS and Atom allow for an unknown size. A lookup is any ``Callable[[str], Thumbnail]``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from posixpath import splitext
from urllib.parse import urlsplit

from .models import Thumbnail

ThumbLookup = Callable[[str], Thumbnail]

# A fixed table, not the mimetypes module: that one reads /etc/mime.types, which differs
# between machines, and output must not.
IMAGE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".png": "image/png",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml",
    ".bmp": "image/bmp", ".ico": "image/x-icon", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".heic": "image/heic", ".jxl": "image/jxl",
}  # fmt: skip
DEFAULT_TYPE = "image/jpeg"  # thumbnails are photos far more often than anything else


def guess_type(url: str) -> str:
    """The MIME type the URL's path suggests (the query string never takes part)."""
    if "[" in url or "]" in url or " " in url or not url.isprintable():  # urlsplit checks these
        try:
            path = urlsplit(url).path
        except ValueError:
            return DEFAULT_TYPE
    else:  # urlsplit's path, without its cost for every feed item of every build
        path = url.partition("#")[0].partition("?")[0]
        path = path[netloc.end() :] if (netloc := _NETLOC.match(path)) else path
    return IMAGE_TYPES.get(splitext(path)[1].lower(), DEFAULT_TYPE)


_NETLOC = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/]*")  # scheme and host, as urlsplit


def sniff_type(head: bytes) -> str | None:
    """The image type the first bytes of a file announce (magic numbers), if any."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "image/x-icon"
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "image/svg+xml"
    return None


EXTENSIONS = {kind: ext for ext, kind in reversed(list(IMAGE_TYPES.items()))}
# What mirror mode publishes beside the feeds: raster formats browsers show and never run.
# SVG is refused (it can carry script, and it would share an origin with index.html), and so
# are formats browsers do not all show (bmp, tiff, heic, ico).
RASTER_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif")


def raster(data: bytes) -> tuple[str, int, int]:
    """(MIME type, width, height) of a raster image, from its magic bytes and its header;
    raises ValueError saying why ``data`` is not one."""
    kind = sniff_type(data[:32])
    if kind not in RASTER_TYPES:
        what = f"{kind} is" if kind else "its first bytes match no image format, so it is"
        raise ValueError(f"{what} not a raster image (png, jpeg, gif, webp or avif)")
    # imagesize (pure Python, header only) rather than a hand-written parser: five formats,
    # AVIF's box tree among them. It is only ever given bytes: handed a str, it fetches URLs.
    import imagesize

    try:
        width, height = imagesize.get(io.BytesIO(data), exif_rotation=False)
    except Exception as exc:  # hostile bytes: any failure to read the header is a refusal
        raise ValueError(f"{kind} header unreadable: {type(exc).__name__}") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"{kind} header gives no dimensions")
    return kind, width, height


def guess(url: str) -> Thumbnail:
    """The offline lookup: type from the URL, length unknown (0)."""
    return Thumbnail(url=url, length=0, type=guess_type(url))
