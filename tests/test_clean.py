from __future__ import annotations

import contextlib
from collections.abc import Callable

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refeed.clean as clean_module
from conftest import SAMPLE
from feedcheck import check_html
from refeed.clean import (
    ENGINES,
    Engine,
    clean_html,
    compile_rules,
    plain_text,
    summarize,
    summary_of,
    to_html,
)

BASE = "https://example.org/2021/11/04/post/"
RULES = compile_rules((".appendQr_wrap", ".article-editor"))
NO_RULES = compile_rules(())
# Every cleaning test runs against both sanitizer engines (clean.sanitizer).
pytestmark = pytest.mark.parametrize("engine", ENGINES)


def cleaner(engine: Engine) -> Callable[[str], str]:
    return lambda html: clean_html(html, BASE, RULES, engine=engine)


def test_the_sample_loses_style_comments_qr_block_and_editor_credit(engine: Engine) -> None:
    clean = cleaner(engine)
    body = SAMPLE.read_text(encoding="utf-8").split("---", 2)[2]
    html = clean(body)
    for gone in (
        "<style",
        "appendQr",
        "&#123;",
        "{border",
        "<!--",
        "二维码",
        "责任编辑",
        "class=",
        "id=",
    ):
        assert gone not in html
    assert "原标题" in html and "referrerpolicy" in html
    assert html.count("<img") == 2
    check_html(html)


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" &#14;  javascript:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
        "<svg><script>alert(1)</script></svg>",
        "<svg onload=alert(1)>",
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<base href="javascript:/">',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        '<div style="background:url(javascript:alert(1));width:expression(alert(1))">x</div>',
        "<p>]]></p><p>]]&gt;</p>",
        "<!--<script>alert(1)</script>--><!-- <!-- nested --> -->",
        '<img src="x.png" srcset="javascript:alert(1) 1x">',
        '<form action="https://evil.example/"><input type=password name=p></form>',
        "<style>body{}</style><link rel=stylesheet href=x.css>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<template><script>alert(1)</script></template>",
        '<a href="https://ok.example/" target=_blank onclick="x()">ok</a>',
        "<table><td><script>alert(1)</script></td></table>",
        "<img src=x:alert(1) onerror=eval(src)>",
        "<unclosed <script>alert(1)",
    ],
)
def test_executable_content_never_survives(engine: Engine, payload: str) -> None:
    html = cleaner(engine)(payload)
    check_html(html)
    lowered = html.lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "vbscript:",
        "<iframe",
        "<object",
        "<embed",
        "<svg",
        "<math",
        "<style",
        "<form",
        "<base",
        "<meta",
        "expression(",
    ):
        assert bad not in lowered, (payload, html)


def test_text_that_looks_like_markup_stays_text(engine: Engine) -> None:
    clean = cleaner(engine)
    assert clean("&lt;b&gt;bold?&lt;/b&gt;") == "&lt;b&gt;bold?&lt;/b&gt;"
    assert clean(clean("<<b;>b>")) == clean("<<b;>b>")


def test_raster_data_images_are_kept(engine: Engine) -> None:
    clean = cleaner(engine)
    html = clean('<img src="data:image/png;base64,iVBORw0KGgo=">')
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html


def test_relative_urls_become_absolute_against_the_article_link(engine: Engine) -> None:
    clean = cleaner(engine)
    html = clean(
        '<a href="../x">a</a><img src="img/a.png" srcset="img/a.png 1x, /b.png 2x"><blockquote cite="/q">q</blockquote>'
    )
    assert 'href="https://example.org/2021/11/04/x"' in html
    assert 'src="https://example.org/2021/11/04/post/img/a.png"' in html
    assert "https://example.org/b.png 2x" in html
    assert 'cite="https://example.org/q"' in html


def test_non_ascii_urls_are_percent_encoded(engine: Engine) -> None:
    clean = cleaner(engine)
    assert 'href="https://example.org/%E6%96%87%E7%AB%A0/a%20b"' in clean(
        '<a href="/文章/a b">x</a>'
    )


def test_lazy_loaded_images_get_their_real_source(engine: Engine) -> None:
    clean = cleaner(engine)
    html = clean('<img src="data:image/gif;base64,R0lGOD" data-src="/real.jpg">')
    assert 'src="https://example.org/real.jpg"' in html and "data-src" not in html


def test_markdown_is_rendered_and_html_bodies_are_not_put_through_markdown(engine: Engine) -> None:
    clean = cleaner(engine)
    assert "<strong>b</strong>" in clean(to_html("**b** and a | table\n", "markdown"))
    indented = "<div>\n    <style>.x{}</style>\n    <p>text</p>\n</div>"
    html = clean(to_html(indented, "html"))
    assert "<pre" not in html and "<code" not in html and ".x{}" not in html


def test_emptied_containers_are_removed(engine: Engine) -> None:
    clean = cleaner(engine)
    assert clean('<div id="ad"><script>x</script></div><p>kept</p>') == "<p>kept</p>"


def test_bad_selector_names_the_rule(engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"clean.remove\[1\]"):
        compile_rules((".ok", "p[[["))


def test_plain_text_and_summary(engine: Engine) -> None:
    text = plain_text("<p>Hello <b>world</b></p><p>again</p><script>no</script>")
    assert text == "Hello world again"
    # What follows a dropped element or a comment stays, where it was; a block ends a word.
    text = plain_text("<p>a<script>x</script>b<!--c-->d<svg><text>e</text></svg>f</p>g")
    assert text == "abdf g"
    assert plain_text("Bare text first <b>bold</b><p>para</p>") == "Bare text first boldpara"
    assert summarize("one two three four five six", 14) == "one two three…"
    assert summarize("中文" * 20, 9) == "中文中文中文中文…"
    cut = summarize("e\u0301" * 20, 6)  # never splits a combining accent from its letter
    assert not cut.rstrip("…").endswith("e") and len(cut) <= 6


html_text = st.text(
    alphabet=st.sampled_from(list("<>/=\"' &;#:abcdefhijlmnoprstuvxy()\n\x00\x0b\u2028é中")),
    max_size=200,
)
tagged = st.lists(
    st.sampled_from(["<p>", "</p>", "<script>", "</script>", "<a href='javascript:x'>", "<img src=x onerror=y>", "<!--", "-->",
                     "<style>", "</style>", "<svg>", "<div class='appendQr_wrap'>", "</div>", "<b>", "<table><td>", "]]>", "&#0;", "&#x1;", "<![CDATA["]),
    max_size=12,
)  # fmt: skip


spaced = st.lists(
    st.one_of(
        html_text, tagged.map("".join), st.sampled_from(["   \n\t  ", "<br>", "</p><p>", "\u0301"])
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(spaced, st.integers(1, 60))
def test_the_summary_read_from_the_start_of_the_text_is_the_whole_texts(
    engine: Engine, html: str, length: int
) -> None:
    # summary_of stops reading the text once it has enough; it must never cut differently.
    for body in (html, cleaner(engine)(html + "<p>" + " x " * 200 + "</p>")):
        assert summary_of(body, length) == summarize(plain_text(body), length)


@settings(max_examples=300, deadline=None)
@given(spaced, st.integers(1, 300), st.integers(0, 4))
def test_a_long_bodys_summary_read_from_its_start_is_the_whole_texts(
    engine: Engine, html: str, length: int, shift: int
) -> None:
    # A body longer than the part first parsed for its summary: the cut falls anywhere in
    # it (in a tag, an attribute, an entity, a comment, a script), never changing the summary.
    window = max(clean_module._SUMMARY_WINDOW, 4 * length)
    unit = "x" * shift + (html or "<p>a</p>")
    body = unit * (2 * window // len(unit) + 1)
    bodies = [body]
    with contextlib.suppress(ValueError):  # refused: nested past the limit
        bodies.append(cleaner(engine)(body))
    for long_body in bodies:
        assert summary_of(long_body, length) == summarize(plain_text(long_body), length)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(html_text, tagged.map("".join)), max_size=6).map("".join))
def test_cleaning_is_idempotent_and_leaves_nothing_executable(engine: Engine, html: str) -> None:
    clean = cleaner(engine)
    once = clean(html)
    assert clean(once) == once
    check_html(once)
    for element in lxml.html.fragments_fromstring(f"<div>{once}</div>")[0].iter():
        assert element.tag not in ("script", "style", "iframe", "svg")


def test_a_noscript_fallback_image_comes_out_as_an_image(engine: Engine) -> None:
    html = cleaner(engine)(
        '<img src="data:image/gif;base64,R0lGOD" class="lazy">'
        '<noscript><img src="https://cdn.example.org/real.jpg" alt="fallback"></noscript>'
    )
    assert '<img src="https://cdn.example.org/real.jpg" alt="fallback">' in html
    assert "&lt;img" not in html and "noscript" not in html


def test_a_lazy_image_repeated_in_noscript_is_shown_once(engine: Engine) -> None:
    html = cleaner(engine)(
        '<p><img src="data:image/gif;base64,R0lGOD" data-src="/real.jpg" alt="a">\n'
        '<noscript><img src="https://example.org/real.jpg" alt="a"></noscript></p>'
    )
    assert html == '<p><img src="https://example.org/real.jpg" alt="a">\n</p>'


def test_paragraphs_after_misnested_foreign_content_survive(engine: Engine) -> None:
    clean = cleaner(engine)
    html = clean("<p>before</p><math><mtext>x<mglyph><style>y<p>after one</p><p>after two</p>")
    assert "<p>after one</p><p>after two</p>" in html and "<style" not in html
    assert "<math" not in html and "mglyph" not in html
    html = clean("<svg><foreignObject><p>shown</p></foreignObject><desc>hidden</desc></svg><p>z")
    assert html == "<p>shown</p><p>z</p>"


@pytest.mark.parametrize(
    ("player", "page"),
    [
        (
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ?si=x" title="Never gonna"></iframe>',
            '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">Never gonna</a>',
        ),
        (
            '<iframe src="//player.vimeo.com/video/76979871?h=8272103f6e"></iframe>',
            '<a href="https://vimeo.com/76979871">Vimeo video</a>',
        ),
        (
            '<iframe src="//player.bilibili.com/player.html?aid=1&bvid=BV1xx411c7mD&page=1"></iframe>',
            '<a href="https://www.bilibili.com/video/BV1xx411c7mD">Bilibili video</a>',
        ),
        (
            '<embed src="https://www.youtube-nocookie.com/embed/abcdefghijk">',
            '<a href="https://www.youtube.com/watch?v=abcdefghijk">YouTube video</a>',
        ),
    ],
)
def test_an_embedded_video_player_becomes_a_link_to_the_video_page(
    engine: Engine, player: str, page: str
) -> None:
    assert cleaner(engine)(f"<p>Watch:</p>{player}<p>end</p>") == f"<p>Watch:</p>{page}<p>end</p>"


def test_other_frames_are_dropped(engine: Engine) -> None:
    html = cleaner(engine)('<iframe src="https://ads.example/x"></iframe><p>kept</p>')
    assert html == "<p>kept</p>"


def test_code_keeps_only_its_language_classes(engine: Engine) -> None:
    clean = cleaner(engine)
    html = clean('<pre class="language-py"><code class="hljs language-python x">a = 1</code></pre>')
    assert html == '<pre><code class="language-python">a = 1</code></pre>'
    assert clean('<p class="language-x"><code class="hljs">x</code></p>') == "<p><code>x</code></p>"
    assert 'class="language-js"' in clean(to_html("```js\nlet a\n```\n", "markdown"))
    assert "class" not in clean('<code class="language-&quot;&gt;&lt;x">x</code>')


def test_a_body_nested_past_the_limit_is_refused_before_it_is_parsed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from refeed.clean import policy, tree

    deepest = "<div>" * policy.MAX_DEPTH + "text"
    assert "text" in clean_html(deepest, BASE, NO_RULES, engine=engine)  # at the limit: kept

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed: quadratic for a hostile body")

    monkeypatch.setattr(tree, "LexborHTMLParser", parse)
    for body in ("<div>" * (policy.MAX_DEPTH + 1), "<p><b>" * (policy.MAX_ELEMENTS // 2 + 1)):
        with pytest.raises(ValueError, match=r"nested deeper|more than"):
            clean_html(body, BASE, NO_RULES, engine=engine)
