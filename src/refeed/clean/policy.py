"""What a cleaned body may hold, whichever engine sanitizes it (pure: no parser, no engine).

The allowlist of tags, attributes and URL schemes; which elements go with their content and
which only lose their tag; how URLs become absolute; which embedded players become links; which
classes survive. The tree pass (:mod:`.tree`) applies these decisions to the parsed body and each
engine's sanitizer enforces them again as the last word.
"""

from __future__ import annotations

import re
from html import unescape as html_unescape
from urllib.parse import parse_qs, urlsplit

from ..urls import resolve, to_uri

# Removed together with everything inside them.
DROP = frozenset(
    "script style template iframe frame frameset object embed applet param noembed noframes "
    "canvas input button select textarea option optgroup datalist keygen output meta link "
    "base title head xml".split()
)
# Foreign content: removed, except the HTML a browser renders inside it (see FOREIGN_HTML_HOSTS).
FOREIGN = frozenset(["svg", "math"])
# Where the HTML parser puts HTML elements inside foreign content and browsers render them: the
# MathML text integration points and SVG's foreignObject. (SVG desc/title are not rendered.)
FOREIGN_HTML_HOSTS = frozenset(["mi", "mo", "mn", "ms", "mtext", "foreignobject"])
# Tag removed, content kept: the fallback a reader without JavaScript should show.
UNWRAP = frozenset(["noscript", "form", "label", "fieldset", "legend", "font", "body", "html"])
# The allowlist: what the W3C Feed Validator treats as safe and readers render well.
ALLOWED_TAGS = frozenset(
    "a abbr acronym address article aside audio b bdi big blockquote br caption center cite code "
    "col colgroup dd del details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr i img ins kbd li main mark nav ol p picture pre q rp rt ruby s samp section small "
    "source span strike strong sub summary sup table tbody td tfoot th thead time tr track tt u "
    "ul var video wbr".split()
)
GLOBAL_ATTRS = frozenset(["title", "lang", "dir"])
ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset(["href", "hreflang"]),
    "img": frozenset(["src", "srcset", "sizes", "alt", "width", "height", "referrerpolicy"]),
    "source": frozenset(["src", "srcset", "sizes", "media", "type"]),
    "video": frozenset(["src", "poster", "width", "height", "loop", "muted", "preload"]),
    "audio": frozenset(["src", "loop", "muted", "preload"]),
    "track": frozenset(["src", "kind", "srclang", "label"]),
    "td": frozenset(["colspan", "rowspan", "headers", "align"]),
    "th": frozenset(["colspan", "rowspan", "headers", "scope", "align"]),
    "col": frozenset(["span"]),
    "colgroup": frozenset(["span"]),
    "ol": frozenset(["start", "reversed", "type"]),
    "li": frozenset(["value"]),
    "blockquote": frozenset(["cite"]),
    "q": frozenset(["cite"]),
    "del": frozenset(["cite", "datetime"]),
    "ins": frozenset(["cite", "datetime"]),
    "time": frozenset(["datetime"]),
    "details": frozenset(["open"]),
    "code": frozenset(["class"]),  # language-* only (see code_classes)
}
URL_ATTRS = ("href", "src", "poster", "cite")
URL_SCHEMES = frozenset(["http", "https", "mailto", "data"])  # data: raster images only
LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")
EMPTY_CONTAINERS = frozenset(
    "div span p section article aside header footer center figure table "
    "a b i strong em small".split()
)
VERBATIM = frozenset(["pre", "textarea", "code"])  # whitespace inside is content
BLOCKS = frozenset(
    "p div br li dd dt h1 h2 h3 h4 h5 h6 tr td th blockquote pre figure figcaption section "
    "article header footer table ul ol dl hr".split()
)
MAX_DEPTH = 512  # as deep as browsers build; beyond it HTML5 tree building turns quadratic
MAX_ELEMENTS = 50_000  # far above any article; bounds the work a hostile body can cause

_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_RASTER_DATA = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp|avif|bmp);base64,[a-z0-9+/=]*$")
_URL_NOISE = re.compile(
    r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]"
)
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#.\-]{1,40}$")


def allow_attribute(tag: str, name: str, value: str) -> bool:
    """Whether ``name="value"`` may stay on ``tag`` (``value`` as a browser reads it)."""
    if name not in GLOBAL_ATTRS and name not in ALLOWED_ATTRS.get(tag, ()):
        return False
    if name == "class":
        return code_classes(value) == value
    if name == "srcset":
        return all(_safe_url(c.split()[0]) for c in value.split(",") if c.split())
    if name in URL_ATTRS:
        compact = _URL_NOISE.sub("", value).lower()
        if compact.startswith("data:"):
            return tag == "img" and name == "src" and bool(_RASTER_DATA.match(compact))
        return _safe_url(value)
    return True


def allow_written_attribute(tag: str, name: str, value: str) -> bool:
    """:func:`allow_attribute` for a value as written in markup (entities not yet resolved)."""
    return allow_attribute(tag, name, html_unescape(value))


def _safe_url(value: str) -> bool:
    compact = _URL_NOISE.sub("", value).lower()
    scheme = re.match(r"^[a-z][a-z0-9+.\-]*:", compact)
    return scheme is None or scheme.group(0) in _SAFE_SCHEMES


def code_classes(value: str) -> str | None:
    """The ``language-*`` classes of a ``<code>`` (syntax highlighters need them), or None."""
    kept = [token for token in value.split() if _LANGUAGE_CLASS.match(token)]
    return " ".join(dict.fromkeys(kept)) or None


def clean_attributes(tag: str, attrs: dict[str, str | None], base_url: str) -> dict[str, str]:
    """The attributes ``tag`` keeps: lazy-loaded sources made real, URLs absolute, the rest
    judged by :func:`allow_attribute` (values as a browser reads them)."""
    if tag in ("img", "source"):
        src = attrs.get("src") or ""
        if not src or src.startswith("data:"):
            lazy = next((attrs[a] for a in LAZY_SRC if attrs.get(a)), None)
            if lazy:
                attrs = {**attrs, "src": lazy}
    kept = {}
    for name, raw in attrs.items():
        value = raw or ""
        if name in URL_ATTRS:
            value = absolute(base_url, value)
        elif name == "srcset":
            value = absolute_srcset(base_url, value)
        elif name == "class" and not (tag == "code" and (value := code_classes(value) or "")):
            continue
        if allow_attribute(tag, name, value):
            kept[name] = value
    return kept


def absolute(base_url: str, value: str) -> str:
    if _URL_NOISE.sub("", value).lower().startswith("data:"):
        return value
    return to_uri(resolve(base_url, value))


def absolute_srcset(base_url: str, srcset: str) -> str:
    candidates = []
    for candidate in srcset.split(","):
        parts = candidate.split()
        if parts:
            candidates.append(" ".join([absolute(base_url, parts[0]), *parts[1:]]))
    return ", ".join(candidates)


# ------------------------------------------------------------------ embedded players → links

# host (without "www.") → (path pattern with the id as group 1, page URL, link text without a title)
_PLAYERS: dict[str, tuple[re.Pattern[str], str, str]] = {
    "youtube.com": (re.compile(r"^/(?:embed|v)/([\w-]{6,})"), "https://www.youtube.com/watch?v={}", "YouTube video"),
    "youtube-nocookie.com": (re.compile(r"^/embed/([\w-]{6,})"), "https://www.youtube.com/watch?v={}", "YouTube video"),
    "player.vimeo.com": (re.compile(r"^/video/(\d+)"), "https://vimeo.com/{}", "Vimeo video"),
    "dailymotion.com": (re.compile(r"^/embed/video/(\w+)"), "https://www.dailymotion.com/video/{}", "Dailymotion video"),
    "player.youku.com": (re.compile(r"^/embed/([\w=]+)"), "https://v.youku.com/v_show/id_{}.html", "Youku video"),
    "open.spotify.com": (re.compile(r"^/embed/((?:track|album|episode|show|playlist)/\w+)"), "https://open.spotify.com/{}", "Spotify audio"),
}  # fmt: skip


def embed_link(src: str, title: str | None) -> tuple[str, str] | None:
    """(page URL, link text) for a removed video/audio player, or None when it is not one.

    A reader cannot run an embedded player, but it can follow a link to the video's page.
    """
    try:
        parts = urlsplit(src.strip() if src.startswith(("http:", "https:")) else "https:" + src)
    except ValueError:
        return None
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    page: str | None = None
    label = ""
    query = parse_qs(parts.query)
    if host == "player.bilibili.com":
        label = "Bilibili video"
        if bvid := query.get("bvid", [""])[0]:
            page = f"https://www.bilibili.com/video/{bvid}"
        elif (aid := query.get("aid", [""])[0]).isdigit():
            page = f"https://www.bilibili.com/video/av{aid}"
    elif host == "v.qq.com" and (vid := query.get("vid", [""])[0]).isalnum():
        page, label = f"https://v.qq.com/x/page/{vid}.html", "Tencent video"
    elif player := _PLAYERS.get(host):
        pattern, template, label = player
        if match := pattern.match(parts.path):
            page = template.format(match.group(1))
    if page is None:
        return None
    text = " ".join((title or "").split())
    return page, text or label
