from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from refeed.assemble import (
    EPOCH,
    Plan,
    article_id,
    article_link,
    listing,
    make_feed,
    plan_feeds,
    thumbnail_url,
)
from refeed.config import Config, NameOverride, TaxonomyConfig, config_from_dict
from refeed.models import Article, Listing

CFG = config_from_dict(
    {
        "site": {"title": "S", "url": "https://x.org/", "feeds_url": "https://x.org/feeds/"},
        "articles": {"dir": "a"},
    },
    Path("/srv"),
)


def art(source: str, day: int, cats: tuple[tuple[str, ...], ...] = (), **kw: object) -> Article:
    return Article(
        source=source,
        title=source,
        published=datetime(2021, 11, day, tzinfo=UTC),
        body="",
        body_format="html",
        categories=cats,
        **kw,  # type: ignore[arg-type]
    )


def planned(articles: list[Article], cfg: Config) -> list[Plan]:
    return plan_feeds([listing(a, cfg) for a in articles], cfg)


def test_a_listing_carries_the_id_the_instant_and_the_groups() -> None:
    a = art("a.md", 2, (("A", "B"),), tags=("t",))
    assert listing(a, CFG) == Listing(
        "a.md", article_id(a, CFG), a.published.timestamp(), (("A", "B"),), ("t",)
    )


def test_ids_derive_from_the_path_not_title_or_date() -> None:
    a = art("posts/a.md", 1)
    b = dataclasses.replace(a, title="changed", published=datetime(2022, 1, 1, tzinfo=UTC))
    assert article_id(a, CFG) == article_id(b, CFG)
    assert article_id(a, CFG).startswith("urn:uuid:")
    assert article_id(a, CFG) != article_id(art("posts/b.md", 1), CFG)


def test_frontmatter_id_is_used_when_it_is_a_uri_and_hashed_otherwise() -> None:
    assert article_id(art("a.md", 1, id="tag:x.org,2021:a"), CFG) == "tag:x.org,2021:a"
    assert article_id(art("a.md", 1, id="12345"), CFG).startswith("urn:uuid:")


def test_link_from_frontmatter_or_permalink_pattern() -> None:
    assert article_link(art("a.md", 1, link="/p/a/"), CFG) == "https://x.org/p/a/"
    assert (
        article_link(art("sub/文章.md", 4), CFG) == "https://x.org/2021/11/04/%E6%96%87%E7%AB%A0/"
    )
    assert (
        article_link(art("a.md", 1, link="javascript:alert(1)"), CFG)
        == "https://x.org/2021/11/01/a/"
    )


def _hexo_site(permalink: str, **articles: object) -> Config:
    return config_from_dict(
        {
            "site": {
                "title": "S",
                "url": "https://x.org/blog/",
                "feeds_url": "https://x.org/feeds/",
            },
            "articles": {
                "dir": "a",
                "permalink": permalink,
                "timezone": "Asia/Shanghai",
                **articles,
            },
            "categories": {"names": {"Mapped": {"slug": "mapped-slug"}}},
        },
        Path("/srv"),
    )


@pytest.mark.parametrize(
    ("permalink", "expected"),
    [
        # Hexo's default, in the site's time zone (16:30 UTC on the 2nd is the 3rd in Shanghai).
        (":year/:month/:day/:title/", "2021/02/03/2021/hello-world/"),
        (":year/:i_month/:i_day/:name.html", "2021/2/3/hello-world.html"),
        # The time of day in the site's zone too; :path is the file's, folders and all.
        (":hour/:minute/:second/:path/", "00/30/00/_posts/2021/hello-world/"),
        # The last category (Hexo's categories.last()), each level slugized, case kept.
        (":category/:post_title/", "Life/Life-Notes/hello-wor-ld/"),
        ("/posts/:id/", "posts/abc-1/"),  # a leading / stays under the site's root, as in Hexo
        (":timestamp/:hash", "1612283400/{hash}"),
        ("{year}/{name}/", "2021/hello-world/"),
    ],
)
def test_hexo_permalink_placeholders(permalink: str, expected: str) -> None:
    post = dataclasses.replace(
        art("_posts/2021/hello-world.md", 3, (("Tech",), ("Life", "Life Notes")), id="abc-1"),
        title="Héllo Wör_ld",
        published=datetime(2021, 2, 2, 16, 30, tzinfo=UTC),
    )
    digest = hashlib.sha1(b"2021/hello-world1612283400").hexdigest()[:12]
    assert article_link(post, _hexo_site(permalink)) == "https://x.org/blog/" + expected.format(
        hash=digest
    )


def test_hexo_permalink_slug_comes_from_the_file_and_category_from_the_config() -> None:
    post = art("_posts/x.md", 1, (("Mapped",),))
    cfg = _hexo_site(":category/:title/")
    assert article_link(post, cfg) == "https://x.org/blog/mapped-slug/x/"
    assert article_link(art("x.md", 1), cfg) == "https://x.org/blog/uncategorized/x/"
    misc = _hexo_site(":category/:title/", default_category="Misc Notes")
    assert article_link(art("x.md", 1), misc) == "https://x.org/blog/Misc-Notes/x/"


def test_a_derived_id_in_a_permalink_has_no_urn_prefix() -> None:
    pinned = art("x.md", 1, id="urn:uuid:49f0c0de-0000-5000-8000-000000000000")
    assert article_link(pinned, _hexo_site(":id/")) == (
        "https://x.org/blog/49f0c0de-0000-5000-8000-000000000000/"
    )
    assert article_link(art("y.md", 1), _hexo_site(":id/")).count(":") == 1  # https: only


@pytest.mark.parametrize(
    ("permalink", "settings", "expected"),
    [
        (":year/:title.html", {"trailing_html": False}, "2021/x"),
        (":title/index.html", {"trailing_index": False}, "x/"),
        (":title/index.html", {"trailing_html": False}, "x/index"),  # as Hexo's pretty_urls
        (":year/:title.html", {}, "2021/x.html"),
    ],
)
def test_hexo_pretty_urls_drop_what_they_say(
    permalink: str, settings: dict[str, bool], expected: str
) -> None:
    cfg = _hexo_site(permalink, **settings)
    assert article_link(art("x.md", 1), cfg) == "https://x.org/blog/" + expected


def test_thumbnail_urls_are_resolved_and_non_http_dropped() -> None:
    link = "https://x.org/2021/11/01/a/"
    assert (
        thumbnail_url(art("a.md", 1, thumbnail="t.jpg"), link) == "https://x.org/2021/11/01/a/t.jpg"
    )
    assert thumbnail_url(art("a.md", 1, thumbnail="ftp://x.org/t.jpg"), link) is None
    assert thumbnail_url(art("a.md", 1, thumbnail="data:image/png;base64,AA"), link) is None


def test_every_level_of_a_hierarchy_gets_a_feed_newest_first_and_capped() -> None:
    cfg = dataclasses.replace(CFG, output=dataclasses.replace(CFG.output, items_per_feed=2))
    articles = [
        art("1.md", 1, (("A", "B"),)),
        art("2.md", 2, (("A",),)),
        art("3.md", 3, (("A", "B", "C"),)),
        art("4.md", 4),
    ]
    plans = {p.spec.dir: [a.source for a in p.members] for p in planned(articles, cfg)}
    assert plans == {
        "": ["4.md", "3.md"],
        "categories/a": ["3.md", "2.md"],
        "categories/a/b": ["3.md", "1.md"],
        "categories/a/b/c": ["3.md"],
    }


def test_equal_dates_are_ordered_by_id_whatever_the_input_order() -> None:
    articles = [art(f"{n}.md", 1) for n in "abcdef"]
    first = [a.source for a in planned(articles, CFG)[0].members]
    assert first == [a.source for a in planned(list(reversed(articles)), CFG)[0].members]


def test_category_names_config_sets_slug_and_title() -> None:
    cfg = dataclasses.replace(
        CFG,
        categories=TaxonomyConfig(names={"金融": NameOverride(slug="finance", title="Finance")}),
    )
    spec = planned([art("1.md", 1, (("金融", "股票"),))], cfg)[2].spec
    assert spec.dir == "categories/finance/股票" and spec.title == "Finance › 股票"


def test_tag_feeds_only_when_enabled() -> None:
    articles = [art("1.md", 1, tags=("x",))]
    assert [p.spec.kind for p in planned(articles, CFG)] == ["site"]
    cfg = dataclasses.replace(CFG, tags=TaxonomyConfig(feeds=True))
    assert [p.spec.dir for p in planned(articles, cfg)] == ["", "tags/x"]


def test_feed_updated_is_the_newest_item_or_the_fallback_never_now() -> None:
    plan = planned([art("1.md", 1), art("2.md", 3)], CFG)[0]
    assert make_feed(plan.spec, [], CFG, EPOCH).updated == EPOCH
    feed = make_feed(plan.spec, [], CFG, datetime(2021, 11, 9, tzinfo=UTC))
    assert feed.updated.day == 9
    assert feed.self_urls == {
        "atom": "https://x.org/feeds/atom.xml",
        "rss": "https://x.org/feeds/rss.xml",
    }
