"""Whole-build properties over arbitrary frontmatter and bodies (hypothesis)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refeed
from conftest import BASE_CONFIG, GOOD, NOW
from feedcheck import check_feed, feed_files
from refeed.clean import ENGINES
from refeed.config import config_from_dict

text = st.text(max_size=40)
scalar = st.one_of(text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
date = st.one_of(
    st.sampled_from(
        [
            "2021-11-04",
            "Thu, 04 Nov 2021 02:08:44 GMT",
            "2021-11-04T10:00:00+08:00",
            "1636000000",
            "not a date",
            "",
        ]
    ),
    st.datetimes(),
    value,
)
body = st.lists(
    st.one_of(
        text,
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<script>x</script>",
                "<img src=a.png onerror=x>",
                "<!--",
                "]]>",
                "&#0;",
                "<a href='javascript:x'>",
                "<style>p{}</style>",
            ]
        ),
    ),
    max_size=10,
).map("".join)
frontmatter = st.fixed_dictionaries(
    {"title": st.one_of(text, value), "date": date},
    optional={
        "categories": st.one_of(value, st.lists(text, max_size=3)),
        "tags": value,
        "thumbnail": st.one_of(text, value),
        "author": value,
        "id": value,
        "link": value,
        "description": value,
    },
)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meta=frontmatter, html=body)
def test_any_article_is_published_in_valid_feeds_or_skipped_with_a_reason(
    engine: str, meta: dict[str, Any], html: str
) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        (root / "articles").mkdir()
        (root / "articles" / "good.md").write_text(GOOD, encoding="utf-8")
        text = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + html
        (root / "articles" / "any.md").write_text(text, encoding="utf-8", errors="surrogatepass")
        clean = {**BASE_CONFIG["clean"], "sanitizer": engine}
        cfg = config_from_dict({**BASE_CONFIG, "clean": clean}, root)
        report = refeed.build(cfg, now=NOW)  # must never raise
        assert report.failed == []
        for path in feed_files(cfg.output.dir):
            check_feed(path.read_bytes())
        site = check_feed((cfg.output.dir / "atom.xml").read_bytes())
        titles = [e.title for e in site.entries]
        assert "A good article" in titles
        skipped = [p for p in report.skipped + report.held_back if p.path == "any.md"]
        assert len(titles) == (1 if skipped else 2)
        assert all(p.reason for p in skipped)
    finally:
        shutil.rmtree(root)
