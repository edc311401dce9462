"""A real feed reader, Debian's newsboat, subscribes to every feed the real nginx serves: the
stylesheet instruction and the note for people at the top of each feed cost readers nothing."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest

import nginx
from conftest import build_examples

NEWSBOAT = shutil.which("newsboat")


def test_newsboat_reads_every_feed_with_its_title_and_items(tmp_path: Path) -> None:
    if NEWSBOAT is None:
        pytest.skip("newsboat is not installed (make test installs it as root with apt-get)")
    feeds = build_examples(tmp_path / "site")
    files = sorted(p for p in feeds.rglob("*.xml"))
    assert len(files) >= 20 and all(p.read_bytes().count(b"<?xml-stylesheet") == 1 for p in files)
    home = tmp_path / "home"
    home.mkdir()
    with nginx.serving(tmp_path / "site", tmp_path) as base:
        urls = {f"{base}/feeds/{quote(p.relative_to(feeds).as_posix())}": p for p in files}
        (home / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (home / "config").write_text("")
        result = subprocess.run(
            [NEWSBOAT, "-u", "urls", "-c", "cache.db", "-C", "config", "-x", "reload"],
            cwd=home,
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(home / "cache.db") as db:
        read = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        items = {title for (title,) in db.execute("SELECT title FROM rss_item")}
    for url, path in urls.items():
        parsed = feedparser.parse(path.read_bytes())
        assert read.get(url) == parsed.feed.title, url
        assert {entry.title for entry in parsed.entries} <= items, url
