"""Feed checks shared by the tests: well-formed XML (lxml), feedparser bozo == 0, and the W3C
Feed Validation Service's rules that refeed's output could break (its lists of safe HTML
elements and attributes, date formats, link relations, ids, enclosures, and its warnings about
markup in plain-text fields: ContainsHTML, ContainsUndeclaredHTML, CharacterData)."""

from __future__ import annotations

import re
from html.entities import name2codepoint
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import lxml.html
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d [+-]\d{4}$"
)
# The W3C validator's HTMLValidator.acceptable_elements / acceptable_attributes (subset in use).
SAFE_ELEMENTS = set(
    "a abbr acronym address area article aside audio b bdi big blockquote br caption center cite "
    "code col colgroup dd del details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr i img ins kbd li main mark nav ol p picture pre q rp rt ruby s samp section small "
    "source span strike strong sub summary sup table tbody td tfoot th thead time tr track tt u "
    "ul var video wbr".split()
)
SAFE_ATTRIBUTES = set(
    "abbr align alt cite class colspan datetime dir headers height href hreflang kind label lang loop "
    "media muted open poster preload referrerpolicy reversed rowspan scope sizes span src srclang "
    "srcset start title type value width".split()
)
FLAGGED_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# The validator's HTMLValidator.htmltags: an end tag of one of these in plain text is "HTML".
HTML_TAGS = set(
    "a abbr acronym address applet area article aside audio b base basefont bdi bdo big "
    "blockquote body br button canvas caption center cite code col colgroup command data datagrid "
    "datalist dd del details dfn dialog dir div dl dt em eventsource fieldset figcaption figure "
    "font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img "
    "input ins isindex kbd label legend li link m main mark map menu meta meter nav noframes "
    "noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp "
    "script section select slot small source span strike strong style sub summary sup table "
    "tbody td template textarea tfoot th thead time title tr track tt u ul var xmp plaintext "
    "embed comment listing video wbr".split()
)


def check_feed(data: bytes) -> feedparser.FeedParserDict:
    """Assert ``data`` is a valid Atom or RSS feed by the rules above; returns feedparser's view."""
    root = etree.fromstring(data)  # raises on anything ill-formed
    text = data.decode("utf-8")
    assert not FLAGGED_CHARS.search(text), "control or replacement character in the feed"
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, f"feedparser: {parsed.get('bozo_exception')!r}"
    lines = text.splitlines()
    if root.tag == f"{ATOM}feed":
        _check_atom(root)
        texts = [ATOM + n for n in ("title", "subtitle", "name", "summary", "rights")]
        for element in root.iter(*texts):
            if element.get("type", "text") == "text":
                check_plain_text(element, lines, rss=False)
    else:
        assert root.tag == "rss" and root.get("version") == "2.0"
        _check_rss(root)
        channel = root.find("channel")
        assert channel is not None
        texts = ["title", "category", "{http://purl.org/dc/elements/1.1/}creator"]
        plain = [*channel.iter(*texts), *channel.findall("description")]  # the channel's
        for element in plain:
            check_plain_text(element, lines, rss=True)
        for element in channel.iter("title", "description"):
            check_lax_reading(element.text or "")
    return parsed


def check_plain_text(element: etree._Element, lines: list[str], rss: bool) -> None:
    """The validator's rules for plain-text elements (its ``nonhtml``): no HTML end tag
    (ContainsHTML, in Atom ContainsUndeclaredHTML); no entity reference left in the text, and
    in RSS 2.0 no "<tag" or "&#…" (CharacterData), unless the element's source lines use the
    RSS Best Practices Profile's hexadecimal character references ("&#x"), which declare it."""
    value = element.text or ""
    where = f"<{etree.QName(element).localname}> {value[:60]!r}"
    tags = [t for t in re.findall(r"</(\w+)>", value) if t.lower() in HTML_TAGS]
    assert not tags, f"ContainsHTML: {where}"
    line: int | None = element.sourceline  # type: ignore[assignment]  # the stubs say "..."
    start = (line or 1) - 1
    source = "\n".join(lines[start : start + value.count("\n") + 1])
    declared = "&#x" in source
    for name in re.findall(r"&(#?\w+)", value):
        if name in name2codepoint or name == "apos" or not name.isalpha():
            assert declared, f"ContainsHTML (entity &{name};): {where}"
    if rss and re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
        assert declared, f"CharacterData: {where}"


def check_lax_reading(text: str) -> None:
    """A reader that takes an RSS title or description as HTML (as lax readers do) finds no
    element off the allowlist in it (parsed as current browsers parse)."""
    for element in LexborHTMLParser(text, is_fragment=True).css("*"):
        assert element.tag in SAFE_ELEMENTS, f"<{element.tag}> in {text[:80]!r}"


def _absolute(url: str | None) -> None:
    assert url, "empty URL"
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, f"not an absolute URL: {url!r}"
    assert url.isascii() and " " not in url, f"not a URI (needs percent-encoding): {url!r}"


def _check_atom(feed: etree._Element) -> None:
    for name in ("id", "title", "updated"):
        assert feed.find(ATOM + name) is not None, f"feed without <{name}>"
    assert RFC3339.match(feed.findtext(ATOM + "updated") or "")
    rels = [link.get("rel", "alternate") for link in feed.findall(ATOM + "link")]
    assert "self" in rels
    feed_author = feed.find(ATOM + "author") is not None
    ids = []
    for entry in feed.findall(ATOM + "entry"):
        ids.append(entry.findtext(ATOM + "id"))
        assert re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ids[-1] or ""), (
            f"id is not an IRI: {ids[-1]!r}"
        )
        assert entry.findtext(ATOM + "title") is not None
        for name in ("updated", "published"):
            value = entry.findtext(ATOM + name)
            assert value is None or RFC3339.match(value), f"<{name}> not RFC 3339: {value!r}"
        assert feed_author or entry.find(ATOM + "author") is not None
        alternates = []
        for link in entry.findall(ATOM + "link"):
            _absolute(link.get("href"))
            rel = link.get("rel", "alternate")
            if rel == "alternate":
                alternates.append((link.get("type"), link.get("hreflang")))
            if rel == "enclosure":
                assert link.get("type") and (link.get("length") or "0").isdigit()
        assert len(alternates) == len(set(alternates)), "duplicate alternate links"
        for name in ("content", "summary"):
            element = entry.find(ATOM + name)
            if element is not None and element.get("type") == "html":
                check_html(element.text or "")
        _check_media(entry)
    assert len(ids) == len(set(ids)), "duplicate entry ids"


def _check_rss(rss: etree._Element) -> None:
    channel = rss.find("channel")
    assert channel is not None
    for name in ("title", "link", "description"):
        assert channel.findtext(name), f"channel without <{name}>"
    _absolute(channel.findtext("link"))
    selfs = [a for a in channel.findall(ATOM + "link") if a.get("rel") == "self"]
    assert len(selfs) == 1 and selfs[0].get("type") == "application/rss+xml"
    if channel.find("lastBuildDate") is not None:
        assert RFC822.match(channel.findtext("lastBuildDate") or "")
    guids = []
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")
        _absolute(item.findtext("link"))
        guid = item.find("guid")
        assert guid is not None
        guids.append(guid.text)
        if guid.get("isPermaLink", "true") == "true":
            _absolute(guid.text)
        pub = item.findtext("pubDate")
        assert pub is None or RFC822.match(pub), f"pubDate not RFC 822 with numeric offset: {pub!r}"
        assert item.find("author") is None, "RSS <author> must be an email; use dc:creator"
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1
        for enclosure in enclosures:
            _absolute(enclosure.get("url"))
            assert (enclosure.get("length") or "").isdigit() and enclosure.get("type")
        content = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
        if content:
            check_html(content)
        check_html(item.findtext("description") or "")
        _check_media(item)
    assert len(guids) == len(set(guids)), "duplicate guids"


def _check_media(item: etree._Element) -> None:
    for element in item.iter(MEDIA + "content", MEDIA + "thumbnail"):
        _absolute(element.get("url"))


def check_html(html: str) -> None:
    """Content a browser would render safely, by the validator's allowlists; every URL absolute."""
    if not html.strip():
        return
    for element in lxml.html.fragments_fromstring(f"<div>{html}</div>")[0].iter():
        if not isinstance(element.tag, str):
            raise AssertionError("comment or processing instruction in content")
        if element.tag == "div" and element.getparent() is None:
            continue
        assert element.tag in SAFE_ELEMENTS, f"unsafe element <{element.tag}>"
        for key, raw in element.attrib.items():
            name = key if isinstance(key, str) else key.decode()
            value = raw if isinstance(raw, str) else raw.decode()
            assert name in SAFE_ATTRIBUTES, f"unsafe attribute {name}= on <{element.tag}>"
            # The validator accepts any class; refeed's policy keeps only a code block's language.
            assert name != "class" or (
                element.tag == "code" and all(c.startswith("language-") for c in value.split())
            ), f"class={value!r} on <{element.tag}>"
            inline = value.startswith("mailto:") or (
                name == "src" and value.startswith("data:image/")
            )
            if name in ("href", "src", "poster", "cite") and not inline:
                _absolute(value)
            if name == "srcset":
                for candidate in value.split(","):
                    _absolute(candidate.split()[0])


def feed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.xml"))
