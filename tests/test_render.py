from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from feedcheck import check_feed
from refeed.chars import feed_safe, plain
from refeed.models import Entry, Feed, FeedFormat, FeedSpec, Thumbnail
from refeed.render import render

UTC = UTC
CST = timezone(timedelta(hours=8))
FORMATS: tuple[FeedFormat, ...] = ("atom", "rss")


def feed(*entries: Entry) -> Feed:
    return Feed(
        spec=FeedSpec("category", ("A",), "categories/a", "A"),
        title="S — A",
        subtitle="A: articles from S",
        link="https://x.org/",
        self_urls={
            "atom": "https://x.org/feeds/categories/a/atom.xml",
            "rss": "https://x.org/feeds/categories/a/rss.xml",
        },
        id="https://x.org/feeds/categories/a/atom.xml",
        updated=max((e.updated for e in entries), default=datetime(2021, 1, 1, tzinfo=UTC)),
        author="S",
        generator="refeed",
        version="0",
        language="zh-CN",
        entries=entries,
    )


def entry(**kw: object) -> Entry:
    values: dict[str, object] = {
        "id": "urn:uuid:0aac30dc-d5e8-5747-9a96-61f862beb790",
        "title": "T",
        "link": "https://x.org/p/",
        "published": datetime(2021, 11, 4, 2, 8, 44, tzinfo=UTC),
        "updated": datetime(2021, 11, 4, 2, 8, 44, tzinfo=UTC),
        "content_html": "<p>Hello</p>",
        "summary": "Hello",
        "author": "Ann",
        "categories": ("金融", "新浪财经"),
        "thumbnail": Thumbnail("https://img.x.org/a.jpg", 1234, "image/jpeg"),
    }
    values.update(kw)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_rendered_feeds_are_valid(fmt: str) -> None:
    check_feed(render(feed(entry(), entry(id="urn:uuid:1", thumbnail=None, author=None)), fmt))  # type: ignore[arg-type]


def test_atom_enclosure_is_a_proper_rel_enclosure_link_and_media_rss_agrees() -> None:
    root = etree.fromstring(render(feed(entry()), "atom"))
    ns = {"a": "http://www.w3.org/2005/Atom", "m": "http://search.yahoo.com/mrss/"}
    links = root.findall("a:entry/a:link", ns)
    assert [
        (link.get("rel", "alternate"), link.get("type"), link.get("length")) for link in links
    ] == [
        ("alternate", None, None),
        ("enclosure", "image/jpeg", "1234"),
    ]
    assert root.find("a:entry/m:content", ns).get("url") == links[1].get("href")  # type: ignore[union-attr]
    assert root.find("a:entry/m:content", ns).get("fileSize") == "1234"  # type: ignore[union-attr]
    assert root.find("a:entry/m:thumbnail", ns).get("url") == links[1].get("href")  # type: ignore[union-attr]


def test_rss_item_fields() -> None:
    root = etree.fromstring(
        render(feed(entry(published=datetime(2021, 11, 4, 10, 8, 44, tzinfo=CST))), "rss")
    )
    item = root.find("channel/item")
    assert item is not None
    assert item.findtext("pubDate") == "Thu, 04 Nov 2021 10:08:44 +0800"
    assert item.find("guid").get("isPermaLink") == "false"  # type: ignore[union-attr]
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Ann"
    enclosure = item.find("enclosure")
    assert enclosure is not None and dict(enclosure.items()) == {
        "url": "https://img.x.org/a.jpg",
        "length": "1234",
        "type": "image/jpeg",
    }
    assert [c.text for c in item.findall("category")] == ["金融", "新浪财经"]
    assert root.findtext("channel/link") == "https://x.org/"


def test_title_is_the_authors_text_escaped_once() -> None:
    title = "Tom & Jerry <3 &amp; “quotes”"
    for fmt in FORMATS:
        parsed = check_feed(render(feed(entry(title=title)), fmt))
        raw = etree.fromstring(render(feed(entry(title=title)), fmt))
        assert [t.text for t in raw.iter("{*}title", "title")][-1] == title
        assert parsed.entries[0].title_detail.type == "text/plain"


def test_rss_description_is_escaped_text_so_readers_do_not_see_markup() -> None:
    data = render(feed(entry(summary="a < b & <b>c</b>")), "rss")
    assert etree.fromstring(data).findtext("channel/item/description") == "a &lt; b &amp; c"
    assert b"<description>a &#x26;lt; b &#x26;amp; c</description>" in data  # RSS profile


def test_xml_forbidden_characters_are_removed_everywhere() -> None:
    nasty = "A\x00B\x01C\x0bD\x1fE\x7fF\x85G\ud800H\ufffeI\ufffdJ"
    data = render(
        feed(entry(title=nasty, summary=nasty, content_html=f"<p>{nasty}</p>", author=nasty)),
        "atom",
    )
    check_feed(data)
    assert feed_safe(nasty) == "ABCDEFGHIJ"


def test_same_feed_same_bytes() -> None:
    assert render(feed(entry()), "rss") == render(feed(entry()), "rss")
    assert render(feed(entry()), "atom") == render(feed(entry()), "atom")


HOSTILE = '<script>alert("cat")</script>'


def test_a_category_named_like_a_script_is_its_text_in_the_rss_channel() -> None:
    hostile = dataclasses.replace(
        feed(entry(categories=(HOSTILE,))),
        title=f"S — {HOSTILE}",
        subtitle=f"{HOSTILE}: articles from S",
    )
    data = render(hostile, "rss")
    check_feed(data)  # the validator's text rules and a lax reader's HTML5 parse included
    channel = etree.fromstring(data).find("channel")
    assert channel is not None
    assert channel.findtext("title") == 'S — alert("cat")'
    assert channel.findtext("description") == 'alert("cat"): articles from S'
    assert channel.findtext("item/category") == 'alert("cat")'
    assert b"<script" not in data and b"&lt;script" not in data


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("<b>Bold</b> move", "Bold move"),
        ("a < b & c", "a < b & c"),
        ("x<y then", "x"),  # "<y …" starts a tag for any HTML reader
        ("Tom &amp; Jerry", "Tom &amp; Jerry"),  # no markup: the author's text, as typed
        ("<<b>script>alert(1)<</b>/script>", "alert(1)"),  # stripping never builds a new tag
        ("  many\n  spaces ", "many spaces"),
    ],
)
def test_names_and_titles_are_plain_text(written: str, text: str) -> None:
    assert plain(written) == text
    for fmt in FORMATS:
        data = render(feed(entry(title=written, author=written)), fmt)
        check_feed(data)
        titles = [t.text for t in etree.fromstring(data).iter("{*}title", "title")]
        assert titles[-1] == text


def test_a_title_that_is_nothing_but_markup_keeps_its_characters() -> None:
    assert plain("<img src=x onerror=alert(1)>") == "img src=x onerror=alert(1)"
    check_feed(render(feed(entry(title="<br>")), "rss"))
