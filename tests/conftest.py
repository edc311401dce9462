from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from refeed.config import Config, load_config


@pytest.fixture(autouse=True)
def _refeed_logger_as_found() -> Iterator[None]:
    """``refeed.cli.main`` points the ``refeed`` logger at the sys.stderr of its call; in
    tests that is pytest's capture, closed after the test: later tests' lines went nowhere."""
    logger = logging.getLogger("refeed")
    handlers, propagate, level = logger.handlers[:], logger.propagate, logger.level
    yield
    logger.handlers[:], logger.propagate = handlers, propagate
    logger.setLevel(level)


sys.path.insert(0, str(Path(__file__).parent))  # for the feedcheck helper

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "articles" / "000_a3555228d4adfba0.txt"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

BASE_CONFIG: dict[str, Any] = {
    "site": {
        "title": "Test Site",
        "url": "https://example.org/",
        "feeds_url": "https://example.org/feeds/",
        "language": "en",
    },
    "articles": {"dir": "articles", "timezone": "UTC"},
    "clean": {"remove": [".appendQr_wrap", ".article-editor"]},
    "output": {"dir": "feeds"},
    "thumbnails": {
        "offline": True
    },  # no test reaches the internet; tests/test_net.py probes 127.0.0.1
}

GOOD = """---
title: A good article
categories: [Good]
date: 2021-11-01T10:00:00Z
thumbnail: https://img.example.org/good.png
---

<p>Good <b>content</b>.</p>
"""


def article(
    title: str = "Title",
    date: str = "2021-11-01T10:00:00Z",
    body: str = "<p>Body</p>",
    **fields: Any,
) -> str:
    """An article's text in the Hexo format (frontmatter via YAML, so any value can be given)."""
    meta = {"title": title, "date": date, **fields}
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n\n" + body + "\n"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``refeed ARGS`` as a user runs it: a new process, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "refeed", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def build_examples(root: Path) -> Path:
    """The bundled examples built with the shipped config into ``root/feeds``; returns it."""
    import dataclasses

    from refeed import build
    from refeed.config import StateConfig

    cfg = load_config(ROOT / "config.yaml")
    output = dataclasses.replace(cfg.output, dir=root / "feeds")
    build(dataclasses.replace(cfg, output=output, state=StateConfig(root / "state")), now=NOW)
    return root / "feeds"


def clean_build_of(config: Path, into: Path) -> dict[str, bytes]:
    """Every output file (relative path → bytes) of a build from scratch: fresh output and state."""
    import dataclasses

    from refeed import build
    from refeed.config import StateConfig

    cfg = load_config(config)
    output = dataclasses.replace(cfg.output, dir=into / "feeds")
    build(dataclasses.replace(cfg, output=output, state=StateConfig(into / "state")))
    return output_bytes(into / "feeds")


# Every kind of file a build writes: byte-identity checks compare all of them, not only the XML.
EVERY_OUTPUT: dict[str, Any] = {
    "formats": ["atom", "rss", "json"],
    "opml": True,
    "index": True,
    "stylesheet": True,
    "preview": True,
}
EVERY_KIND = {
    "atom.xml", "rss.xml", "feed.json", "index.html", "feeds.opml", "feed.css", "feed.html",
}  # fmt: skip


def output_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path → bytes), but hidden and temporary ones; fails
    unless each kind of output file is among them, so a comparison can't leave one out."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
    assert {rel.rsplit("/", 1)[-1] for rel in files} >= EVERY_KIND, sorted(files)
    return files


SiteFactory = Callable[..., Config]
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (CI=true) every test must run: a skip (nginx or Chromium missing, say) is a failure,
    so no promise the README makes can pass unchecked."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


ROBUSTNESS: dict[str, str] = {}  # figures the robustness tests report; printed after the run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ROBUSTNESS:
        terminalreporter.section("robustness summary")
        for what, figure in ROBUSTNESS.items():
            terminalreporter.write_line(f"{what}: {figure}")


def deny_reading(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Opening ``path`` fails as for a file without read permission (root reads any file)."""
    real_open = os.open

    def denied(file: str, *args: Any, **kwargs: Any) -> Any:
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)  # what load.read_bytes opens files with


@pytest.fixture
def make_site(tmp_path: Path) -> SiteFactory:
    """Write articles and a config into tmp_path; returns the loaded Config."""

    def factory(files: dict[str, str | bytes], **sections: dict[str, Any]) -> Config:
        folder = tmp_path / "articles"
        folder.mkdir(exist_ok=True)
        for rel, content in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        data = {key: dict(value) for key, value in BASE_CONFIG.items()}
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value}
        (tmp_path / "config.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
        )
        return load_config(tmp_path / "config.yaml")

    return factory
