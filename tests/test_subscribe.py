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
