"""Article body → safe, absolute, boilerplate-free HTML and a plain-text summary (pure).

One HTML5 parse (bleach's html5lib, building an lxml tree), then: whole subtrees removed
(boilerplate matched by the configured CSS selectors, and ``<script>``/``<style>``-like elements
*with* their content, which bleach's ``strip=True`` alone would leave behind as text), URLs made
absolute, and finally bleach's allowlist filter and serializer, which have the last word on
what survives. The only bleach, cssselect and Markdown import.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any

import bleach
import lxml.html
from bleach import html5lib_shim
from bleach._vendor.html5lib import getTreeBuilder
from bleach._vendor.html5lib.constants import DataLossWarning
from bleach.html5lib_shim import Filter
from bleach.sanitizer import BleachSanitizerFilter
from cssselect import GenericTranslator, SelectorError
from lxml import etree

from .chars import NOT_IN_FEEDS, feed_safe
from .models import BodyFormat
from .urls import resolve, to_uri

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

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


@lru_cache(maxsize=8)
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
    from markdown_it import MarkdownIt  # only Markdown bodies need it

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def to_html(body: str, body_format: BodyFormat) -> str:
    """Markdown bodies are rendered; HTML bodies are left alone (no Markdown pass over them)."""
    return _markdown().render(body) if body_format == "markdown" else body


def clean_html(html: str, base_url: str, rules: Rules) -> str:
    """Sanitized HTML: boilerplate and executable content removed, every URL absolute."""
    html = _XML_DECL.sub("", _CHAR_REF.sub(_drop_bad_ref, feed_safe(html)))
    if not html.strip():
        return ""
    cleaned: str = _cleaner().clean_fragment(html, base_url, rules)
    return cleaned.strip()


def _drop_bad_ref(match: re.Match[str]) -> str:
    """A character reference to a character no feed may carry is dropped before parsing."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code == 0 or code > 0x10FFFF or NOT_IN_FEEDS.match(chr(code)):
        return ""
    return match.group(0)


def _prune(root: etree._Element, rules: Rules) -> None:
    for xpath in rules.xpaths:
        matches = xpath(root)
        for element in matches if isinstance(matches, list) else ():
            if isinstance(element, etree._Element) and element is not root:
                _drop_tree(element)
    for element in list(root.iterdescendants()):
        tag = element.tag if isinstance(element.tag, str) else ""
        # Comments, processing instructions and foreign (SVG/MathML) content go whole.
        if not tag or tag.startswith("{") or tag.lower() in _DROP:
            _drop_tree(element)
        elif tag.lower() in _UNWRAP:
            _drop_tag(element)
    # Containers emptied by the removals above would leave blank gaps in a reader.
    for element in reversed(list(root.iterdescendants())):
        if (
            element.tag in _EMPTY_CONTAINERS
            and len(element) == 0
            and not (element.text or "").strip()
        ):
            _drop_tree(element)


def _drop_tree(element: etree._Element) -> None:
    """Remove ``element`` with everything inside it; the text after it stays."""
    parent = element.getparent()
    if parent is None:
        return
    _keep_text(element, element.tail)
    parent.remove(element)


def _drop_tag(element: etree._Element) -> None:
    """Remove ``element`` but keep its text and children where it stood."""
    parent = element.getparent()
    if parent is None:
        return
    _keep_text(element, element.text)
    index = parent.index(element)
    children = list(element)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + (element.tail or "")
    else:
        _keep_text(element, element.tail)
    parent.remove(element)


def _keep_text(element: etree._Element, text: str | None) -> None:
    """Append ``text`` to whatever precedes ``element`` (its previous sibling or its parent)."""
    if not text:
        return
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = element.getparent()
        assert parent is not None
        parent.text = (parent.text or "") + text


def _absolutize(root: etree._Element, base_url: str) -> None:
    for element in root.iter("img", "source"):
        src = element.get("src", "")
        if not src or src.startswith("data:"):
            lazy = next((element.get(a) for a in _LAZY_SRC if element.get(a)), None)
            if lazy:
                element.set("src", lazy)
    for element in root.iter():
        for attr in _URL_ATTRS:
            value = element.get(attr)
            if value is not None:
                element.set(attr, _absolute(base_url, value))
        srcset = element.get("srcset")
        if srcset is not None:
            element.set("srcset", _absolute_srcset(base_url, srcset))


def _absolute(base_url: str, value: str) -> str:
    value = html_unescape(value)  # the parser keeps entities as written (bleach's choice)
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


def _tidy_whitespace(root: etree._Element) -> None:
    """Runs of blank lines left by removed boilerplate become one newline (outside <pre>)."""
    inside_pre = 0  # a counter, not an ancestor search: deep nesting must stay linear
    for event, element in etree.iterwalk(root, events=("start", "end")):
        verbatim = element.tag in _NO_WHITESPACE_COLLAPSE
        if event == "end" or verbatim:
            inside_pre += (1 if event == "start" else -1) if verbatim else 0
            continue
        if inside_pre:
            continue
        if element.text is not None and not element.text.strip() and "\n" in element.text:
            element.text = "\n"
        if element.tail is not None and not element.tail.strip() and "\n" in element.tail:
            element.tail = "\n"
    if root.text is not None and not root.text.strip():
        root.text = None


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _GLOBAL_ATTRS and name not in ALLOWED_ATTRS.get(tag, ()):
        return False
    value = html_unescape(value)  # entities are kept as written; judge what they stand for
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


class _Sanitizer(bleach.Cleaner):  # type: ignore[misc]
    """bleach's Cleaner with one HTML5 parse shared by every step.

    The fragment is parsed once, the way browsers parse it, into an lxml tree (so CSS selectors
    apply); boilerplate, executable elements and URLs are handled on that tree; then bleach's
    own sanitizer filter and serializer finish it. Two different parsers would disagree on
    malformed nesting, and cleaning would stop being idempotent.
    """

    def __init__(self) -> None:
        super().__init__(
            tags=ALLOWED_TAGS,
            attributes=_allow_attribute,
            protocols=frozenset(["http", "https", "mailto", "data"]),
            strip=True,
            strip_comments=True,
            filters=[_DropEmpty],
        )
        self.parser = html5lib_shim.BleachHTMLParser(
            tags=None,  # parse every tag as a tag; the sanitizer filter decides what stays
            strip=True,
            consume_entities=False,
            namespaceHTMLElements=False,
            tree=_depth_limited(getTreeBuilder("lxml")),
        )
        self.walker = html5lib_shim.getTreeWalker("lxml")

    def clean_fragment(self, html: str, base_url: str, rules: Rules) -> str:
        with warnings.catch_warnings():
            # Names and comments XML cannot hold are coerced by the tree builder; that is fine.
            warnings.simplefilter("ignore", DataLossWarning)
            fragment = self.parser.parseFragment(html)
        root = etree.Element("div")
        for node in fragment:
            if isinstance(node, str):
                _append_text(root, node)
            else:
                root.append(node)
        _prune(root, rules)
        _absolutize(root, base_url)
        _tidy_whitespace(root)
        filtered = BleachSanitizerFilter(
            # The whole wrapper is walked: html5lib's lxml walker mis-walks a list of fragment
            # nodes that have a parent (it climbs into the parent and closes it).
            source=self.walker(root),
            allowed_tags=self.tags,
            attributes=self.attributes,
            strip_disallowed_tags=True,
            strip_html_comments=True,
            css_sanitizer=None,
            allowed_protocols=self.protocols,
        )
        for filter_class in self.filters:
            filtered = filter_class(source=filtered)
        result: str = self.serializer.render(filtered)
        if result.startswith("<div>") and result.endswith("</div>"):
            result = result[len("<div>") : -len("</div>")]
        return result


MAX_DEPTH = 512  # as deep as browsers build; beyond it HTML5 tree building turns quadratic
MAX_ELEMENTS = 50_000  # far above any article; bounds the work a hostile body can cause


def _depth_limited(builder: type) -> type:
    """The tree builder, refusing documents nested deeper than :data:`MAX_DEPTH` or holding
    more than :data:`MAX_ELEMENTS` elements (misnested formatting tags multiply elements)."""

    class Limited(builder):  # type: ignore[misc]
        created = 0

        def _count(self) -> None:
            self.created += 1
            if len(self.openElements) > MAX_DEPTH:
                raise ValueError(f"HTML nested deeper than {MAX_DEPTH} levels")
            if self.created > MAX_ELEMENTS:
                raise ValueError(f"HTML with more than {MAX_ELEMENTS:,} elements")

        def insertElementNormal(self, token: dict[str, Any]) -> Any:
            self._count()
            return super().insertElementNormal(token)

        def insertElementTable(self, token: dict[str, Any]) -> Any:
            self._count()
            return super().insertElementTable(token)

        def reset(self) -> None:
            super().reset()
            self.created = 0

    return Limited


def _append_text(root: etree._Element, text: str) -> None:
    if len(root):
        root[-1].tail = (root[-1].tail or "") + text
    else:
        root.text = (root.text or "") + text


@lru_cache(maxsize=1)
def _cleaner() -> _Sanitizer:
    return _Sanitizer()


def plain_text(html: str) -> str:
    """The readable text of an HTML fragment, whitespace collapsed."""
    html = feed_safe(html)
    if not html.strip():
        return ""
    try:
        body = lxml.html.document_fromstring(html).find("body")
    except (etree.ParserError, ValueError):
        return ""
    if body is None:
        return ""
    for element in list(body.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop_tree(element)
    for element in list(body.iterdescendants()):
        if isinstance(element.tag, str) and element.tag.lower() in _DROP:
            _drop_tree(element)
        elif element.tag in _BLOCKS:
            element.tail = " " + (element.tail or "")
    text = "".join(t if isinstance(t, str) else t.decode() for t in body.itertext())
    return _SPACE.sub(" ", text).strip()


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
