from __future__ import annotations

from urllib.parse import urljoin

from hypothesis import given, settings
from hypothesis import strategies as st

from refeed.urls import is_http, join_path, resolve, to_uri


def test_to_uri_percent_encodes_non_ascii_and_spaces_and_idna_encodes_hosts() -> None:
    assert (
        to_uri("https://例え.jp/路径/a b?q=中#x")
        == "https://xn--r8jz45g.jp/%E8%B7%AF%E5%BE%84/a%20b?q=%E4%B8%AD#x"
    )


def test_to_uri_leaves_existing_escapes_alone() -> None:
    assert to_uri("https://x.org/a%20b?q=1&r=2") == "https://x.org/a%20b?q=1&r=2"


def test_is_http() -> None:
    assert is_http("https://x.org/a") and is_http("http://x.org")
    assert (
        not is_http("ftp://x.org/a")
        and not is_http("/a")
        and not is_http("https://")
        and not is_http("javascript:x")
    )


def test_resolve_and_join() -> None:
    assert resolve("https://x.org/a/b/", "../c.png") == "https://x.org/a/c.png"
    assert join_path("https://x.org/feeds/", "categories/金融/atom.xml") == (
        "https://x.org/feeds/categories/%E9%87%91%E8%9E%8D/atom.xml"
    )


@settings(max_examples=500)
@given(
    st.text(alphabet=st.sampled_from(list("ab/.:?#%~ é中-_;=&@+")), max_size=20),
    st.sampled_from(["https://x.org/", "https://x.org/a/b/", "http://x.org/a/b.html"]),
)
def test_resolve_agrees_with_urljoin(ref: str, base: str) -> None:
    for candidate in (ref, "https://y.org/" + ref, "http://y.org" + ref):
        assert resolve(base, candidate) == urljoin(base, candidate.strip())
