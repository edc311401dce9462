"""A small fixed site rendered and byte-compared with the files under data/golden/expected/.

After an intended output change, regenerate with REFEED_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import refeed
from conftest import NOW, output_bytes
from feedcheck import check_feed
from refeed.config import StateConfig

GOLDEN = Path(__file__).parent / "data" / "golden"


def test_golden_site_is_byte_identical(tmp_path: Path) -> None:
    cfg = refeed.load_config(GOLDEN / "site" / "config.yaml")
    cfg = dataclasses.replace(
        cfg,
        output=dataclasses.replace(cfg.output, dir=tmp_path / "feeds"),
        state=StateConfig(tmp_path / "state"),
    )
    report = refeed.build(cfg, now=NOW)
    assert report.skipped == [] and report.failed == []
    expected_root = GOLDEN / "expected"
    if os.environ.get("REFEED_UPDATE_GOLDEN"):
        shutil.rmtree(expected_root, ignore_errors=True)
        shutil.copytree(tmp_path / "feeds", expected_root)
    got = output_bytes(tmp_path / "feeds")  # every file: feeds, feed.json, pages, stylesheet
    expected = output_bytes(expected_root)
    assert sorted(got) == sorted(expected)
    for rel, data in got.items():
        if rel.endswith(("atom.xml", "rss.xml")):
            check_feed(data)
        assert data == expected[rel], f"{rel} differs from the golden file"
