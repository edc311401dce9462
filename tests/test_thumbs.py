from __future__ import annotations

import re
from posixpath import splitext
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from images import RASTERS, avif, gif, png, webp
from refeed.thumbs import DEFAULT_TYPE, IMAGE_TYPES, guess, guess_type, raster, sniff_type


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
@example("A://]/0.GIF")  # a "]" alone makes urlsplit refuse the host: found by a full run
def test_guess_type_agrees_with_urlsplit(url: str) -> None:
    assert guess_type(url) == reference_type(url)


def test_magic_bytes_name_the_type() -> None:
    assert sniff_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_type(b"  <svg xmlns='http://www.w3.org/2000/svg'>") == "image/svg+xml"
    assert sniff_type(b"<html>") is None


@pytest.mark.parametrize("kind", sorted(RASTERS))
def test_raster_images_are_known_by_magic_bytes_and_header_dimensions(kind: str) -> None:
    assert raster(RASTERS[kind](640, 480, size=2000)) == (kind, 640, 480)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "svg"),
        (b'<?xml version="1.0"?><svg onload="alert(1)"/>', "svg"),
        (b"<html><script>alert(1)</script></html>", "match no image format"),
        (b"", "match no image format"),
        (b"BM" + b"\x00" * 60, "image/bmp is not a raster image"),
        (b"II*\x00" + b"\x00" * 60, "image/tiff"),
        (b"\x00\x00\x01\x00" + b"\x00" * 60, "image/x-icon"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 60, "image/heic"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 1226, "image/png header"),  # no IHDR chunk
        (png(0, 3), "no dimensions"),
        (gif(2, 0), "no dimensions"),
        (b"\xff\xd8\xff\xe0" + b"\x11" * 200, "image/jpeg"),  # no frame header
        (webp()[:20], "image/webp"),
        (avif()[:40], "image/avif header gives no dimensions"),  # cut before its ispe box
    ],
)
def test_anything_else_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        raster(data)
