"""What CI relies on: `make test` installs the system tools or fails, and no test skips in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SKIPPING = """
import pytest

def test_needs_a_tool_that_is_missing():
    pytest.skip("frobnicator is not installed")

def test_runs():
    assert True
"""


@pytest.mark.parametrize(("ci", "code"), [("true", 1), ("", 0)])
def test_a_skip_is_a_failure_in_ci_only(tmp_path: Path, ci: str, code: int) -> None:
    (tmp_path / "test_skips.py").write_text(SKIPPING, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_skips.py")],
        env={**os.environ, "CI": ci, "PYTHONPATH": str(ROOT / "tests")},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == code, result.stdout + result.stderr
    if ci:
        assert "1 failed, 1 passed" in result.stdout
        assert "skipped in CI, where every test must run: frobnicator" in result.stdout
    else:
        assert "1 passed, 1 skipped" in result.stdout


@pytest.mark.parametrize(("ci", "code"), [("true", 2), ("", 0)])
def test_make_test_fails_in_ci_when_a_system_tool_cannot_be_installed(
    tmp_path: Path, ci: str, code: int
) -> None:
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "apt-get").write_text("#!/bin/sh\nexit 100\n", encoding="utf-8")  # no network here
    (stub / "apt-get").chmod(0o755)
    (stub / "id").write_text("#!/bin/sh\necho 0\n", encoding="utf-8")  # as root, like CI
    (stub / "id").chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "system-deps", "SYSTEM_PACKAGES=refeed-no-such-tool"],
        cwd=ROOT,
        env={**os.environ, "CI": ci, "PATH": f"{stub}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert "could not install refeed-no-such-tool" in result.stdout
