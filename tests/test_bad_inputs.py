"""Bad input never breaks good output: each nasty article beside a good one.

Add a case by adding files to tests/data/bad/: the article, and NAME.expect holding either the
reason it must be skipped with, or ``published: <title>`` when it must be cleaned and published.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from lxml import etree

import refeed
from conftest import GOOD, NOW, SiteFactory, deny_reading
from feedcheck import check_feed, feed_files

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(BAD.glob("*.expect"))


def build_with(
    make_site: SiteFactory, name: str, content: bytes, **sections: dict[str, object]
) -> tuple[refeed.Config, refeed.RunReport]:
    cfg = make_site({"good.md": GOOD, name: content}, **sections)
    return cfg, refeed.build(cfg, now=NOW)


def assert_good_output(cfg: refeed.Config) -> None:
    files = feed_files(cfg.output.dir)
    assert files, "no feeds written"
    for path in files:
        check_feed(path.read_bytes())
    good = check_feed((cfg.output.dir / "categories" / "good" / "atom.xml").read_bytes())
    assert [e.title for e in good.entries] == ["A good article"]
    for path in files:
        assert path.resolve().is_relative_to(cfg.output.dir.resolve())


@pytest.mark.parametrize("expect", CASES, ids=[c.stem for c in CASES])
def test_bad_article(
    expect: Path, make_site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    source = next(p for p in BAD.glob(expect.stem + ".*") if p.suffix != ".expect")
    wanted = expect.read_text(encoding="utf-8").strip()
    with caplog.at_level(logging.WARNING, logger="refeed"):
        cfg, report = build_with(make_site, source.name, source.read_bytes())
    assert_good_output(cfg)
    if wanted.startswith("published: "):
        assert report.skipped == []
        root = etree.fromstring((cfg.output.dir / "atom.xml").read_bytes())
        titles = [t.text for t in root.iter("{http://www.w3.org/2005/Atom}title")]
        assert wanted.removeprefix("published: ") in titles
    else:
        assert [p.path for p in report.skipped] == [source.name]
        assert wanted in report.skipped[0].reason
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(source.name)]
        assert len(lines) == 1 and wanted in lines[0]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"---\ntitle: caf\xe9\n---\n\xff\xfe\xfd\xfc\x80", "none of the encodings"),
        (b"---\ntitle: big\ndate: 2021-11-04\n---\n" + b"x" * 5000, "over the limit"),
    ],
    ids=["binary", "undecodable", "huge"],
)
def test_unreadable_files_are_skipped(make_site: SiteFactory, content: bytes, reason: str) -> None:
    cfg, report = build_with(
        make_site, "bad.md", content, articles={"encodings": [], "max_size": 4096}
    )
    assert_good_output(cfg)
    assert [p.path for p in report.skipped] == ["bad.md"] and reason in report.skipped[0].reason


def test_utf16_with_bom_and_gb18030_are_read(make_site: SiteFactory) -> None:
    text = "---\ntitle: 汇率走高\ncategories: [Good]\ndate: 2021-11-05\n---\n<p>正文</p>\n"
    cfg = make_site(
        {
            "good.md": GOOD,
            "u16.md": text.encode("utf-16"),
            "gb.txt": text.replace("汇率", "股市").encode("gb18030"),
        }
    )
    report = refeed.build(cfg, now=NOW)
    assert report.skipped == []
    titles = [e.title for e in check_feed((cfg.output.dir / "atom.xml").read_bytes()).entries]
    assert "汇率走高" in titles and "股市走高" in titles


def test_unreadable_file_is_skipped(
    make_site: SiteFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_site({"good.md": GOOD, "locked.md": GOOD})
    locked = cfg.articles.dir / "locked.md"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make this one fail as it would for anyone else
        deny_reading(monkeypatch, locked)
    report = refeed.build(cfg, now=NOW)
    assert [p.path for p in report.skipped] == ["locked.md"] and "cannot read" in report.skipped[
        0
    ].reason
