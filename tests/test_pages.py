"""What a person sees of the feeds: feed.css and the note at the top of every XML feed, each
feed's preview page (feed.html) and index.html; every text escaped, every link relative."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote

from bleach._vendor import html5lib
from lxml import etree

import refeed
from conftest import GOOD, NOW, SAMPLE, SiteFactory, article
from feedcheck import check_feed
from refeed.config import Config
from refeed.render import NOTE

PI = re.compile(rb'^<\?xml-stylesheet type="text/css" href="([^"]+)"\?>$')
FILES = {
    "000.txt": SAMPLE.read_text(encoding="utf-8"),
    "good.md": GOOD,
    "tagged.md": article("Tagged", categories=[["金融", "美股"]], tags=["rates"]),
}
BROWSER = {"formats": ["atom", "rss", "json"], "index": True, "stylesheet": True, "preview": True}


def xml_feeds(cfg: Config) -> list[Path]:
    return sorted(p for p in cfg.output.dir.rglob("*.xml"))


def parse_html(path: Path) -> etree._Element:
    """Strict HTML5 parse (raises on any parse error), as lxml elements without namespaces."""
    parser = html5lib.HTMLParser(
        strict=True, namespaceHTMLElements=False, tree=html5lib.getTreeBuilder("lxml")
    )
    root: etree._Element = parser.parse(path.read_text(encoding="utf-8")).getroot()
    return root


def text_of(element: etree._Element | None) -> str:
    assert element is not None
    return "".join(str(t) for t in element.itertext())


def test_every_feed_links_feed_css_relatively_and_stays_valid(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output=BROWSER, tags={"feeds": True})
    refeed.build(cfg, now=NOW)
    root = cfg.output.dir
    feeds = xml_feeds(cfg)
    assert len(feeds) >= 10 and any(p.relative_to(root).as_posix().count("/") >= 3 for p in feeds)
    for path in feeds:
        data = path.read_bytes()
        rel = path.relative_to(root).as_posix()
        match = PI.match(data.splitlines()[1])
        assert match, rel
        # the href, resolved from where the feed is, is feed.css at the top of the folder
        assert (
            posixpath.normpath(posixpath.join(posixpath.dirname(rel), match[1].decode()))
            == "feed.css"
        )
        check_feed(data)  # feedparser bozo == 0 and the validator's rules
    assert (root / "feed.css").read_bytes().startswith(b"/*")


def test_the_note_at_the_top_of_a_feed_says_what_it_is_and_where_its_page_is(
    make_site: SiteFactory,
) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    path = cfg.output.dir / "categories/金融/美股/atom.xml"
    document = etree.fromstring(path.read_bytes()).getroottree()
    comments = [
        n for n in document.getroot().itersiblings(preceding=True) if isinstance(n, etree._Comment)
    ]
    assert len(comments) == 1
    text = comments[0].text or ""
    assert NOTE in text
    page = re.search(r"Read it as a web page: (\S+)", text)
    assert page and unquote(page[1]) == "https://example.org/feeds/categories/金融/美股/feed.html"
    assert (cfg.output.dir / "categories/金融/美股/feed.html").is_file()


def test_a_note_whose_address_cannot_sit_in_a_comment_names_the_page_instead(
    make_site: SiteFactory,
) -> None:
    site = {"feeds_url": "https://xn--fiqs8s.example/feeds/"}  # "--": ends an XML comment
    cfg = make_site({"good.md": GOOD}, output=BROWSER, site=site)
    refeed.build(cfg, now=NOW)
    data = (cfg.output.dir / "atom.xml").read_bytes()
    check_feed(data)
    assert b"Read it as a web page: feed.html, in the folder of this file" in data


def test_with_the_stylesheet_off_feeds_carry_nothing_for_browsers(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output={**BROWSER, "stylesheet": False})
    refeed.build(cfg, now=NOW)
    for path in xml_feeds(cfg):
        data = path.read_bytes()
        lines = data.splitlines()
        assert lines[0].startswith(b"<?xml version") and lines[1].startswith((b"<feed", b"<rss"))
        for mark in (b"<?xml-stylesheet", b"<!--", b"<script", b"xhtml", b"feed.css"):
            assert mark not in data, (path.name, mark)
        check_feed(data)
    assert not (cfg.output.dir / "feed.css").exists()
    assert (cfg.output.dir / "feed.html").is_file()  # the preview pages are a switch of their own


def test_a_preview_page_shows_the_feed_and_how_to_subscribe(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    folder = cfg.output.dir / "categories/金融"
    page = parse_html(folder / "feed.html")
    feed = check_feed((folder / "atom.xml").read_bytes())
    assert page.findtext("head/title") == feed.feed.title == page.findtext("body/h1")
    assert [text_of(h) for h in page.iter("h2")] == [e.title for e in feed.entries]
    assert [a.get("href") for a in page.iter("h2") for a in a.iter("a")] == [
        e.link for e in feed.entries
    ]
    self_urls = [
        f"https://example.org/feeds/categories/%E9%87%91%E8%9E%8D/{n}"
        for n in ("atom.xml", "rss.xml", "feed.json")
    ]
    assert [
        link.get("href") for link in page.iter("link") if link.get("rel") == "alternate"
    ] == self_urls
    note = page.find(".//div[@class='note']")
    assert note is not None and "To subscribe" in text_of(note)
    assert [a.get("href") for a in note.iter("a")] == self_urls
    back = [a.get("href") for a in page.iter("a") if a.text and a.text.startswith("Every feed")]
    assert back == ["../../index.html"]
    assert page.find(".//script") is None and not page.xpath("//@*[starts-with(name(), 'on')]")


def test_the_index_links_each_feeds_page_relatively(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    index = parse_html(cfg.output.dir / "index.html")
    pages = [a.get("href") or "" for a in index.iter("a") if a.text == "read it as a page"]
    on_disk = sorted(
        p.relative_to(cfg.output.dir).as_posix() for p in cfg.output.dir.rglob("feed.html")
    )
    assert (
        sorted(unquote(href) for href in pages) == on_disk
        and len(pages) == len(xml_feeds(cfg)) // 2
    )


def test_every_text_field_is_escaped_as_text_on_the_pages(make_site: SiteFactory) -> None:
    hostile = '<script>alert("t")</script>A < B & "C" <img src=x onerror=alert(1)>'
    files = {
        "x.md": article(
            hostile,
            categories=['<b onclick="alert(2)">Cat</b> & co'],
            author='<iframe src="https://evil.example/"></iframe>Ann <ann@x.org>',
            description='"><script>alert(3)</script> summary & more',
        )
    }
    site = {"title": 'Site <svg onload="alert(4)"> & Co', "description": "</p><p>desc"}
    cfg = make_site(files, output=BROWSER, site=site)
    refeed.build(cfg, now=NOW)
    allowed = {"html", "head", "meta", "title", "link", "style", "body", "h1", "h2", "p", "div",
               "ol", "ul", "li", "a", "code", "time", "span", "em"}  # fmt: skip
    for path in [cfg.output.dir / "index.html", *cfg.output.dir.rglob("feed.html")]:
        page = parse_html(path)
        assert {e.tag for e in page.iter() if isinstance(e.tag, str)} <= allowed, path
        assert not page.xpath("//@*[starts-with(name(), 'on')]"), path
        for a in page.iter("a"):
            href = a.get("href") or ""
            assert href.startswith("https://") or not re.match(r"^\w+:", href), href
        text = text_of(page.find("body"))
        assert 'alert("t")A < B & "C"' in text and "Site & Co" in text, path


def test_preview_pages_follow_their_feeds(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    page = cfg.output.dir / "categories/金融/美股/feed.html"
    (cfg.articles.dir / "good.md").touch()
    report = refeed.build(cfg, now=NOW)
    assert "categories/金融/美股/feed.html" in report.unchanged and not [
        w for w in report.written if w.endswith("feed.html")
    ]
    (cfg.articles.dir / "tagged.md").write_text(
        article("Tagged, retitled", categories=[["金融", "美股"]]), encoding="utf-8"
    )
    report = refeed.build(cfg, now=NOW)
    assert "categories/金融/美股/feed.html" in report.written
    assert "Tagged, retitled" in page.read_text(encoding="utf-8")
    (cfg.articles.dir / "tagged.md").unlink()
    report = refeed.build(cfg, now=NOW, prune=True)
    assert "categories/金融/美股/feed.html" in report.pruned
    assert not page.parent.exists()


def test_pages_are_the_same_bytes_on_every_build(make_site: SiteFactory, tmp_path: Path) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    first = {p: p.read_bytes() for p in cfg.output.dir.rglob("*") if p.suffix in (".html", ".css")}
    for path in first:
        path.unlink()
    refeed.build(cfg, now=NOW)
    assert {p: p.read_bytes() for p in first} == first


def test_a_preview_page_links_the_index_only_while_there_is_one(make_site: SiteFactory) -> None:
    cfg = make_site(FILES, output=BROWSER)
    refeed.build(cfg, now=NOW)
    page = cfg.output.dir / "categories/金融/feed.html"
    assert 'href="../../index.html"' in page.read_text(encoding="utf-8")
    cfg = make_site(FILES, output={**BROWSER, "index": False})
    refeed.build(cfg, now=NOW)
    assert "index.html" not in page.read_text(encoding="utf-8")
