"""Feed → Atom 1.0 or RSS 2.0 bytes (pure; the only feedgen import).

Every string passes through :func:`feed_safe` on its way in, so nothing XML 1.0 forbids (nor the
C1 controls the W3C validator warns about) can reach a file. Output depends on the Feed alone:
feedgen's "now" defaults are always overridden.
"""

from __future__ import annotations

import html
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .chars import feed_safe
from .models import Entry, Feed, FeedFormat


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


def render(feed: Feed, fmt: FeedFormat) -> bytes:
    """The feed as a complete, pretty-printed UTF-8 XML document."""
    generator = _generator(feed, fmt)
    for entry in feed.entries:
        _add_entry(generator, entry, fmt)
    data: bytes = (
        generator.atom_str(pretty=True) if fmt == "atom" else generator.rss_str(pretty=True)
    )
    return data


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
    fg.title(feed_safe(feed.title))
    fg.subtitle(feed_safe(feed.subtitle))
    fg.author({"name": feed_safe(feed.author)})
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
    fe.title(feed_safe(entry.title))
    fe.link(href=entry.link, rel="alternate")
    fe.published(entry.published)
    fe.updated(entry.updated)
    for name in entry.categories:
        fe.category(term=feed_safe(name))
    content = feed_safe(entry.content_html)
    summary = feed_safe(entry.summary)
    if fmt == "atom":
        if entry.author:
            fe.author({"name": feed_safe(entry.author)})
        if content:
            fe.content(content, type="html")
        if summary:
            fe.summary(summary)
    else:
        fe.guid(feed_safe(entry.id), permalink=entry.id == entry.link)
        if entry.author:
            fe.dc.dc_creator(feed_safe(entry.author))
        # RSS description is HTML; a plain-text summary must be escaped to stay text.
        fe.description(html.escape(summary or entry.title, quote=False))
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
