from __future__ import annotations

from posixpath import splitext
from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from refeed.thumbs import DEFAULT_TYPE, IMAGE_TYPES, guess, guess_type, sniff_type


def reference_type(url: str) -> str:
    """What guess_type must agree with: the extension of urlsplit's path."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return DEFAULT_TYPE
    return IMAGE_TYPES.get(splitext(path)[1].lower(), DEFAULT_TYPE)


def test_the_type_comes_from_the_path_alone() -> None:
    assert guess_type("https://img.example.com/a/b.PNG?size=.gif#x.webp") == "image/png"
    assert guess_type("https://example.png") == DEFAULT_TYPE  # a host, not a file name
    assert guess_type("https://example.com/photo") == DEFAULT_TYPE
    assert guess_type("//cdn.example.com/t.svg") == "image/svg+xml"
    assert guess_type("http://[::1/broken.png") == DEFAULT_TYPE  # urlsplit refuses it
    assert guess("https://x.org/t.webp") == guess("https://x.org/t.webp")
    assert guess("https://x.org/t.webp").length == 0


PIECES = "http https HTTP : // / ? # . png .jpg a [ ] x.gif - + 1 ex.ample @ %2F é".split()
URLISH = st.lists(st.sampled_from([*PIECES, " ", "\t"]), max_size=12).map("".join)
SHAPED = st.tuples(
    st.from_regex(r"[A-Za-z0-9+.\-]{0,5}", fullmatch=True),
    st.sampled_from(["://", ":", "//", "", ":/"]),
    URLISH,
).map("".join)


@settings(max_examples=1500)
@given(st.one_of(URLISH, SHAPED, st.text(max_size=40)))
@example("a//b.png")
@example("http:x//y.png")
@example("1http://h/a.png")
@example("a1+b.c-d://host.gif")
@example("//host.png")
def test_guess_type_agrees_with_urlsplit(url: str) -> None:
    assert guess_type(url) == reference_type(url)


def test_magic_bytes_name_the_type() -> None:
    assert sniff_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_type(b"  <svg xmlns='http://www.w3.org/2000/svg'>") == "image/svg+xml"
    assert sniff_type(b"<html>") is None
