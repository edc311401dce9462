from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

import refeed
from conftest import GOOD, NOW, SAMPLE, SiteFactory, article
from feedcheck import check_feed, feed_files
from refeed import clean
from refeed.errors import ConfigError
from refeed.models import Thumbnail


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
    cfg = make_site({"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD})
    first = build(cfg)
    before = snapshot(cfg.output.dir)
    mtimes = {p: p.stat().st_mtime_ns for p in feed_files(cfg.output.dir)}
    second = refeed.build(cfg, now=datetime(2030, 6, 1, tzinfo=UTC))  # another "now"
    assert first.written and second.written == [] and len(second.unchanged) == len(first.written)
    assert snapshot(cfg.output.dir) == before
    assert {p: p.stat().st_mtime_ns for p in feed_files(cfg.output.dir)} == mtimes


def test_a_fresh_output_directory_gets_the_same_bytes(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    cfg = make_site({"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD})
    build(cfg)
    import dataclasses

    other = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, dir=tmp_path / "other"))
    build(other)
    assert snapshot(cfg.output.dir) == snapshot(tmp_path / "other")


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

    def flaky(html: str, base: str, rules: clean.Rules) -> str:
        if "POISON" in html:
            raise RecursionError("maximum recursion depth exceeded")
        return real(html, base, rules)

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


def test_future_posts_are_held_back_or_published_by_config(make_site: SiteFactory) -> None:
    future = article("Later", date="2099-01-01T00:00:00Z")
    cfg = make_site({"good.md": GOOD, "later.md": future})
    report = build(cfg)
    assert [p.path for p in report.held_back] == ["later.md"]
    assert b"Later" not in (cfg.output.dir / "atom.xml").read_bytes()
    cfg = make_site({}, articles={"future": "publish"})
    build(cfg)
    assert b"Later" in (cfg.output.dir / "atom.xml").read_bytes()


def test_a_category_that_loses_its_articles_keeps_an_empty_valid_feed_until_pruned(
    make_site: SiteFactory,
) -> None:
    cfg = make_site({"good.md": GOOD, "other.md": article("Other", categories=["Gone"])})
    build(cfg)
    (cfg.articles.dir / "other.md").unlink()
    report = build(cfg)
    gone = cfg.output.dir / "categories/gone/atom.xml"
    parsed = check_feed(gone.read_bytes())
    assert parsed.entries == [] and parsed.feed.title == "Test Site — Gone"
    assert "categories/gone/atom.xml" in report.written
    assert build(cfg).written == []  # and it stays put
    report = build(cfg, prune=True)
    assert sorted(report.pruned) == ["categories/gone/atom.xml", "categories/gone/rss.xml"]
    assert not (cfg.output.dir / "categories/gone").exists()


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
