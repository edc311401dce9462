"""Hexo's tag plugins, excerpt marker and post references (refeed.hexo). Expected outputs follow
Hexo's own tag-plugin tests (hexojs/hexo test/scripts/tags, test/scripts/hexo/post.ts) where
refeed renders the same HTML; embeds become links by design."""

from __future__ import annotations

import pytest

from refeed import clean
from refeed.hexo import PostRef, TagContext, excerpt, references, render_body
from refeed.hexo.syntax import TagCall, parse, split_args
from refeed.models import BodyFormat

CONTEXT = TagContext(
    site_url="https://example.com/blog/",
    post_url="https://example.com/blog/2021/11/04/hello/",
    asset_folder=True,
    posts={"other-post": PostRef("Other <post>", "https://example.com/blog/other-post/")},
)


def markdown(text: str) -> str:
    return clean.to_html(text, "markdown")


def html_of(body: str, body_format: BodyFormat = "markdown", ctx: TagContext = CONTEXT) -> str:
    return render_body(body, body_format, ctx, markdown).html.strip()


def notes_of(body: str, ctx: TagContext = CONTEXT) -> tuple[str, ...]:
    return render_body(body, "markdown", ctx, markdown).warnings


# --------------------------------------------------------------------------- syntax


def test_arguments_split_at_whitespace_and_quotes_group_them() -> None:
    assert split_args('left /a.jpg 200 \'"Place Kitten" "A cute kitten"\'') == (
        "left", "/a.jpg", "200", '"Place Kitten" "A cute kitten"',
    )  # fmt: skip
    assert split_args("'it\\'s' \"two words\"") == ("it's", "two words")
    # A quote inside a word is text, as in Hexo: "Hexo's docs" and "O'Reilly" stay whole.
    assert split_args("Hexo's docs https://hexo.io") == ("Hexo's", "docs", "https://hexo.io")
    assert split_args("Tim O'Reilly, What's\tthe\nFuture") == (
        "Tim", "O'Reilly,", "What's", "the", "Future",
    )  # fmt: skip


def test_block_tags_take_their_body_and_nest() -> None:
    pieces = parse("{% blockquote %}a {% quote x %}b{% endquote %}{% endblockquote %}", "markdown")
    assert pieces == [
        TagCall(
            "blockquote", (), "a {% quote x %}b{% endquote %}",
            "{% blockquote %}a {% quote x %}b{% endquote %}{% endblockquote %}",
        )
    ]  # fmt: skip


def test_a_tag_without_its_end_or_closing_braces_is_left_as_text() -> None:
    assert parse("{% blockquote %} no end", "markdown")[0] == TagCall(
        "blockquote", (), None, "{% blockquote %}"
    )
    assert parse("50 {% of %", "markdown") == ["50 {% of %"]
    assert parse("{%%} {% 9x %}", "markdown") == ["{%%} {% 9x %}"]


def test_quotes_in_a_tag_may_hold_the_closing_braces() -> None:
    # Hexo: '{% blockquote "{% }"  %}test{% endblockquote %}'
    assert html_of('{% blockquote "{% }"  %}test{% endblockquote %}') == (
        "<blockquote><p>test</p>\n<footer><strong>{% }</strong></footer></blockquote>"
    )


# --------------------------------------------------------------------------- code is left alone


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("`{% youtube abc123xyz %}`", "<code>{% youtube abc123xyz %}</code>"),
        ("```\n{% img /a.png %}\n```", "<code>{% img /a.png %}\n</code>"),
        ("~~~~js\n{% link a http://x.org %}\n~~~~", '<code class="language-js">{% link a'),
        # Hexo's issue #4087: an indented code block keeps the tag as text
        (
            "Text\n\n    {% pullquote %}foo{% endpullquote %}\n",
            "<pre><code>{% pullquote %}foo{% endpullquote %}\n</code></pre>",
        ),
    ],
)
def test_tags_in_code_stay_as_written(body: str, kept: str) -> None:
    assert kept in html_of(body)


def test_tags_in_html_code_and_pre_stay_as_written() -> None:
    body = "<p>{% link Hexo https://hexo.io %}</p><pre>{% img /a.png %}</pre><code>{% x %}</code>"
    assert html_of(body, "html") == (
        '<p><a href="https://hexo.io">Hexo</a></p><pre>{% img /a.png %}</pre><code>{% x %}</code>'
    )


def test_tags_in_raw_html_pre_and_code_of_a_markdown_body_stay_as_written() -> None:
    body = "<pre>pre {% vimeo 123 %}</pre>\n\nText <code>{% img /a.png %}</code> and `<pre>`.\n"
    out = html_of(body)
    assert "<pre>pre {% vimeo 123 %}</pre>" in out and "<code>{% img /a.png %}</code>" in out
    assert "vimeo.com" not in out and "<img" not in out
    # a <pre> that a code span shows as text protects nothing after it
    assert "vimeo.com/9" in html_of("`<pre>` then {% vimeo 9 %} `</pre>`")


def test_a_tag_in_a_markdown_link_title_or_image_alt_stays_text_in_the_attribute() -> None:
    # Markdown escapes the stand-in there: the tag is shown as written, never run inside quotes
    assert html_of('[a](https://x.org "{% youtube dQw4w9WgXcQ %}")') == (
        '<p><a href="https://x.org" title="{% youtube dQw4w9WgXcQ %}">a</a></p>'
    )
    assert (
        html_of("![{% vimeo 123 %}](a.png)") == '<p><img src="a.png" alt="{% vimeo 123 %}" /></p>'
    )


@pytest.mark.parametrize(
    ("tag", "said"),
    [
        ("{% youtube abc %}", "youtube: expected a video id, got 'abc'"),
        ('{% youtube "x onerror=y" %}', "youtube: expected a video id, got 'x onerror=y'"),
        ("{% vimeo abc %}", "vimeo: expected a video id, got 'abc'"),
        ("{% vimeo 12a %}", "vimeo: expected a video id, got '12a'"),
    ],
)
def test_a_video_id_that_is_no_id_is_said_and_links_nowhere(tag: str, said: str) -> None:
    assert notes_of(tag) == (said,)
    assert "<a" not in html_of(tag) and "<img" not in html_of(tag)


def test_raw_keeps_its_content_and_comments_vanish() -> None:
    # Hexo: `{% raw %}{{ test }}{% endraw %}`, {%raw%}{{ test }}{%endraw%} → both kept as written
    assert html_of("Raw: {%raw%}<b>{% keep %}</b>{%endraw%} {# gone #}after") == (
        "<p>Raw: <b>{% keep %}</b> after</p>"
    )


# --------------------------------------------------------------------------- the plugins


@pytest.mark.parametrize(
    ("args", "footer"),
    [
        ("John Doe", "<strong>John Doe</strong>"),
        ("Jane Austen, Pride and Prejudice", "<strong>Jane Austen</strong><cite>Pride and Prejudice</cite>"),
        ("John Doe https://hexo.io/", '<strong>John Doe</strong><cite><a href="https://hexo.io/">hexo.io</a></cite>'),
        ("John Doe https://hexo.io/ Hexo", '<strong>John Doe</strong><cite><a href="https://hexo.io/">Hexo</a></cite>'),
    ],
)  # fmt: skip
def test_blockquote_footer_follows_hexo(args: str, footer: str) -> None:
    assert html_of(f"{{% blockquote {args} %}}\n{{% endblockquote %}}") == (
        f"<blockquote><footer>{footer}</footer></blockquote>"
    )


def test_blockquote_body_is_markdown_and_quotes_nest() -> None:
    body = "{% blockquote %}\ntest1\n{% quote test2 %}\ntest3\n{% endquote %}\ntest4\n{% endblockquote %}"
    html = html_of(body)
    assert html.startswith("<blockquote><p>test1</p>\n<blockquote><p>test3</p>")
    assert "<footer><strong>test2</strong></footer></blockquote>" in html
    assert html.endswith("<p>test4</p>\n</blockquote>")  # Hexo leaves "test4" out of a <p>
    assert html_of("{% quote %}123456 **bold** and *italic*{% endquote %}") == (
        "<blockquote><p>123456 <strong>bold</strong> and <em>italic</em></p>\n</blockquote>"
    )


def test_pullquote_is_a_classed_blockquote() -> None:
    assert html_of("{% pullquote center %}bar{% endpullquote %}") == (
        '<blockquote class="pullquote center"><p>bar</p>\n</blockquote>'
    )


def test_codeblock_is_escaped_code_with_its_language_and_caption() -> None:
    body = (
        "{% codeblock Array.map lang:js https://developer.mozilla.org MDN %}\n"
        "    arr.map(x => x < 2)\n{% endcodeblock %}"
    )
    assert html_of(body) == (
        '<figure><figcaption><span>Array.map</span><a href="https://developer.mozilla.org">MDN</a>'
        '</figcaption><pre><code class="language-js">arr.map(x =&gt; x &lt; 2)</code></pre></figure>'
    )
    assert html_of("{% code %}\n<b>\n{% endcode %}") == "<pre><code>&lt;b&gt;</code></pre>"


@pytest.mark.parametrize(
    ("tag", "attributes"),
    [
        ("{% img https://placekitten.com/200/300 %}", {"src": "https://placekitten.com/200/300"}),
        ("{% img left /images/test.jpg 200 300 %}", {"src": "https://example.com/blog/images/test.jpg", "width": "200", "height": "300"}),
        ("{% img left https://x.org/a.jpg 200 Place Kitten %}", {"src": "https://x.org/a.jpg", "width": "200", "title": "Place Kitten"}),
        ("{% img https://x.org/a.jpg 200 300 '\"Place Kitten\" \"A cute kitten\"' %}", {"src": "https://x.org/a.jpg", "width": "200", "height": "300", "title": "Place Kitten", "alt": "A cute kitten"}),
        ("{% image //cdn.org/a.png %}", {"src": "//cdn.org/a.png"}),
    ],
)  # fmt: skip
def test_img_takes_hexos_arguments(tag: str, attributes: dict[str, str]) -> None:
    import lxml.html

    element = lxml.html.fragment_fromstring(html_of(tag, "html"))
    assert element.tag == "img" and dict(element.attrib) == attributes


def test_link_takes_text_url_and_title() -> None:
    assert html_of("{% link Click here to Google https://google.com true Go %}", "html") == (
        '<a href="https://google.com" title="Go">Click here to Google</a>'
    )


@pytest.mark.parametrize(
    ("tag", "href"),
    [
        ("{% youtube dQw4w9WgXcQ %}", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("{% youtube https://youtu.be/dQw4w9WgXcQ %}", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("{% youtube PL9hW1uS6HUftLdHI6RIsaf playlist %}", "https://www.youtube.com/playlist?list=PL9hW1uS6HUftLdHI6RIsaf"),
        ("{% vimeo 82090131 %}", "https://vimeo.com/82090131"),
        ("{% iframe https://example.org/widget 100% 300 %}", "https://example.org/widget"),
    ],
)  # fmt: skip
def test_embeds_become_links_to_the_page_never_iframes(tag: str, href: str) -> None:
    html = html_of(tag)
    assert f'href="{href.replace("&", "&amp;")}"' in html and "iframe" not in html
    cleaned = clean.clean_html(html, CONTEXT.post_url, clean.compile_rules(()))
    assert f'href="{href}"' in cleaned  # the sanitizer keeps what the tag made


def test_youtube_gets_a_linked_thumbnail() -> None:
    assert 'src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"' in html_of(
        "{% youtube dQw4w9WgXcQ %}"
    )


def test_post_link_and_post_path_point_at_the_published_post() -> None:
    assert html_of("See {% post_link other-post %}.") == (
        '<p>See <a href="https://example.com/blog/other-post/" title="Other &lt;post&gt;">'
        "Other &lt;post&gt;</a>.</p>"
    )
    assert html_of("Or {% post_link other-post#part <b>Read</b> false %}") == (
        '<p>Or <a href="https://example.com/blog/other-post/#part" title="Other &lt;post&gt;">'
        "<b>Read</b></a></p>"
    )
    assert html_of("[the other one]({% post_path other-post %})") == (
        '<p><a href="https://example.com/blog/other-post/">the other one</a></p>'
    )


def test_a_post_link_to_no_published_post_shows_its_text_and_says_so() -> None:
    body = "See {% post_link secret-draft the draft %}."
    assert html_of(body) == "<p>See the draft.</p>"
    assert notes_of(body) == ("post_link: no published post 'secret-draft'",)


def test_asset_tags_resolve_under_the_posts_url() -> None:
    assert html_of("{% asset_img photo.jpg 'A photo' %}", "html") == (
        '<img src="https://example.com/blog/2021/11/04/hello/photo.jpg" title="A photo">'
    )
    assert html_of("{% asset_link report.pdf The report %}", "html") == (
        '<a href="https://example.com/blog/2021/11/04/hello/report.pdf" title="The report">'
        "The report</a>"
    )
    assert html_of("![x]({% asset_path 'a b.png' %})") == (
        '<p><img src="https://example.com/blog/2021/11/04/hello/a%20b.png" alt="x" /></p>'
    )
    html_post = TagContext(CONTEXT.site_url, "https://example.com/blog/hello.html", True)
    assert html_of("{% asset_path a.png %}", "html", html_post) == (
        "https://example.com/blog/hello/a.png"  # Hexo strips .html from the post's path
    )


def test_asset_tags_without_an_asset_folder_render_nothing_and_say_why() -> None:
    no_folder = TagContext(CONTEXT.site_url, CONTEXT.post_url, asset_folder=False)
    assert html_of("{% asset_img photo.jpg %}", "html", no_folder) == ""
    assert notes_of("{% asset_img photo.jpg %}", no_folder) == (
        "asset tags need articles.post_asset_folder: true (Hexo's setting)",
    )


def test_unknown_tags_show_their_text_and_are_reported_once() -> None:
    body = (
        "{% note info %}\nA **note**\n{% endnote %}\n\n"
        "Press {% label primary@Go %} and {% label x %}.\n\n{% youtube nope! %}"
    )
    html = html_of(body)
    assert "<p>A <strong>note</strong></p>" in html
    assert "Press primary@Go and x." in html and "{%" not in html
    assert notes_of(body) == (
        "youtube: expected a video id, got 'nope!'",
        "unknown Hexo tag plugin(s) {% note %}, {% label %}, shown as their text",
    )


def test_a_body_without_tags_is_plain_markdown() -> None:
    assert html_of("*hi* {{ not a tag }}") == "<p><em>hi</em> {{ not a tag }}</p>"


# --------------------------------------------------------------------------- excerpt, references


@pytest.mark.parametrize(
    ("html", "before"),
    [
        ("<p>a</p>\n<!-- more -->\n<p>b</p>", "<p>a</p>\n"),
        ("<p>a</p><!--more--><p>b</p>", "<p>a</p>"),
        ("<p>a</p><!-- MORE --><p>b</p>", "<p>a</p>"),
        ("<p>a &lt;!-- more --&gt; b</p>", None),  # in code or text, it is no marker
        ("<p>a</p>", None),
    ],
)
def test_excerpt_is_what_comes_before_the_marker(html: str, before: str | None) -> None:
    assert excerpt(html, "<!-- more -->") == before


def test_excerpt_marker_is_configurable_and_can_be_off() -> None:
    assert excerpt("<p>a</p>[[cut]]<p>b</p>", "[[cut]]") == "<p>a</p>"
    assert excerpt("<p>a</p><!-- more --><p>b</p>", "") is None


def test_references_are_the_posts_a_body_links_to_outside_code() -> None:
    body = (
        "{% post_link one %} {% blockquote %}{% post_path two#x %}{% endblockquote %}\n"
        "`{% post_link in-code %}` {% raw %}{% post_link in-raw %}{% endraw %} {% post_link one %}"
    )
    assert references(body, "markdown") == ("one", "two")
    assert references("no tags", "markdown") == ()


# --------------------------------------------------------------------------- the review's cases


def test_apostrophes_in_words_are_text_not_quotes() -> None:
    body = (
        "It's {% link Hexo's docs https://hexo.io %} isn't it.\n\n"
        "{% blockquote Tim O'Reilly, What's the Future %}\nq\n{% endblockquote %}"
    )
    html = html_of(body)
    assert "<p>It's <a href=\"https://hexo.io\">Hexo's docs</a> isn't it.</p>" in html
    assert "<strong>Tim O'Reilly</strong><cite>What's the Future</cite>" in html


def test_a_tag_of_the_same_name_nests_inside_itself() -> None:
    body = "{% quote outer %}a {% quote inner %}b{% endquote %} c{% endquote %}"
    html = html_of(body)
    assert html.count("<blockquote>") == 2
    assert html.index("<strong>inner</strong>") < html.index("<strong>outer</strong>")


def test_tags_nested_past_the_limit_are_refused() -> None:
    deep = "{% quote %}\n" * 40 + "x\n" + "{% endquote %}\n" * 40
    with pytest.raises(ValueError, match="nested deeper than 32"):
        references(deep, "markdown")
    assert (
        html_of("{% quote %}\n" * 32 + "x\n" + "{% endquote %}\n" * 32).count("<blockquote>") == 32
    )


def test_an_endless_tag_header_is_text() -> None:
    body = "{% link text https://x.org " + "word " * 1000 + "%} after"
    assert html_of(body).startswith("<p>{% link text")


def test_a_code_span_does_not_cross_a_paragraph() -> None:
    html = html_of("Open `tick\n\n{% vimeo 82090131 %} and `closed`")
    assert "https://vimeo.com/82090131" in html


def test_value_tags_in_indented_code_stay_as_written_and_say_nothing() -> None:
    body = "Text\n\n    {% post_path other-post %} and {% nope %}\n\nafter"
    rendered = render_body(body, "markdown", CONTEXT, markdown)
    assert "<code>{% post_path other-post %} and {% nope %}\n</code>" in rendered.html
    assert rendered.warnings == ()


def test_the_same_problem_is_said_once() -> None:
    body = "{% note %}a{% endnote %} {% note %}b{% endnote %} {% post_link gone %} {% post_link gone %}"
    assert notes_of(body) == (
        "post_link: no published post 'gone'",
        "unknown Hexo tag plugin(s) {% note %}, shown as their text",
    )


def test_a_missing_asset_renders_nothing_and_is_named() -> None:
    known = TagContext(CONTEXT.site_url, CONTEXT.post_url, True, assets=frozenset(["a.png"]))
    assert html_of("{% asset_img a.png %}{% asset_img b.png %}", "html", known) == (
        f'<img src="{CONTEXT.post_url}a.png">'
    )
    assert notes_of("{% asset_img b.png %}", known) == ("no 'b.png' in the post's asset folder",)


def test_unclosed_html_code_protects_nothing() -> None:
    body = "<code>open {% vimeo 82090131 %} <pre>x</pre> {% vimeo 1 %}"
    html = html_of(body, "html")
    assert "https://vimeo.com/82090131" in html and "<pre>x</pre>" in html
