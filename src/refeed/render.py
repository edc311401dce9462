"""Feed → Atom 1.0, RSS 2.0 or JSON Feed bytes, and feeds.opml (pure; the only feedgen import).

Every string passes through :func:`feed_safe` on its way in, so nothing XML 1.0 forbids (nor the
C1 controls the W3C validator warns about) can reach a file; every text that comes from an
article or the config (titles, names, descriptions, summaries) passes through :func:`plain`, so
no reader can turn it into elements, in feeds, JSON Feed and OPML alike (pages.py does the same
for index.html and feed.html). Output depends on the Feed alone: feedgen's "now" defaults are
always overridden.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from email.utils import format_datetime
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .chars import feed_safe, plain
from .models import PREVIEW_FILE, STYLESHEET_FILE, Entry, Feed, FeedFormat


class _AtomEnclosure(BaseEntryExtension):  # type: ignore[misc]
    """Writes ``<link rel="enclosure">``: feedgen 1.0 drops rel/type/length from entry links,
    which turns an enclosure into a second alternate link (a W3C validator error)."""

    def __init__(self) -> None:
        self.attrs: dict[str, str] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        if self.attrs:
            # feedgen builds entries without a namespace (the feed root declares Atom as the
            # default), so the link must be un-namespaced too to come out as a plain <link>.
            link = etree.Element("link", self.attrs)
            alternate = entry.find("link")
            if alternate is not None:
                alternate.addnext(link)
            else:
                entry.append(link)
        return entry


def _rss_hub(hub: str) -> type[BaseExtension]:
    """feedgen writes only rel=self as an atom:link in RSS; WebSub needs rel=hub beside it."""

    class _Hub(BaseExtension):  # type: ignore[misc]
        def extend_ns(self) -> dict[str, str]:
            return {}

        def extend_rss(self, rss: etree._Element) -> etree._Element:
            channel = rss.find("channel")
            if channel is not None:
                link = etree.Element(f"{{{_ATOM}}}link", {"href": hub, "rel": "hub"})
                selfs = [e for e in channel.iter(f"{{{_ATOM}}}link") if e.get("rel") == "self"]
                (selfs[-1].addnext(link) if selfs else channel.append(link))
            return rss

    return _Hub


_ATOM = "http://www.w3.org/2005/Atom"


def render_within(feed: Feed, fmt: FeedFormat, budget: int) -> bytes:
    """:func:`render`, kept under ``budget`` bytes by giving the oldest items their summary
    instead of their full content (as few as needed: found by bisection)."""
    data = render(feed, fmt)
    if len(data) <= budget or not feed.entries:
        return data
    low, high, best = 1, len(feed.entries), b""
    while low <= high:
        cut = (low + high) // 2
        trimmed = render(_summarized(feed, cut), fmt)
        if len(trimmed) <= budget:
            best, high = trimmed, cut - 1
        else:
            low = cut + 1
    return best or render(_summarized(feed, len(feed.entries)), fmt)


def _summarized(feed: Feed, count: int) -> Feed:
    keep = len(feed.entries) - count
    short = [
        replace(e, content_html=f"<p>{html.escape(e.summary, quote=False)}</p>")
        for e in feed.entries[keep:]
    ]
    return replace(feed, entries=(*feed.entries[:keep], *short))


def render(feed: Feed, fmt: FeedFormat) -> bytes:
    """The feed as a complete document: pretty-printed UTF-8 XML, or JSON Feed 1.1."""
    if fmt == "json":
        return _json_feed(feed)
    generator = _generator(feed, fmt)
    for entry in feed.entries:
        _add_entry(generator, entry, fmt)
    data: bytes = _profile_text(
        generator.atom_str(pretty=True) if fmt == "atom" else generator.rss_str(pretty=True)
    )
    if feed.stylesheet:  # after the XML declaration, before the root: for people, not readers
        declaration, _, rest = data.partition(b"\n")
        data = declaration + b"\n" + _for_people(feed) + rest
    return data


def _for_people(feed: Feed) -> bytes:
    """What a person who opens the feed in a browser is shown. Browsers that render it as XML
    style it with feed.css (a relative link: right wherever the output folder is served);
    Chromium shows a feed served as application/atom+xml or rss+xml as plain text, which starts
    with this note. Readers and validators skip both."""
    href = "../" * feed.spec.depth + STYLESHEET_FILE
    page = feed.preview
    if page and ("--" in page or page.endswith("-")):  # cannot be written inside a comment
        page = f"{PREVIEW_FILE}, in the folder of this file"
    lines = [
        f'<?xml-stylesheet type="text/css" href="{href}"?>',
        "<!--",
        f"  {NOTE}",
        *([f"  Read it as a web page: {page}"] if page else []),
        "-->",
        "",
    ]
    return "\n".join(lines).encode()


NOTE = "This is a web feed. To subscribe, copy the address of this page into your feed reader."


# Elements holding plain text (RSS item <description> holds escaped text: the same rule holds).
_TEXT_ELEMENT = re.compile(
    rb"(<(title|subtitle|description|category|dc:creator|name|summary)(?: [^>]*)?>)([^<]+)(</\2>)"
)


def _profile_text(data: bytes) -> bytes:
    """The RSS Best Practices Profile's encoding of plain text: "<" and "&" as the character
    references &#x3C; and &#x26;, which readers never mistake for markup (the same XML text)."""

    def encode(match: re.Match[bytes]) -> bytes:
        text = match.group(3).replace(b"&lt;", b"&#x3C;").replace(b"&amp;", b"&#x26;")
        return match.group(1) + text + match.group(4)

    return _TEXT_ELEMENT.sub(encode, data) if b"&" in data else data


def _generator(feed: Feed, fmt: FeedFormat) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("media", atom=True, rss=True)
    if fmt == "rss":
        fg.load_extension("dc", atom=False, rss=True)
    else:
        fg.register_extension(
            "refeed_enclosure", BaseExtension, _AtomEnclosure, atom=True, rss=False
        )
    fg.id(feed_safe(feed.id))
    fg.title(plain(feed.title))
    fg.subtitle(plain(feed.subtitle))
    fg.author({"name": plain(feed.author)})
    fg.link(href=feed.self_urls[fmt], rel="self", type=f"application/{fmt}+xml")
    if feed.hub and fmt == "atom":
        fg.link(href=feed.hub, rel="hub")
    elif feed.hub:
        fg.register_extension(
            "refeed_hub", _rss_hub(feed.hub), BaseEntryExtension, atom=False, rss=True
        )
    fg.link(href=feed.link, rel="alternate", type="text/html")  # last: feedgen's RSS <link>
    fg.generator("refeed", version=feed.version)
    if feed.language:
        fg.language(feed_safe(feed.language))
    if feed.icon:
        fg.icon(feed.icon)
    if feed.logo:
        fg.logo(feed.logo)
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    if fmt == "rss":
        fg.generator(f"refeed {feed.version}")
        fg.docs("https://www.rssboard.org/rss-specification")
    return fg


def _add_entry(fg: FeedGenerator, entry: Entry, fmt: FeedFormat) -> None:
    fe: FeedEntry = fg.add_entry(order="append")
    fe.id(feed_safe(entry.id))
    fe.title(plain(entry.title))
    fe.link(href=entry.link, rel="alternate")
    fe.published(entry.published)
    fe.updated(entry.updated)
    for name in entry.categories:
        if term := plain(name):
            fe.category(term=term)
    content = feed_safe(entry.content_html)
    summary = plain(entry.summary)
    if fmt == "atom":
        if entry.author:
            fe.author({"name": plain(entry.author)})
        if content:
            fe.content(content, type="html")
        if summary:
            fe.summary(summary)
    else:
        fe.guid(feed_safe(entry.id), permalink=entry.id == entry.link)
        if entry.author:
            fe.dc.dc_creator(plain(entry.author))
        # RSS description is HTML; a plain-text summary must be escaped to stay text.
        fe.description(html.escape(summary or plain(entry.title), quote=False))
        if content:
            fe.content(content)
    thumb = entry.thumbnail
    if thumb is not None:
        media: dict[str, Any] = {
            "url": thumb.url,
            "medium": "image",
            "type": thumb.type,
            "group": None,
        }
        if thumb.length > 0:
            media["fileSize"] = str(thumb.length)
        fe.media.content(**media)
        fe.media.thumbnail(url=thumb.url, group=None)
        if fmt == "rss":
            fe.enclosure(thumb.url, str(thumb.length), thumb.type)
        else:
            fe.refeed_enclosure.attrs = {
                "rel": "enclosure",
                "href": thumb.url,
                "type": thumb.type,
                "length": str(thumb.length),
            }


def _json_feed(feed: Feed) -> bytes:
    """JSON Feed 1.1 with the same ids, dates, categories and thumbnails as the XML feeds."""
    document: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": plain(feed.title),
        "home_page_url": feed.link,
        "feed_url": feed.self_urls["json"],
        "description": plain(feed.subtitle),
        "authors": [{"name": plain(feed.author)}],
    }
    if feed.language:
        document["language"] = feed.language
    if feed.icon:
        document["favicon"] = feed.icon
    if feed.logo:
        document["icon"] = feed.logo
    if feed.hub:
        document["hubs"] = [{"type": "WebSub", "url": feed.hub}]
    document["items"] = [_json_item(entry) for entry in feed.entries]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_item(entry: Entry) -> dict[str, object]:
    item: dict[str, object] = {
        "id": feed_safe(entry.id),
        "url": entry.link,
        "title": plain(entry.title),
        "content_html": feed_safe(entry.content_html),
        "summary": plain(entry.summary),
        "date_published": entry.published.isoformat(),
        "date_modified": entry.updated.isoformat(),
    }
    if entry.author:
        item["authors"] = [{"name": plain(entry.author)}]
    if tags := [term for name in entry.categories if (term := plain(name))]:
        item["tags"] = tags
    if entry.thumbnail:
        item["image"] = entry.thumbnail.url
        attachment: dict[str, object] = {
            "url": entry.thumbnail.url,
            "mime_type": entry.thumbnail.type,
        }
        if entry.thumbnail.length:
            attachment["size_in_bytes"] = entry.thumbnail.length
        item["attachments"] = [attachment]
    return item


def render_opml(feeds: list[Feed], title: str, formats: tuple[FeedFormat, ...]) -> bytes:
    """OPML 2.0 listing every feed once, for import into a reader.

    Every outline with an ``xmlUrl`` is a leaf: importers (Miniflux, FreshRSS, most others) take
    an outline with a feed URL as a subscription and ignore its children, so feeds nested under a
    feed would be lost. Each top-level category is a grouping outline (no ``xmlUrl``) holding its
    own feed and every sub-category's feed; the full path rides in the ``category`` attribute.
    Readers with one level of folders (FreshRSS) and those that take the nearest group (Miniflux)
    both file a sub-category under its top-level category that way.
    """
    fmt: FeedFormat = next((f for f in ("atom", "rss", "json") if f in formats), formats[0])
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = plain(title)
    newest = max((f.updated for f in feeds), key=lambda d: d.timestamp(), default=None)
    if newest is not None:  # the newest item's date, never the build time
        etree.SubElement(head, "dateModified").text = format_datetime(newest)
    body = etree.SubElement(opml, "body")
    groups: dict[tuple[str, ...], etree._Element] = {}

    def group(key: tuple[str, ...], label: str, *, folder: str) -> etree._Element:
        if key not in groups:
            # FreshRSS drops a group whose text is empty, children and all: a name that is
            # nothing but markup is shown as its folder's slug.
            text = plain(label) or folder
            groups[key] = etree.SubElement(body, "outline", text=text, title=text)
        return groups[key]

    for feed in sorted(feeds, key=lambda f: (f.spec.kind != "site", f.spec.kind, f.spec.dir)):
        parent, category = body, ""
        if feed.spec.kind == "tag":
            parent = group(("tag",), "Tags", folder="tags")
        elif feed.spec.kind == "category" and feed.spec.key:
            top = feed.spec.key[0]
            # sorted by folder, a top-level category comes before its sub-categories
            label = feed.spec.title if len(feed.spec.key) == 1 else top
            parent = group(("category", top), label, folder=feed.spec.dir.split("/")[1])
            # OPML 2.0: comma-separated, slash-delimited paths; a name that holds either is left out
            names = [plain(name) for name in feed.spec.key]
            if all(name and "/" not in name and "," not in name for name in names):
                category = "/" + "/".join(names)
        outline = etree.SubElement(
            parent,
            "outline",
            text=plain(feed.title),
            title=plain(feed.title),
            type="rss",
            xmlUrl=feed.self_urls[fmt],
            htmlUrl=feed.link,
        )
        if category:
            outline.set("category", category)
    data: bytes = etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
