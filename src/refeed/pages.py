"""The pages for people (pure; the only jinja2 import): index.html, every feed listed with how to
subscribe; feed.html beside each feed, the feed as a web page; feed.css, which styles a feed that
a browser renders as XML.

The templates escape every value by default (Jinja2 autoescape), and every text that comes from
an article or the config is reduced to plain text first (:func:`chars.plain`), as in the feeds.
Pages hold no script and load nothing from elsewhere (one inline style sheet), so they read the
same with JavaScript off. Links between refeed's own files are relative, so they work wherever
the output folder is served; subscribe links are the feeds' public addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from .chars import plain
from .models import INDEX_FILE, PREVIEW_FILE, STYLESHEET_FILE, Entry, Feed, FeedFormat

_ENV = Environment(
    loader=PackageLoader("refeed", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_NAMES: dict[FeedFormat, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
_TYPES: dict[FeedFormat, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True, slots=True)
class _Link:
    name: str
    href: str


@dataclass(frozen=True, slots=True)
class _Alternate:
    type: str
    title: str
    href: str


@dataclass(frozen=True, slots=True)
class _Item:
    title: str
    link: str
    datetime: str
    date: str
    author: str
    summary: str


def _item(entry: Entry) -> _Item:
    return _Item(
        title=plain(entry.title),
        link=entry.link,
        datetime=entry.published.isoformat(),
        date=_day(entry.published),
        author=plain(entry.author or ""),
        summary=plain(entry.summary),
    )


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _alternates(feed: Feed) -> list[_Alternate]:
    """Autodiscovery: a reader given a page's address finds the feeds behind it."""
    title = plain(feed.title)
    return [_Alternate(_TYPES[fmt], title, url) for fmt, url in feed.self_urls.items()]


def _subscribe(feed: Feed, formats: tuple[FeedFormat, ...]) -> list[_Link]:
    return [_Link(_NAMES[fmt], feed.self_urls[fmt]) for fmt in formats if fmt in feed.self_urls]


def index_order(feeds: list[Feed]) -> list[Feed]:
    """index.html's order (``refeed feeds`` lists them in it too): the site feed, then the
    categories and the tags, each by folder."""
    return sorted(feeds, key=lambda f: (f.spec.kind != "site", f.spec.kind, f.spec.dir))


def index_label(feed: Feed) -> str:
    """A feed's name in index.html: its category or tag, or the site's title."""
    return plain(feed.spec.title if feed.spec.kind != "site" else feed.title)


def render_index(
    feeds: list[Feed],
    title: str,
    description: str | None,
    language: str | None,
    formats: tuple[FeedFormat, ...],
    *,
    opml: bool,
) -> bytes:
    """index.html: every feed with its newest item, subscribe links and its preview page, and
    a link to feeds.opml when there is one."""
    ordered = index_order(feeds)
    rows = []
    for feed in ordered:
        newest = feed.entries[0] if feed.entries else None
        depth = {"site": 0, "tag": 1}.get(feed.spec.kind, len(feed.spec.key))
        rows.append(
            {
                "label": index_label(feed),
                "depth": min(depth, 6),
                "count": len(feed.entries),
                "newest": _item(newest) if newest else None,
                "links": _subscribe(feed, formats),
                "preview": quote(feed.spec.file("page")) if feed.preview else None,
            }
        )
    page = _ENV.get_template(INDEX_FILE).render(
        lang=language or "en",
        title=plain(title),
        description=plain(description or ""),
        alternates=[a for feed in ordered for a in _alternates(feed)],
        rows=rows,
        opml=opml,
    )
    return page.encode("utf-8")


def render_preview(feed: Feed, *, site_title: str, index: bool) -> bytes:
    """feed.html: the feed as a page (its items' titles, dates, authors and summaries, linked to
    the articles) with its subscribe addresses; ``index``: link back to index.html."""
    formats = tuple(feed.self_urls)
    page = _ENV.get_template(PREVIEW_FILE).render(
        lang=feed.language or "en",
        title=plain(feed.title),
        subtitle=plain(feed.subtitle),
        alternates=_alternates(feed),
        links=_subscribe(feed, formats),
        items=[_item(entry) for entry in feed.entries],
        index=("../" * feed.spec.depth + INDEX_FILE) if index else None,
        site=plain(site_title),
    )
    return page.encode("utf-8")


def stylesheet() -> bytes:
    """feed.css, shipped with refeed."""
    return files("refeed").joinpath(f"assets/{STYLESHEET_FILE}").read_bytes()
