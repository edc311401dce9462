from __future__ import annotations

import pytest

from refeed.slugs import (
    assign_slugs,
    hexo_slugize,
    is_canonical,
    name_hash,
    preferred_slug,
    unique_slug,
)

NASTY = ["..", ".", "/", "../../etc/passwd", "/abs/path", "a\x00b", "con", "NUL", "LPT1", "x" * 500,
         "中" * 100, "", "   ", "a/b", "a\\b", "ｔｅｃｈ", "Tech", "tech", "TECH", "ＴＥＣＨ", "\u202eevil",
         "café", "cafe\u0301", "🙂", "-", "_"]  # fmt: skip


@pytest.mark.parametrize("name", NASTY)
def test_slug_is_a_single_safe_path_segment(name: str) -> None:
    for slug in (preferred_slug(name), unique_slug(name)):
        assert slug and "/" not in slug and "\\" not in slug and "\x00" not in slug
        assert slug not in (".", "..") and not slug.startswith(".")
        assert len(slug.encode("utf-8")) <= 80
        assert slug == slug.lower()


def test_distinct_names_never_share_a_slug() -> None:
    slugs = assign_slugs(NASTY)
    assert len(set(slugs.values())) == len(set(NASTY))


def test_names_differing_in_case_or_width_get_distinct_slugs_and_the_exact_one_keeps_it() -> None:
    slugs = assign_slugs(["Tech", "tech", "ｔｅｃｈ"])
    assert slugs["tech"] == "tech"
    assert slugs["Tech"].startswith("tech-") and slugs["ｔｅｃｈ"].startswith("tech-")
    assert len(set(slugs.values())) == 3


def test_a_lone_name_gets_its_readable_slug() -> None:
    assert assign_slugs(["Machine Learning", "金融"]) == {
        "Machine Learning": "machine-learning",
        "金融": "金融",
    }


def test_slugs_are_deterministic() -> None:
    assert assign_slugs(NASTY) == assign_slugs(list(reversed(NASTY)))


def test_configured_slug_wins_its_collision() -> None:
    slugs = assign_slugs(["Technology", "tech"], {"Technology": "tech"})
    assert slugs["Technology"] == "tech" and slugs["tech"] != "tech"


def test_reserved_device_names_are_not_used_bare() -> None:
    assert preferred_slug("con") != "con" and not is_canonical("con")


# Slugs are in every feed's URL: these exact values are what subscribers hold, so a change in the
# hash, its length or the readable form is a broken subscription, not a refactoring.
def test_hashed_slugs_are_stable_to_the_character() -> None:
    assert name_hash("金融") == "a42315e4"
    assert unique_slug("Tech") == "tech-d0da7ab8" and unique_slug("🙂") == "d06f1525"
    assert assign_slugs(["Tech", "TECH"]) == {"Tech": "tech-d0da7ab8", "TECH": "tech-32f6e996"}
    # A name that spells another name's hashed slug: the second to want it gets a longer hash.
    assert assign_slugs(["tech", "Tech", "tech-d0da7ab8"]) == {
        "tech": "tech",
        "Tech": "tech-d0da7ab8",
        "tech-d0da7ab8": "tech-d0da7ab8-8b2942d40ca315d1",
    }


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("a" * 60, "a" * 60),  # exactly the limit: kept whole
        ("a" * 61, "a" * 60),
        ("中" * 30, "中" * 20),  # cut on a character boundary (3 bytes each)
        ("a" * 59 + "-_b", "a" * 59),  # no dash or underscore left dangling by the cut
        ("a" * 56 + "x\u20dd" + "yyy", "a" * 56 + "x"),  # nor a combining mark
        ("--a_b--", "a_b"),
        ("_x_", "x"),
        ("Ünïcode Café", "ünïcode-café"),
    ],
)
def test_readable_slugs_are_cut_and_trimmed(name: str, slug: str) -> None:
    assert preferred_slug(name) == slug


@pytest.mark.parametrize(
    ("slug", "canonical"),
    [("tech", True), ("金融", True), ("a_b", True), ("Tech", False), ("", False),
     ("a--b", False), ("-a", False), ("con", False), ("a/b", False)],
)  # fmt: skip
def test_a_configured_slug_must_be_canonical(slug: str, canonical: bool) -> None:
    assert is_canonical(slug) is canonical


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        # hexo-util's slugize: Latin letters lose their diacritics at both ends of each range,
        # enclosed and fullwidth letters become their base letter, other scripts stay.
        ("À ȳ Ḁ ỹ", "A-y-A-y"),
        ("Ⓐ ⓩ Ａ ｚ", "A-z-A-z"),
        ("Æ Ø Ł é 遊戲", "AE-O-L-e-遊戲"),
    ],
)
def test_hexo_slugize_drops_diacritics_over_every_range(title: str, slug: str) -> None:
    assert hexo_slugize(title) == slug
