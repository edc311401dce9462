"""The values that flow between pipeline stages (stdlib only, all frozen)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

BodyFormat = Literal["html", "markdown"]
FeedKind = Literal["site", "category", "tag"]
FeedFormat = Literal["atom", "rss", "json"]

# One file name per format inside a feed's folder; both end in .xml so that a static host (and
# `--prune`) can tell feeds from every other file in the output directory by name alone.
FEED_FILES: dict[FeedFormat, str] = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json"}
OPML_FILE = "feeds.opml"
INDEX_FILE = "index.html"
STYLESHEET_FILE = "feed.css"  # at the top of the output folder; every XML feed links to it
PREVIEW_FILE = "feed.html"  # beside each feed's files: the feed as a web page
# What is written into a feed's folder: its formats, and its preview page.
FeedOutput = Literal["atom", "rss", "json", "page"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something refeed did not publish, and why: printed as ``path: reason``."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Article:
    """One article as its author wrote it; ``source`` is its path relative to the article dir."""

    source: str
    title: str
    published: datetime
    body: str
    body_format: BodyFormat
    updated: datetime | None = None
    # Each hierarchy is a path from the top category down; Hexo puts a post in every level.
    categories: tuple[tuple[str, ...], ...] = ()
    tags: tuple[str, ...] = ()
    author: str | None = None
    thumbnail: str | None = None
    link: str | None = None
    id: str | None = None
    summary: str | None = None
    # Why the author keeps it out of every feed ("draft: true", "published: false"), or None.
    private: str | None = None
    tag_plugins: bool = True  # False: Hexo's disableNunjucks, {% %} left as written
    references: tuple[str, ...] = ()  # posts the body links to (post_link slug or title)


class Listing(NamedTuple):
    """What planning needs of one article: kept in the state store beside it, so that a build
    after one edit orders and groups every article without decoding each one (a tuple: one is
    made per article on every build that plans)."""

    source: str
    id: str  # the feed item id: ties are ordered by it
    published: float  # epoch seconds
    categories: tuple[tuple[str, ...], ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """An enclosure: absolute URL, byte length (0 when unknown) and MIME type."""

    url: str
    length: int
    type: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, ready to render: every URL absolute, every text final."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    content_html: str
    summary: str
    author: str | None = None
    categories: tuple[str, ...] = ()
    thumbnail: Thumbnail | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """Which feed: the site-wide one, a category path or a tag, and where its files go."""

    kind: FeedKind
    key: tuple[str, ...]
    dir: str  # posix path relative to the output directory ("" for the site-wide feed)
    title: str

    def file(self, fmt: FeedOutput) -> str:
        return posixpath.join(self.dir, PREVIEW_FILE if fmt == "page" else FEED_FILES[fmt])

    @property
    def depth(self) -> int:
        """How many folders below the output folder this feed's files are."""
        return len(self.dir.split("/")) if self.dir else 0


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed's metadata and items; ``updated`` is the newest item's date, never the build time."""

    spec: FeedSpec
    title: str
    subtitle: str
    link: str
    self_urls: dict[FeedFormat, str]
    id: str
    updated: datetime
    author: str
    generator: str
    version: str
    language: str | None = None
    icon: str | None = None
    logo: str | None = None
    hub: str | None = None  # WebSub hub readers may subscribe to for pushes
    stylesheet: bool = False  # feed files link feed.css and carry a note for people
    preview: str | None = None  # URL of the feed's preview page (feed.html), when there is one
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishedFeed:
    """One feed as the last build advertised it (index.html's row): ``refeed feeds`` lists these.

    ``title`` is index.html's label (the category or tag name; the site's title for the site
    feed), ``newest`` the date of its newest item (None: no items), ``files`` its files per
    format relative to the output folder, ``urls`` their public addresses."""

    dir: str
    kind: FeedKind
    title: str
    items: int
    newest: datetime | None
    files: dict[FeedFormat, str]
    urls: dict[FeedFormat, str]


class StoredObject(NamedTuple):
    """One object as refeed put it on one publish target (kept in the state store): its bytes'
    MD5, the ETag the storage answered, the headers it was given, and the stat of the local file
    it was read from (unchanged stat: unchanged file, so the next publish need not read it)."""

    md5: str
    etag: str
    headers: str  # content type and Cache-Control, one line each
    size: int
    mtime_ns: int


@dataclass(slots=True)
class RunReport:
    """What one build did; the CLI turns it into the summary line and the exit code."""

    articles_read: int = 0
    skipped: list[Problem] = field(default_factory=list)
    held_back: list[Problem] = field(default_factory=list)  # dated in the future
    drafts: list[Problem] = field(default_factory=list)  # kept private by their authors
    not_followed: list[Problem] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # still being written; published later
    published: int = 0
    next_due: datetime | None = None  # when the earliest held-back article falls due
    seconds: float = 0.0
    uploaded: list[str] = field(default_factory=list)  # objects put, as s3://bucket/key
    deleted: list[str] = field(default_factory=list)  # objects refeed had put and removed
    publish_failed: list[Problem] = field(default_factory=list)  # one per target not in sync
