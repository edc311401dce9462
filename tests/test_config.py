from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from refeed.config import config_from_dict, load_config
from refeed.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": {"title": "T", "url": "https://x.org", "feeds_url": "https://x.org/feeds"},
        "articles": {"dir": "articles"},
    }
    for key, value in changes.items():
        data[key] = value
    return data


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, Path("/srv"), "config.yaml")
    return caught.value.problems


def test_the_shipped_config_builds_the_examples() -> None:
    cfg = load_config(ROOT / "config.yaml")
    assert cfg.articles.dir == ROOT / "examples" / "articles"
    assert cfg.output.dir == ROOT / "feeds"
    assert ".appendQr_wrap" in cfg.clean.remove


def test_minimal_config_gets_defaults_and_folder_urls_end_in_slash() -> None:
    cfg = config_from_dict(minimal(), Path("/srv"))
    assert cfg.site.url == "https://x.org/" and cfg.site.feeds_url == "https://x.org/feeds/"
    assert cfg.output.items_per_feed == 50 and cfg.output.formats == ("atom", "rss")
    assert cfg.articles.dir == Path("/srv/articles") and cfg.output.dir == Path("/srv/feeds")
    assert "*.txt" in cfg.articles.include and "gb18030" in cfg.articles.encodings
    assert cfg.articles.max_bytes == 16 * 1024 * 1024


def test_bad_value_is_named_by_key_path_with_the_value() -> None:
    assert problems(minimal(output={"items_per_feed": -3})) == [
        "output.items_per_feed: expected a positive integer, got -3"
    ]


def test_every_problem_is_listed_at_once() -> None:
    found = problems(
        {
            "site": {"title": "T", "url": "not a url"},
            "articles": {"dir": "a", "timezone": "Mars/Olympus", "max_size": "lots"},
            "output": {"formats": ["atom", "jsonp"]},
            "extra": 1,
        }
    )
    text = "\n".join(found)
    for key in (
        "site.url",
        "site.feeds_url: is required",
        "articles.timezone",
        "articles.max_size",
        "output.formats",
        "extra: unknown key",
    ):
        assert key in text
    assert len(found) == 6


def test_unknown_key_suggests_the_near_miss() -> None:
    assert problems(minimal(output={"item_per_feed": 5})) == [
        "output.item_per_feed: unknown key (did you mean 'items_per_feed'?)"
    ]


@pytest.mark.parametrize(
    ("section", "value", "fragment"),
    [
        ("articles", {"permalink": "{year}/{slug}/"}, "articles.permalink"),
        ("articles", {"permalink": ":year/:nope/"}, "articles.permalink"),
        ("articles", {"more_marker": ["x"]}, "articles.more_marker"),
        ("articles", {"tag_plugins": "yes"}, "articles.tag_plugins"),
        ("articles", {"post_asset_folder": 1}, "articles.post_asset_folder"),
        ("articles", {"encodings": ["klingon-8"]}, "articles.encodings: unknown encoding"),
        ("articles", {"default_time": "25:99"}, "articles.default_time"),
        ("articles", {"future": "maybe"}, "articles.future: expected one of hold, publish"),
        ("categories", {"hierarchical": "yes"}, "categories.hierarchical: expected true or false"),
        ("categories", {"names": {"A": {"slug": "../x"}}}, "categories.names.A.slug"),
        ("categories", {"names": {"A": {"slug": "x"}, "B": {"slug": "x"}}}, "same slug"),
        ("clean", {"summary_length": "long"}, "clean.summary_length"),
        ("clean", {"sanitizer": "dompurify"}, "clean.sanitizer: expected one of bleach, nh3"),
        ("site", "just text", "site: expected a mapping"),
    ],
)
def test_each_wrong_key_is_refused(section: str, value: object, fragment: str) -> None:
    data = minimal()
    data[section] = (
        {**data[section], **value} if isinstance(value, dict) and section in data else value
    )
    assert any(fragment in p for p in problems(data)), problems(data)


def test_size_units() -> None:
    cfg = config_from_dict(minimal(articles={"dir": "a", "max_size": "512KB"}), Path("/srv"))
    assert cfg.articles.max_bytes == 512 * 1024


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("site: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_zone_names_are_validated_and_normalised() -> None:
    cfg = config_from_dict(
        minimal(articles={"dir": "a", "zone_names": {"cst": "+08:00"}}), Path("/srv")
    )
    assert cfg.articles.zone_names == {"CST": "+0800"}
    assert any(
        "articles.zone_names" in p
        for p in problems(minimal(articles={"dir": "a", "zone_names": {"CST": "8h"}}))
    )
