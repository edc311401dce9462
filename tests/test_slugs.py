from __future__ import annotations

import pytest

from refeed.slugs import assign_slugs, is_canonical, preferred_slug, unique_slug

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
