"""The bundled example site: everything `make run` publishes is valid and as documented."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

import refeed
from conftest import NOW, ROOT, SAMPLE
from feedcheck import check_feed, feed_files
from refeed.config import StateConfig


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[refeed.Config, refeed.RunReport]:
    cfg = refeed.load_config(ROOT / "config.yaml")
    out = tmp_path_factory.mktemp("feeds")
    cfg = dataclasses.replace(
        cfg,
        output=dataclasses.replace(cfg.output, dir=out),
        state=StateConfig(out.parent / "state"),
    )
    return cfg, refeed.build(cfg, now=NOW)


# The developers' sample as handed over (../shared/samples/{SAMPLE.name}), pinned here so that
# the check runs on every clone, with or without ../shared beside it: it can't pass by skipping.
SAMPLE_SHA256 = "85e85f2c5c72452de1b0afa4a3f8fc806133295e2a1c6120d37692f852efcbb4"


def test_the_sample_is_shipped_unchanged() -> None:
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == SAMPLE_SHA256
    original = ROOT.parent / "shared" / "samples" / SAMPLE.name
    if original.exists():  # beside this checkout (CI has it): the hand-over copy agrees too
        assert original.read_bytes() == SAMPLE.read_bytes()


def test_examples_build_without_skips(built: tuple[refeed.Config, refeed.RunReport]) -> None:
    _, report = built
    assert len(list((ROOT / "examples" / "articles").iterdir())) >= 13
    assert report.skipped == [] and report.failed == []
    assert [p.path for p in report.held_back] == ["013_scheduled.md"]


def test_every_example_feed_is_valid_with_absolute_urls(
    built: tuple[refeed.Config, refeed.RunReport],
) -> None:
    cfg, _ = built
    files = feed_files(cfg.output.dir)
    assert len(files) >= 20
    for path in files:
        check_feed(path.read_bytes())


def test_examples_exercise_what_they_claim(built: tuple[refeed.Config, refeed.RunReport]) -> None:
    cfg, _ = built
    site = check_feed((cfg.output.dir / "rss.xml").read_bytes())
    by_title = {e.title: e for e in site.entries}
    assert "yes" in by_title  # title kept as written
    assert "人民币汇率小幅走高" in by_title  # GB18030 file
    assert "云计算厂商发布新一代服务器芯片" in by_title  # CRLF + BOM
    ai = by_title["大模型应用加速落地 & “智能体”走进办公室"].content[0].value
    for gone in ("<script", "<form", "onmouseover", "分享到微博", "评论加载中", "<meta"):
        assert gone not in ai
    raw = (cfg.output.dir / "rss.xml").read_text(encoding="utf-8")  # feedparser drops srcset
    assert "https://news.example.com/2021/11/10/images/agents-diagram@2x.png 2x" in raw
    ev = by_title["10月新能源汽车销量同比翻倍"]
    assert ev.get("enclosures") == []  # no thumbnail
    assert (
        "https://news.example.com/2021/11/06/004_ev-sales/images/ev-sales-october.png"
        in ev.content[0].value
    )
    assert by_title["A lower-case tech category"].get("enclosures") == []  # ftp: thumbnail dropped
    assert (
        by_title["Roundup 46: the week the id stayed put"].id
        == "tag:news.example.com,2021:roundup-46"
    )
    assert (cfg.output.dir / "categories" / "finance" / "atom.xml").exists()
    assert (cfg.output.dir / "categories" / "tech" / "atom.xml").exists()
    assert (cfg.output.dir / "categories" / "tech-d0da7ab8" / "atom.xml").exists()
