"""The incremental state store: what the last builds learned, so the next one can skip work.

SQLite from the standard library: crash-safe (a build's changes commit at its end or not at
all), updated in place, one file. It holds, per article, its file stat, content hash, parsed
fields (or why it failed), the id it was first published with, its listing and the feeds it
belongs in (indexed by feed and date: a build reads each feed's newest members, not every
article); cleaned bodies by content; per feed file the fingerprint of what it was rendered
from; the feeds the last build advertised (what ``refeed feeds`` lists); and per publish
target the objects refeed put there (what it may update or delete, and nothing else). The
scan is compared with the stored stats here too, by a join. A store that is missing, from a
newer version or unreadable is started afresh with one warning, never a crash; an older one
gains what it lacks in place.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

from .errors import RefeedError, StateError
from .models import Article, Entry, FeedFormat, FeedKind, Listing, PublishedFeed, StoredObject

log = logging.getLogger("refeed")
# 2 added the items table, 3 the objects table, 4 published_feeds, 5 members; older stores gain
# them in place
SCHEMA_VERSION = 6
_PUBLISHED_FEEDS_SINCE, _MEMBERS_SINCE = 4, 5
CONFIG_KEY = "config"  # meta: the fingerprint of the config the items were made under
# The listings' indexes: in the schema, and made anew after a bulk listing (see
# State.begin_bulk_listing).
_LISTING_INDEXES = {
    name: f"CREATE INDEX IF NOT EXISTS {name} ON {on}"
    for name, on in [
        ("items_by_date", "items (published)"),
        ("items_by_id", "items (id)"),
        ("members_by_source", "members (source)"),
    ]
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL, fields TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS articles_failed ON articles (source) WHERE error IS NOT NULL;
CREATE TABLE IF NOT EXISTS identities (source TEXT PRIMARY KEY, hash TEXT NOT NULL, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS identities_by_hash ON identities (hash);
CREATE TABLE IF NOT EXISTS cleaned (key TEXT PRIMARY KEY, content TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    source TEXT PRIMARY KEY, id TEXT NOT NULL, published REAL NOT NULL, groups TEXT NOT NULL,
    entry TEXT, clean_key TEXT, thumbnail TEXT, key TEXT
);
CREATE TABLE IF NOT EXISTS members (
    feed TEXT NOT NULL, published REAL NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (feed, published DESC, id, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feeds (file TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    target TEXT NOT NULL, file TEXT NOT NULL, md5 TEXT NOT NULL, etag TEXT NOT NULL,
    headers TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (target, file)
);
CREATE TABLE IF NOT EXISTS published_feeds (
    position INTEGER PRIMARY KEY, dir TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
    items INTEGER NOT NULL, newest TEXT, files TEXT NOT NULL, urls TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scan_chunks (
    first TEXT PRIMARY KEY, last TEXT NOT NULL, digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS thumbs (
    url TEXT NOT NULL, mode TEXT NOT NULL, length INTEGER NOT NULL, type TEXT NOT NULL,
    media TEXT, ok INTEGER NOT NULL, checked REAL NOT NULL, error TEXT, PRIMARY KEY (url, mode)
);
""" + "".join(f"{create};\n" for create in _LISTING_INDEXES.values())


class LockedError(RefeedError):
    """Another refeed process holds the state directory's lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path}: another refeed build or watch is running on this state directory; "
            "try again later, or set state.lock: wait to queue behind it"
        )


class StoreBusy(RefeedError):
    """A build is committing to the store this very moment; a reader gave up rather than hang."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path}: a build is writing the state store; try again in a moment")


class StoreDamaged(RefeedError):
    """The store turned out to be damaged during a build; it has been removed."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: state store damaged ({detail}); removed it, starting afresh: "
            "the build re-reads everything"
        )


class Stored(NamedTuple):
    """What the store knows of one article file (a tuple: one per file on every build)."""

    size: int
    mtime_ns: int
    hash: str
    parsed: bool  # whether the store holds its parsed fields (see State.decoded)
    error: str | None

    @classmethod
    def of(cls, row: list[Any]) -> Stored:
        """From the columns :data:`_STORED_COLUMNS` names, in that order."""
        size, mtime_ns, digest, parsed, error = row
        return cls(size, mtime_ns, digest, bool(parsed), error)


_STORED_COLUMNS = "size, mtime_ns, hash, fields IS NOT NULL, error"
_FAILED_COUNT = "SELECT count(*) FROM articles WHERE error IS NOT NULL"  # (index articles_failed)
_NOT_SCANNED = "AND source NOT IN (SELECT source FROM scanned)"


class ScannedFile(Protocol):
    """A file as the scan found it (load.SourceFile): its source and stat."""

    @property
    def rel(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime_ns(self) -> int: ...


Scanned = Sequence[ScannedFile]  # a whole scan, sorted by source
_CHUNK_ENDS = 0xFF  # a chunk ends at a file whose line's CRC-32 has these bits clear: ~256 files
_CHUNK_MOST = 1024  # or after this many (a long run without such a line is cut)


class ScanChunk(NamedTuple):
    """A run of consecutive files of a sorted scan, with one digest of their stats."""

    first: str  # its first and last source
    last: str
    digest: str  # of its files' (source, size, mtime_ns)
    start: int  # its files: scanned[start:end]
    end: int


def scan_chunks(scanned: Scanned) -> list[ScanChunk]:
    """The scan cut into chunks of about 256 files, each with a digest. Where a chunk ends is
    decided by the file it ends at (a CRC-32 of its line), not by counting: a file added,
    edited or removed changes its own chunk (and at most the one it joins or splits off), the
    other chunks stay as they were, and the store compares only the changed ones."""
    chunks = []
    lines: list[bytes] = []
    start, total = 0, len(scanned)
    for end, file in enumerate(scanned, 1):
        line = f"{file.rel}\0{file.size}\0{file.mtime_ns}\n".encode("utf-8", "surrogatepass")
        lines.append(line)
        if not zlib.crc32(line) & _CHUNK_ENDS or end - start == _CHUNK_MOST or end == total:
            digest = hashlib.blake2b(b"".join(lines), digest_size=16).hexdigest()
            chunks.append(ScanChunk(scanned[start].rel, file.rel, digest, start, end))
            lines, start = [], end
    return chunks


class ArticleRow(NamedTuple):
    """One file as the store keeps it (see :meth:`State.put_articles`)."""

    source: str
    size: int
    mtime_ns: int
    digest: str  # of its bytes
    fields: str | None  # the parsed article but its body, from encode_article; None: it failed
    error: str | None  # why it failed


class StatChanges(NamedTuple):
    """What :meth:`State.compare_stats` found."""

    changed: dict[str, Stored | None]  # new (None) or stat differs (what is stored)
    gone: list[str]  # stored, no longer scanned


@dataclass(frozen=True, slots=True)
class Item:
    """An article made into a feed item under the current config, minus body and enclosure."""

    entry: Entry  # content_html and summary empty, thumbnail None
    clean_key: str  # its cleaned body's key in the cleaned table
    thumbnail: str | None  # absolute thumbnail URL; its enclosure facts are looked up per build
    key: str  # fingerprint of what the item is made of, but for the enclosure


@dataclass(frozen=True, slots=True)
class ThumbFact:
    """A remembered probe (or mirror download) of one thumbnail URL."""

    length: int
    type: str
    media: str | None  # the mirrored copy's path in the output directory
    ok: bool
    checked: float  # epoch seconds
    error: str | None


class State:
    """One open store; use :func:`open_state` to get one (locked, transaction begun)."""

    def __init__(self, db: sqlite3.Connection, folder: Path) -> None:
        self.db = db
        self.folder = folder
        self._chunks_kept: bool | None = None  # whether scan_chunks has rows; None: not known
        self._listed_ids: set[str] = set()  # the ids of the listings put (see shared_ids)
        self._bulk_listing = False  # see begin_bulk_listing

    # ----------------------------------------------------------------- meta

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ----------------------------------------------------------------- articles

    def articles(self) -> dict[str, Stored]:
        """What is known of every file, without the parsed fields (see :meth:`decoded`)."""
        rows = self.db.execute(f"SELECT source, {_STORED_COLUMNS} FROM articles")
        return {source: Stored.of(row) for source, *row in rows}

    # The stored chunks of the last whole scan (see scan_chunks) stand for the stored stats:
    # the articles rows from a chunk's first source to its last are exactly its files, with
    # those stats. Any write to a row forgets the chunk that holds it, so this always holds.

    def compare_scan(self, scanned: Scanned, chunks: list[ScanChunk]) -> StatChanges:
        """:meth:`compare_stats` for a whole scan cut by :func:`scan_chunks`, which compares
        only the chunks the store does not hold: an edit compares about 256 files, not all."""
        stored = set(self.db.execute("SELECT first, last, digest FROM scan_chunks"))
        if not stored:
            return self.compare_stats((f.rel, f.size, f.mtime_ns) for f in scanned)
        kept: list[ScanChunk] = []
        others: list[tuple[str, int, int]] = []
        for chunk in chunks:
            if (chunk.first, chunk.last, chunk.digest) in stored:
                kept.append(chunk)
                stored.discard((chunk.first, chunk.last, chunk.digest))
            else:
                others += [(f.rel, f.size, f.mtime_ns) for f in scanned[chunk.start : chunk.end]]
        changed = self._changed(others)
        # The rows outside the kept chunks are those of other files scanned and the gone ones.
        outside = self.count_articles() - sum(chunk.end - chunk.start for chunk in kept)
        missing = outside - (len(others) - sum(known is None for known in changed.values()))
        if not missing:
            return StatChanges(changed, [])
        # A gone file's row is where a stored chunk this scan no longer has was, as a rule;
        # else between the chunks (a build of changed files alone adds rows there).
        gone = self._gone_within([(first, last) for first, last, _ in sorted(stored)])
        if len(gone) < missing:
            gone = self._gone_within(
                [("" if low is None else low.last, None if high is None else high.first)
                 for low, high in zip([None, *kept], [*kept, None], strict=True)],
                bounds_included=False,
            )  # fmt: skip
        return StatChanges(changed, gone)

    def _gone_within(
        self, ranges: list[tuple[str, str | None]], *, bounds_included: bool = True
    ) -> list[str]:
        """The stored sources in ``ranges`` (``None``: no upper bound) that are not among the
        scanned files compared last, sorted."""
        low_op, high_op = (">=", "<=") if bounds_included else (">", "<")
        query = "SELECT source FROM articles WHERE source {} ? {}"
        gone: list[str] = []
        for low, high in ranges:  # (no "? OR": that would keep SQLite from seeking the range)
            if high is None:
                rows = self.db.execute(query.format(low_op, _NOT_SCANNED), (low,))
            else:
                bounded = f"AND source {high_op} ? {_NOT_SCANNED}"
                rows = self.db.execute(query.format(low_op, bounded), (low, high))
            gone += [source for (source,) in rows]
        return sorted(gone)

    def keeps_scan(self, chunks: list[ScanChunk], scanned_count: int) -> bool:
        """Whether the stored stats are exactly the scan's: every chunk held, and no row
        besides (as a build of changed files alone may have added between the chunks)."""
        stored = set(self.db.execute("SELECT first, last, digest FROM scan_chunks"))
        return (
            all((chunk.first, chunk.last, chunk.digest) in stored for chunk in chunks)
            and self.count_articles() == scanned_count
        )

    def remember_scan(self, chunks: list[ScanChunk], *, unstored: Collection[str] = ()) -> None:
        """The stored stats are now exactly those of the whole scan ``chunks`` were cut from,
        but for the files ``unstored`` (unread, or still being written): their chunks are left
        out, so those alone are compared again."""
        firsts = [chunk.first for chunk in chunks]
        left_out = {bisect.bisect_right(firsts, source) - 1 for source in unstored}
        self.db.execute("DELETE FROM scan_chunks")
        self.db.executemany(
            "INSERT INTO scan_chunks VALUES (?, ?, ?)",
            [(c.first, c.last, c.digest) for i, c in enumerate(chunks) if i not in left_out],
        )
        self._chunks_kept = len(chunks) > len(left_out)

    def _stats_change(self, sources: list[str]) -> None:
        """The chunks that hold ``sources`` no longer stand for the stored stats."""
        if self._chunks_kept is None:  # a build that writes many rows asks once
            self._chunks_kept = self.db.execute("SELECT 1 FROM scan_chunks").fetchone() is not None
        if self._chunks_kept:
            self.db.executemany(
                "DELETE FROM scan_chunks WHERE last >= ?1 AND first ="
                " (SELECT max(first) FROM scan_chunks WHERE first <= ?1)",
                [(source,) for source in sources],
            )

    def compare_stats(self, scanned: Iterable[tuple[str, int, int]]) -> StatChanges:
        """The scan's ``(source, size, mtime_ns)`` against the stored stats, compared by SQLite:
        the files that are new or whose stat differs (with what is stored of them), and the
        sources gone from the scan. Unchanged files become no Python object: what a build
        needs of them is asked for by :meth:`unchanged_errors` and :meth:`unchanged_unlisted`."""
        changed = self._changed(scanned)
        gone = self.db.execute(
            "SELECT source FROM articles WHERE source NOT IN (SELECT source FROM scanned)"
            " ORDER BY source"
        )
        return StatChanges(changed, [source for (source,) in gone])

    def _changed(self, scanned: Iterable[tuple[str, int, int]]) -> dict[str, Stored | None]:
        """Of the scanned files (left in the temporary table ``scanned``), those new or whose
        stat differs from the stored one, with what is stored of them."""
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS scanned"
            " (source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )
        self.db.execute("DELETE FROM scanned")
        self.db.executemany("INSERT OR REPLACE INTO scanned VALUES (?, ?, ?)", scanned)
        rows = self.db.execute(
            "SELECT s.source, a.size, a.mtime_ns, a.hash, a.fields IS NOT NULL, a.error"
            " FROM scanned s LEFT JOIN articles a ON a.source = s.source"
            " WHERE a.source IS NULL OR a.size != s.size OR a.mtime_ns != s.mtime_ns"
        )
        return {  # a new file has no stored row: no hash
            source: None if row[2] is None else Stored.of(row) for source, *row in rows
        }

    def compare_files(
        self, sources: Iterable[str], found: dict[str, tuple[int, int]]
    ) -> StatChanges:
        """:meth:`compare_stats` for ``sources`` alone, of which ``found`` holds the article
        files there now, with their ``(size, mtime_ns)``; the rest are gone if stored."""
        query = f"SELECT source, {_STORED_COLUMNS} FROM articles WHERE source IN ({{}})"
        rows = self._in_batches(query, sorted(set(sources)))
        stored = {source: Stored.of(row) for source, *row in rows}
        changed: dict[str, Stored | None] = {
            rel: known
            for rel, stat in found.items()
            if (known := stored.get(rel)) is None or (known.size, known.mtime_ns) != stat
        }
        return StatChanges(changed, sorted(set(stored) - set(found)))

    def count_articles(self) -> int:
        return self._count("SELECT count(*) FROM articles")

    def unchanged_errors(self, changed: Collection[str]) -> list[tuple[str, str]]:
        """``(source, why)`` of the files that failed to parse, by source, but ``changed``
        (after a comparison, the store holds every file scanned: the rest are unchanged)."""
        rows = self.db.execute(
            "SELECT source, error FROM articles WHERE error IS NOT NULL ORDER BY source"
        )
        return [(source, error) for source, error in rows if source not in changed]

    def put_article(
        self,
        source: str,
        size: int,
        mtime_ns: int,
        digest: str,
        article: Article | None,
        error: str | None,
    ) -> None:
        fields = encode_article(article) if article else None
        self.put_articles([ArticleRow(source, size, mtime_ns, digest, fields, error)])

    def put_articles(self, rows: list[ArticleRow]) -> None:
        """:meth:`put_article` for many, in a few statements (a cold build stores every file)."""
        sources = [row.source for row in rows]
        self._stats_change(sources)
        self.db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.unlist(sources)  # made from the old ones

    def touch_article(self, source: str, size: int, mtime_ns: int) -> None:
        """The file was rewritten with the same bytes: only its stat changed."""
        self._stats_change([source])
        self.db.execute(
            "UPDATE articles SET size = ?, mtime_ns = ? WHERE source = ?", (size, mtime_ns, source)
        )

    def decoded(self, sources: list[str]) -> dict[str, Article]:
        """The parsed articles the store holds for ``sources``."""
        return {article.source: article for article in self.each_decoded(sources)}

    def each_decoded(self, sources: list[str]) -> Iterator[Article]:
        """As :meth:`decoded`, one at a time: for many, without holding them all."""
        query = "SELECT fields FROM articles WHERE fields IS NOT NULL AND source IN ({})"
        return (_decode(data) for (data,) in self._in_batches(query, sources))

    def sources_by_field(self, name: str, values: list[str]) -> dict[str, list[str]]:
        """Which articles have a frontmatter field (``title``, ``slug``) equal to one of
        ``values``: value → sources, in source order."""
        assert name.isidentifier()  # a field name of ours, never text from a file
        query = (
            f"SELECT json_extract(fields, '$.{name}') AS value, source FROM articles"
            " WHERE fields IS NOT NULL AND value IN ({}) ORDER BY source"
        )
        found: dict[str, list[str]] = {}
        for value, source in self._in_batches(query, values):
            found.setdefault(value, []).append(source)
        return found

    def forget_articles(self, sources: list[str]) -> None:
        self._stats_change(sources)
        self.db.executemany("DELETE FROM articles WHERE source = ?", [(s,) for s in sources])
        self.unlist(sources)

    def clear_articles(self) -> None:
        self.db.execute("DELETE FROM scan_chunks")
        self._chunks_kept = False
        self.db.execute("DELETE FROM articles")
        self.clear_items()

    def forget_everything(self) -> None:
        """Everything but the identity registry: ids must outlive any rebuild."""
        for table in (
            "meta",
            "articles",
            "items",
            "members",
            "cleaned",
            "feeds",
            "published_feeds",
            "scan_chunks",
        ):
            self.db.execute(f"DELETE FROM {table}")
        self._chunks_kept = False

    # ----------------------------------------------------------------- items
    # Per article, under the current config: its listing (what planning needs), kept for every
    # article, and its item (the feed entry it makes), kept once it has been in some feed.

    def listings(self) -> dict[str, Listing]:
        """Every listing (one query, small rows)."""
        rows = self.db.execute("SELECT source, id, published, groups FROM items")
        return {listing.source: listing for listing in _listings(rows)}

    def listings_of(self, sources: list[str]) -> list[Listing]:
        query = "SELECT source, id, published, groups FROM items WHERE source IN ({})"
        return _listings(self._in_batches(query, sources))

    def unchanged_unlisted(self, changed: Collection[str]) -> list[str]:
        """The files parsed before that have no listing under this config (or are drafts), by
        source, but ``changed``."""
        # Every listing is of a stored file that parsed (the files' rows are put, replaced or
        # deleted with their listings: see put_articles, forget_articles, clear_articles), so
        # when the counts agree every file parsed is listed.
        parsed = self.count_articles() - self._count(_FAILED_COUNT)
        if parsed == self._count("SELECT count(*) FROM items"):
            return []
        rows = self.db.execute(  # merged along the indexes: no article row is read
            "SELECT source FROM articles EXCEPT SELECT source FROM items"
            " EXCEPT SELECT source FROM articles WHERE error IS NOT NULL ORDER BY 1"
        )
        return [source for (source,) in rows if source not in changed]

    def unlist(self, sources: list[str]) -> None:
        """Take ``sources`` out of every listing and feed (until they are listed again)."""
        for table in ("items", "members"):
            self.db.executemany(f"DELETE FROM {table} WHERE source = ?", [(s,) for s in sources])

    def hashes(self, sources: list[str]) -> dict[str, str]:
        """The content hash stored for each of ``sources``."""
        query = "SELECT source, hash FROM articles WHERE source IN ({})"
        return dict(self._in_batches(query, sources))

    def put_listing(self, listing: Listing, feeds: Iterable[str]) -> None:
        """Keep ``listing``, a member of ``feeds`` (their keys: see :meth:`newest_members`)."""
        self.put_listings([(listing, feeds)])

    def put_listings(self, listed: Iterable[tuple[Listing, Iterable[str]]]) -> None:
        """:meth:`put_listing` for many, in three statements (a cold build lists every file)."""
        pairs = [(listing, tuple(feeds)) for listing, feeds in listed]
        if len(self._listed_ids) <= _SHARED_IDS_RECHECKED:  # beyond: all are looked at anyway
            self._listed_ids.update(listing.id for listing, _ in pairs)
        encoded: dict[tuple[object, object], str] = {}  # most articles share a few sets

        def groups(listing: Listing) -> str:
            key = (listing.categories, listing.tags)
            if key not in encoded:
                encoded[key] = json.dumps(key, ensure_ascii=False)
            return encoded[key]

        self.db.executemany(
            "INSERT OR REPLACE INTO items (source, id, published, groups) VALUES (?, ?, ?, ?)",
            [
                (listing.source, listing.id, listing.published, groups(listing))
                for listing, _ in pairs
            ],
        )
        if not self._bulk_listing:  # (in bulk, each source is listed once: see there)
            self.db.executemany(
                "DELETE FROM members WHERE source = ?", [(listing.source,) for listing, _ in pairs]
            )
        self.db.executemany(
            f"INSERT INTO {'bulk_members' if self._bulk_listing else 'members'} VALUES (?, ?, ?, ?)",
            [
                (feed, listing.published, listing.id, listing.source)
                for listing, feeds in pairs
                for feed in feeds
            ],
        )

    def begin_bulk_listing(self) -> None:
        """When nothing is listed (a first build, a new config) and every file is about to be:
        the members go to a table of their own and into ``members`` in key order at
        :meth:`end_bulk_listing`, and the listings' indexes are made then. Inserted one by one,
        a million files' listings land at random places in four B-trees larger than any cache
        (~57 us a file). Until the end, the members are not where queries look; the caller
        lists each source at most once."""
        if self.db.execute(
            "SELECT 1 FROM items UNION ALL SELECT 1 FROM members LIMIT 1"
        ).fetchone():
            return
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bulk_members"
            " (feed TEXT, published REAL, id TEXT, source TEXT)"
        )
        for name in _LISTING_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")
        self._bulk_listing = True

    def end_bulk_listing(self) -> None:
        if not self._bulk_listing:
            return
        self._bulk_listing = False
        self.db.execute(
            "INSERT INTO members SELECT feed, published, id, source FROM bulk_members"
            " ORDER BY feed, published DESC, id, source"
        )
        self.db.execute("DROP TABLE bulk_members")
        for create in _LISTING_INDEXES.values():
            self.db.execute(create)

    # Feed membership, answered by the store's indexes: a build that changed one article of a
    # million reads each feed's newest members, never every listing. ``until``: only what is
    # published by then (the rest is held back, or +inf when nothing is).

    def member_feeds(self, until: float) -> list[str]:
        """The keys of the feeds that have a member published by ``until``, sorted."""
        # From one feed to the next along the primary key (a skip scan of a few hundred
        # seeks): SELECT DISTINCT read all ~3 members a listing has, 0.44 s at a million.
        rows = self.db.execute(
            "WITH RECURSIVE feeds (feed) AS (SELECT min(feed) FROM members UNION ALL"
            " SELECT (SELECT min(feed) FROM members WHERE feed > feeds.feed) FROM feeds"
            " WHERE feeds.feed IS NOT NULL)"
            " SELECT feed FROM feeds WHERE feed IS NOT NULL AND EXISTS"
            " (SELECT 1 FROM members WHERE members.feed = feeds.feed AND published <= ?)"
            " ORDER BY feed",
            (until,),
        )
        return [feed for (feed,) in rows]

    def newest_members(self, feed: str, until: float, limit: int) -> list[str]:
        """Sources of ``feed``'s newest ``limit`` members (newest first, equal dates by id)."""
        rows = self.db.execute(
            "SELECT source FROM members WHERE feed = ? AND published <= ?"
            " ORDER BY published DESC, id LIMIT ?",
            (feed, until, limit),
        )
        return [source for (source,) in rows]

    def listed_after(self, until: float) -> list[str]:
        """Sources of the listed articles published after ``until`` (held back), sorted."""
        # Sorted here: "ORDER BY source" made SQLite walk every item in source order rather
        # than seek the few dated later along items_by_date.
        rows = self.db.execute("SELECT source FROM items WHERE published > ?", (until,))
        return sorted(source for (source,) in rows)

    def listed_count(self, until: float) -> int:
        # All less those after ``until``: counting a few is a short walk along items_by_date,
        # counting a million by date a long one (a count of all takes the smallest index).
        later = self._count("SELECT count(*) FROM items WHERE published > ?", until)
        return self._count("SELECT count(*) FROM items") - later

    def _count(self, query: str, *params: object) -> int:
        return int(self.db.execute(query, params).fetchone()[0])

    def shared_ids(self, until: float) -> dict[str, list[str]]:
        """The ids that more than one listed article (published by ``until``) claims: id →
        sources, sorted.

        An id becomes shared only by a listing put, so only the ids put since the last call
        and those shared then are looked at (kept in the meta table); a store that does not
        know them, or a build that listed many, looks at every id (1M: 0.3 s)."""
        known = self.meta(_SHARED_IDS)
        if known is None or len(self._listed_ids) > _SHARED_IDS_RECHECKED:
            rows: Iterable[tuple[str, str, float]] = self.db.execute(  # (the id index says)
                "SELECT id, source, published FROM items WHERE id IN"
                " (SELECT id FROM items GROUP BY id HAVING count(*) > 1) ORDER BY id, source"
            )
        else:
            candidates = sorted(self._listed_ids.union(json.loads(known)))
            query = "SELECT id, source, published FROM items WHERE id IN ({})"
            rows = sorted(self._in_batches(query, candidates))  # (id, source) is unique
        claims: dict[str, list[tuple[str, float]]] = {}
        for identity, source, published in rows:
            claims.setdefault(identity, []).append((source, published))
        shared = {identity: found for identity, found in claims.items() if len(found) > 1}
        self.set_meta(_SHARED_IDS, json.dumps(sorted(shared), ensure_ascii=False))
        self._listed_ids.clear()
        published_by = {
            identity: [source for source, published in found if published <= until]
            for identity, found in shared.items()
        }
        return {identity: sources for identity, sources in published_by.items() if len(sources) > 1}

    def settle_shared_ids(self) -> None:
        """Listings put since :meth:`shared_ids` last looked: the next build looks at all."""
        if self._listed_ids:
            self.db.execute("DELETE FROM meta WHERE key = ?", (_SHARED_IDS,))

    def items(self, sources: list[str]) -> dict[str, Item]:
        """The items kept for ``sources`` (those never made into one are absent)."""
        query = (
            "SELECT source, entry, clean_key, thumbnail, key FROM items"
            " WHERE entry IS NOT NULL AND source IN ({})"
        )
        return {
            source: Item(_decode_entry(entry), clean_key, thumbnail, key)
            for source, entry, clean_key, thumbnail, key in self._in_batches(query, sources)
        }

    def put_items(self, items: Mapping[str, Item]) -> None:
        """Keep each source's item beside its listing (see :meth:`put_listing`)."""
        self.db.executemany(
            "UPDATE items SET entry = ?, clean_key = ?, thumbnail = ?, key = ? WHERE source = ?",
            [
                (_encode_entry(item.entry), item.clean_key, item.thumbnail, item.key, source)
                for source, item in items.items()
            ],
        )

    def clear_items(self) -> None:
        """Items depend on the config: a new one makes every item again."""
        self.db.execute("DELETE FROM items")
        self.db.execute("DELETE FROM members")

    # ----------------------------------------------------------------- identities

    def identity(self, source: str, digest: str, gone: set[str]) -> str | None:
        """The id ``source`` was first published with; a file moved with unchanged content
        (same hash, old path gone) keeps the id of its old path."""
        row = self.db.execute("SELECT id FROM identities WHERE source = ?", (source,)).fetchone()
        if row is not None:
            return str(row[0])
        if not gone:
            return None
        for old_source, old_id in self.db.execute(
            "SELECT source, id FROM identities WHERE hash = ? ORDER BY source", (digest,)
        ):
            if old_source in gone:
                self.db.execute("DELETE FROM identities WHERE source = ?", (old_source,))
                self.remember_identities([(source, digest, old_id)])
                return str(old_id)
        return None

    def knows_identities(self) -> bool:
        """False for a new store: no article's first id is known (see the pipeline's recovery)."""
        return self.db.execute("SELECT 1 FROM identities LIMIT 1").fetchone() is not None

    def remember_identities(self, rows: list[tuple[str, str, str]]) -> None:
        """The id each ``(source, digest, id)`` was first published with."""
        self.db.executemany("INSERT OR REPLACE INTO identities VALUES (?, ?, ?)", rows)

    # ----------------------------------------------------------------- cleaned bodies

    def cleaned_many(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        """The cleaned bodies the store holds for ``keys``."""
        query = "SELECT key, content, summary FROM cleaned WHERE key IN ({})"
        return {k: (c, s) for k, c, s in self._in_batches(query, keys)}

    def cleaned_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` the store holds a cleaned body for (without reading the bodies)."""
        return {k for (k,) in self._in_batches("SELECT key FROM cleaned WHERE key IN ({})", keys)}

    def put_cleaned(self, key: str, content: str, summary: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cleaned VALUES (?, ?, ?)",
            (key, content, summary),
        )

    def keep_cleaned(self, keys: set[str]) -> None:
        """Drop cleaned bodies no feed uses any more (the table would otherwise only grow)."""
        stale = [(k,) for (k,) in self.db.execute("SELECT key FROM cleaned") if k not in keys]
        self.db.executemany("DELETE FROM cleaned WHERE key = ?", stale)

    # ----------------------------------------------------------------- thumbnails

    def thumbs(self, urls: list[str], mode: str) -> dict[str, ThumbFact]:
        query = "SELECT url, length, type, media, ok, checked, error FROM thumbs WHERE mode = ? AND url IN ({})"
        return {
            url: ThumbFact(length, kind, media, bool(ok), checked, error)
            for url, length, kind, media, ok, checked, error in self._in_batches(query, urls, mode)
        }

    def put_thumb(self, url: str, mode: str, fact: ThumbFact) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO thumbs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (url, mode, fact.length, fact.type, fact.media, int(fact.ok), fact.checked, fact.error),
        )

    # ----------------------------------------------------------------- feeds

    def feed_fingerprints(self) -> dict[str, str]:
        return {str(f): str(p) for f, p in self.db.execute("SELECT file, fingerprint FROM feeds")}

    def set_feed_fingerprint(self, file: str, fingerprint: str | None) -> None:
        if fingerprint is None:
            self.db.execute("DELETE FROM feeds WHERE file = ?", (file,))
        else:
            self.db.execute("INSERT OR REPLACE INTO feeds VALUES (?, ?)", (file, fingerprint))

    # ----------------------------------------------------------------- published feeds
    # What index.html lists, as of the last build that wrote it: ``refeed feeds`` reads it with
    # :func:`read_published_feeds` (no lock: it must answer while watch builds).

    def set_published_feeds(self, feeds: list[PublishedFeed]) -> None:
        """Replace the list (in index.html's order); from now on the store has one."""
        self.db.execute("DELETE FROM published_feeds")
        self.db.executemany(
            "INSERT INTO published_feeds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (position, feed.dir, feed.kind, feed.title, feed.items,
                 feed.newest.isoformat() if feed.newest else None,
                 json.dumps(feed.files, ensure_ascii=False), json.dumps(feed.urls, ensure_ascii=False))
                for position, feed in enumerate(feeds)
            ],
        )  # fmt: skip
        self.set_meta(_LISTED, "yes")

    def lists_published_feeds(self) -> bool:
        """False until a build under this schema has recorded them (a store from before 4)."""
        return self.meta(_LISTED) is not None

    # ----------------------------------------------------------------- published objects
    # Not forgotten by a full rebuild: they are facts about the bucket, not about the articles.

    def objects(self, target: str) -> dict[str, StoredObject]:
        """The objects refeed put on ``target``, by their file's path in the output folder."""
        rows = self.db.execute(
            "SELECT file, md5, etag, headers, size, mtime_ns FROM objects WHERE target = ?",
            (target,),
        )
        return {file: StoredObject(*rest) for file, *rest in rows}

    def put_object(self, target: str, file: str, stored: StoredObject) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)", (target, file, *stored)
        )

    def forget_object(self, target: str, file: str) -> None:
        self.db.execute("DELETE FROM objects WHERE target = ? AND file = ?", (target, file))

    def _in_batches(self, query: str, keys: list[str], *params: object) -> Iterable[Any]:
        """Rows of ``query`` (its ``IN ({})`` filled with ``keys``), 500 keys at a time: SQLite
        caps the number of parameters in one statement."""
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            query_batch = query.format(",".join("?" * len(batch)))
            # fetched whole: a generator left unfinished (Ctrl-C) is closed when it is collected,
            # and closing a cursor after the store has closed raises there, with a traceback
            yield from self.db.execute(query_batch, [*params, *batch]).fetchall()

    # ----------------------------------------------------------------- status

    def read_status(self) -> dict[str, Any]:
        """The last ``status.json`` (empty if there is none or it cannot be read)."""
        return read_status(self.folder)

    def write_status(self, status: dict[str, Any]) -> None:
        write_status(self.folder, status)


def read_status(folder: Path) -> dict[str, Any]:
    """The last ``status.json`` in ``folder`` (empty if there is none or it cannot be read)."""
    try:
        status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def write_status(folder: Path, status: dict[str, Any]) -> None:
    """``status.json`` for monitoring, replaced atomically; a failure is a warning only."""
    target = folder / "status.json"
    tmp = target.with_name(f".status.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(status, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:  # monitoring must never cost a build
        log.warning("%s: status not written: %s", target, exc.strerror or exc)
        tmp.unlink(missing_ok=True)


_WHERE = "choose a writable folder with state.dir or --state"
_LISTED = "published_feeds"  # meta key: the published_feeds table holds a build's list
BUSY_SECONDS = 2.0  # how long a reader waits for a build's commit before saying so


def read_published_feeds(folder: Path) -> list[PublishedFeed] | None:
    """The feeds the last build advertised, read from ``folder``'s store without writing
    anything; None when no build has recorded them there (no store, or one from before
    schema 4 not built since).

    Neither the lock nor the schema upgrade of :func:`open_state`: both write, and a ``watch``
    holds the lock for a whole build. SQLite's own read lock gives the last committed build's
    list (a build commits at its end); only during that commit does a reader wait, and after
    :data:`BUSY_SECONDS` it is a :class:`StoreBusy`, never a hang.
    """
    path = folder / "state.sqlite3"
    try:  # a folder this user may not enter (another user's 0700 .refeed/) is no crash
        if folder.exists() and not folder.is_dir():
            raise StateError(str(folder), f"not a folder, {_WHERE}")
        if not path.is_file():
            return None
        if not os.access(path, os.R_OK):
            raise StateError(str(path), "cannot be read by this user; run as the user who builds")
    except OSError as exc:
        reason = f"cannot be read: {exc.strerror or exc}; run as the user who builds"
        raise StateError(str(folder), reason) from None
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS,
            isolation_level=None,
        )  # fmt: skip
    except sqlite3.Error as exc:
        raise StateError(str(path), f"cannot be opened: {exc}") from None
    try:
        db.execute("BEGIN")  # one snapshot: the version, the marker and the rows of one build
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            reason = (
                f"written by a newer refeed (schema {version}, this one reads {SCHEMA_VERSION})"
            )
            raise StateError(str(path), reason)
        if version < _PUBLISHED_FEEDS_SINCE:
            return None
        if db.execute("SELECT 1 FROM meta WHERE key = ?", (_LISTED,)).fetchone() is None:
            return None
        rows = db.execute(
            "SELECT dir, kind, title, items, newest, files, urls FROM published_feeds"
            " ORDER BY position"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
            raise StoreBusy(path) from None
        raise StateError(str(path), f"cannot be read: {exc}") from None
    except sqlite3.Error as exc:
        raise StateError(str(path), f"cannot be read: {exc}") from None
    finally:
        db.close()
    return [
        PublishedFeed(
            dir=feed_dir, kind=cast(FeedKind, kind), title=title, items=items,
            newest=datetime.fromisoformat(newest) if newest else None,
            files=cast(dict[FeedFormat, str], json.loads(files)),
            urls=cast(dict[FeedFormat, str], json.loads(urls)),
        )
        for feed_dir, kind, title, items, newest, files, urls in rows
    ]  # fmt: skip


@contextlib.contextmanager
def open_state(folder: Path, wait: bool = True) -> Iterator[State]:
    """Lock ``folder``, open (or start afresh) its store, and commit when the block succeeds.

    A folder that cannot hold the store (a file in its place, read-only, full) is a
    :class:`StateError` naming it, never an OSError or a sqlite3 error.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StateError(str(folder), f"not a folder, {_WHERE}") from None
    except OSError as exc:
        raise StateError(str(folder), f"cannot be created: {exc.strerror}, {_WHERE}") from None
    path = folder / "state.sqlite3"
    with _locked(folder / "lock", wait):
        try:
            db = _connect(path)
        except sqlite3.Error as exc:
            raise StateError(str(path), f"cannot be opened: {exc}, {_WHERE}") from None
        try:
            db.execute("BEGIN")
            store = State(db, folder)
            yield store
            store.settle_shared_ids()
            db.commit()
        except sqlite3.DatabaseError as exc:
            # Damage deep in the file shows only when that page is read (checking every page
            # at each start would cost a no-op build more than all its other work).
            with contextlib.suppress(sqlite3.Error):
                db.rollback()
            if getattr(exc, "sqlite_errorcode", None) not in (
                sqlite3.SQLITE_CORRUPT,
                sqlite3.SQLITE_NOTADB,
            ):
                if isinstance(exc, sqlite3.OperationalError):  # read-only, full, locked
                    raise StateError(str(path), f"cannot be written: {exc}, {_WHERE}") from None
                raise
            db.close()
            _remove(path)
            raise StoreDamaged(path, str(exc)) from exc
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()


@contextlib.contextmanager
def _locked(path: Path, wait: bool) -> Iterator[None]:
    try:
        handle = path.open("a")
    except OSError as exc:
        raise StateError(str(path.parent), f"cannot be written: {exc.strerror}, {_WHERE}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockedError(path) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect(path: Path) -> sqlite3.Connection:
    for attempt in (1, 2):
        db = sqlite3.connect(path, isolation_level=None)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
            if version < SCHEMA_VERSION:  # new, or older: versions only ever add tables
                db.executescript(_SCHEMA)
                if 0 < version < _MEMBERS_SINCE:  # listings without their feeds: the next
                    db.execute("DELETE FROM items")  # build lists and plans everything anew
                    db.execute("DELETE FROM meta WHERE key = ?", (CONFIG_KEY,))
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return db
        except sqlite3.DatabaseError as exc:
            db.close()
            code = getattr(exc, "sqlite_errorcode", None)  # None: the version check above
            if attempt == 2 or code not in (None, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                raise  # not damage (read-only, full, I/O): the store is kept
            log.warning(
                "%s: state store unusable (%s); starting afresh: the next build re-reads everything",
                path,
                exc,
            )
            _remove(path)
    raise AssertionError("unreachable")


def _remove(path: Path) -> None:
    for leftover in (
        path,
        path.with_name(path.name + "-journal"),
        path.with_name(path.name + "-wal"),
    ):
        leftover.unlink(missing_ok=True)


# --------------------------------------------------------------------- Article, Entry <-> JSON

_DATES = ("published", "updated")
_SHARED_IDS = "shared_ids"  # the meta key: the ids more than one listing had at the last look
_SHARED_IDS_RECHECKED = 10_000  # ids put by a build, at most, that are looked at one by one


_STORED = tuple(f.name for f in fields(Article) if f.name != "body")
_FIELDS = frozenset(_STORED)


def _listings(rows: Iterable[tuple[str, str, float, str]]) -> list[Listing]:
    decoded: dict[str, tuple[Any, Any]] = {}  # most articles share a few category sets
    listings = []
    for source, identity, published, groups in rows:
        if (pair := decoded.get(groups)) is None:
            categories, tags = json.loads(groups)
            pair = decoded[groups] = (tuple(map(tuple, categories)), tuple(tags))
        listings.append(Listing(source, identity, published, *pair))
    return listings


def _compact_json(data: object) -> str:
    """The store's JSON: text as written, no spaces (with_stored_id relies on encode_article's
    encoding being exactly this)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def encode_article(article: Article, *, identity: str | None = None) -> str:
    """What the store keeps of a parsed article (its body is read from the file when needed);
    made by the worker that parsed it. ``identity``: kept as its id when it has none."""
    data = {name: getattr(article, name) for name in _STORED}
    if identity is not None and not data["id"]:
        data["id"] = identity
    for key in _DATES:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return _compact_json(data)


def with_stored_id(fields: str, identity: str) -> str:
    """An encoded article (see :func:`encode_article`) with ``identity`` as its id."""
    data = json.loads(fields)
    data["id"] = identity
    return _compact_json(data)


def _encode_entry(entry: Entry) -> str:
    data = [entry.id, entry.title, entry.link, entry.published.isoformat(),
            entry.updated.isoformat(), entry.author, entry.categories]  # fmt: skip
    return _compact_json(data)


def _decode_entry(text: str) -> Entry:
    identity, title, link, published, updated, author, categories = json.loads(text)
    return Entry(
        identity, title, link, datetime.fromisoformat(published), datetime.fromisoformat(updated),
        "", "", author, tuple(categories),
    )  # fmt: skip


def _decode(text: str) -> Article:
    data = json.loads(text)
    for key in _DATES:
        if data[key] is not None:
            data[key] = datetime.fromisoformat(data[key])
    data["categories"] = tuple(tuple(path) for path in data["categories"])
    data["tags"] = tuple(data["tags"])
    data["references"] = tuple(data.get("references", ()))
    # Fields a newer or older refeed stored and this one does not know are left out.
    return Article(body="", **{k: v for k, v in data.items() if k in _FIELDS})
