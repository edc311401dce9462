"""Article body → safe, absolute, boilerplate-free HTML and a plain-text summary (pure).

Two passes, each doing what it is best at. lxml removes whole subtrees (boilerplate matched by
the configured selectors, and ``<script>``/``<style>``-like elements *with* their content, which
bleach's ``strip=True`` would leave behind as text) and makes URLs absolute. bleach then applies
the allowlist and is the last word on what survives. The only bleach, lxml and Markdown import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import bleach
import lxml.html
from bleach.html5lib_shim import Filter
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from markdown_it import MarkdownIt

from .chars import NOT_IN_FEEDS, feed_safe
from .models import BodyFormat
from .urls import resolve, to_uri

# Removed together with everything inside them.
_DROP = frozenset(
    "script style template iframe frame frameset object embed applet param noembed noframes svg "
    "math canvas input button select textarea option optgroup datalist keygen output meta link "
    "base title head xml".split()
)
# Tag removed, content kept: the fallback a reader without JavaScript should show.
_UNWRAP = frozenset(["noscript", "form", "label", "fieldset", "legend", "font", "body", "html"])
# The allowlist: what the W3C Feed Validator treats as safe and readers render well.
ALLOWED_TAGS = frozenset(
    "a abbr acronym address article aside audio b bdi big blockquote br caption center cite code "
    "col colgroup dd del details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr i img ins kbd li main mark nav ol p picture pre q rp rt ruby s samp section small "
    "source span strike strong sub summary sup table tbody td tfoot th thead time tr track tt u "
    "ul var video wbr".split()
)
_GLOBAL_ATTRS = frozenset(["title", "lang", "dir"])
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
}
_URL_ATTRS = ("href", "src", "poster", "cite")
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_RASTER_DATA = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp|avif|bmp);base64,[a-z0-9+/=]*$")
_URL_NOISE = re.compile(
    r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]"
)
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_BLOCKS = frozenset(
    "p div br li dd dt h1 h2 h3 h4 h5 h6 tr td th blockquote pre figure figcaption section "
    "article header footer table ul ol dl hr".split()
)
_EMPTY_CONTAINERS = frozenset(
    "div span p section article aside header footer center figure a b i strong em small".split()
)
_SPACE = re.compile(r"\s+")
_NO_WHITESPACE_COLLAPSE = frozenset(["pre", "textarea", "code"])


@dataclass(frozen=True)
class Rules:
    """Compiled boilerplate rules: each selector as an XPath expression."""

    selectors: tuple[str, ...]
    xpaths: tuple[etree.XPath, ...]


def compile_rules(selectors: tuple[str, ...]) -> Rules:
    """Compile CSS selectors; raises ValueError naming the first one that is not valid."""
    xpaths = []
    for index, selector in enumerate(selectors):
        try:
            xpaths.append(etree.XPath(GenericTranslator().css_to_xpath(selector)))
        except (SelectorError, etree.XPathSyntaxError) as exc:
            raise ValueError(
                f"clean.remove[{index}]: not a CSS selector ({exc}), got {selector!r}"
            ) from None
    return Rules(tuple(selectors), tuple(xpaths))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def to_html(body: str, body_format: BodyFormat) -> str:
    """Markdown bodies are rendered; HTML bodies are left alone (no Markdown pass over them)."""
    return _markdown().render(body) if body_format == "markdown" else body


def clean_html(html: str, base_url: str, rules: Rules) -> str:
    """Sanitized HTML: boilerplate and executable content removed, every URL absolute."""
    body = _parse(html)
    if body is None:
        return ""
    _prune(body, rules)
    _absolutize(body, base_url)
    _tidy_whitespace(body)
    serialized = (body.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode", method="html") for child in body
    )
    cleaned: str = _cleaner().clean(serialized)
    return cleaned.strip()


def _parse(html: str) -> lxml.html.HtmlElement | None:
    html = _XML_DECL.sub("", _CHAR_REF.sub(_drop_bad_ref, feed_safe(html)))
    if not html.strip():
        return None
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    return root.find("body")


def _drop_bad_ref(match: re.Match[str]) -> str:
    """A character reference to a character no feed may carry is dropped before parsing."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code == 0 or code > 0x10FFFF or NOT_IN_FEEDS.match(chr(code)):
        return ""
    return match.group(0)


def _prune(body: lxml.html.HtmlElement, rules: Rules) -> None:
    for xpath in rules.xpaths:
        matches = xpath(body)
        for element in matches if isinstance(matches, list) else ():
            if isinstance(element, lxml.html.HtmlElement) and element is not body:
                element.drop_tree()
    for element in list(body.iter(etree.Comment, etree.ProcessingInstruction)):
        element.drop_tree()
    for element in list(body.iterdescendants()):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if ":" in tag or tag in _DROP:
            element.drop_tree()
        elif tag in _UNWRAP:
            element.drop_tag()
    # Containers emptied by the removals above would leave blank gaps in a reader.
    for element in reversed(list(body.iterdescendants())):
        if (
            element.tag in _EMPTY_CONTAINERS
            and len(element) == 0
            and not (element.text or "").strip()
        ):
            element.drop_tree()


def _absolutize(body: lxml.html.HtmlElement, base_url: str) -> None:
    for element in body.iter("img", "source"):
        src = element.get("src", "")
        if not src or src.startswith("data:"):
            lazy = next((element.get(a) for a in _LAZY_SRC if element.get(a)), None)
            if lazy:
                element.set("src", lazy)
    for element in body.iter():
        for attr in _URL_ATTRS:
            value = element.get(attr)
            if value is not None:
                element.set(attr, _absolute(base_url, value))
        srcset = element.get("srcset")
        if srcset is not None:
            element.set("srcset", _absolute_srcset(base_url, srcset))


def _absolute(base_url: str, value: str) -> str:
    if _URL_NOISE.sub("", value).lower().startswith("data:"):
        return value
    return to_uri(resolve(base_url, value))


def _absolute_srcset(base_url: str, srcset: str) -> str:
    candidates = []
    for candidate in srcset.split(","):
        parts = candidate.split()
        if parts:
            candidates.append(" ".join([_absolute(base_url, parts[0]), *parts[1:]]))
    return ", ".join(candidates)


def _tidy_whitespace(body: lxml.html.HtmlElement) -> None:
    """Runs of blank lines left by removed boilerplate become one newline (outside <pre>)."""
    for element in body.iter():
        if element.tag in _NO_WHITESPACE_COLLAPSE:
            continue
        inside_pre = any(a.tag in _NO_WHITESPACE_COLLAPSE for a in element.iterancestors())
        if inside_pre:
            continue
        if element.text is not None and not element.text.strip() and "\n" in element.text:
            element.text = "\n"
        if element.tail is not None and not element.tail.strip() and "\n" in element.tail:
            element.tail = "\n"
    if body.text is not None and not body.text.strip():
        body.text = None


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _GLOBAL_ATTRS and name not in ALLOWED_ATTRS.get(tag, ()):
        return False
    if name == "srcset":
        return all(_safe_url(c.split()[0]) for c in value.split(",") if c.split())
    if name in _URL_ATTRS:
        compact = _URL_NOISE.sub("", value).lower()
        if compact.startswith("data:"):
            return tag == "img" and name == "src" and bool(_RASTER_DATA.match(compact))
        return _safe_url(value)
    return True


def _safe_url(value: str) -> bool:
    compact = _URL_NOISE.sub("", value).lower()
    scheme = re.match(r"^[a-z][a-z0-9+.\-]*:", compact)
    return scheme is None or scheme.group(0) in _SAFE_SCHEMES


class _DropEmpty(Filter):  # type: ignore[misc]
    """Drops containers left empty after sanitizing (html5lib re-nests misplaced tags, e.g. an
    ``<a>`` split around a ``<p>``), so cleaning the output again changes nothing."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        pending: list[list[dict[str, Any]]] = []  # open empty-so-far containers, with whitespace
        for token in super().__iter__():
            kind = token["type"]
            if kind == "StartTag" and token["name"] in _EMPTY_CONTAINERS:
                pending.append([token])
            elif pending and kind == "SpaceCharacters":
                pending[-1].append(token)
            elif pending and kind == "EndTag" and token["name"] == pending[-1][0]["name"]:
                pending.pop()
            else:
                for held in pending:
                    yield from held
                pending.clear()
                yield token
        for held in pending:
            yield from held


@lru_cache(maxsize=1)
def _cleaner() -> bleach.Cleaner:
    attributes: Callable[[str, str, str], bool] = _allow_attribute
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=attributes,
        protocols=frozenset(["http", "https", "mailto", "data"]),
        strip=True,
        strip_comments=True,
        filters=[_DropEmpty],
    )


def plain_text(html: str) -> str:
    """The readable text of an HTML fragment, whitespace collapsed."""
    body = _parse(html)
    if body is None:
        return ""
    for element in list(body.iter(etree.Comment, etree.ProcessingInstruction)):
        element.drop_tree()
    for element in list(body.iterdescendants()):
        if isinstance(element.tag, str) and element.tag.lower() in _DROP:
            element.drop_tree()
        elif element.tag in _BLOCKS:
            element.tail = " " + (element.tail or "")
    return _SPACE.sub(" ", body.text_content()).strip()


def summarize(text: str, length: int) -> str:
    """At most ``length`` characters, cut at a word boundary where the text has words (not CJK),
    never inside a character sequence that renders as one (combining marks, joiners)."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= length:
        return text
    cut = length - 1  # room for the ellipsis
    space = text.rfind(" ", 0, cut + 1)
    if space >= length * 0.6:
        cut = space
    while cut > 0 and (_joins(text[cut]) or _joins(text[cut - 1], before=True)):
        cut -= 1
    return text[:cut].rstrip(" ,.;:，。；：、") + "…"


def _joins(char: str, before: bool = False) -> bool:
    if before:
        return char in "\u200d"  # a zero-width joiner binds to what follows
    return (
        unicodedata.combining(char) > 0
        or unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in "\u200d\ufe0e\ufe0f"
    )
