"""refeed init (refeed.starter, refeed.hexo.site), and the Hexo fixture site built end to end:
`refeed init` then `refeed build`, no edits in between."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from conftest import run_cli as refeed
from feedcheck import check_feed, feed_files
from refeed.config import load_config
from refeed.hexo.site import HexoSite, read_site
from refeed.starter import render_config

HEXO_SITE = ROOT / "tests" / "data" / "hexo-site"
HELLO_MTIME = 1_636_000_000  # 2021-11-04 12:26:40 in Shanghai: hello-world.md has no date


@pytest.fixture(scope="module")
def hexo_blog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The fixture site after `refeed init` and `refeed build`: (folder, init's output, build's
    stderr)."""
    site = tmp_path_factory.mktemp("blog") / "blog"
    shutil.copytree(HEXO_SITE, site)
    os.utime(site / "source/_posts/hello-world.md", (HELLO_MTIME, HELLO_MTIME))
    started = refeed("init", cwd=site)
    assert started.returncode == 0, started.stderr
    built = refeed("build", cwd=site)
    assert built.returncode == 0, built.stderr
    # _drafts/secret-draft.md (unread) and unpublished.md
    assert "5 articles read, 0 skipped, 0 held back, 2 drafts;" in built.stdout
    return site, started.stdout, built.stderr


def _items(site: Path) -> dict[str, dict[str, object]]:
    import json

    feed = json.loads((site / "feeds/feed.json").read_text(encoding="utf-8"))
    return {str(item["title"]): item for item in feed["items"]}


def test_init_fills_the_config_from_hexos_settings(hexo_blog: tuple[Path, str, str]) -> None:
    site, said, _ = hexo_blog
    assert "wrote config.yaml from Hexo's _config.yml" in said
    cfg = load_config(site / "config.yaml")
    assert (cfg.site.title, cfg.site.url) == ("Hexo Fixture Blog", "https://blog.example.com/blog/")
    assert cfg.site.feeds_url == "https://blog.example.com/blog/feeds/"
    assert (cfg.site.author, cfg.site.language) == ("Jane Doe", "en")
    assert cfg.articles.dir == site / "source"
    assert str(cfg.articles.timezone) == "Asia/Shanghai"
    assert cfg.articles.permalink == "{year}/{month}/{day}/{title}/"
    assert cfg.articles.post_asset_folder and cfg.articles.future == "publish"
    assert cfg.categories.names["Tech Notes"].slug == "tech"
    assert cfg.tags.names["Python"].slug == "py"


def test_a_build_right_after_init_publishes_the_posts_at_hexos_urls(
    hexo_blog: tuple[Path, str, str],
) -> None:
    site, _, _ = hexo_blog
    links = {title: item["url"] for title, item in _items(site).items()}
    assert links == {
        "Every tag plugin, once": "https://blog.example.com/blog/2021/11/04/tag-plugins/",
        "Links between posts": "https://blog.example.com/blog/2021/11/05/linked/",
        "一篇中文文章": "https://blog.example.com/blog/2021/11/06/%E4%B8%AD%E6%96%87%E6%96%87%E7%AB%A0/",
        "Hello World": "https://blog.example.com/blog/2021/11/04/hello-world/",  # file's mtime
    }
    assert _items(site)["一篇中文文章"]["date_published"] == "2021-11-06T08:00:00+08:00"
    assert sorted(p.relative_to(site / "feeds").as_posix() for p in feed_files(site / "feeds")) == [
        "atom.xml", "categories/life/atom.xml", "categories/life/rss.xml",
        "categories/tech/atom.xml", "categories/tech/python/atom.xml",
        "categories/tech/python/rss.xml", "categories/tech/rss.xml", "rss.xml",
    ]  # fmt: skip
    for path in feed_files(site / "feeds"):
        check_feed(path.read_bytes())


def test_drafts_unpublished_posts_pages_and_assets_stay_out(
    hexo_blog: tuple[Path, str, str],
) -> None:
    site, _, _ = hexo_blog
    published = b"".join(p.read_bytes() for p in (site / "feeds").rglob("*") if p.is_file())
    for secret in (b"Secret", b"Nobody may read", b"About", b"not a post", b"An asset beside"):
        assert secret not in published, secret


def test_drafts_reaches_hexos_drafts_folder_after_init(
    hexo_blog: tuple[Path, str, str], tmp_path: Path
) -> None:
    """As `hexo server --draft`: init points at source/, so _drafts/ is in reach of --drafts."""
    site, _, _ = hexo_blog
    preview, state = tmp_path / "preview", tmp_path / "state"
    built = refeed("build", "--drafts", "--output", str(preview), "--state", str(state), cwd=site)
    assert built.returncode == 0, built.stderr
    assert "6 articles read" in built.stdout and "draft" not in built.stdout
    assert b"Secret draft" in (preview / "atom.xml").read_bytes()
    assert "no published post 'secret-draft'" not in built.stderr


def test_every_tag_plugin_becomes_html_a_reader_shows(hexo_blog: tuple[Path, str, str]) -> None:
    site, _, _ = hexo_blog
    html = str(_items(site)["Every tag plugin, once"]["content_html"])
    post = "https://blog.example.com/blog/2021/11/04/tag-plugins/"
    for made in (
        '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"><img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"',
        '<a href="https://vimeo.com/82090131">Watch the video on Vimeo</a>',
        '<a href="https://www.example.org/embed/widget">',
        '<img src="https://blog.example.com/blog/images/logo.png" width="120" height="40" title="The logo" alt="Hexo logo">',
        '<a href="https://hexo.io/docs/" title="Docs">Hexo\'s documentation</a>',
        f'<img src="{post}photo.png" title="A photo from the asset folder">',
        f'<a href="{post}notes.txt" title="the notes">the notes</a>',
        f'<a href="{post}notes.txt">the raw file</a>',
        "<footer><strong>David Levithan</strong><cite>Wide Awake</cite></footer></blockquote>",
        "<blockquote><p>Content is <strong>king</strong>.</p>",
        '<figcaption><span>hello.py</span><a href="https://docs.python.org/3/">Python docs</a></figcaption>',
        '<pre><code class="language-python">def hello(name):',
        'return f"&lt;b&gt;{name}&lt;/b&gt;"',
        "// a fenced block keeps {% youtube abc %} as it is",
        "<span>raw {% not_a_tag %}</span>",
        '<a href="https://blog.example.com/blog/2021/11/04/hello-world/" title="Hello World">Hello World</a>',
        '<a href="https://blog.example.com/blog/2021/11/06/%E4%B8%AD%E6%96%87%E6%96%87%E7%AB%A0/">the Chinese post</a>',
        "<p>Notes come from themes (NexT), not from Hexo itself.</p>",
    ):
        assert made in html, made
    assert "iframe" not in html and "{% note" not in html and "{% endnote" not in html


def test_the_excerpt_before_more_is_the_summary(hexo_blog: tuple[Path, str, str]) -> None:
    site, _, _ = hexo_blog
    items = _items(site)
    assert items["Every tag plugin, once"]["summary"] == (
        "This post shows each of Hexo's built-in tag plugins as a reader sees it."
    )
    assert items["一篇中文文章"]["summary"] == "今天天气很好。"


def test_tags_that_cannot_render_are_reported_once_per_file(
    hexo_blog: tuple[Path, str, str],
) -> None:
    site, _, said = hexo_blog
    assert said.count("tag-plugins.md: unknown Hexo tag plugin(s) {% note %}") == 1
    assert "linked.md: post_link: no published post 'secret-draft'" in said
    again = refeed("build", cwd=site)
    assert again.returncode == 0 and "unknown Hexo tag" not in again.stderr  # said once
    html = str(_items(site)["Links between posts"]["content_html"])
    assert "A link to a draft shows only its text: the draft." in html and "Secret" not in html
    checked = refeed("check", cwd=site)
    assert checked.returncode == 0
    assert "tag-plugins.md: unknown Hexo tag plugin(s) {% note %}" in checked.stderr
    assert "unpublished.md: held back: draft (published: false)" in checked.stderr


# --------------------------------------------------------------------------- init itself


def test_init_never_replaces_a_config_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("mine\n", encoding="utf-8")
    refused = refeed("init", cwd=tmp_path)
    assert refused.returncode == 2
    assert "config.yaml: exists already; pass --force to replace it" in refused.stderr
    assert (tmp_path / "config.yaml").read_text(encoding="utf-8") == "mine\n"
    assert refeed("init", "--force", cwd=tmp_path).returncode == 0
    assert "site:" in (tmp_path / "config.yaml").read_text(encoding="utf-8")


def test_init_outside_a_hexo_site_writes_the_generic_template(tmp_path: Path) -> None:
    started = refeed("init", "new-site", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "check: site.url is 'https://example.org/'" in started.stdout
    text = (tmp_path / "new-site/config.yaml").read_text(encoding="utf-8")
    for example_only in ("金融", "sina", "appendQr", "offline: true"):
        assert example_only not in text
    cfg = load_config(tmp_path / "new-site/config.yaml")
    assert cfg.articles.dir == tmp_path / "new-site/articles" and cfg.articles.future == "hold"
    assert cfg.articles.drafts == "hold" and not cfg.thumbnails.offline


def test_init_refuses_a_broken_hexo_config_and_names_it(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("title: [unclosed\n", encoding="utf-8")
    refused = refeed("init", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("refeed: _config.yml: not valid YAML at line 2, column 1")
    (tmp_path / "_config.yml").write_text("post_asset_folder: sometimes\n", encoding="utf-8")
    refused = refeed("init", cwd=tmp_path)
    assert (
        "_config.yml: post_asset_folder: expected true or false, got 'sometimes'" in refused.stderr
    )
    assert not (tmp_path / "config.yaml").exists()


def test_init_says_when_a_file_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    refused = refeed("init", "taken", cwd=tmp_path)
    assert refused.returncode == 3 and "Traceback" not in refused.stderr
    assert "cannot be written" in refused.stderr


def test_hexo_site_settings_follow_hexos_defaults() -> None:
    assert read_site({}) == HexoSite()
    site = read_site({"url": "https://x.org/blog", "language": ["zh-CN", "en"], "timezone": ""})
    assert (site.url, site.language, site.timezone) == ("https://x.org/blog/", "zh-CN", None)
    assert read_site({"subtitle": "Sub"}).description == "Sub"
    with pytest.raises(ValueError, match="category_map: expected name: slug pairs"):
        read_site({"category_map": ["a"]})


def test_the_template_renders_a_config_every_key_of_which_is_valid(tmp_path: Path) -> None:
    site = HexoSite(
        title='Quote " and: colon', url="https://x.org/", language="zh-CN",
        category_map={"Tech Notes": "Tech Notes", "生活": "life"},
    )  # fmt: skip
    text, notes = render_config(site, local_zone=None)
    assert "articles.timezone is 'UTC'" in " ".join(notes)
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    cfg = load_config(tmp_path / "config.yaml")
    assert cfg.site.title == 'Quote " and: colon'
    assert cfg.categories.names["Tech Notes"].slug == "tech-notes"  # made a valid slug
    assert yaml.safe_load(text)["articles"]["include"] == ["*.md", "*.markdown", "*.html", "*.htm"]


def test_init_carries_hexos_url_settings_and_falls_back_where_refeed_cannot_follow(
    tmp_path: Path,
) -> None:
    (tmp_path / "_config.yml").write_text(
        "url: example.com\nroot: /blog/\ntimezone: Mars/Base\n"
        "permalink: :lang/:title/\npermalink_defaults: {lang: en}\n"
        "pretty_urls: {trailing_index: false, trailing_html: false}\n"
        "default_category: misc\nignore: ['**/hidden-dir/**']\n"
        "post_asset_folder: true\nnew_post_name: :title.markdown\n",
        encoding="utf-8",
    )
    started = refeed("init", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "Hexo's url 'example.com/blog/' has no http(s) scheme" in started.stdout
    assert "Hexo's 'Mars/Base' is no IANA time zone; using 'UTC'" in started.stdout
    cfg = load_config(tmp_path / "config.yaml")  # refeed takes what init wrote
    assert cfg.site.url == "https://example.com/blog/"
    assert cfg.articles.permalink == "en/{title}/"  # permalink_defaults filled in
    assert (cfg.articles.trailing_index, cfg.articles.trailing_html) == (False, False)
    assert cfg.articles.default_category == "misc"
    assert cfg.articles.exclude == ("**/hidden-dir/**",)
    assert cfg.articles.include == ("*.markdown",)  # with asset folders, Hexo's post extension


def test_init_falls_back_on_a_permalink_refeed_cannot_fill(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("permalink: :lang/:title/\n", encoding="utf-8")
    started = refeed("init", cwd=tmp_path)
    assert "articles.permalink: Hexo's ':lang/:title/' uses lang" in started.stdout
    assert (
        load_config(tmp_path / "config.yaml").articles.permalink == "{year}/{month}/{day}/{title}/"
    )


def test_init_takes_this_machines_zone_when_hexos_is_empty(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("timezone: ''\n", encoding="utf-8")
    env = {**os.environ, "TZ": "Europe/Paris"}
    result = subprocess.run(
        [sys.executable, "-m", "refeed", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "articles.timezone is 'Europe/Paris'" in result.stdout
    assert str(load_config(tmp_path / "config.yaml").articles.timezone) == "Europe/Paris"


def test_check_says_nothing_of_tags_in_a_post_that_turned_them_off(tmp_path: Path) -> None:
    site = tmp_path / "blog"
    shutil.copytree(HEXO_SITE, site)
    post = site / "source/_posts/tag-plugins.md"
    post.write_text(
        post.read_text("utf-8").replace("tags:\n", "disableNunjucks: true\ntags:\n", 1), "utf-8"
    )
    refeed("init", cwd=site)
    checked = refeed("check", cwd=site)
    assert "tag-plugins.md" not in checked.stderr and checked.returncode == 0
