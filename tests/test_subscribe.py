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
    assert next(o.get("text") for o in opml.find("body")) == "Test Site"  # type: ignore[union-attr]


def opml_site(make_site: SiteFactory) -> refeed.Config:
    """Three levels of categories, a category that is markup, a parent with no post of its own."""
    return make_site(
        {
            "deep.md": article("Deep", categories=[["金融", "美股", "纳指"]], tags=["rates"]),
            "mid.md": article("Mid", categories=[["金融", "美股"]]),
            "tech.md": article("Tech", categories=["Tech"], tags=["ai", "rates"]),
            "evil.md": article("Evil", categories=[['<script>alert("c")</script>Ops', "A/B"]]),
            "bare.md": article("Bare", categories=["<b></b>"]),
            "comma.md": article("Comma", categories=[["Left, Right", "Sub"]]),
        },
        output={"formats": ["atom", "rss", "json"], "opml": True},
        tags={"feeds": True},
    )


def feed_urls_on_disk(cfg: refeed.Config) -> set[str]:
    return {
        "https://example.org/feeds/" + p.relative_to(cfg.output.dir).as_posix()
        for p in cfg.output.dir.rglob("atom.xml")
    }


def outline_title(outline: Any) -> str:
    return str(outline.get("title") or outline.get("text") or "")


def miniflux_import(opml: Any) -> list[tuple[str, str]]:
    """Miniflux's rules (internal/reader/opml): an outline with an xmlUrl is a subscription and its
    children are never read; any other outline with children is a category named by its title or
    text, and the nearest one wins. Returns (feed URL, category) in document order."""

    def walk(outlines: list[Any], category: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for outline in outlines:
            if (outline.get("xmlUrl") or "").strip():
                found.append((outline.get("xmlUrl"), category))
            elif len(outline):
                found += walk(list(outline), outline_title(outline))
        return found

    return walk(list(opml.find("body")), "")


def freshrss_import(opml: Any) -> list[tuple[str, str]]:
    """FreshRSS's rules (app/Services/ImportService.php): an outline with an xmlUrl is a feed (its
    children ignored); one without but with a non-empty text is a category, and everything below
    it is flattened into it; an outline with neither is dropped, children and all. Top-level feeds
    go to the default category ("")."""

    def walk(outlines: list[Any], category: str, *, flatten: bool) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for outline in outlines:
            if outline.get("xmlUrl") is not None:
                found.append((outline.get("xmlUrl"), category))
            elif outline.get("text"):
                inner = category if flatten else outline.get("text")
                found += walk(list(outline), inner, flatten=True)
        return found

    return walk(list(opml.find("body")), "", flatten=False)


def test_opml_imports_whole_in_miniflux_freshrss_and_listparser(make_site: SiteFactory) -> None:
    import listparser

    cfg = opml_site(make_site)
    refeed.build(cfg, now=NOW)
    data = (cfg.output.dir / "feeds.opml").read_bytes()
    opml = etree.fromstring(data)
    on_disk = feed_urls_on_disk(cfg)
    assert len(on_disk) == 12  # site, 金融, 美股, 纳指, Tech, Ops, A/B, <b></b>, Left, Sub, 2 tags
    for outline in opml.iter("outline"):  # a feed never carries children an importer would skip
        assert not (outline.get("xmlUrl") and len(outline)), outline.attrib
    for importer in (miniflux_import, freshrss_import):
        urls = [unquote(url) for url, _ in importer(opml)]
        assert sorted(urls) == sorted(on_disk), importer.__name__  # every feed, each once
        # a sub-category's feed is filed under its top-level category by both
        where = {unquote(url): category for url, category in importer(opml)}
        deep = next(u for u in where if u.endswith("/atom.xml") and u.count("/") == 8)
        assert where[deep] == "金融", (importer.__name__, deep)
    parsed = listparser.parse(data)
    assert not parsed.bozo and parsed.meta.title == "Test Site"
    assert sorted(unquote(feed.url) for feed in parsed.feeds) == sorted(on_disk)
    paths = {tuple(c) for feed in parsed.feeds for c in feed.categories}
    assert ("金融", "美股", "纳指") in paths  # the full path, from the category attribute
    assert all("<" not in name for path in paths for name in path)


def test_opml_groups_have_no_feed_url_and_never_an_empty_name(make_site: SiteFactory) -> None:
    cfg = opml_site(make_site)
    refeed.build(cfg, now=NOW)
    opml = etree.fromstring((cfg.output.dir / "feeds.opml").read_bytes())
    body = opml.find("body")
    assert body is not None
    groups = [o for o in body if o.get("xmlUrl") is None]
    # sorted by folder; a name that is only markup keeps its characters, never nothing
    assert [g.get("text") for g in groups] == [
        "b /b",
        "Left, Right",
        'alert("c")Ops',
        "Tech",
        "金融",
        "Tags",
    ]
    assert not any(g.get("type") or g.get("category") for g in groups)
    assert [o.get("text") for o in body if o.get("xmlUrl")] == ["Test Site"]  # only the site feed
    # a name holding "/" or "," cannot be written as an OPML category path: left out
    for name in ("A/B", "Left, Right"):
        held = [o for o in opml.iter("outline") if name in (o.get("title") or "")]
        assert held and all(o.get("category") is None for o in held), name
    paths = {o.get("category") for o in opml.iter("outline") if o.get("category")}
    assert {"/金融", "/金融/美股", "/金融/美股/纳指", "/Tech"} <= paths


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


def test_opml_groups_are_named_as_the_config_names_their_category(make_site: SiteFactory) -> None:
    cfg = make_site(
        {"deep.md": article("Deep", categories=[["金融", "美股"]])},
        output={"opml": True},
        categories={"names": {"金融": {"slug": "finance", "title": "金融 Finance"}}},
    )
    refeed.build(cfg, now=NOW)
    opml = etree.fromstring((cfg.output.dir / "feeds.opml").read_bytes())
    body = opml.find("body")
    assert body is not None
    assert [g.get("text") for g in body if g.get("xmlUrl") is None] == ["金融 Finance"]
    assert {o.get("category") for o in opml.iter("outline") if o.get("category")} == {
        "/金融", "/金融/美股",
    }  # the names articles use, whatever the shown title  # fmt: skip
