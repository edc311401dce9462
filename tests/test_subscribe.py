"""JSON Feed files and feeds.opml: what a reader imports or subscribes to besides Atom and RSS."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

import refeed
from conftest import GOOD, NOW, SAMPLE, SiteFactory, article
from feedcheck import check_feed

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def site(make_site: SiteFactory) -> refeed.Config:
    return make_site(
        {
            "000.txt": SAMPLE.read_text(encoding="utf-8"),
            "good.md": GOOD,
            "tagged.md": article(
                "Tagged",
                categories=[["金融", "美股"], ["Tech"]],
                tags=["rates"],
                thumbnail="https://img.example.org/t.png",
            ),
        },
        output={"formats": ["atom", "rss", "json"], "opml": True},
        tags={"feeds": True},
    )


def check_json_feed(data: bytes) -> dict[str, Any]:
    """The JSON Feed 1.1 structure: required keys and their types."""
    feed: dict[str, Any] = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url", "description"):
        assert isinstance(feed.get(key, ""), str)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str)
        for key in ("date_published", "date_modified"):
            assert RFC3339.match(item[key]), item[key]
        assert all(isinstance(t, str) for t in item.get("tags", []))
        for attachment in item.get("attachments", []):
            assert attachment["url"].startswith("https://") and "/" in attachment["mime_type"]
    return feed


def test_json_feeds_carry_the_same_items_as_atom(make_site: SiteFactory) -> None:
    cfg = site(make_site)
    refeed.build(cfg, now=NOW)
    json_files = sorted(cfg.output.dir.rglob("feed.json"))
    assert len(json_files) == len(sorted(cfg.output.dir.rglob("atom.xml"))) > 3
    for path in json_files:
        feed = check_json_feed(path.read_bytes())
        atom = check_feed((path.parent / "atom.xml").read_bytes())
        assert [i["id"] for i in feed["items"]] == [e.id for e in atom.entries]
        assert [i["title"] for i in feed["items"]] == [e.title for e in atom.entries]
        rel = path.relative_to(cfg.output.dir).as_posix()
        assert (
            feed["feed_url"].isascii()
            and unquote(feed["feed_url"]) == f"https://example.org/feeds/{rel}"
        )
    site_feed = check_json_feed((cfg.output.dir / "feed.json").read_bytes())
    tagged = next(i for i in site_feed["items"] if i["title"] == "Tagged")
    assert tagged["image"] == "https://img.example.org/t.png"
    assert tagged["tags"] == ["金融", "美股", "Tech", "rates"]


def test_opml_lists_exactly_the_feeds_on_disk(make_site: SiteFactory) -> None:
    cfg = site(make_site)
    refeed.build(cfg, now=NOW)
    opml = etree.fromstring((cfg.output.dir / "feeds.opml").read_bytes())
    assert opml.get("version") == "2.0" and opml.findtext("head/title") == "Test Site"
    urls = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")]
    assert len(urls) == len(set(urls))
    on_disk = {p.relative_to(cfg.output.dir).as_posix() for p in cfg.output.dir.rglob("atom.xml")}
    listed = {unquote(url.removeprefix("https://example.org/feeds/")) for url in urls if url}
    assert listed == on_disk
    for rel in listed:
        assert (cfg.output.dir / rel).is_file()
    nested = [o for o in opml.iter("outline") if o.get("title") == "Test Site — 金融 › 美股"]
    assert nested and nested[0].getparent().get("title") == "Test Site — 金融"  # type: ignore[union-attr]
    assert next(o.get("text") for o in opml.find("body")) == "Test Site"  # type: ignore[union-attr]


def test_opml_and_json_are_deterministic_and_not_rewritten(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    cfg = site(make_site)
    refeed.build(cfg, now=NOW)
    before = {
        p: p.read_bytes() for p in cfg.output.dir.rglob("*") if p.suffix in (".opml", ".json")
    }
    (cfg.articles.dir / "good.md").touch()
    report = refeed.build(cfg, now=NOW)
    assert "feeds.opml" in report.unchanged and not [
        w for w in report.written if w.endswith((".json", ".opml"))
    ]
    assert {p: p.read_bytes() for p in before} == before


def test_index_page_lists_every_feed_with_autodiscovery(make_site: SiteFactory) -> None:
    from bleach._vendor import html5lib

    cfg = make_site(
        {"000.txt": SAMPLE.read_text(encoding="utf-8"), "good.md": GOOD},
        output={"formats": ["atom", "rss", "json"], "index": True, "opml": True},
    )
    refeed.build(cfg, now=NOW)
    page = (cfg.output.dir / "index.html").read_text(encoding="utf-8")
    parser = html5lib.HTMLParser(
        strict=True, namespaceHTMLElements=False
    )  # strict: raises on errors
    document = parser.parse(page)
    alternates = [
        link.get("href") for link in document.iter("link") if link.get("rel") == "alternate"
    ]
    feeds = (
        sorted(cfg.output.dir.rglob("atom.xml"))
        + sorted(cfg.output.dir.rglob("rss.xml"))
        + sorted(cfg.output.dir.rglob("feed.json"))
    )
    assert len(alternates) == len(set(alternates)) == len(feeds)
    assert {unquote(h.removeprefix("https://example.org/feeds/")) for h in alternates} == {
        p.relative_to(cfg.output.dir).as_posix() for p in feeds
    }
    headings = [h.text for h in document.iter("h2")]
    assert "金融 › 新浪财经 › 新浪财经－国內" in headings and "Good" in headings
    assert "国家移民管理局强化口岸边境管控" in page and '<meta name="viewport"' in page
    assert "<script" not in page


def test_a_feed_over_its_byte_budget_gives_the_oldest_items_their_summary(
    make_site: SiteFactory,
) -> None:
    big = "<p>" + "Long paragraph of words. " * 2000 + "</p>"
    files = {
        f"b{n}.md": article(
            f"Big {n}", date=f"2021-11-{n + 1:02d}T00:00:00Z", categories=["Big"], body=big
        )
        for n in range(10)
    }
    cfg = make_site(files, output={"max_feed_size": "200KB"})
    refeed.build(cfg, now=NOW)
    for name in ("atom.xml", "rss.xml"):
        data = (cfg.output.dir / "categories/big" / name).read_bytes()
        assert len(data) <= 200 * 1024
        entries = check_feed(data).entries
        assert [e.title for e in entries] == [
            f"Big {n}" for n in range(9, -1, -1)
        ]  # all still there
        full = [len(e.content[0].value) > 40_000 for e in entries]
        assert full[0] and not full[-1] and full == sorted(full, reverse=True)  # newest in full
