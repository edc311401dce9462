"""`refeed watch` end to end, in a subprocess: polls with deadlines, never fixed sleeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from conftest import BASE_CONFIG, GOOD, article
from feedcheck import check_feed, feed_files

DEADLINE = 30.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Watcher:
    def __init__(self, root: Path, **watch: object) -> None:
        self.root = root
        self.articles = root / "articles"
        self.articles.mkdir()
        (self.articles / "good.md").write_text(GOOD, encoding="utf-8")
        self.config = root / "config.yaml"
        self.write_config(watch={"interval": 1, "settle": 1, **watch})
        self.log = (root / "watch.log").open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "refeed", "watch", "--config", str(self.config)],
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def write_config(self, **sections: object) -> None:
        data = {key: dict(value) for key, value in BASE_CONFIG.items()}
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value}  # type: ignore[dict-item]
        self.config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def feed(self, rel: str = "atom.xml") -> bytes:
        path = self.root / "feeds" / rel
        return path.read_bytes() if path.exists() else b""

    def logged(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.root / "watch.log").read_text(encoding="utf-8")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[Watcher]:
    running = Watcher(tmp_path)
    try:
        wait_for(lambda: b"A good article" in running.feed(), "the first build")
        yield running
    finally:
        running.stop()


def test_watch_publishes_edits_and_removes_then_stops_cleanly_on_sigterm(watcher: Watcher) -> None:
    new = watcher.articles / "new.md"
    new.write_text(article("Breaking", categories=["Good"]), encoding="utf-8")
    wait_for(lambda: b"Breaking" in watcher.feed("categories/good/rss.xml"), "the new article")
    new.write_text(article("Breaking, updated", categories=["Good"]), encoding="utf-8")
    wait_for(lambda: b"Breaking, updated" in watcher.feed(), "the edit")
    new.unlink()
    wait_for(lambda: b"Breaking" not in watcher.feed(), "the removal")
    assert watcher.stop() == 0
    for path in feed_files(watcher.root / "feeds"):
        check_feed(path.read_bytes())
    assert "stopped" in watcher.logged()


def test_watch_takes_a_post_out_when_it_becomes_a_draft_and_back_when_published(
    watcher: Watcher,
) -> None:
    post = watcher.articles / "flip.md"
    post.write_text(article("Flipping", categories=["Good"]), encoding="utf-8")
    wait_for(lambda: b"Flipping" in watcher.feed("categories/good/atom.xml"), "the new post")
    post.write_text(article("Flipping", categories=["Good"], published=False), encoding="utf-8")
    wait_for(lambda: b"Flipping" not in watcher.feed("categories/good/atom.xml"), "unpublishing")
    assert b"Flipping" not in watcher.feed()
    post.write_text(article("Flipping", categories=["Good"], draft=False), encoding="utf-8")
    wait_for(lambda: b"Flipping" in watcher.feed(), "publishing again")


def test_a_half_written_file_waits_until_it_is_complete(watcher: Watcher) -> None:
    path = watcher.articles / "long.md"
    text = article(
        "Long read",
        categories=["Good"],
        body="<p>first half</p>" + "<p>more</p>" * 50 + "<p>THE END</p>",
    )
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text[: len(text) // 2])
        handle.flush()
        deadline = time.monotonic() + 3  # keep writing slowly: each write restarts the settle time
        while time.monotonic() < deadline:
            assert b"Long read" not in watcher.feed()
            handle.write(" ")
            handle.flush()
            time.sleep(0.3)
        handle.write(text[len(text) // 2 :])
    wait_for(lambda: b"Long read" in watcher.feed(), "the completed article")
    assert b"THE END" in watcher.feed()


def test_sighup_reloads_the_config_and_refuses_a_bad_one(watcher: Watcher) -> None:
    watcher.write_config(site={"title": "Renamed"}, watch={"interval": 1, "settle": 1})
    watcher.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: b"<title>Renamed</title>" in watcher.feed(), "the reloaded title")
    watcher.config.write_text("site: [broken\n", encoding="utf-8")
    watcher.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reload refused" in watcher.logged(), "the refusal")
    (watcher.articles / "after.md").write_text(
        article("After the bad reload", categories=["Good"]), encoding="utf-8"
    )
    wait_for(lambda: b"After the bad reload" in watcher.feed(), "a build under the old config")
    assert watcher.proc.poll() is None


def test_a_failed_build_is_logged_and_the_service_keeps_going(watcher: Watcher) -> None:
    before = watcher.feed()
    hidden = watcher.root / "hidden"
    watcher.articles.rename(hidden)
    wait_for(lambda: "build failed" in watcher.logged(), "the failed build")
    assert watcher.feed() == before and watcher.proc.poll() is None
    hidden.rename(watcher.articles)
    (watcher.articles / "back.md").write_text(
        article("Back again", categories=["Good"]), encoding="utf-8"
    )
    wait_for(lambda: b"Back again" in watcher.feed(), "recovery")


def test_json_logs_and_timestamps(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "bad.md").write_text("nope", encoding="utf-8")
    os.utime(tmp_path / "articles" / "bad.md", (time.time() - 60, time.time() - 60))  # settled
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({**BASE_CONFIG, "watch": {"interval": 1}}), encoding="utf-8"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "refeed", "watch", "--log-format", "json"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = tmp_path / ".refeed" / "status.json"
    try:
        wait_for(status.exists, "the first build")
        seen: set[str] = set()

        def three_scans() -> bool:
            seen.add(status.read_text(encoding="utf-8"))  # each build rewrites it, timestamped
            return len(seen) >= 3

        wait_for(three_scans, "three scans")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all({"time", "level", "message"} <= set(r) for r in records)
    assert [r["message"] for r in records].count(
        "bad.md: no frontmatter: the file must start with a '---' line"
    ) == 1


def test_sigint_also_stops_cleanly(watcher: Watcher) -> None:
    watcher.proc.send_signal(signal.SIGINT)
    assert watcher.proc.wait(DEADLINE) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX processes")
def test_a_build_during_watch_waits_for_the_lock_and_output_stays_valid(watcher: Watcher) -> None:
    for n in range(5):
        (watcher.articles / f"n{n}.md").write_text(
            article(f"Item {n}", categories=["Good"]), encoding="utf-8"
        )
        result = subprocess.run(
            [sys.executable, "-m", "refeed", "build", "-q", "--config", str(watcher.config)],
            cwd=watcher.root,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
        assert result.returncode == 0, result.stderr
    assert all(f"Item {n}".encode() in watcher.feed() for n in range(5))
    for path in feed_files(watcher.root / "feeds"):
        check_feed(path.read_bytes())


def test_a_reload_with_a_selector_lexbor_refuses_is_refused_whole_and_recorded(
    watcher: Watcher,
) -> None:
    watcher.write_config(clean={"remove": ["div[[["]}, watch={"interval": 1, "settle": 1})
    watcher.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reload refused" in watcher.logged(), "the refusal")
    refusal = next(line for line in watcher.logged().splitlines() if "reload refused" in line)
    assert "clean.remove[0]" in refusal and "the running config stays" in refusal
    status = json.loads((watcher.root / ".refeed/status.json").read_text(encoding="utf-8"))
    assert "clean.remove[0]" in status["last_error"] and status["config_refused_at"]
    (watcher.articles / "after.md").write_text(article("Still built"), encoding="utf-8")
    wait_for(lambda: b"Still built" in watcher.feed(), "a build under the running config")
    status = json.loads((watcher.root / ".refeed/status.json").read_text(encoding="utf-8"))
    assert "clean.remove[0]" in status["last_error"] and status["config_refused_at"]  # kept
    watcher.write_config(site={"title": "Mended"}, watch={"interval": 1, "settle": 1})
    watcher.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: b"<title>Mended</title>" in watcher.feed(), "the mended config's build")

    def cleared() -> bool:
        status = json.loads((watcher.root / ".refeed/status.json").read_text(encoding="utf-8"))
        return status["last_error"] is None and "config_refused_at" not in status

    wait_for(cleared, "the refusal cleared by the accepted reload")


def test_watch_refuses_to_start_on_a_config_a_build_would_fail_on(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    data = {key: dict(value) for key, value in BASE_CONFIG.items()}
    data["clean"] = {"remove": ["p:::nope", ".fine", "div[[["]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "refeed", "watch"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 2  # every bad selector, one line each
    assert lines[0].startswith("refeed: config.yaml: clean.remove[0]: not a CSS selector")
    assert lines[1].startswith("refeed: config.yaml: clean.remove[2]: not a CSS selector")


def test_watch_names_old_problems_at_start_and_lists_files_with_v(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles/good.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "articles/broken.md").write_text("no frontmatter", encoding="utf-8")
    data = {key: dict(value) for key, value in BASE_CONFIG.items()}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, check=False)
    log = (tmp_path / "watch.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "refeed", "watch", "-v"], cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        (tmp_path / "articles/new.md").write_text(article("New one"), encoding="utf-8")

        def logged() -> str:
            return (tmp_path / "watch.log").read_text(encoding="utf-8")

        wait_for(lambda: "wrote atom.xml" in logged(), "the written files, with -v")
        assert "broken.md: no frontmatter" in logged()  # failed before watch started: named
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(DEADLINE)
        log.close()


def test_file_events_publish_a_change_long_before_the_next_scan(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, interval=3600, settle=1)  # the scan would come in an hour
    try:
        wait_for(lambda: b"A good article" in watcher.feed(), "the first build")
        assert "file events, and a scan every 3600s" in watcher.logged()
        post = watcher.articles / "sub" / "fresh.md"
        post.parent.mkdir()
        post.write_text(article("Fresh off the press", categories=["Good"]), encoding="utf-8")
        wait_for(lambda: b"Fresh off the press" in watcher.feed(), "the new post", timeout=15)
        post.unlink()
        wait_for(lambda: b"Fresh off the press" not in watcher.feed(), "its removal", timeout=15)
        assert watcher.stop() == 0
    finally:
        watcher.stop()


def test_with_file_events_off_the_scan_alone_publishes_and_the_log_says_so(
    tmp_path: Path,
) -> None:
    watcher = Watcher(tmp_path, events=False)
    try:
        wait_for(lambda: b"A good article" in watcher.feed(), "the first build")
        assert "a scan every 1s (settle 1s; watch.events is false)" in watcher.logged()
        (watcher.articles / "late.md").write_text(article("Late", categories=["Good"]), "utf-8")
        wait_for(lambda: b"Late" in watcher.feed(), "the scan to find it")
    finally:
        watcher.stop()


def test_an_article_folder_swapped_in_place_is_followed(tmp_path: Path) -> None:
    """An atomic deploy moves the old folder away and the new one in: inotify says nothing of
    its root, so watch notices the swap itself and watches the new folder."""
    watcher = Watcher(tmp_path, interval=3600, settle=1)
    try:
        wait_for(lambda: b"A good article" in watcher.feed(), "the first build")
        fresh = tmp_path / "articles.new"
        fresh.mkdir()
        (fresh / "good.md").write_text(GOOD, encoding="utf-8")
        (fresh / "swapped.md").write_text(article("Swapped in", categories=["Good"]), "utf-8")
        watcher.articles.rename(tmp_path / "articles.old")
        fresh.rename(watcher.articles)
        wait_for(lambda: b"Swapped in" in watcher.feed(), "the swapped folder", timeout=15)
        assert "was replaced; watching the folder now there" in watcher.logged()
        (watcher.articles / "later.md").write_text(article("Later", categories=["Good"]), "utf-8")
        wait_for(lambda: b"Later" in watcher.feed(), "an event in the new folder", timeout=15)
    finally:
        watcher.stop()
