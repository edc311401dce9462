"""`refeed feeds`: the feeds the last build published, as index.html lists them, through the
real CLI; it builds nothing, writes nothing and answers while another refeed holds the lock."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from conftest import SiteFactory, article
from conftest import run_cli as run

FORMATS = {"formats": ["atom", "rss", "json"], "index": True}
ARTICLES = {
    "one.md": article("One", date="2021-11-01T10:00:00Z", categories=["Finance"]),
    "two.md": article("Two", date="2021-11-03T10:00:00Z", categories=[["Finance", "Crypto"]]),
    "three.md": article("Three", date="2021-11-02T10:00:00Z", categories=["Cars"]),
}


def _site(make_site: SiteFactory, tmp_path: Path, **output: Any) -> None:
    make_site(ARTICLES, output={**FORMATS, **output})
    built = run("build", "-q", cwd=tmp_path)
    assert built.returncode == 0, built.stderr


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: (mtime_ns, size)."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in root.rglob("*")
    }


def test_feeds_lists_each_feed_with_formats_items_newest_and_title(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path)
    result = run("feeds", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        ["PATH", "FORMATS", "ITEMS", "NEWEST", "TITLE"],
        ["atom.xml", "atom,rss,json", "3", "2021-11-03", "Test", "Site"],
        ["categories/cars/atom.xml", "atom,rss,json", "1", "2021-11-02", "Cars"],
        ["categories/finance/atom.xml", "atom,rss,json", "2", "2021-11-03", "Finance"],
        ["categories/finance/crypto/atom.xml", "atom,rss,json", "1", "2021-11-03", "Finance", "›", "Crypto"],
    ]  # fmt: skip
    index = (tmp_path / "feeds" / "index.html").read_text(encoding="utf-8")
    for count in ("3 items", "2 items", "1 item"):  # the numbers index.html shows
        assert count in index
    assert "Finance › Crypto" in index  # and its labels


def test_feeds_json_is_a_list_of_objects_with_files_and_urls_per_format(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path, formats=["atom", "json"])
    result = run("feeds", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    feeds = json.loads(result.stdout)
    assert [feed["dir"] for feed in feeds] == [
        "", "categories/cars", "categories/finance", "categories/finance/crypto",
    ]  # fmt: skip
    for feed in feeds:
        assert sorted(feed) == ["dir", "files", "items", "kind", "newest", "path", "title", "urls"]
    crypto = feeds[-1]
    assert crypto == {
        "path": "categories/finance/crypto/atom.xml",
        "dir": "categories/finance/crypto",
        "kind": "category",
        "title": "Finance › Crypto",
        "items": 1,
        "newest": "2021-11-03T10:00:00+00:00",
        "files": {
            "atom": "categories/finance/crypto/atom.xml",
            "json": "categories/finance/crypto/feed.json",
        },
        "urls": {
            "atom": "https://example.org/feeds/categories/finance/crypto/atom.xml",
            "json": "https://example.org/feeds/categories/finance/crypto/feed.json",
        },
    }
    assert (feeds[0]["kind"], feeds[0]["title"], feeds[0]["items"]) == ("site", "Test Site", 3)
    assert datetime.fromisoformat(feeds[0]["newest"]).isoformat() == feeds[0]["newest"]
    for feed in feeds:  # every path listed is a file the build wrote
        assert all((tmp_path / "feeds" / rel).is_file() for rel in feed["files"].values())


def test_a_feed_without_items_has_newest_null(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site({}, output=FORMATS)
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    result = run("feeds", "--json", cwd=tmp_path)
    assert [(f["dir"], f["items"], f["newest"]) for f in json.loads(result.stdout)] == [
        ("", 0, None)
    ]
    assert run("feeds", cwd=tmp_path).stdout.splitlines()[1].split()[:4] == [
        "atom.xml", "atom,rss,json", "0", "-",
    ]  # fmt: skip


def test_feeds_writes_nothing(make_site: SiteFactory, tmp_path: Path) -> None:
    _site(make_site, tmp_path)
    before = _snapshot(tmp_path)
    time.sleep(0.01)  # a write now would show in a mtime
    assert run("feeds", cwd=tmp_path).returncode == 0
    assert run("feeds", "--json", cwd=tmp_path).returncode == 0
    assert _snapshot(tmp_path) == before


def test_a_pruned_feed_is_not_listed(make_site: SiteFactory, tmp_path: Path) -> None:
    _site(make_site, tmp_path)
    (tmp_path / "articles" / "three.md").unlink()  # Cars has no articles left: pruned
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    listed = [feed["dir"] for feed in json.loads(run("feeds", "--json", cwd=tmp_path).stdout)]
    assert listed == ["", "categories/finance", "categories/finance/crypto"]
    assert "cars" not in run("feeds", cwd=tmp_path).stdout


def test_a_feed_kept_empty_without_prune_is_not_listed(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path, prune=False)
    (tmp_path / "articles" / "three.md").unlink()
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "feeds" / "categories" / "cars" / "atom.xml").is_file()  # kept, empty
    listed = [feed["dir"] for feed in json.loads(run("feeds", "--json", cwd=tmp_path).stdout)]
    assert listed == ["", "categories/finance", "categories/finance/crypto"]


def test_never_built_is_one_line_and_exit_8_and_creates_nothing(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site(ARTICLES, output=FORMATS)
    before = _snapshot(tmp_path)
    for args in (("feeds",), ("feeds", "--json"), ("feeds", "--state", "elsewhere")):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 8 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("refeed: ")
        assert "no build recorded here yet; run refeed build first" in result.stderr
    assert _snapshot(tmp_path) == before  # no state folder, no lock file, no output


def test_state_option_names_the_store_to_read(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site(ARTICLES, output=FORMATS)
    assert run("build", "-q", "--state", "kept", "--output", "out", cwd=tmp_path).returncode == 0
    assert run("feeds", cwd=tmp_path).returncode == 8  # the default .refeed/ has no build
    result = run("feeds", "--state", "kept", "--json", cwd=tmp_path)
    assert result.returncode == 0 and len(json.loads(result.stdout)) == 4
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    refused = run("feeds", "--state", "a-file", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr == "refeed: --state: a-file: not a folder\n"


def test_a_store_from_before_the_feed_list_is_listed_after_its_next_build(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path)
    db = sqlite3.connect(tmp_path / ".refeed" / "state.sqlite3")
    db.execute("DROP TABLE published_feeds")
    db.execute("DELETE FROM meta WHERE key = 'published_feeds'")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    result = run("feeds", cwd=tmp_path)
    assert result.returncode == 8 and "no build recorded" in result.stderr
    assert run("build", "-q", cwd=tmp_path).returncode == 0  # nothing changed, yet it lists
    assert len(json.loads(run("feeds", "--json", cwd=tmp_path).stdout)) == 4


def test_a_store_from_a_newer_refeed_is_one_line_exit_6(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path)
    db = sqlite3.connect(tmp_path / ".refeed" / "state.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    result = run("feeds", cwd=tmp_path)
    assert result.returncode == 6 and result.stderr.count("\n") == 1
    assert "written by a newer refeed (schema 99" in result.stderr


def _hold(folder: str, ready: Any, release: Any) -> None:
    from refeed.state import open_state

    with open_state(Path(folder)):  # as watch does for the length of a build
        ready.set()
        release.wait(30)


def test_feeds_answers_while_a_build_holds_the_lock(make_site: SiteFactory, tmp_path: Path) -> None:
    _site(make_site, tmp_path)
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path / ".refeed"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        result = run("feeds", "--json", cwd=tmp_path)
        assert holder.is_alive()  # answered with the lock still held
        assert result.returncode == 0 and len(json.loads(result.stdout)) == 4
    finally:
        release.set()
        holder.join(30)


def test_feeds_says_so_rather_than_hang_while_a_build_commits(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path)
    db = sqlite3.connect(tmp_path / ".refeed" / "state.sqlite3", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")  # what a build's commit holds for a moment
    try:
        started = time.monotonic()
        result = run("feeds", cwd=tmp_path)
        waited = time.monotonic() - started
    finally:
        db.rollback()
        db.close()
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.endswith(
        "state.sqlite3: a build is writing the state store; try again in a moment\n"
    )
    assert waited < 30
    assert run("feeds", cwd=tmp_path).returncode == 0


def test_feeds_piped_into_a_reader_that_stops_early_is_no_error(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    _site(make_site, tmp_path)
    for args in ("feeds", "feeds --json"):  # `true` has exited before refeed writes a byte
        piped = subprocess.run(
            f"set -o pipefail; {sys.executable} -m refeed {args} | true",
            shell=True,
            executable="/bin/bash",
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (piped.returncode, piped.stderr) == (0, "")


def test_the_table_lines_up_in_a_terminal_with_chinese_paths(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    import unicodedata

    make_site(
        {"cn.md": article("中文", categories=[["金融", "加密货币"]]), **ARTICLES}, output=FORMATS
    )
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    lines = run("feeds", cwd=tmp_path).stdout.splitlines()

    def column_of(line: str, text: str) -> int:  # terminal columns before ``text``
        head = line[: line.index(text)]
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in head)

    assert any("金融" in line for line in lines)
    starts = {column_of(line, "atom,rss,json") for line in lines[1:]}
    assert starts == {column_of(lines[0], "FORMATS")}  # a Chinese character takes two columns
