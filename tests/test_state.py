from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from refeed.errors import StateError
from refeed.models import Article, Entry, Listing, PublishedFeed, StoredObject
from refeed.state import (
    ArticleRow,
    Item,
    LockedError,
    State,
    Stored,
    ThumbFact,
    encode_article,
    open_state,
    read_published_feeds,
    scan_chunks,
    with_stored_id,
)

ARTICLE = Article(
    source="a.md",
    title="T",
    published=datetime(2021, 11, 4, 2, 8, 44, tzinfo=UTC),
    body="not stored",
    body_format="html",
    categories=(("金融", "新浪财经"),),
    tags=("x",),
    thumbnail="https://x/t.jpg",
    id="urn:uuid:1",
)


def test_articles_round_trip_without_their_bodies(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
        store.put_article("bad.md", 5, 456, "h2", None, "frontmatter: 'title' is required")
    with open_state(tmp_path) as store:
        known = store.articles()
        stored = store.decoded(["a.md"])["a.md"]
        assert store.decoded(["a.md", "bad.md", "gone.md"]) == {"a.md": stored}
    assert stored is not None and stored.body == "" and stored.title == "T"
    assert stored.published == ARTICLE.published and stored.categories == ARTICLE.categories
    assert (known["a.md"].size, known["a.md"].mtime_ns, known["a.md"].hash) == (10, 123, "h1")
    assert known["bad.md"].error == "frontmatter: 'title' is required"


def test_listings_and_items_round_trip_and_go_with_their_article(tmp_path: Path) -> None:
    listing = Listing("a.md", "urn:uuid:1", 1636000000.25, ARTICLE.categories, ARTICLE.tags)
    entry = Entry(
        "urn:uuid:1", "T", "https://x/a", ARTICLE.published, ARTICLE.published, "", "",
        "Ann", ("金融", "x"),
    )  # fmt: skip
    item = Item(entry, "clean-key", "https://x/t.jpg", "item-key")
    with open_state(tmp_path) as store:
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
        store.put_listing(listing, [])
        assert store.items(["a.md"]) == {}  # listed, not yet made into an item
        store.put_items({"a.md": item})
    with open_state(tmp_path) as store:
        assert store.listings() == {"a.md": listing}
        assert store.items(["a.md", "b.md"]) == {"a.md": item}
        store.put_article("a.md", 11, 124, "h2", ARTICLE, None)  # edited: both made again
        assert store.listings() == {} and store.items(["a.md"]) == {}
        store.put_listing(listing, [])
        store.clear_items()  # a new config
        assert store.listings() == {}
        store.put_listing(listing, [])
        store.forget_articles(["a.md"])
        assert store.listings() == {}


def test_feeds_with_members_and_later_listings_are_those_the_rows_say(tmp_path: Path) -> None:
    # member_feeds skips from feed to feed along the key; checked against the plain queries.
    feeds = ["", "a", "a/b", "b", "tag:x", "tag:x y", "中文"]
    with open_state(tmp_path) as store:
        for n in range(300):
            listing = Listing(f"{n:03d}.md", f"urn:{n % 250}", 1000.0 + (n * 7919) % 300)
            store.put_listing(listing, feeds[n % 7 : n % 7 + 1 + n % 3])
        for until in (-1.0, 999.0, 1000.0, 1003.0, 1150.5, 1299.0, float("inf")):
            assert store.member_feeds(until) == [
                feed
                for (feed,) in store.db.execute(
                    "SELECT DISTINCT feed FROM members WHERE published <= ? ORDER BY feed",
                    (until,),
                )
            ]
            assert store.listed_after(until) == sorted(
                source for source, listing in store.listings().items() if listing.published > until
            )
        assert store.member_feeds(-1.0) == [] and len(store.member_feeds(float("inf"))) == 7


def test_shared_ids_are_found_build_after_build_as_a_full_look_finds_them(
    tmp_path: Path,
) -> None:
    # Each build looks only at the ids it listed and those shared before; against all rows.
    def every_shared(store: State, until: float) -> dict[str, list[str]]:
        claims: dict[str, list[str]] = {}
        for source, listing in sorted(store.listings().items()):
            if listing.published <= until:
                claims.setdefault(listing.id, []).append(source)
        return {identity: sources for identity, sources in claims.items() if len(sources) > 1}

    rng = random.Random(7)
    for build in range(40):
        with open_state(tmp_path) as store:
            for _ in range(rng.randint(0, 6)):
                source = f"{rng.randint(0, 30):02d}.md"
                if rng.random() < 0.3:
                    store.unlist([source])
                else:
                    listing = Listing(source, f"urn:{rng.randint(0, 12)}", rng.randint(0, 9))
                    store.put_listing(listing, [])
            until = rng.choice([4.0, float("inf")])
            assert store.shared_ids(until) == every_shared(store, until), build
            if build % 7 == 3:  # listed after the look: the next build must look at all
                for late in ("a", "b"):
                    store.put_listing(Listing(f"late{build}{late}.md", f"urn:{build}", 1.0), [])


def test_unlisted_files_and_listed_counts_are_what_a_look_at_every_row_finds(
    tmp_path: Path,
) -> None:
    # Both answer from counts when they can (a million rows); against the plain queries.
    rng = random.Random(11)
    with open_state(tmp_path) as store:
        for step in range(300):
            source, roll = f"{rng.randint(0, 25):02d}.md", rng.random()
            if roll < 0.35:
                failed = rng.random() < 0.3
                fields, error = (None, "no frontmatter") if failed else ("{}", None)
                store.put_articles([ArticleRow(source, 1, 1, "h", fields, error)])  # unlisted
            elif roll < 0.45:
                store.forget_articles([source])
            elif roll < 0.55:
                store.unlist([source])
            elif store.db.execute(  # listed, as a build lists: a stored file that parsed
                "SELECT 1 FROM articles WHERE source = ? AND error IS NULL", (source,)
            ).fetchone():
                store.put_listing(Listing(source, f"urn:{source}", rng.randint(0, 9)), [])
            parsed = {
                s for (s,) in store.db.execute("SELECT source FROM articles WHERE error IS NULL")
            }
            unlisted = sorted(parsed - set(store.listings()))
            assert store.unchanged_unlisted(set()) == unlisted, step
            assert store.unchanged_unlisted({"03.md"}) == [s for s in unlisted if s != "03.md"]
            for until in (-1.0, 4.0, float("inf")):
                by_date = [
                    s for s, listing in store.listings().items() if listing.published <= until
                ]
                assert store.listed_count(until) == len(by_date), step


def test_listing_everything_in_bulk_stores_what_listing_one_by_one_does(tmp_path: Path) -> None:
    listed = [
        (Listing(f"{n:03d}.md", f"urn:{n % 40}", 1000.0 + (n * 37) % 90), ["", f"c{n % 3}"])
        for n in range(120)
    ]

    def contents(store: State) -> tuple[object, ...]:
        return (
            store.listings(),
            list(store.db.execute("SELECT * FROM members ORDER BY source, feed")),
            {key: store.newest_members(key, 1050.0, 7) for key in store.member_feeds(1050.0)},
            store.shared_ids(1080.0),
            sorted(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")),
        )

    found = []
    for bulk in (False, True):
        with open_state(tmp_path / str(bulk)) as store:
            if bulk:
                store.begin_bulk_listing()
            for pair in listed:
                store.put_listing(*pair)
            store.end_bulk_listing()
            found.append(contents(store))
    assert found[0] == found[1]
    with open_state(tmp_path / "True") as store:  # listed: a later build lists one by one
        store.begin_bulk_listing()
        store.put_listing(Listing("000.md", "urn:0", 2000.0), ["", "c9"])
        store.end_bulk_listing()
        assert store.member_feeds(float("inf"))[-1] == "c9"
        assert store.newest_members("", float("inf"), 1) == ["000.md"]
        rows = store.db.execute("SELECT feed, published FROM members WHERE source = '000.md'")
        assert sorted(rows) == [("", 2000.0), ("c9", 2000.0)]  # the old memberships went


def test_the_scan_is_compared_with_the_stored_stats_by_the_store(tmp_path: Path) -> None:
    def listing(source: str) -> Listing:
        return Listing(source, f"id-{source}", 1.0, (), ())

    with open_state(tmp_path) as store:
        store.put_article("same.md", 10, 1, "h-same", ARTICLE, None)
        store.put_listing(listing("same.md"), [])
        store.put_article("draft.md", 10, 1, "h-draft", ARTICLE, None)  # parsed, no listing
        store.put_article("bad.md", 10, 1, "h-bad", None, "no frontmatter")
        store.put_article("edited.md", 10, 1, "h-edited", ARTICLE, None)
        store.put_listing(listing("edited.md"), [])
        store.put_article("touched.md", 10, 1, "h-touched", ARTICLE, None)
        store.put_article("gone.md", 10, 1, "h-gone", ARTICLE, None)
        scanned = [("bad.md", 10, 1), ("draft.md", 10, 1), ("edited.md", 11, 1),
                   ("new.md", 3, 3), ("same.md", 10, 1), ("touched.md", 10, 2)]  # fmt: skip
        changes = store.compare_stats(iter(scanned))
        assert changes.changed == {
            "edited.md": Stored(10, 1, "h-edited", True, None),
            "new.md": None,
            "touched.md": Stored(10, 1, "h-touched", True, None),
        }
        assert changes.gone == ["gone.md"]
        store.forget_articles(changes.gone)
        changed = set(changes.changed)
        assert store.unchanged_errors(changed) == [("bad.md", "no frontmatter")]
        assert store.unchanged_unlisted(changed) == ["draft.md"]  # not the touched one
        assert store.count_articles() == 5
        files = store.compare_files(["same.md", "edited.md", "bad.md", "x.md"],
                                    {"same.md": (10, 1), "edited.md": (12, 1), "x.md": (1, 1)})  # fmt: skip
        assert files.changed == {"edited.md": Stored(10, 1, "h-edited", True, None), "x.md": None}
        assert files.gone == ["bad.md"]  # stored, and not an article file now
        assert store.hashes(["same.md", "edited.md", "nope.md"]) == {
            "same.md": "h-same", "edited.md": "h-edited"
        }  # fmt: skip
        # A second comparison on the same connection starts from the new scan only.
        assert store.compare_stats(iter([("same.md", 10, 1)])).gone == sorted(
            ["bad.md", "draft.md", "edited.md", "touched.md"]
        )


class Stat(NamedTuple):  # what a scan finds of a file (load.SourceFile, in short)
    rel: str
    size: int
    mtime_ns: int


def _scan(count: int, *, edited: int | None = None) -> list[Stat]:
    return [Stat(f"p/{n:05d}.md", 100 + n, 1 + (n == edited)) for n in range(count)]


def _stored(store: State, scanned: list[Stat]) -> None:
    for source, size, mtime_ns in scanned:
        store.put_article(source, size, mtime_ns, f"h-{source}", None, "no frontmatter")


def test_a_scan_is_cut_where_its_files_decide_so_an_edit_changes_one_chunk() -> None:
    scanned = _scan(5000)
    chunks = scan_chunks(scanned)
    assert 5 <= len(chunks) <= 60 and max(c.end - c.start for c in chunks) <= 1024  # ~256 each
    assert [c.start for c in chunks] == [0, *[c.end for c in chunks[:-1]]]
    assert chunks[-1].end == 5000 and all(c.first == scanned[c.start][0] for c in chunks)
    assert scan_chunks(scanned) == chunks  # the same scan, the same chunks
    edited = scan_chunks(_scan(5000, edited=2500))
    assert 1 <= len(set(chunks) ^ set(edited)) <= 4  # its chunk (and a neighbour it joins)
    added = scan_chunks(sorted([*scanned, Stat("p/02500x.md", 1, 1)]))
    assert 1 <= len({c.digest for c in chunks} ^ {c.digest for c in added}) <= 4
    assert scan_chunks([]) == []


def test_the_store_compares_only_the_chunks_it_does_not_hold(tmp_path: Path) -> None:
    scanned = _scan(20000)
    with open_state(tmp_path) as store:
        _stored(store, scanned)
        assert not store.keeps_scan(scan_chunks(scanned), len(scanned))
        store.remember_scan(scan_chunks(scanned))
        assert store.keeps_scan(scan_chunks(scanned), len(scanned))
    edited = _scan(20000, edited=1234)
    del edited[2000:2700]  # a removed folder: whole chunks gone
    edited.insert(5, Stat("p/00004a.md", 1, 1))
    with open_state(tmp_path) as store:
        chunks = scan_chunks(edited)
        assert not store.keeps_scan(chunks, len(edited))
        changes = store.compare_scan(edited, chunks)
        assert changes.changed == {
            "p/01234.md": Stored(1334, 1, "h-p/01234.md", False, "no frontmatter"),
            "p/00004a.md": None,
        }
        assert changes.gone == [f"p/{n:05d}.md" for n in range(2000, 2700)]
        compared = store.db.execute("SELECT count(*) FROM temp.scanned").fetchone()[0]
        assert compared < 5000  # the chunks that changed, not the whole scan
        assert store.compare_stats(edited) == changes  # what comparing everything finds


def test_a_gone_file_is_found_without_going_through_the_whole_store(tmp_path: Path) -> None:
    """What the store does for one deleted file is of the size of one edit's, not of the
    archive: counted in SQLite's own steps (deterministic, unlike a duration)."""
    scanned = _scan(20000)
    with open_state(tmp_path) as store:
        _stored(store, scanned)
        store.remember_scan(scan_chunks(scanned))

    def steps(scan: list[Stat]) -> tuple[int, list[str]]:
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0  # go on

        with open_state(tmp_path) as store:
            store.db.set_progress_handler(count, 100)
            gone = store.compare_scan(scan, scan_chunks(scan)).gone
        return counted[0], gone

    edit_steps, _ = steps(_scan(20000, edited=5000))
    deleted = _scan(20000)
    for index in (15000, 5000, 10):
        del deleted[index]
    delete_steps, gone = steps(deleted)
    assert gone == ["p/00010.md", "p/05000.md", "p/15000.md"]
    assert delete_steps < 5 * edit_steps


def test_any_write_to_the_stored_stats_forgets_the_chunk_that_holds_it(tmp_path: Path) -> None:
    scanned = _scan(3000)
    chunks = scan_chunks(scanned)
    inside = chunks[3]  # a chunk's first file, its last, one between
    writes: list[tuple[str, tuple[Any, ...]]] = [("clear_articles", ()), ("forget_everything", ())]
    for source in (inside.first, inside.last, scanned[inside.start + 1][0]):
        writes += [
            ("put_article", (source, 1, 1, "h", ARTICLE, None)),
            ("touch_article", (source, 10, 124)),
            ("forget_articles", ([source],)),
        ]
    for (method, args), afresh in itertools.product(writes, (False, True)):
        name = f"{method}{args[:1]}, {afresh=}"
        with open_state(tmp_path) as store:
            store.clear_articles()
            _stored(store, scanned)
            store.remember_scan(chunks)
            if not afresh:  # the write in the same build
                getattr(store, method)(*args)
                assert not store.keeps_scan(chunks, len(scanned)), name
                assert store.compare_scan(scanned, chunks) == store.compare_stats(scanned), name
        if afresh:
            with open_state(tmp_path) as store:
                getattr(store, method)(*args)
                assert not store.keeps_scan(chunks, len(scanned)), name
                assert store.compare_scan(scanned, chunks) == store.compare_stats(scanned), name
    with open_state(tmp_path) as store:
        _stored(store, scanned)
        store.remember_scan(chunks)
        store.forget_articles([])  # nothing forgotten: nothing changed
        store.put_article("zzz.md", 1, 1, "h", ARTICLE, None)  # after every chunk: none forgot
        kept = set(store.db.execute("SELECT first, last, digest FROM scan_chunks"))
        assert kept == {(c.first, c.last, c.digest) for c in chunks}
        assert not store.keeps_scan(chunks, len(scanned))  # the count tells the row outside
        assert store.compare_scan(scanned, chunks).gone == ["zzz.md"]


def test_batched_lookups_find_every_key_beyond_the_parameter_limit(tmp_path: Path) -> None:
    keys = [f"k{n}" for n in range(1234)]
    with open_state(tmp_path) as store:
        for key in keys[::2]:
            store.put_cleaned(key, f"<p>{key}</p>", key)
        assert store.cleaned_keys(keys) == set(keys[::2])
        assert store.cleaned_many(keys)["k1232"] == ("<p>k1232</p>", "k1232")


def test_nothing_is_kept_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), open_state(tmp_path) as store:
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
        raise RuntimeError("crash mid-build")
    with open_state(tmp_path) as store:
        assert store.articles() == {}


def test_identity_follows_a_moved_file_with_unchanged_content(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        assert not store.knows_identities()  # a new store
        store.remember_identities([("old/a.md", "h1", "urn:uuid:first")])
        assert store.identity("new/a.md", "h1", gone=set()) is None  # old path still exists
        assert store.identity("new/a.md", "h1", gone={"old/a.md"}) == "urn:uuid:first"
        assert store.identity("new/a.md", "other", gone=set()) == "urn:uuid:first"  # now its own
        assert store.knows_identities()


@pytest.mark.parametrize("damage", [b"this is not a database" * 100, b""])
def test_a_corrupt_store_is_started_afresh_with_one_warning(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with open_state(tmp_path) as store:
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
    (tmp_path / "state.sqlite3").write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="refeed"), open_state(tmp_path) as store:
        assert store.articles() == {}
    assert len([r for r in caplog.records if "starting afresh" in r.getMessage()]) == (
        1 if damage else 0
    )


def test_a_store_from_another_schema_version_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with caplog.at_level(logging.WARNING, logger="refeed"), open_state(tmp_path) as store:
        assert store.articles() == {}
    assert "schema version 99" in caplog.text


def store_from_before(tmp_path: Path, *, table: str, version: int) -> None:
    """A store holding one id, as a refeed of schema ``version`` (without ``table``) left it."""
    with open_state(tmp_path) as store:
        store.remember_identities([("a.md", "h1", "urn:uuid:first")])
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_a_store_from_the_previous_schema_gains_the_new_table_and_keeps_its_ids(
    tmp_path: Path,
) -> None:
    store_from_before(tmp_path, table="items", version=1)
    with open_state(tmp_path) as store:
        assert store.identity("a.md", "h1", gone=set()) == "urn:uuid:first"
        assert store.listings() == {}


def test_a_store_from_before_publishing_gains_the_objects_table_in_place(tmp_path: Path) -> None:
    store_from_before(tmp_path, table="objects", version=2)
    stored = StoredObject("md5", "etag", "text/html; charset=utf-8\nmax-age=1", 10, 123)
    with open_state(tmp_path) as store:
        assert store.identity("a.md", "h1", gone=set()) == "urn:uuid:first"
        assert store.objects("s3://b/") == {}
        store.put_object("s3://b/", "index.html", stored)
    with open_state(tmp_path) as store:
        store.forget_everything()  # a full rebuild: what is in the bucket is still known
        assert store.objects("s3://b/") == {"index.html": stored}
        assert store.objects("s3://other/") == {}
        store.forget_object("s3://b/", "index.html")
        assert store.objects("s3://b/") == {}


def test_a_store_from_before_the_feed_list_gains_its_table_in_place(tmp_path: Path) -> None:
    store_from_before(tmp_path, table="published_feeds", version=3)
    assert read_published_feeds(tmp_path) is None  # read-only: no upgrade, no list
    feed = PublishedFeed(
        dir="categories/a", kind="category", title="A", items=2,
        newest=datetime(2021, 11, 4, 10, tzinfo=UTC),
        files={"atom": "categories/a/atom.xml"}, urls={"atom": "https://x/categories/a/atom.xml"},
    )  # fmt: skip
    with open_state(tmp_path) as store:
        assert store.identity("a.md", "h1", gone=set()) == "urn:uuid:first"
        assert not store.lists_published_feeds()
        store.set_published_feeds([feed])
    assert read_published_feeds(tmp_path) == [feed]
    with open_state(tmp_path) as store:
        assert store.lists_published_feeds()
        store.forget_everything()  # a full rebuild records them again
    assert read_published_feeds(tmp_path) is None


def _hold_lock(
    folder: str,
    ready: multiprocessing.synchronize.Event,
    release: multiprocessing.synchronize.Event,
) -> None:
    with open_state(Path(folder)):
        ready.set()
        release.wait(10)


def test_the_lock_makes_a_second_user_fail_or_wait(tmp_path: Path) -> None:
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockedError, match="another refeed"), open_state(tmp_path, wait=False):
            pass
        started = time.monotonic()
        release.set()
        with open_state(tmp_path, wait=True):  # waits for the holder, then proceeds
            pass
        assert time.monotonic() - started < 10
    finally:
        release.set()
        holder.join(10)


def test_thumbnail_facts_feed_fingerprints_and_stats_round_trip(tmp_path: Path) -> None:
    fact = ThumbFact(1234, "image/png", "media/ab.png", True, 1636000000.5, None)
    failed = ThumbFact(0, "image/jpeg", None, False, 1636000001.0, "HTTP 404")
    with open_state(tmp_path) as store:
        store.put_thumb("https://x/a.png", "mirror", fact)
        store.put_thumb("https://x/b.jpg", "mirror", failed)
        store.set_feed_fingerprint("atom.xml", "f1")
        store.set_feed_fingerprint("rss.xml", "f2")
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
    with open_state(tmp_path) as store:
        urls = ["https://x/a.png", "https://x/b.jpg", "https://x/c.gif"]
        assert store.thumbs(urls, "mirror") == {urls[0]: fact, urls[1]: failed}
        assert store.thumbs(urls, "probe") == {}  # facts are kept per mode
        store.set_feed_fingerprint("rss.xml", None)
        assert store.feed_fingerprints() == {"atom.xml": "f1"}
        store.touch_article("a.md", 11, 456)  # rewritten with the same bytes
        assert store.articles()["a.md"] == Stored(11, 456, "h1", True, None)


def test_forgetting_everything_keeps_the_identity_registry(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        store.set_meta("config", "c")
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
        store.put_listing(Listing("a.md", "urn:uuid:1", 1.0), [])
        store.put_cleaned("k", "<p>x</p>", "x")
        store.set_feed_fingerprint("atom.xml", "f")
        store.remember_identities([("a.md", "h1", "urn:uuid:first")])
        store.forget_everything()
        assert store.meta("config") is None and store.articles() == {}
        assert store.listings() == {} and store.cleaned_keys(["k"]) == set()
        assert store.feed_fingerprints() == {}
        assert store.identity("a.md", "h1", gone=set()) == "urn:uuid:first"


def test_status_is_written_whole_and_sorted_and_never_costs_the_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_state(tmp_path) as store:
        store.write_status({"b": 1, "a": "金融"})
    assert (tmp_path / "status.json").read_text(encoding="utf-8") == (
        '{\n  "a": "\\u91d1\\u878d",\n  "b": 1\n}\n'
    )
    with open_state(tmp_path) as store:
        (tmp_path / "status.json").unlink()
        (tmp_path / "status.json").mkdir()  # cannot be replaced
        with caplog.at_level(logging.WARNING, logger="refeed"):
            store.write_status({"a": 1})
    assert f"{tmp_path / 'status.json'}: status not written: " in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", "state.sqlite3", "status.json"]


def test_a_store_started_afresh_leaves_no_journal_of_the_old_one(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        store.put_article("a.md", 10, 123, "h1", ARTICLE, None)
    (tmp_path / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    for leftover in ("state.sqlite3-journal", "state.sqlite3-wal"):
        (tmp_path / leftover).write_bytes(b"old pages")  # would be replayed into the new store
    with open_state(tmp_path) as store:
        assert store.articles() == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", "state.sqlite3"]


def test_a_store_this_user_may_not_enter_is_a_state_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refeed feeds` run by another user than the one whose 0700 .refeed/ it reads."""
    (tmp_path / "state.sqlite3").write_bytes(b"")

    def refused(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", refused)
    with pytest.raises(StateError, match="cannot be read: Permission denied; run as the user"):
        read_published_feeds(tmp_path)


def test_an_encoded_article_given_another_id_is_that_articles_encoding() -> None:
    # The worker encodes with the derived id; the parent pins a remembered one on the encoding.
    plain = dataclasses.replace(ARTICLE, id=None)
    derived = encode_article(plain, identity="urn:uuid:derived")
    assert '"urn:uuid:derived"' in derived
    pinned = dataclasses.replace(ARTICLE, id="urn:uuid:first-published")
    assert with_stored_id(derived, "urn:uuid:first-published") == encode_article(pinned)
