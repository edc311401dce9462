"""Every way a command can fail, through the real CLI: one line on stderr per failure, the
documented exit code, never a traceback (README "Exit codes")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import BASE_CONFIG, GOOD

Setup = Callable[[Path], list[str]]  # prepares the site, returns the command's arguments


def _site(root: Path, **sections: object) -> None:
    (root / "articles").mkdir(exist_ok=True)
    (root / "articles/good.md").write_text(GOOD, encoding="utf-8")
    data = {key: dict(value) for key, value in BASE_CONFIG.items()}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}  # type: ignore[dict-item]
    (root / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _no_config(root: Path) -> list[str]:
    return ["build"]


def _config_is_a_folder(root: Path) -> list[str]:
    (root / "config.yaml").mkdir()
    return ["build"]


def _config_unreadable(root: Path) -> list[str]:
    with socket.socket(socket.AF_UNIX) as sock:  # a socket cannot be opened, even by root
        sock.bind(str(root / "config.yaml"))
    return ["build"]


def _bad_yaml(root: Path) -> list[str]:
    (root / "config.yaml").write_text("site: [\n", encoding="utf-8")
    return ["check"]


def _unknown_key(root: Path) -> list[str]:
    _site(root, output={"itmes_per_feed": 3})
    return ["build"]


def _articles_missing(root: Path) -> list[str]:
    _site(root, articles={"dir": "nope"})
    return ["build"]


def _articles_flag_missing(root: Path) -> list[str]:
    _site(root)
    return ["build", "--articles", "/nope"]


def _articles_is_a_file(root: Path) -> list[str]:
    _site(root)
    (root / "file").write_text("x", encoding="utf-8")
    return ["check", "--articles", "file"]


def _output_is_a_file(root: Path) -> list[str]:
    _site(root)
    (root / "feeds").write_text("x", encoding="utf-8")
    return ["build"]


def _categories_a_file(root: Path) -> list[str]:
    _site(root)
    (root / "feeds").mkdir()
    (root / "feeds/categories").write_text("x", encoding="utf-8")
    return ["build"]


def _output_flag_is_a_file(root: Path) -> list[str]:
    _site(root)
    (root / "out").write_text("x", encoding="utf-8")
    return ["build", "--output", "out"]


def _output_cannot_be_created(root: Path) -> list[str]:
    _site(root, output={"dir": "/dev/null/feeds"})
    return ["build"]


def _output_not_writable(root: Path) -> list[str]:
    _site(root, output={"dir": "/sys/refeed-test-output"})  # not even root may write there
    return ["build"]


def _state_is_a_file(root: Path) -> list[str]:
    _site(root, state={"dir": "statefile"})
    (root / "statefile").write_text("x", encoding="utf-8")
    return ["build"]


def _state_not_writable(root: Path) -> list[str]:
    _site(root)
    return ["build", "--state", "/sys/refeed-test-state"]


def _bad_flag(root: Path) -> list[str]:
    _site(root)
    return ["build", "--nope"]


def _bad_command(root: Path) -> list[str]:
    return ["bulid"]


CASES: dict[str, tuple[Setup, int, str]] = {
    "no config": (_no_config, 2, "config.yaml: no such file; `refeed init` writes one"),
    "config is a folder": (_config_is_a_folder, 2, "config.yaml: cannot be read"),
    "config unreadable": (_config_unreadable, 2, "config.yaml: cannot be read"),
    "bad YAML": (_bad_yaml, 2, "config.yaml: not valid YAML at line 2, column 1"),
    "unknown key": (_unknown_key, 2, "output.itmes_per_feed: unknown key (did you mean 'items_per_feed'?)"),
    "articles missing": (_articles_missing, 2, "config.yaml: articles.dir: not a folder"),
    "--articles missing": (_articles_flag_missing, 2, "--articles: /nope: no such folder"),
    "--articles a file": (_articles_is_a_file, 2, "--articles: file: not a folder"),
    "output a file": (_output_is_a_file, 3, "feeds: not a folder; set output.dir or --output"),
    "--output a file": (_output_flag_is_a_file, 2, "--output: out: not a folder"),
    "categories a file": (_categories_a_file, 3, "feeds: categories in it is not a folder, where refeed keeps its categories; move it away"),
    "output uncreatable": (_output_cannot_be_created, 3, "/dev/null/feeds: cannot be created"),
    "output not writable": (_output_not_writable, 3, "refeed-test-output: cannot be created"),
    "state a file": (_state_is_a_file, 6, "statefile: not a folder, choose a writable folder"),
    "state not writable": (_state_not_writable, 6, "refeed-test-state: cannot be created"),
    "bad flag": (_bad_flag, 2, "unrecognized arguments: --nope; see refeed --help"),
    "bad command": (_bad_command, 2, "invalid choice: 'bulid'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_failure_is_one_line_and_its_exit_code(case: str, tmp_path: Path) -> None:
    setup, code, says = CASES[case]
    result = _refeed(setup(tmp_path), tmp_path)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("refeed: ") and says in lines[0], lines


def test_a_held_lock_is_one_line_and_exit_4(tmp_path: Path) -> None:
    from refeed.state import open_state

    _site(tmp_path, state={"dir": "state", "lock": "fail"})
    with open_state(tmp_path / "state"):
        result = _refeed(["build"], tmp_path)
    assert result.returncode == 4 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("refeed: ") and "another refeed" in result.stderr


def test_a_full_disk_is_said_without_a_traceback(tmp_path: Path) -> None:
    _site(tmp_path)
    result = _refeed(["build"], tmp_path, file_size_limit=4096)
    assert result.returncode in (3, 6), result.stderr  # the feeds, or the state store first
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("refeed: ")


def test_an_unexpected_error_is_one_line_and_exit_7(tmp_path: Path) -> None:
    _site(tmp_path)
    (tmp_path / "sitecustomize.py").write_text(
        "import refeed.pipeline\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('planted')\n"
        "refeed.pipeline.build = broken\n",
        encoding="utf-8",
    )
    result = _refeed(["build"], tmp_path, pythonpath=tmp_path)
    assert result.returncode == 7
    assert result.stderr == (
        "refeed: internal error: ZeroDivisionError: planted (a bug: REFEED_DEBUG=1 shows where)\n"
    )


def test_an_error_raised_while_ctrl_c_unwinds_is_the_interrupt(tmp_path: Path) -> None:
    """A pool caught by Ctrl-C mid-start fails its own shutdown; the user still sees the
    interrupt, not an internal error."""
    _site(tmp_path)
    (tmp_path / "sitecustomize.py").write_text(
        "import refeed.pipeline\n"
        "def broken(*a, **k):\n"
        "    try:\n        raise KeyboardInterrupt\n"
        "    finally:\n        raise RuntimeError('cannot join thread before it is started')\n"
        "refeed.pipeline.build = broken\n",
        encoding="utf-8",
    )
    result = _refeed(["build"], tmp_path, pythonpath=tmp_path)
    assert (result.returncode, result.stderr) == (
        130, "refeed: interrupted; the feeds already written are complete\n"
    )  # fmt: skip


def _refeed(
    args: list[str], cwd: Path, *, file_size_limit: int = 0, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None

    def limit() -> None:
        if file_size_limit:
            import resource
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "refeed", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=env, preexec_fn=limit,
    )  # fmt: skip


def test_check_finds_a_file_where_refeed_keeps_a_folder_of_feeds(tmp_path: Path) -> None:
    _categories_a_file(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "refeed", "check"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith(
        "feeds: categories in it is not a folder, where refeed keeps its categories; move it away\n"
    )


def test_check_finds_a_folder_where_a_feed_file_goes(tmp_path: Path) -> None:
    _site(tmp_path)
    built = subprocess.run(
        [sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    blocked = tmp_path / "feeds/rss.xml"
    blocked.unlink()
    blocked.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "refeed", "check"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.endswith(
        "feeds/rss.xml: a folder where refeed writes a file; move it away\n"
    )
