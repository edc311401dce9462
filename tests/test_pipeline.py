from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refeed
from conftest import (
    EVERY_OUTPUT,
    GOOD,
    NOW,
    SAMPLE,
    SiteFactory,
    article,
    deny_reading,
    output_bytes,
)
from feedcheck import check_feed, feed_files
from refeed import assemble, clean, load, render, state
from refeed.config import StateConfig, config_from_dict, load_config
from refeed.errors import ConfigError
from refeed.models import FEED_FILES, Article, Feed, FeedFormat, Listing, Thumbnail
from refeed.pipeline import entries, loading, publishing, run


def build(cfg: refeed.Config, **kw: object) -> refeed.RunReport:
    return refeed.build(cfg, now=NOW, **kw)  # type: ignore[arg-type]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in feed_files(root)}


def test_the_sample_becomes_valid_feeds_with_every_field(make_site: SiteFactory) -> None:
    cfg = make_site({"000.txt": SAMPLE.read_text(encoding="utf-8")})
    report = build(cfg)
    assert report.skipped == [] and report.failed == []
    files = snapshot(cfg.output.dir)
    assert sorted(files) == [
        "atom.xml",
        "categories/金融/atom.xml",
        "categories/金融/rss.xml",
        "categories/金融/新浪财经/atom.xml",
        "categories/金融/新浪财经/rss.xml",
        "categories/金融/新浪财经/新浪财经-国內/atom.xml",
        "categories/金融/新浪财经/新浪财经-国內/rss.xml",
        "rss.xml",
    ]
    for fmt in ("atom", "rss"):
        parsed = check_feed(files[f"{fmt}.xml"])
        item = parsed.entries[0]
        assert item.title == "国家移民管理局强化口岸边境管控 精准做好今冬明春疫情防控工作"
        assert item.link == "https://example.org/2021/11/04/000/"
        assert item.id.startswith("urn:uuid:")
        assert item.published_parsed[:6] == (2021, 11, 4, 2, 8, 44)
        assert [t.term for t in item.tags] == ["金融", "新浪财经", "新浪财经－国內"]
        enclosure = item.enclosures[0]
        assert (
            enclosure.href.endswith("d93018cfaa9bc4e45370e437af8bb531.jpg")
            and enclosure.type == "image/jpeg"
        )
        assert item.media_thumbnail[0]["url"] == enclosure.href
        content = item.content[0].value
        for gone in ("<style", "appendQr", "<!--", "责任编辑", "&#123;", "{border"):
            assert gone not in content
        assert "原标题" in content
    assert b"<pubDate>Thu, 04 Nov 2021 02:08:44 +0000</pubDate>" in files["rss.xml"]
    assert b"<published>2021-11-04T02:08:44+00:00</published>" in files["atom.xml"]


def test_two_builds_are_byte_identical_and_the_second_writes_nothing(
    make_site: SiteFactory,
) -> None:
    files = {"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD}
    cfg = make_site(files, output=EVERY_OUTPUT)
    first = build(cfg)
    before = output_bytes(cfg.output.dir)
    mtimes = {p: p.stat().st_mtime_ns for p in cfg.output.dir.rglob("*")}
    second = refeed.build(cfg, now=datetime(2030, 6, 1, tzinfo=UTC))  # another "now"
    assert first.written and second.written == [] and len(second.unchanged) == len(first.written)
    assert output_bytes(cfg.output.dir) == before
    assert {p: p.stat().st_mtime_ns for p in cfg.output.dir.rglob("*")} == mtimes
    for page in ("index.html", "feeds.opml", "feed.css"):  # removed by hand: put back
        (cfg.output.dir / page).unlink()
    assert sorted(build(cfg).written) == ["feed.css", "feeds.opml", "index.html"]
    assert output_bytes(cfg.output.dir) == before


def test_a_fresh_output_directory_gets_the_same_bytes(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    files = {"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD}
    cfg = make_site(files, output=EVERY_OUTPUT)
    build(cfg)
    other = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, dir=tmp_path / "other"))
    build(other)
    assert output_bytes(cfg.output.dir) == output_bytes(tmp_path / "other")


def test_a_broken_article_is_skipped_with_one_log_line_and_the_rest_published(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = make_site({"good.md": GOOD, "broken.md": "---\ntitle: [oops\n---\n"})
    with caplog.at_level(logging.WARNING, logger="refeed"):
        report = build(cfg)
    assert [p.path for p in report.skipped] == ["broken.md"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("broken.md: frontmatter: not valid YAML")
    parsed = check_feed((cfg.output.dir / "categories/good/atom.xml").read_bytes())
    assert [e.title for e in parsed.entries] == ["A good article"]


def test_an_article_that_fails_to_clean_costs_only_itself(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site(
        {"good.md": GOOD, "poison.md": article("Poison", body="<p>POISON</p>", categories=["Good"])}
    )
    real = clean.clean_html

    def flaky(html: str, base: str, rules: clean.Rules, *, engine: clean.Engine) -> str:
        if "POISON" in html:
            raise RecursionError("maximum recursion depth exceeded")
        return real(html, base, rules, engine=engine)

    monkeypatch.setattr(clean, "clean_html", flaky)
    report = build(cfg)
    assert [p.path for p in report.skipped] == [
        "poison.md"
    ] and "cannot clean body" in report.skipped[0].reason
    titles = [
        e.title
        for e in check_feed((cfg.output.dir / "categories/good/rss.xml").read_bytes()).entries
    ]
    assert titles == ["A good article"]


def test_bodies_are_cleaned_from_the_file_that_was_scanned_and_parsed(
    make_site: SiteFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site(
        {
            "good.md": GOOD,
            "a.md": article("A", body="<p>first A</p>", categories=["Good"]),
            "b.md": article("B", body="<p>first B</p>", categories=["Good"]),
        }
    )
    secret = tmp_path / "secret.md"
    secret.write_text(article("A", body="<p>SECRET</p>", categories=["Good"]), encoding="utf-8")
    real = entries.clean_all

    def swap_then_clean(
        build_run: run.Run, jobs: Iterable[entries.CleanJob], *, expected: int
    ) -> object:
        (cfg.articles.dir / "a.md").unlink()  # between the parse and the cleaning
        (cfg.articles.dir / "a.md").symlink_to(secret)
        with (cfg.articles.dir / "b.md").open("r+", encoding="utf-8") as same_file:
            same_file.write(article("B", body="<p>EDITED</p>", categories=["Good"]))
        return real(build_run, jobs, expected=expected)

    monkeypatch.setattr(entries, "clean_all", swap_then_clean)
    report = build(cfg)
    assert {p.path: p.reason for p in report.skipped} == {
        "a.md": "not read: it became a link after the scan",
        "b.md": "changed since it was read: published on the next build",
    }
    for path in cfg.output.dir.rglob("*.*"):
        assert b"SECRET" not in path.read_bytes() and b"EDITED" not in path.read_bytes()


def test_future_posts_are_held_back_or_published_by_config(make_site: SiteFactory) -> None:
    future = article("Later", date="2099-01-01T00:00:00Z")
    cfg = make_site({"good.md": GOOD, "later.md": future})
    report = build(cfg)
    assert [p.path for p in report.held_back] == ["later.md"]
    assert b"Later" not in (cfg.output.dir / "atom.xml").read_bytes()
    cfg = make_site({}, articles={"future": "publish"})
    build(cfg)
    assert b"Later" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_category_that_loses_its_articles_is_removed_and_no_longer_advertised(
    make_site: SiteFactory,
) -> None:
    cfg = make_site(
        {"good.md": GOOD, "other.md": article("Other", categories=["Gone"])},
        output={"formats": ["atom", "rss"], "index": True, "opml": True, "preview": True},
    )
    build(cfg)
    assert b"Gone" in (cfg.output.dir / "feeds.opml").read_bytes()
    (cfg.articles.dir / "other.md").unlink()
    report = build(cfg)
    assert sorted(report.pruned) == [
        "categories/gone/atom.xml", "categories/gone/feed.html", "categories/gone/rss.xml",
    ]  # fmt: skip
    assert not (cfg.output.dir / "categories/gone").exists()
    for page in ("index.html", "feeds.opml"):
        assert b"Gone" not in (cfg.output.dir / page).read_bytes(), page


def test_with_prune_off_an_emptied_feed_stays_valid_but_is_not_advertised(
    make_site: SiteFactory,
) -> None:
    cfg = make_site(
        {"good.md": GOOD, "other.md": article("Other", categories=["Gone"])},
        output={"prune": False, "index": True, "opml": True},
    )
    build(cfg)
    (cfg.articles.dir / "other.md").unlink()
    report = build(cfg)
    gone = cfg.output.dir / "categories/gone/atom.xml"
    parsed = check_feed(gone.read_bytes())
    assert parsed.entries == [] and parsed.feed.title == "Test Site — Gone"
    assert "categories/gone/atom.xml" in report.written
    for page in ("index.html", "feeds.opml"):
        assert b"Gone" not in (cfg.output.dir / page).read_bytes(), page
    assert build(cfg).written == []  # and it stays put
    report = build(cfg, prune=True)
    assert sorted(report.pruned) == ["categories/gone/atom.xml", "categories/gone/rss.xml"]
    assert not (cfg.output.dir / "categories/gone").exists()


EVERYTHING = {"formats": ["atom", "rss", "json"], "index": True, "opml": True, "preview": True,
              "stylesheet": True}  # fmt: skip
SWITCHED_OFF = {"formats": ["atom", "rss"], "index": True, "opml": False, "preview": False,
                "stylesheet": False}  # fmt: skip


def test_what_the_config_switches_off_is_removed_and_the_rest_stays(
    make_site: SiteFactory,
) -> None:
    files = {"good.md": GOOD, "other.md": article("Other", categories=["Other"])}
    cfg = make_site(files, output=EVERYTHING)
    build(cfg)
    (cfg.output.dir / "mine.html").write_bytes(b"the site's own")
    before = {p.relative_to(cfg.output.dir).as_posix() for p in cfg.output.dir.rglob("*")}
    report = build(make_site(files, output=SWITCHED_OFF))
    left = {p.relative_to(cfg.output.dir).as_posix() for p in cfg.output.dir.rglob("*")}
    gone = sorted(before - left)
    assert sorted(report.pruned) == gone
    assert gone == sorted(
        ["feed.css", "feeds.opml", "feed.json", "feed.html"]
        + [f"categories/{c}/{f}" for c in ("good", "other") for f in ("feed.html", "feed.json")]
    )
    assert {"mine.html", "index.html", "atom.xml", "categories/other/rss.xml"} <= left
    assert b"feeds.opml" not in (cfg.output.dir / "index.html").read_bytes()  # no dead link
    assert build(make_site(files, output=SWITCHED_OFF)).pruned == []


def test_with_prune_off_switched_off_files_stay_until_a_prune(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD}, output=EVERYTHING)
    build(cfg)
    kept = make_site({"good.md": GOOD}, output={**SWITCHED_OFF, "prune": False})
    assert build(kept).pruned == []
    assert (cfg.output.dir / "feed.css").is_file() and (cfg.output.dir / "feed.html").is_file()
    assert "feed.css" in build(kept, prune=True).pruned
    assert not (cfg.output.dir / "feed.html").exists()


def test_a_page_refeed_never_wrote_is_never_removed(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD}, output={"index": False})  # a web root with its own index
    cfg.output.dir.mkdir(parents=True)
    (cfg.output.dir / "index.html").write_bytes(b"the site's home page")
    (cfg.output.dir / "feed.css").write_bytes(b"the site's own style")
    build(cfg)
    assert build(cfg, prune=True).pruned == []
    assert (cfg.output.dir / "index.html").read_bytes() == b"the site's home page"
    assert (cfg.output.dir / "feed.css").read_bytes() == b"the site's own style"


def test_files_outside_refeeds_folders_are_never_touched(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD})
    (cfg.output.dir / "mine").mkdir(parents=True)
    (cfg.output.dir / "mine" / "atom.xml").write_bytes(b"not ours")
    build(cfg, prune=True)
    assert (cfg.output.dir / "mine" / "atom.xml").read_bytes() == b"not ours"


def test_a_failed_write_keeps_the_old_file_and_reports_it(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"good.md": GOOD})
    build(cfg)
    old = snapshot(cfg.output.dir)
    (cfg.articles.dir / "new.md").write_text(article("New", categories=["Good"]), encoding="utf-8")

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    report = build(cfg)
    assert report.failed and all("No space left" in p.reason for p in report.failed)
    assert snapshot(cfg.output.dir) == old
    monkeypatch.undo()
    report = build(cfg)  # the next build recovers
    assert not report.failed and b"New" in (cfg.output.dir / "atom.xml").read_bytes()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: work is never sent to workers")
def test_inherited_work_runs_in_forked_workers_and_keeps_the_order() -> None:
    here = os.getpid()
    shared = list(range(100))  # reached by the workers without being sent to them

    def work(index: int) -> tuple[int, int]:
        return shared[index] * 2, os.getpid()

    results = run.inherited(work, 50, min_jobs=10)
    assert [value for value, _ in results] == [n * 2 for n in range(50)]
    assert {pid for _, pid in results} - {here}  # in other processes
    assert {pid for _, pid in run.inherited(work, 5, min_jobs=10)} == {here}  # too few: here


def test_a_worker_tells_ahead_of_each_item_before_working_on_it() -> None:
    events: list[tuple[str, list[int]]] = []

    def work(item: int) -> int:
        events.append(("work", [item]))
        return item * 2

    def ahead(items: list[int]) -> None:
        events.append(("ahead", list(items)))

    window = run.AHEAD
    for count in (0, 1, window - 1, window, window + 1, 2 * window, 2 * window + 1, 3 * window + 5):
        events.clear()
        results = run._work_through(work, ahead, list(range(count)))
        assert results == [n * 2 for n in range(count)], count  # each once, in order
        told: list[int] = []
        for kind, items in events:
            if kind == "ahead":
                told += items
                continue
            item = items[0]
            # Told before its work, and so is the next window (read while this one is worked
            # on), but not much more.
            next_end = min(count, (item // window + 2) * window)
            assert item in told and len(told) == next_end, (count, item)
        assert told == list(range(count)), count
    assert run._work_through(work, None, [1, 2]) == [2, 4]


def _doubled_and_noted(job: tuple[str, int]) -> tuple[int, int]:
    folder, number = job
    Path(folder, str(number)).touch()
    return number * 2, os.getpid()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no worker processes")
def test_workers_start_on_the_first_items_while_the_rest_are_being_made(tmp_path: Path) -> None:
    count = run.POOL_MIN_JOBS * 2
    overlapped: list[bool] = []

    def made() -> Iterator[tuple[str, int]]:
        for number in range(count):
            if number == count - 1:  # the last item is made only once a worker has done one
                deadline = time.monotonic() + 10
                while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
                    time.sleep(0.01)
                overlapped.append(any(tmp_path.iterdir()))
            yield str(tmp_path), number

    with run.parallel(_doubled_and_noted, made(), expected=count) as results:
        done = list(results)
    assert [value for value, _ in done] == [n * 2 for n in range(count)]  # each once, in order
    assert {pid for _, pid in done} - {os.getpid()}  # in other processes
    assert overlapped == [True]
    few = [(str(tmp_path), n) for n in range(3)]
    with run.parallel(_doubled_and_noted, iter(few), expected=len(few)) as results:
        assert {pid for _, pid in results} == {os.getpid()}  # too few to pay for processes


def test_a_first_build_compares_no_stat_and_the_next_compares_only_what_changed(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"a.md": article("A"), "b.md": article("B")})
    compared: list[list[str]] = []
    real = state.State._changed

    def noting(store: state.State, scanned: Any) -> dict[str, state.Stored | None]:
        scanned = list(scanned)
        compared.append([source for source, _, _ in scanned])
        return real(store, scanned)

    monkeypatch.setattr(state.State, "_changed", noting)
    assert build(cfg).published == 2
    assert compared == []  # nothing stored: every file is new, none is compared
    (cfg.articles.dir / "b.md").write_text(article("B2"), encoding="utf-8")
    report = build(cfg)
    assert report.published == 2 and compared == [["a.md", "b.md"]]  # one chunk: both


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: work is never sent to workers")
def test_a_cold_build_asks_for_every_file_before_reading_it(
    make_site: SiteFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"a{n:03}.md": article(f"A{n}") for n in range(run.POOL_MIN_JOBS + 10)}
    # Every article a member of the site feed: the bodies are cleaned on every core too.
    cfg = make_site(files, output={"items_per_feed": len(files)})
    asked = tmp_path / "asked"

    def noting(fd: int, offset: int, length: int, advice: int) -> None:
        # Appended to a file: the workers are other processes.
        with asked.open("a", encoding="utf-8") as out:
            out.write(str(Path(f"/proc/self/fd/{fd}").readlink()) + "\n")

    monkeypatch.setattr(load, "_advise", noting)
    assert build(cfg).published == len(files)
    named = asked.read_text(encoding="utf-8").split()
    paths = sorted(str((cfg.articles.dir / name).resolve()) for name in files)
    assert sorted(named) == sorted(paths * 2)  # once to parse, once to clean


def test_items_are_kept_so_the_next_build_makes_only_the_edited_ones(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"a.md": article("A"), "b.md": article("B"), "c.md": article("C")})
    real_make_item, made = entries.make_item, []

    def make_item(build_run: run.Run, article_: Any) -> Any:
        made.append(article_.source)
        return real_make_item(build_run, article_)

    monkeypatch.setattr(entries, "make_item", make_item)
    assert build(cfg).published == 3 and sorted(made) == ["a.md", "b.md", "c.md"]
    made.clear()
    (cfg.articles.dir / "b.md").write_text(article("B2"), encoding="utf-8")
    assert build(cfg).published == 3 and made == ["b.md"]


def test_a_body_that_failed_to_clean_is_tried_again_when_its_feed_is_rendered_again(
    make_site: SiteFactory,
) -> None:
    deep = article("Deep", body="<div>" * 513 + "text")  # refused by the cleaner
    cfg = make_site({"deep.html": deep, "fine.md": article("Fine")})
    first = build(cfg)
    assert [p.path for p in first.skipped] == ["deep.html"] and not first.failed
    (cfg.articles.dir / "fine.md").write_text(article("Fine, edited"), encoding="utf-8")
    again = build(cfg)  # the site feed is rendered again: deep.html's body is cleaned again
    assert [p.path for p in again.skipped] == ["deep.html"] and not again.failed
    assert b"Fine, edited" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_new_site_title_cleans_no_body_again_and_repeats_no_note(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    noted = article("Noted", body="{% note info %}kept{% endnote %}")
    cfg = make_site({"noted.md": noted})
    build(cfg)
    assert [r for r in caplog.records if "noted.md" in r.getMessage()]  # said the first time
    caplog.clear()
    retitled = dataclasses.replace(cfg, site=dataclasses.replace(cfg.site, title="Another"))
    build(retitled)  # items are made again under the new config; the bodies are the same
    assert not [r for r in caplog.records if "noted.md" in r.getMessage()]


def test_feeds_are_ordered_by_the_published_date_not_the_updated_one(
    make_site: SiteFactory,
) -> None:
    older = article("Older", date="2021-01-01T00:00:00Z").replace(
        "date:", "updated: 2022-06-01T00:00:00Z\ndate:", 1
    )
    cfg = make_site({"a.md": older, "b.md": article("Newer", date="2021-06-01T00:00:00Z")})
    build(cfg)
    titles = [e.title for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries]
    assert titles == ["Newer", "Older"]


_CLEANING_STARTED = Path("/nonexistent")  # set by the test below before the workers fork
_real_clean_one = entries.clean_one


def _clean_noting(job: entries.CleanJob, **settings: Any) -> object:
    _CLEANING_STARTED.touch()
    return _real_clean_one(job, **settings)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: bodies are never sent to workers")
def test_a_cold_build_cleans_the_first_bodies_while_the_last_items_are_made(
    make_site: SiteFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"a{n:03}.md": article(f"A{n}") for n in range(300)}
    cfg = make_site(files, output={"items_per_feed": len(files)})
    monkeypatch.setattr(sys.modules[__name__], "_CLEANING_STARTED", tmp_path / "started")
    monkeypatch.setattr(entries, "clean_one", _clean_noting)
    real_make_item, made, overlapped = entries.make_item, [0], []

    def make_item(build_run: run.Run, article_: Any) -> Any:
        made[0] += 1
        if made[0] == len(files):  # the last one waits for a worker to have cleaned a body
            deadline = time.monotonic() + 10
            while not (tmp_path / "started").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            overlapped.append((tmp_path / "started").exists())
        return real_make_item(build_run, article_)

    monkeypatch.setattr(entries, "make_item", make_item)
    assert build(cfg).published == len(files)
    assert overlapped == [True]


WORKERS_THEN_HANG = """
import os, sys, time
from pathlib import Path
from refeed.pipeline import run

def work(index):
    Path(sys.argv[1], str(os.getpid())).touch()
    time.sleep(60)

with run.parallel(work, list(range(run.POOL_MIN_JOBS))) as results:
    for _ in results:
        pass
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no worker processes")
def test_workers_end_when_the_build_is_killed(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WORKERS_THEN_HANG, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.name) for p in tmp_path.iterdir()]
        assert len(workers) >= 2
    finally:
        proc.kill()  # SIGKILL: no cleanup code of the build runs
        proc.wait()

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"  # a zombie has ended; only its parent's reaping is left

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]


MANY = {f"a{n:02}.md": article(f"A{n}", categories=[f"Topic {n}"]) for n in range(30)}


def test_many_feeds_are_rendered_in_workers_with_the_same_bytes(
    make_site: SiteFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site(MANY, output=EVERY_OUTPUT)
    pids = tmp_path / "pids"
    pids.mkdir()
    real = render.render_within

    def noting_the_process(feed: Feed, fmt: FeedFormat, budget: int) -> bytes:
        (pids / str(os.getpid())).touch()  # a file: a forked worker's lists die with it
        return real(feed, fmt, budget)

    monkeypatch.setattr(render, "render_within", noting_the_process)
    report = build(cfg)
    assert len(report.written) > publishing.RENDER_MIN_JOBS
    workers = {int(p.name) for p in pids.iterdir()} - {os.getpid()}
    assert bool(workers) == (run._cores() >= 2)  # the worker path was taken, wherever it can be
    monkeypatch.setattr(publishing, "RENDER_MIN_JOBS", 10**9)
    output = dataclasses.replace(cfg.output, dir=tmp_path / "feeds")
    build(dataclasses.replace(cfg, output=output, state=StateConfig(tmp_path / "state")))
    assert output_bytes(tmp_path / "feeds") == output_bytes(cfg.output.dir)


def test_a_write_that_fails_in_a_worker_is_reported_and_keeps_the_old_file(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site(MANY)
    build(cfg)
    old = snapshot(cfg.output.dir)
    (cfg.articles.dir / "a07.md").write_text(
        article("A7 edited", categories=["Topic 7"]), encoding="utf-8"
    )
    real_replace = os.replace

    def no_space(src: str, dst: str) -> None:
        if str(dst).endswith("topic-7/atom.xml"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", no_space)  # the forked workers inherit it
    report = build(cfg, full=True)  # every feed rendered again: in workers
    assert [p.path for p in report.failed] == ["categories/topic-7/atom.xml"]
    assert "No space left" in report.failed[0].reason
    assert sorted(report.written) == ["atom.xml", "categories/topic-7/rss.xml", "rss.xml"]
    new = snapshot(cfg.output.dir)
    assert new["categories/topic-7/atom.xml"] == old["categories/topic-7/atom.xml"]
    assert b"A7 edited" in new["categories/topic-7/rss.xml"]
    assert not list(cfg.output.dir.rglob("*.tmp"))


def test_bad_clean_rule_is_a_config_error_before_anything_is_read(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD}, clean={"remove": ["p[[["]})
    with pytest.raises(ConfigError, match=r"clean.remove\[0\]"):
        build(cfg)
    assert not cfg.output.dir.exists()


def test_check_lists_problems_and_writes_nothing(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "bad.md": "no frontmatter"})
    problems = refeed.check(cfg)
    assert [str(p) for p in problems] == [
        "bad.md: no frontmatter: the file must start with a '---' line"
    ]
    assert not cfg.output.dir.exists()


def test_thumbnail_lookup_is_pluggable(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD})
    seen: list[str] = []

    def lookup(url: str) -> Thumbnail:
        seen.append(url)
        return Thumbnail(url, 4321, "image/png")

    build(cfg, lookup=lookup)
    assert seen == ["https://img.example.org/good.png"]
    assert b'length="4321"' in (cfg.output.dir / "rss.xml").read_bytes()


def test_progress_is_reported_per_file(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": GOOD, "c.md": GOOD})
    calls: list[tuple[int, int]] = []
    build(cfg, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (1, 3), (2, 3)]


def test_output_only_in_formats_asked_for(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD}, output={"formats": ["atom"]})
    build(cfg)
    assert sorted(p.name for p in feed_files(cfg.output.dir)) == ["atom.xml", "atom.xml"]


# ------------------------------------------------------------------ incremental builds


def forbid(monkeypatch: pytest.MonkeyPatch, *targets: tuple[object, str]) -> None:
    for module, name in targets:

        def refuse(*args: object, _name: str = name, **kwargs: object) -> None:
            raise AssertionError(f"{_name} called on a build that should not need it")

        monkeypatch.setattr(module, name, refuse)


def test_a_no_op_build_parses_cleans_and_renders_nothing(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD})
    first = build(cfg)
    forbid(
        monkeypatch,
        (load, "read_bytes"),
        (load, "parse_article"),
        (clean, "clean_html"),
        (render, "render"),
        (state.State, "compare_stats"),  # the scan is the one the store remembers
    )
    second = build(cfg)
    assert second.written == [] and sorted(second.unchanged) == sorted(first.written)
    assert second.published == 2


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_scan_runs_without_the_garbage_collector_which_is_left_as_it_was(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch, enabled_before: bool
) -> None:
    import gc

    cfg = make_site({"good.md": GOOD})
    collecting: list[bool] = []
    real_scan, real_chunks = load.scan, state.scan_chunks

    def scan(*args: Any, **kwargs: Any) -> Any:
        collecting.append(gc.isenabled())
        return real_scan(*args, **kwargs)

    def scan_chunks(*args: Any, **kwargs: Any) -> Any:
        collecting.append(gc.isenabled())
        return real_chunks(*args, **kwargs)

    monkeypatch.setattr(load, "scan", scan)
    monkeypatch.setattr(state, "scan_chunks", scan_chunks)
    (gc.enable if enabled_before else gc.disable)()
    try:
        assert build(cfg).published == 1
        assert gc.isenabled() is enabled_before  # a library call leaves the caller's setting
    finally:
        gc.enable()
    assert collecting == [False, False]


SIX_HUNDRED = {f"many/{n:03d}.md": article(f"Many {n}", categories=["Many"]) for n in range(600)}


def pin_to_several_chunks(cfg: refeed.Config) -> None:
    """Sets every article file's mtime so that the scan is cut into several chunks: the cut
    points follow the stats, and with mtimes of the moment one chunk in ten holds all."""
    files = sorted(p for p in cfg.articles.dir.rglob("*") if p.is_file())
    for n, path in enumerate(files):
        os.utime(path, ns=(1_700_000_000_000_000_000 + n, 1_700_000_000_000_000_000 + n))
    assert len(state.scan_chunks(run.scan_articles(cfg)[0])) > 1


@pytest.mark.parametrize("others", [{}, SIX_HUNDRED], ids=["alone", "among 600"])
def test_a_file_that_could_not_be_read_is_tried_again_though_no_stat_changed(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch, others: dict[str, str]
) -> None:
    cfg = make_site({"good.md": GOOD, **others})
    if others:
        pin_to_several_chunks(cfg)
    build(cfg)
    later = cfg.articles.dir / "later.md"
    later.write_text(article("Later", categories=["Good"]), encoding="utf-8")
    with monkeypatch.context() as patched:
        deny_reading(patched, later)
        assert [p.path for p in build(cfg).skipped] == ["later.md"]
    report = build(cfg)  # readable again, same size and mtime
    assert report.skipped == [] and b"Later" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_file_that_is_never_read_costs_the_next_builds_its_chunk_only(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = article("Big", body="<p>" + "x" * 5000 + "</p>")
    cfg = make_site({"good.md": GOOD, "big.md": big, **SIX_HUNDRED}, articles={"max_size": 4096})
    pin_to_several_chunks(cfg)
    for _ in range(2):
        assert [p.path for p in build(cfg).skipped] == ["big.md"]
    forbid(monkeypatch, (state.State, "compare_stats"))  # comparing every file
    assert [p.path for p in build(cfg).skipped] == ["big.md"]


def test_a_file_that_was_still_being_written_is_read_once_it_settled_unchanged(
    make_site: SiteFactory,
) -> None:
    cfg = make_site({"good.md": GOOD})
    build(cfg)
    (cfg.articles.dir / "fresh.md").write_text(
        article("Fresh", categories=["Good"]), encoding="utf-8"
    )
    (cfg.articles.dir / "good.md").write_text(GOOD.replace("Good", "Better"), encoding="utf-8")
    old = time.time() - 120
    os.utime(cfg.articles.dir / "good.md", (old, old))  # (settled, so this build reads it)
    report = build(cfg, settle=60)
    assert report.pending == ["fresh.md"]
    assert report.articles_read == 2  # the pending file is counted as found
    assert build(cfg, settle=0).pending == []  # time passed; the file did not change
    assert b"Fresh" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_first_build_leaves_a_file_still_being_written_for_later_too(
    make_site: SiteFactory,
) -> None:
    """As ``refeed watch`` started on an empty state folder does: nothing is stored, every file
    is new, and one written a moment ago is not read yet."""
    cfg = make_site({"good.md": GOOD, "fresh.md": article("Fresh", categories=["Good"])})
    old = time.time() - 120
    os.utime(cfg.articles.dir / "good.md", (old, old))
    report = build(cfg, settle=60)
    assert report.pending == ["fresh.md"] and report.published == 1
    assert report.articles_read == 2
    assert b"Fresh" not in (cfg.output.dir / "atom.xml").read_bytes()
    report = build(cfg, settle=0)
    assert report.pending == [] and b"Fresh" in (cfg.output.dir / "atom.xml").read_bytes()


def test_the_count_of_files_read_includes_the_added_ones(make_site: SiteFactory) -> None:
    cfg = make_site({"a.md": article("A"), "b.md": article("B")})
    assert build(cfg).articles_read == 2
    for name in ("c.md", "d.md", "e.md"):
        (cfg.articles.dir / name).write_text(article(name), encoding="utf-8")
    (cfg.articles.dir / "a.md").write_text(article("A2"), encoding="utf-8")
    report = build(cfg)
    assert report.articles_read == 5 and report.published == 5
    status = json.loads((cfg.state_dir / "status.json").read_text(encoding="utf-8"))
    assert status["articles"] == 5


def test_one_edit_rerenders_only_the_feeds_that_hold_it(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site(
        {"a.md": article("A", categories=["One"]), "b.md": article("B", categories=["Two"])}
    )
    build(cfg)
    mtimes = {p: p.stat().st_mtime_ns for p in feed_files(cfg.output.dir)}
    rendered: list[str] = []
    real = render.render

    def counting_render(feed: Feed, fmt: FeedFormat) -> bytes:
        rendered.append(feed.spec.file(fmt))
        return real(feed, fmt)

    monkeypatch.setattr(render, "render", counting_render)
    cleaned: list[str] = []
    real_clean = clean.clean_html

    def counting_clean(html: str, base: str, rules: clean.Rules, *, engine: clean.Engine) -> str:
        cleaned.append(html)
        return real_clean(html, base, rules, engine=engine)

    monkeypatch.setattr(clean, "clean_html", counting_clean)
    (cfg.articles.dir / "a.md").write_text(
        article("A edited", categories=["One"]), encoding="utf-8"
    )
    report = build(cfg)
    assert sorted(rendered) == [
        "atom.xml",
        "categories/one/atom.xml",
        "categories/one/rss.xml",
        "rss.xml",
    ]
    assert len(cleaned) == 1  # B's cleaned body came from the store
    assert sorted(report.written) == sorted(rendered)
    for path, mtime in mtimes.items():
        if "two" in path.as_posix():
            assert path.stat().st_mtime_ns == mtime


def test_added_and_deleted_articles_are_picked_up(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD})
    build(cfg)
    (cfg.articles.dir / "new.md").write_text(
        article("Newcomer", categories=["Good"]), encoding="utf-8"
    )
    build(cfg)
    assert b"Newcomer" in (cfg.output.dir / "categories/good/atom.xml").read_bytes()
    (cfg.articles.dir / "new.md").unlink()
    report = build(cfg)
    assert b"Newcomer" not in (cfg.output.dir / "categories/good/atom.xml").read_bytes()
    assert "categories/good/atom.xml" in report.written


def test_incremental_output_equals_a_clean_build(make_site: SiteFactory, tmp_path: Path) -> None:
    cfg = make_site(
        {
            "a.md": article("A", categories=["One"]),
            "b.md": article("B", date="2021-11-02T00:00:00Z", categories=["One", "Sub"]),
        },
        output=EVERY_OUTPUT,
    )
    build(cfg)
    (cfg.articles.dir / "a.md").write_text(
        article("A2", date="2021-11-03T00:00:00Z", categories=["Two"]), encoding="utf-8"
    )
    (cfg.articles.dir / "c.md").write_text(article("C", categories=["One"]), encoding="utf-8")
    (cfg.articles.dir / "b.md").unlink()
    build(cfg, prune=True)
    fresh = dataclasses.replace(
        cfg,
        output=dataclasses.replace(cfg.output, dir=tmp_path / "fresh"),
        state=StateConfig(tmp_path / "fresh-state"),
    )
    build(fresh)
    assert output_bytes(cfg.output.dir) == output_bytes(tmp_path / "fresh")


def test_a_config_change_rebuilds_what_it_affects(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": article("B", categories=["Good"])})
    build(cfg)
    cfg = make_site({}, site={"title": "Renamed Site"}, output={"items_per_feed": 1})
    build(cfg)
    parsed = check_feed((cfg.output.dir / "categories/good/atom.xml").read_bytes())
    assert parsed.feed.title == "Renamed Site — Good" and len(parsed.entries) == 1
    cfg = make_site({}, clean={"remove": ["b"]})
    build(cfg)
    assert b"&lt;b&gt;" not in (cfg.output.dir / "categories/good/atom.xml").read_bytes()


def test_a_deleted_or_corrupt_state_gives_the_same_output(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    files = {"good.md": GOOD, "000.txt": SAMPLE.read_text(encoding="utf-8")}
    cfg = make_site(files, output=EVERY_OUTPUT)
    build(cfg)
    before = output_bytes(cfg.output.dir)
    shutil.rmtree(cfg.state_dir)
    assert build(cfg).written == [] and output_bytes(cfg.output.dir) == before
    (cfg.state_dir / "state.sqlite3").write_bytes(b"garbage" * 1000)
    with caplog.at_level(logging.WARNING, logger="refeed"):
        assert build(cfg).written == []
    assert output_bytes(cfg.output.dir) == before
    assert sum("starting afresh" in r.getMessage() for r in caplog.records) == 1


def test_a_store_damaged_past_its_header_is_replaced_and_the_build_still_succeeds(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    files = {f"a{n}.md": article(f"A{n}", categories=[f"C{n}"]) for n in range(40)}
    cfg = make_site(files, output=EVERY_OUTPUT)
    build(cfg)
    before = output_bytes(cfg.output.dir)
    path = cfg.state_dir / "state.sqlite3"
    data = path.read_bytes()
    page = 4096  # the header page stays intact, so opening the store still works
    assert len(data) > 3 * page
    path.write_bytes(data[:page] + bytes(range(256)) * ((len(data) - page) // 256))
    with caplog.at_level(logging.WARNING, logger="refeed"):
        report = build(cfg)
    assert report.written == [] and report.published == 40
    assert output_bytes(cfg.output.dir) == before
    assert sum("state store damaged" in r.getMessage() for r in caplog.records) == 1
    assert build(cfg).written == []  # and the new store works


def test_ids_survive_edits_of_title_date_categories_and_a_rename(make_site: SiteFactory) -> None:
    cfg = make_site({"posts/a.md": article("Original", categories=["One"])})
    build(cfg)

    def ids() -> list[str]:
        return [e.id for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries]

    first = ids()
    (cfg.articles.dir / "posts/a.md").write_text(
        article("Retitled", date="2021-12-01T00:00:00Z", categories=["Two"]), encoding="utf-8"
    )
    build(cfg)
    assert ids() == first
    (cfg.articles.dir / "posts/a.md").rename(cfg.articles.dir / "moved.md")
    build(cfg)
    assert ids() == first
    cfg = make_site({}, articles={"permalink": "p/{name}.html"})
    build(cfg)
    assert ids() == first


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_ids_survive_a_move_after_the_state_store_is_deleted(
    make_site: SiteFactory, fmt: str
) -> None:
    """A new store takes the ids back from the published feeds (by title and date)."""
    same: dict[str, Any] = {"date": "2021-11-05T00:00:00Z", "categories": ["One"]}
    cfg = make_site(
        {
            "posts/a.md": article("Moved", **same),
            "posts/b.md": article("Twin", **same),
            "posts/c.md": article("Twin", **same),  # same title and date as b
            "d.md": article("Moved", date="2021-11-06T00:00:00Z"),  # a title alone is no match
        },
        output={"formats": [fmt]},
    )
    build(cfg)
    feed = cfg.output.dir / FEED_FILES[fmt]  # type: ignore[index]

    def ids() -> list[tuple[str, str, str]]:
        if fmt == "json":
            items = json.loads(feed.read_bytes())["items"]
            return sorted((i["title"], i["date_published"], i["id"]) for i in items)
        return sorted((e.title, e.published, e.id) for e in check_feed(feed.read_bytes()).entries)

    def move(name: str, to: str) -> None:
        (cfg.articles.dir / name).rename(cfg.articles.dir / to)

    first = ids()
    assert len({identity for _, _, identity in first}) == 4
    move("posts/a.md", "a.md")
    move("posts/b.md", "b.md")  # c still claims its id: b takes back the other twin's
    shutil.rmtree(cfg.state_dir)
    build(cfg)
    assert ids() == first
    shutil.rmtree(cfg.state_dir)
    build(cfg)  # nothing moved since: every derived id is published, nothing is taken back
    assert ids() == first
    move("b.md", "b2.md")
    move("posts/c.md", "c2.md")  # both twins moved: which is which cannot be told
    shutil.rmtree(cfg.state_dir)
    build(cfg)
    after = ids()
    assert after[:2] == first[:2] and len({identity for _, _, identity in after}) == 4
    shutil.rmtree(cfg.state_dir)  # nothing to take ids back from: each is the one its path gives
    shutil.rmtree(cfg.output.dir)
    build(cfg)
    fresh = ids()
    twins = [i for i in after if i[0] == "Twin"]
    assert twins == [i for i in fresh if i[0] == "Twin"]  # both twins: the ids their paths give


def test_a_broken_file_is_logged_once_until_it_changes(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = make_site({"good.md": GOOD, "bad.md": "no frontmatter"})
    with caplog.at_level(logging.WARNING, logger="refeed"):
        for _ in range(3):
            report = refeed.build(cfg, now=NOW, repeat_known=False)
            assert [p.path for p in report.skipped] == ["bad.md"]
    assert sum(r.getMessage().startswith("bad.md") for r in caplog.records) == 1


def test_a_link_not_followed_is_said_once_until_it_changes_when_asked_for_new_problems_only(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """-q (cron) and refeed watch after its first build: what the scan cannot take is said
    once, like a broken article; a plain build says it every time."""
    cfg = make_site({"good.md": GOOD})
    (cfg.articles.dir / "dangling.md").symlink_to(cfg.articles.dir / "nowhere.md")

    def said(repeat_known: bool) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="refeed"):
            report = refeed.build(cfg, now=NOW, repeat_known=repeat_known)
        assert [p.path for p in report.not_followed] == sorted(
            p.name for p in cfg.articles.dir.iterdir() if p.is_symlink()
        )  # the report keeps them all
        return [r.getMessage() for r in caplog.records if "not followed" in r.getMessage()]

    assert said(False) == ["dangling.md: not followed: dangling link"]
    assert said(False) == []
    (cfg.articles.dir / "loop.md").symlink_to(cfg.articles.dir / "loop.md")
    assert said(False) == ["loop.md: not followed: symlink loop"]  # only the new one
    assert len(said(True)) == 2  # a plain build says every one
    (cfg.articles.dir / "loop.md").unlink()
    assert said(False) == []
    (cfg.articles.dir / "loop.md").symlink_to(cfg.articles.dir / "loop.md")
    assert said(False) == ["loop.md: not followed: symlink loop"]  # gone, then back: new again
    # A build of changed files alone (a file event's) scans no folder: it forgets nothing.
    (cfg.articles.dir / "good.md").write_text(GOOD.replace("Good", "Better"), encoding="utf-8")
    refeed.build(cfg, now=NOW, repeat_known=False, paths=frozenset({"good.md"}))
    assert said(False) == []
    # The same path for another reason is another problem.
    (cfg.articles.dir / "dangling.md").unlink()
    (cfg.articles.dir / "dangling.md").symlink_to(cfg.articles.dir / "dangling.md")
    assert said(False) == ["dangling.md: not followed: symlink loop"]
    # What a plain build found is what -q compares with next: fixed there, broken again, said.
    (cfg.articles.dir / "loop.md").unlink()
    assert len(said(True)) == 1
    (cfg.articles.dir / "loop.md").symlink_to(cfg.articles.dir / "loop.md")
    assert said(False) == ["loop.md: not followed: symlink loop"]


def test_a_file_still_being_written_waits_for_a_later_build(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD})
    build(cfg)
    (cfg.articles.dir / "fresh.md").write_text(
        article("Fresh", categories=["Good"]), encoding="utf-8"
    )
    report = build(cfg, settle=60)
    assert (
        report.pending == ["fresh.md"]
        and b"Fresh" not in (cfg.output.dir / "atom.xml").read_bytes()
    )
    old = time.time() - 120
    os.utime(cfg.articles.dir / "fresh.md", (old, old))
    build(cfg, settle=60)
    assert b"Fresh" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_held_back_post_appears_when_due(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "later.md": article("Later", date="2026-06-01T00:00:00Z")})
    report = build(cfg)
    assert report.next_due == datetime(2026, 6, 1, tzinfo=UTC)
    report = refeed.build(cfg, now=datetime(2026, 6, 2, tzinfo=UTC))
    assert report.held_back == [] and b"Later" in (cfg.output.dir / "atom.xml").read_bytes()


def test_an_id_from_the_frontmatter_is_kept_when_every_article_is_listed_again(
    make_site: SiteFactory,
) -> None:
    """The store keeps the frontmatter's id (not the derived one) for the builds that list
    the articles again from it, without parsing them: here a config change."""
    files = {"a.md": article("A", id="tag:example.org,2021:a"), "b.md": article("B", id="b-1")}
    cfg = make_site({**files, "c.md": article("C")})
    build(cfg)

    def ids() -> list[str]:
        return sorted(e.id for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries)

    first = ids()
    assert "tag:example.org,2021:a" in first and len(set(first)) == 3
    cfg = make_site({}, clean={"summary_length": 50})
    report = build(cfg)
    assert report.articles_read == 3 and ids() == first


def test_duplicate_ids_keep_the_first_article(make_site: SiteFactory) -> None:
    cfg = make_site(
        {"a.md": article("A", id="tag:x,2021:1"), "b.md": article("B", id="tag:x,2021:1")}
    )
    report = build(cfg)
    assert [(p.path, "already used by a.md" in p.reason) for p in report.skipped] == [
        ("b.md", True)
    ]


def test_status_file_for_monitoring(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "bad.md": "nope"})
    build(cfg)
    status = json.loads((cfg.state_dir / "status.json").read_text(encoding="utf-8"))
    assert status["articles"] == 2 and status["skipped"] == 1 and status["published"] == 1
    assert status["last_error"].startswith("bad.md: no frontmatter")
    assert "atom.xml" in status["feed_files"]


def test_a_no_op_build_imports_no_heavy_library(make_site: SiteFactory, tmp_path: Path) -> None:
    cfg = make_site({"good.md": GOOD, "000.txt": SAMPLE.read_text(encoding="utf-8")})
    build(cfg)
    heavy = (
        "bleach nh3 selectolax feedgen lxml markdown_it frontmatter dateutil httpx httpcore "
        "apscheduler imagesize boto3 botocore"
    )
    script = (
        "import sys, refeed\n"
        f"refeed.build(refeed.load_config({str(tmp_path / 'config.yaml')!r}))\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}.split())))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- drafts


def _everything(root: Path) -> bytes:
    return b"".join(snapshot(root).values())


def test_drafts_and_unpublished_posts_stay_out_of_every_feed(make_site: SiteFactory) -> None:
    cfg = make_site(
        {
            "good.md": GOOD,
            "draft.md": article("Secret draft", categories=["Good"], draft=True),
            "unpublished.md": article("Secret unpublished", tags=["x"], published=False),
            "_drafts/wip.md": "---\ntitle: [broken\n---\nSecret work in progress",
        },
        tags={"feeds": True},
    )
    report = build(cfg)
    assert report.skipped == []  # a draft in progress is no error, however broken
    assert [(p.path, p.reason) for p in report.drafts] == [
        ("_drafts/wip.md", "held back: draft (in _drafts/)"),
        ("draft.md", "held back: draft (draft: true)"),
        ("unpublished.md", "held back: draft (published: false)"),
    ]
    assert b"Secret" not in _everything(cfg.output.dir)
    assert not (cfg.output.dir / "tags").exists()  # a draft's tag gets no feed either


def test_a_post_leaves_every_feed_when_it_becomes_a_draft_and_returns_when_published(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    post: dict[str, Any] = {"title": "Flip", "categories": ["Flip"], "date": "2021-11-02T10:00:00Z"}
    cfg = make_site({"good.md": GOOD, "flip.md": article(**post, draft=True)})
    path = cfg.articles.dir / "flip.md"

    def step(text: str, mtime: int) -> bytes:
        path.write_text(text, encoding="utf-8")
        os.utime(path, (mtime, mtime))
        build(cfg)
        files = snapshot(cfg.output.dir)
        clean = _clean_snapshot(cfg, tmp_path / f"clean-{mtime}")
        # Equal to a build from scratch, but for the emptied feed kept until --prune.
        assert {k: v for k, v in files.items() if k in clean or "flip" not in k} == clean
        return _everything(cfg.output.dir)

    assert b"Flip" not in step(article(**post, draft=True), 1_700_000_000)
    published = step(article(**post, draft=False), 1_700_000_100)
    assert b"<title>Flip</title>" in published
    assert (cfg.output.dir / "categories/flip/atom.xml").is_file()
    assert b"<title>Flip</title>" not in step(article(**post, published=False), 1_700_000_200)
    site = check_feed((cfg.output.dir / "atom.xml").read_bytes())
    assert [e.title for e in site.entries] == ["A good article"]
    assert not (cfg.output.dir / "categories/flip").exists()  # like a deleted post's feed


def _clean_snapshot(cfg: refeed.Config, into: Path) -> dict[str, bytes]:
    output = dataclasses.replace(cfg.output, dir=into / "feeds")
    fresh = dataclasses.replace(cfg, output=output, state=StateConfig(into / "state"))
    build(fresh)
    return snapshot(into / "feeds")


def test_drafts_publish_for_a_preview_with_dates_from_the_file(make_site: SiteFactory) -> None:
    cfg = make_site(
        {
            "good.md": GOOD,
            "draft.md": article("Draft one", draft="yes"),
            "_drafts/wip.md": "---\ntitle: Work in progress\n---\nStill writing.",
        },
        articles={"drafts": "publish"},
    )
    os.utime(cfg.articles.dir / "_drafts/wip.md", (1_600_000_000, 1_600_000_000))
    report = build(cfg)
    assert report.drafts == [] and report.skipped == []
    entries = {e.title: e for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries}
    assert sorted(entries) == ["A good article", "Draft one", "Work in progress"]
    # Hexo's draft scaffold has no date: the file's modification time stands in for it.
    assert entries["Work in progress"].published_parsed[:3] == (2020, 9, 13)


def test_switching_drafts_on_and_off_rereads_no_article(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"good.md": GOOD, "draft.md": article("Draft one", draft=True)})
    build(cfg)
    preview = dataclasses.replace(cfg, articles=dataclasses.replace(cfg.articles, drafts="publish"))
    calls: list[str] = []
    original = load.parse_article

    def counted(text: str, source: str, *args: Any, **kwargs: Any) -> Article:
        calls.append(source)
        return original(text, source, *args, **kwargs)

    monkeypatch.setattr(load, "parse_article", counted)
    build(preview)
    assert calls == []
    assert b"Draft one" in (cfg.output.dir / "atom.xml").read_bytes()
    build(cfg)
    assert b"Draft one" not in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_hexo_source_folder_publishes_its_posts_only(make_site: SiteFactory) -> None:
    cfg = make_site(
        {
            "_posts/hello.md": article("Hello"),
            "about/index.md": article("About me"),
            "_drafts/wip.md": article("Unfinished"),
        }
    )
    report = build(cfg)
    assert report.articles_read == 1 and [p.path for p in report.drafts] == ["_drafts/wip.md"]
    titles = [e.title for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries]
    assert titles == ["Hello"]


def test_a_draft_flag_that_is_neither_true_nor_false_is_refused(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "odd.md": article("Odd", published="maybe")})
    report = build(cfg)
    assert [(p.path, p.reason) for p in report.skipped] == [
        ("odd.md", "frontmatter: 'published': expected true or false, got 'maybe'")
    ]
    assert b"Odd" not in (cfg.output.dir / "atom.xml").read_bytes()


# --------------------------------------------------------------------------- Hexo bodies


def _entries(cfg: refeed.Config) -> dict[str, Any]:
    feed = json.loads((cfg.output.dir / "feed.json").read_text(encoding="utf-8"))
    return {item["title"]: item for item in feed["items"]}


def test_the_summary_is_the_excerpt_unless_the_frontmatter_has_one(make_site: SiteFactory) -> None:
    body = "Intro **text**.\n\n<!--more-->\n\nThe rest, never in the summary."
    cfg = make_site(
        {
            "a.md": article("A", body=body),
            "b.md": article("B", body=body, description="Told by the author"),
            "c.html": article("C", body="<p>HTML intro</p>[[cut]]<p>rest</p>"),
        },
        output={"formats": ["atom", "json"]},
        articles={"more_marker": "[[cut]]"},
    )
    build(cfg)
    items = _entries(cfg)
    assert items["B"]["summary"] == "Told by the author"
    assert items["C"]["summary"] == "HTML intro"
    assert items["A"]["summary"].startswith("Intro text. The rest")  # not this site's marker
    cfg = make_site({}, output={"formats": ["json"]}, articles={"more_marker": "<!-- more -->"})
    build(cfg)
    assert _entries(cfg)["A"]["summary"] == "Intro text."


def test_a_post_link_follows_its_target_and_never_reveals_a_draft(
    make_site: SiteFactory,
) -> None:
    target = {"title": "Target", "date": "2021-11-02T00:00:00Z"}
    cfg = make_site(
        {
            "linking.md": article("Linking", body="See {% post_link target %}."),
            "target.md": article(**target),
            "by-title.md": article(
                "By title", body="Read {% post_link 'Hidden title' %}{% post_path hidden %}."
            ),
            "hidden.md": article("Hidden title", published=False),
        },
        output={"formats": ["json"]},
    )
    build(cfg)
    assert 'title="Target">Target</a>' in _entries(cfg)["Linking"]["content_html"]
    assert _entries(cfg)["By title"]["content_html"] == "<p>Read Hidden title.</p>"  # own words
    path = cfg.articles.dir / "target.md"
    path.write_text(article(**{**target, "title": "Renamed"}), encoding="utf-8")
    build(cfg)
    assert 'title="Renamed">Renamed</a>' in _entries(cfg)["Linking"]["content_html"]
    path.write_text(article(**{**target, "title": "Now secret"}, draft=True), encoding="utf-8")
    build(cfg)
    linking = _entries(cfg)["Linking"]["content_html"]
    assert (
        linking == "<p>See target.</p>"
        and b"secret" not in (cfg.output.dir / "feed.json").read_bytes()
    )


def test_tag_plugins_can_be_turned_off_for_the_site_or_one_post(make_site: SiteFactory) -> None:
    tagged = "Watch {% vimeo 82090131 %} now."
    cfg = make_site(
        {
            "on.md": article("On", body=tagged),
            "off.md": article("Off", body=tagged, disableNunjucks=True),
        },
        output={"formats": ["json"]},
    )
    build(cfg)
    items = _entries(cfg)
    assert "https://vimeo.com/82090131" in items["On"]["content_html"]
    assert "{% vimeo 82090131 %}" in items["Off"]["content_html"]
    cfg = make_site({}, output={"formats": ["json"]}, articles={"tag_plugins": False})
    build(cfg)
    assert "{% vimeo 82090131 %}" in _entries(cfg)["On"]["content_html"]


def test_an_article_with_stray_nul_bytes_is_published_with_one_warning(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    text = "---\ntitle: N\x00ul\ndate: 2021-11-02\ncategories: [Good]\n---\n<p>a\x00b</p>\n"
    cfg = make_site({"good.md": GOOD, "nul.md": text.encode()})
    with caplog.at_level(logging.WARNING, logger="refeed"):
        report = build(cfg)
    assert report.skipped == [] and report.published == 2
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["nul.md: removed 2 stray control characters (NUL or other C0)"]
    parsed = check_feed((cfg.output.dir / "categories/good/atom.xml").read_bytes())
    assert "Nul" in [e.title for e in parsed.entries]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="refeed"):
        build(cfg)  # unchanged: said once per file, not once per build
    assert caplog.records == []


def test_switching_the_sanitizer_cleans_every_body_again_with_it(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": article("B", categories=["Good"])})
    build(cfg)
    engines: list[str] = []
    real_clean = clean.clean_html

    def recording_clean(html: str, base: str, rules: clean.Rules, *, engine: clean.Engine) -> str:
        engines.append(engine)
        return real_clean(html, base, rules, engine=engine)

    monkeypatch.setattr(clean, "clean_html", recording_clean)
    cfg = make_site({}, clean={"sanitizer": "nh3"})
    build(cfg)
    assert engines == ["nh3", "nh3"]
    engines.clear()
    build(cfg)
    assert engines == []


# --------------------------------------------------------------------------- Hexo: the review's cases


def test_a_draft_stays_out_when_other_posts_change_and_builds_read_nothing(
    make_site: SiteFactory,
) -> None:
    cfg = make_site(
        {"good.md": GOOD, "draft.md": article("Secret", categories=["Good"], draft=True)}
    )
    build(cfg)
    assert [p.path for p in build(cfg).drafts] == ["draft.md"]  # a no-op build remembers it
    (cfg.articles.dir / "other.md").write_text(article("Other", categories=["Good"]), "utf-8")
    report = build(cfg)
    assert [p.path for p in report.drafts] == ["draft.md"]
    assert b"Secret" not in _everything(cfg.output.dir)
    assert b"Other" in (cfg.output.dir / "categories/good/atom.xml").read_bytes()


def test_names_hexo_hides_are_not_posts(make_site: SiteFactory) -> None:
    cfg = make_site(
        {
            "good.md": GOOD,
            "_hidden.md": article("Hidden file"),
            "_private/inner.md": article("Hidden folder"),
            "deep/_x/y.md": article("Hidden below"),
        }
    )
    report = build(cfg)
    assert report.articles_read == 1 and report.skipped == []
    assert b"Hidden" not in _everything(cfg.output.dir)


def test_files_in_a_posts_asset_folder_are_assets(make_site: SiteFactory) -> None:
    cfg = make_site(
        {"post.md": article("Post"), "post/demo.html": "<p>no frontmatter</p>", "post/x/n.md": "x"},
        articles={"post_asset_folder": True},
    )
    report = build(cfg)
    assert report.articles_read == 1 and report.skipped == []


def test_a_post_whose_tags_nest_too_deep_is_skipped_and_the_others_publish(
    make_site: SiteFactory,
) -> None:
    deep = "{% quote %}\n" * 1000 + "x\n" + "{% endquote %}\n" * 1000
    cfg = make_site({"good.md": GOOD, "deep.md": article("Deep", body=deep)})
    report = build(cfg)
    assert [(p.path, p.reason) for p in report.skipped] == [
        ("deep.md", "cannot read its Hexo tags: Hexo tags nested deeper than 32 levels")
    ]
    assert b"A good article" in (cfg.output.dir / "atom.xml").read_bytes()
    assert refeed.check(cfg)[0].path == "deep.md"


def test_post_link_finds_the_slug_first_then_the_title(make_site: SiteFactory) -> None:
    cfg = make_site(
        {
            "linking.md": article(
                "Linking", body="Read {% post_link 'Target title' %} and {% post_link clash %}."
            ),
            "target.md": article("Target title"),
            "clash.md": article("By slug"),
            "other.md": article("clash"),  # a title equal to another post's slug
        },
        output={"formats": ["json"]},
    )
    build(cfg)
    html = _entries(cfg)["Linking"]["content_html"]
    assert 'title="Target title">Target title</a>' in html
    assert 'href="https://example.org/2021/11/01/clash/" title="By slug">By slug</a>' in html


# ------------------------------------------------------------------ feed membership in the store

_NAMES = st.sampled_from(["A", "B", "新浪", "a b", "A/B"])
_LISTINGS = st.lists(
    st.builds(
        lambda n, ident, day, cats, tags: Listing(f"{n:03}.md", ident, day * 3600.0, cats, tags),
        st.integers(0, 999),
        st.sampled_from(["id-1", "id-2", "id-3", "id-4", "id-5", "id-6", "id-7", "id-8"]),
        st.integers(0, 12),  # few dates: ties are ordered by id
        st.lists(st.lists(_NAMES, min_size=1, max_size=3).map(tuple), max_size=2).map(tuple),
        st.lists(_NAMES, max_size=2, unique=True).map(tuple),
    ),
    max_size=40,
    unique_by=lambda listing: listing.source,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(listings=_LISTINGS, until_hour=st.integers(0, 13), cap=st.integers(1, 4), tags=st.booleans())
def test_the_store_plans_the_feeds_that_planning_every_listing_gives(
    tmp_path_factory: pytest.TempPathFactory,
    listings: list[Listing],
    until_hour: int,
    cap: int,
    tags: bool,
) -> None:
    # The reference: every listing in memory (the held-back and the later claimants of an id
    # left out first), as builds planned before the store indexed membership.
    cfg = config_from_dict(
        {"site": {"title": "S", "url": "https://x.org/", "feeds_url": "https://x.org/f/"},
         "articles": {"dir": "a"}, "output": {"items_per_feed": cap}, "tags": {"feeds": tags}},
        Path("/srv"),
    )  # fmt: skip
    until = until_hour * 3600.0
    owners: dict[str, str] = {}
    for item in sorted(listings):
        if item.published <= until:
            owners.setdefault(item.id, item.source)
    published = [i for i in listings if i.published <= until and owners[i.id] == i.source]
    with state.open_state(tmp_path_factory.mktemp("store")) as store:
        work = run.Run(cfg, store, NOW)
        for item in listings:
            feeds = [assemble.group_key(g) for g in assemble.feed_groups(item, cfg)]
            store.put_listing(item, feeds)
        duplicates = loading.drop_duplicate_ids(work, until)
        work.catalog = run.Catalog(until, duplicates, store.listed_count(until) - len(duplicates))
        assert loading.plan(work, set()) == assemble.plan_feeds(published, cfg)
        assert work.catalog.count == len(published)
        left_out = {item.source for item in published[::3]}
        expected = [item for item in published if item.source not in left_out]
        assert loading.plan(work, left_out) == assemble.plan_feeds(expected, cfg)


def test_a_store_from_before_feed_membership_is_listed_anew_and_publishes_the_same(
    make_site: SiteFactory,
) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": GOOD.replace("good", "other")}, output=EVERY_OUTPUT)
    refeed.build(cfg, now=NOW)
    before = output_bytes(cfg.output.dir)
    db = sqlite3.connect(cfg.state_dir / "state.sqlite3")  # as a refeed of schema 4 left it
    db.execute("DROP TABLE members")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    report = refeed.build(cfg, now=NOW)
    assert report.written == [] and report.published == 2
    assert output_bytes(cfg.output.dir) == before
    with state.open_state(cfg.state_dir) as store:
        assert store.member_feeds(float("inf"))  # the feeds' members are indexed again


# ------------------------------------------------------------------ builds of the changed files


def test_builds_of_the_changed_files_alone_publish_what_builds_of_every_file_do(
    make_site: SiteFactory,
) -> None:
    # One article folder, two stores and outputs: one builds after each change from the
    # changed paths alone (as watch does after file events), the other from a whole scan.
    files = {
        f"_posts/{n}.md": article(f"Post {n}", f"2021-11-0{n}T10:00:00Z", categories=["A", "B"])
        for n in range(1, 6)
    }
    files["_drafts/early.md"] = article("Early draft")
    cfg = make_site(files, output={**EVERY_OUTPUT, "items_per_feed": 2})
    whole = dataclasses.replace(
        cfg,
        output=dataclasses.replace(cfg.output, dir=cfg.output.dir.parent / "whole"),
        state=StateConfig(dir=cfg.state_dir.parent / "whole-state"),
    )  # fmt: skip
    refeed.build(cfg, now=NOW)
    refeed.build(whole, now=NOW)
    posts = cfg.articles.dir / "_posts"

    def rewrite(name: str, text: str) -> None:
        (posts / name).write_text(text, encoding="utf-8")

    steps: list[tuple[str, Callable[[], object], set[str]]] = [
        ("edit", lambda: rewrite("3.md", article("Post 3 edited", "2021-11-09T10:00:00Z",
                                                 categories=["A", "C"])), {"_posts/3.md"}),
        ("add", lambda: rewrite("6.md", article("Six", "2021-11-08T10:00:00Z", tags=["t"])),
         {"_posts/6.md"}),
        # The newest goes: an older post, never cleaned (capped out), moves up into feeds.
        ("delete", lambda: (posts / "3.md").unlink(), {"_posts/3.md"}),
        ("move", lambda: (posts / "6.md").rename(posts / "sub-6.md"),
         {"_posts/6.md", "_posts/sub-6.md"}),
        ("break", lambda: rewrite("5.md", "no frontmatter"), {"_posts/5.md"}),
        ("future", lambda: rewrite("4.md", article("Later", "2030-01-01T00:00:00Z")),
         {"_posts/4.md"}),
        ("draft", lambda: (cfg.articles.dir / "_drafts" / "late.md").write_text(
            article("Late draft"), encoding="utf-8"), {"_drafts/late.md"}),
        ("unpublish", lambda: rewrite("2.md", article("Two", published=False)), {"_posts/2.md"}),
        ("not an article", lambda: (posts / "i.png").write_bytes(b"png"), {"_posts/i.png"}),
    ]  # fmt: skip
    for name, change, paths in steps:
        change()
        changed = refeed.build(cfg, now=NOW, paths=frozenset(paths))
        scanned = refeed.build(whole, now=NOW)
        assert output_bytes(cfg.output.dir) == output_bytes(whole.output.dir), name
        for field in ("published", "skipped", "held_back", "drafts", "articles_read"):
            assert getattr(changed, field) == getattr(scanned, field), (name, field)
    assert [d.path for d in changed.drafts] == [
        "_drafts/early.md",
        "_drafts/late.md",
        "_posts/2.md",
    ]


def test_a_build_of_changed_files_looks_at_those_alone(make_site: SiteFactory) -> None:
    cfg = make_site({"a.md": article("A"), "b.md": article("B")})
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "a.md").write_text(article("A2"), encoding="utf-8")
    (cfg.articles.dir / "b.md").write_text(article("B2"), encoding="utf-8")
    refeed.build(cfg, now=NOW, paths=frozenset({"a.md"}))
    site = (cfg.output.dir / "atom.xml").read_text(encoding="utf-8")
    assert "A2" in site and "B2" not in site  # b.md waits for the next scan
    refeed.build(cfg, now=NOW)
    assert "B2" in (cfg.output.dir / "atom.xml").read_text(encoding="utf-8")


def test_a_changed_link_or_a_new_store_makes_the_build_look_at_every_file(
    make_site: SiteFactory,
) -> None:
    cfg = make_site({"a.md": article("A"), "b.md": article("B")})
    report = refeed.build(cfg, now=NOW, paths=frozenset({"a.md"}))  # a new store knows nothing
    assert report.published == 2
    (cfg.articles.dir / "b.md").write_text(article("B2"), encoding="utf-8")
    (cfg.articles.dir / "c.md").symlink_to(cfg.articles.dir / "a.md")
    refeed.build(cfg, now=NOW, paths=frozenset({"c.md"}))  # links: only a whole scan decides
    assert "B2" in (cfg.output.dir / "atom.xml").read_text(encoding="utf-8")


def test_a_linked_article_that_moves_up_after_a_change_is_read_through_its_link(
    make_site: SiteFactory,
) -> None:
    cfg = make_site(
        {"new.md": article("New", "2021-11-09T10:00:00Z"),
         ".kept/old.md": article("Old through a link", "2021-11-01T10:00:00Z")},
        output={"items_per_feed": 1},
    )  # fmt: skip
    (cfg.articles.dir / "old.md").symlink_to(cfg.articles.dir / ".kept" / "old.md")
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "new.md").unlink()  # the linked one, never cleaned, moves up
    report = refeed.build(cfg, now=NOW, paths=frozenset({"new.md"}))
    assert report.skipped == [] and report.published == 1
    assert "Old through a link" in (cfg.output.dir / "atom.xml").read_text(encoding="utf-8")


def test_a_changed_file_that_cannot_be_read_now_leaves_every_feed(make_site: SiteFactory) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": article("B", categories=["Good"])},
                    articles={"max_size": "2KB"})  # fmt: skip
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "b.md").write_text(article("B", body="x" * 4000), encoding="utf-8")
    report = refeed.build(cfg, now=NOW, paths=frozenset({"b.md"}))
    assert [p.path for p in report.skipped] == ["b.md"] and report.published == 1
    for feed in (cfg.output.dir / "atom.xml", cfg.output.dir / "categories/good/atom.xml"):
        assert "<title>B</title>" not in feed.read_text(encoding="utf-8")


def test_a_changed_name_that_is_not_utf8_is_said_in_one_line_not_a_failed_build(
    make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = make_site({"good.md": GOOD})
    refeed.build(cfg, now=NOW)
    bad = os.fsdecode(b"b\xff.md")
    (cfg.articles.dir / bad).write_text(GOOD, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="refeed"):
        report = refeed.build(cfg, now=NOW, paths=frozenset({bad}))
    assert report.published == 1
    assert "b\ufffd.md: not read: its name is not UTF-8; rename it" in caplog.text


def test_a_store_of_many_articles_spreads_the_scan_and_builds_the_same_feeds(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"{n % 7}/{n:03d}.md": article(f"N {n}", categories=[f"C{n % 3}"]) for n in range(60)}
    cfg = make_site({**files, "top.md": GOOD})
    alone = dataclasses.replace(  # the same articles, never spread: an output and store of its own
        cfg,
        output=dataclasses.replace(cfg.output, dir=cfg.output.dir.with_name("alone")),
        state=StateConfig(dir=cfg.state_dir.with_name(".alone")),
    )
    spreads: list[int] = []

    def counted(work: Callable[[int], Any], count: int) -> list[Any]:
        spreads.append(count)
        return [work(index) for index in range(count)]  # here (the forks: test_load)

    monkeypatch.setattr(run, "_spread_scan", counted)
    # A build shares its scan only where it can fork; a test before this one may have left a
    # thread running, and the shares run in this process anyway.
    monkeypatch.setattr(run, "_forkable", lambda: True)
    monkeypatch.setattr(run, "_cores", lambda: 2)

    def build_both(least: int) -> None:
        monkeypatch.setattr(run, "SCAN_POOL_MIN", least)
        spread = build(cfg)
        monkeypatch.setattr(run, "SCAN_POOL_MIN", 10**9)
        assert build(alone).published == spread.published
        assert snapshot(cfg.output.dir) == snapshot(alone.output.dir)

    build_both(61)  # a first build: nothing stored, not spread
    (cfg.articles.dir / "3" / "010.md").write_text(article("Edited", categories=["C0"]))
    (cfg.articles.dir / "5" / "012.md").unlink()
    (cfg.articles.dir / "9").mkdir()
    (cfg.articles.dir / "9" / "new.md").write_text(article("New", categories=["C2"]))
    build_both(61)  # 61 stored: spread
    assert spreads == [16]
    (cfg.articles.dir / "3" / "010.md").write_text(article("Edited again", categories=["C1"]))
    build_both(62)  # not spread
    assert len(spreads) == 1 and 2 <= spreads[0] <= 16
    build_both(61)
    # The workers cut their runs into chunks the store takes: the same scan again compares none.
    forbid(monkeypatch, (state.State, "compare_scan"))
    build_both(61)
    assert len(spreads) == 3
    monkeypatch.setattr(run, "SCAN_POOL_MIN", 61)
    sources, _, _, chunks = run.scan_articles(cfg, expected=61)
    assert chunks is not None and chunks != state.scan_chunks(sources)  # cut at runs' ends too
    assert [c.start for c in chunks] == [0, *[c.end for c in chunks[:-1]]]
    assert chunks[-1].end == len(sources) and len(spreads) == 4
    monkeypatch.setattr(run, "_forkable", lambda: False)  # threads (refeed watch): no forks,
    assert run.scan_articles(cfg, expected=61).chunks is None and len(spreads) == 4  # no shares
    for chunk in chunks:
        run_files = sources[chunk.start : chunk.end]
        lines = b"".join(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode() for f in run_files)
        assert (chunk.first, chunk.last) == (run_files[0].rel, run_files[-1].rel)
        assert chunk.digest == hashlib.blake2b(lines, digest_size=16).hexdigest()


def test_a_file_dated_past_2262_is_built_like_any_other(make_site: SiteFactory) -> None:
    # Its mtime in nanoseconds does not fit the store's 64 bits: it once stopped every build.
    cfg = make_site({"good.md": GOOD, "far.md": article("Far", categories=["Far"])})
    far = 10_500_000_000 * 10**9  # 2302
    os.utime(cfg.articles.dir / "far.md", ns=(far, far))
    for _ in range(2):
        report = build(cfg)
        assert report.published == 2 and not report.skipped and not report.failed
    assert b"Far" in (cfg.output.dir / "atom.xml").read_bytes()


@pytest.mark.parametrize(
    "section",
    [{"watch": {"interval": 60, "settle": 9}}, {"state": {"lock": "wait"}}, {"moved": {}}],
    ids=["watch", "state lock", "config file moved"],
)
def test_settings_that_touch_no_output_do_not_list_every_article_again(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch, section: dict[str, Any]
) -> None:
    cfg = make_site({"good.md": GOOD, "b.md": article("B", categories=["C"])})
    build(cfg)
    if "moved" in section:  # the same settings read from another file
        moved = cfg.source + ".moved.yaml"
        shutil.copy(cfg.source, moved)
        changed = load_config(Path(moved))
    else:
        changed = make_site({}, **section)
    forbid(monkeypatch, (state.State, "clear_items"), (state.State, "each_decoded"))
    assert build(changed).published == 2
    monkeypatch.undo()
    with pytest.raises(AssertionError, match="clear_items"):  # a setting that does: all again
        forbid(monkeypatch, (state.State, "clear_items"))
        build(make_site({}, output={"items_per_feed": 3}))
