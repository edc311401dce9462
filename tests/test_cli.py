from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import GOOD, SiteFactory
from conftest import run_cli as run
from refeed import __version__
from refeed.cli import main
from refeed.errors import ConfigError


def test_build_prints_a_summary_and_one_line_per_unpublished_file(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site(
        {"good.md": GOOD, "bad.md": "nope", "later.md": GOOD.replace("2021-11-01", "2099-01-01")}
    )
    result = run("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 articles read, 1 skipped, 1 held back" in result.stdout
    assert "bad.md: no frontmatter" in result.stderr
    assert "later.md: held back" in result.stderr
    assert "[#" not in result.stderr  # no progress bar when stderr is not a terminal
    assert (tmp_path / "feeds" / "atom.xml").exists()


def test_strict_exits_1_when_something_was_skipped(
    make_site: SiteFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_site({"good.md": GOOD, "bad.md": "nope"})
    assert main(["build", "--config", str(tmp_path / "config.yaml"), "--strict", "-q"]) == 1
    assert main(["build", "--config", str(tmp_path / "config.yaml"), "-q"]) == 0


def test_bad_config_exits_2_naming_the_key(make_site: SiteFactory, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_site({"good.md": GOOD}, output={"items_per_feed": -3})
    result = run("build", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "config.yaml: output.items_per_feed: expected a positive integer, got -3" in result.stderr
    )
    assert not (tmp_path / "feeds").exists()


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = run("build", "--config", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "refeed: --config: nope.yaml: no such file" in result.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert run("frobnicate", cwd=tmp_path).returncode == 2


def test_check_exits_1_on_problems_and_writes_nothing(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD, "bad.md": "nope"})
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1 and "bad.md: no frontmatter" in result.stderr
    assert not (tmp_path / "feeds").exists()
    (tmp_path / "articles" / "bad.md").unlink()
    assert run("check", cwd=tmp_path).returncode == 0


def test_articles_and_output_options_override_the_config(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD})
    other = tmp_path / "elsewhere"
    (other / "x").mkdir(parents=True)
    (other / "x" / "only.md").write_text(
        GOOD.replace("A good article", "Elsewhere"), encoding="utf-8"
    )
    result = run("build", "--articles", str(other), "--output", "out", "-v", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"Elsewhere" in (tmp_path / "out" / "atom.xml").read_bytes()
    assert "wrote " in result.stdout and not (tmp_path / "feeds").exists()


def test_unwritable_output_exits_3(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site({"good.md": GOOD})
    (tmp_path / "feeds").write_text("a file where the folder should be")
    result = run("build", cwd=tmp_path)
    assert result.returncode == 3
    assert (
        result.stderr
        == f"refeed: {tmp_path / 'feeds'}: not a folder; set output.dir or --output to a folder\n"
    )


def test_version(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.strip() == f"refeed {__version__}"


def _hold(folder: str, ready: Any, release: Any) -> None:
    from refeed.state import open_state

    with open_state(Path(folder)):
        ready.set()
        release.wait(30)


def test_a_second_build_exits_4_or_waits_for_the_lock(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD}, state={"lock": "fail"})
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path / ".refeed"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        result = run("build", cwd=tmp_path)
        assert (
            result.returncode == 4 and "another refeed build or watch is running" in result.stderr
        )
        make_site({}, state={"lock": "wait"})
        waiting = subprocess.Popen([sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path)
        time.sleep(0.5)
        assert waiting.poll() is None  # queued behind the holder
        release.set()
        assert waiting.wait(60) == 0
    finally:
        release.set()
        holder.join(30)
    assert (tmp_path / "feeds" / "atom.xml").exists()


def test_offline_option_sets_the_config_switch(make_site: SiteFactory, tmp_path: Path) -> None:
    from refeed.cli import _config, _parser

    make_site({"good.md": GOOD}, thumbnails={"offline": False})
    args = _parser().parse_args(["build", "--config", str(tmp_path / "config.yaml"), "--offline"])
    assert _config(args).thumbnails.offline is True


def test_check_and_verbose_build_list_drafts_as_held_back_and_drafts_publishes_them(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD, "_drafts/wip.md": "---\ntitle: Unfinished\n---\nSoon."})
    checked = run("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr  # a draft is not a problem
    assert "_drafts/wip.md: held back: draft (in _drafts/)" in checked.stderr
    built = run("build", "-v", cwd=tmp_path)
    assert "_drafts/wip.md: held back: draft (in _drafts/)" in built.stderr
    assert "1 articles read, 0 skipped, 0 held back, 1 draft;" in built.stdout
    assert b"Unfinished" not in (tmp_path / "feeds" / "atom.xml").read_bytes()
    preview = run("build", "--drafts", "--output", "preview", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert b"Unfinished" in (tmp_path / "preview" / "atom.xml").read_bytes()


# --------------------------------------------------------------------------- quiet, strict, check


def test_quiet_says_a_new_problem_once_and_strict_says_why(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD, "later.md": GOOD.replace("2021-11-01", "2099-01-01")})
    assert run("build", "-q", cwd=tmp_path).stderr == ""  # nothing needs a human
    (tmp_path / "articles/bad.md").write_text("nope", encoding="utf-8")
    first = run("build", "-q", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout == ""
    assert first.stderr == "bad.md: no frontmatter: the file must start with a '---' line\n"
    again = run("build", "-q", cwd=tmp_path)
    assert again.stderr == "" and again.stdout == ""  # old news: not mailed every minute
    strict = run("build", "-q", "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr == (
        "refeed: --strict: 1 file(s) not published, first bad.md: no frontmatter: "
        "the file must start with a '---' line\n"
    )
    checked = run("check", "-q", cwd=tmp_path)
    assert checked.returncode == 1 and "bad.md: no frontmatter" in checked.stderr


def test_quiet_says_a_write_failure_once_until_it_changes_or_clears(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD})
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    blocked = tmp_path / "feeds/categories/good/rss.xml"  # a folder where the feed must go
    blocked.unlink()
    blocked.mkdir()
    (blocked / "x").write_text("x")
    (tmp_path / "articles/good.md").write_text(GOOD.replace("A good article", "Edited"))
    first = run("build", "-q", cwd=tmp_path)
    assert first.returncode == 3 and first.stderr.count("\n") == 1
    assert first.stderr.startswith("categories/good/rss.xml: ")
    again = run("build", "-q", cwd=tmp_path)
    assert again.returncode == 3 and again.stderr == ""  # cron mailed it already
    loud = run("build", cwd=tmp_path)
    assert loud.returncode == 3 and "categories/good/rss.xml: " in loud.stderr  # without -q: said
    shutil.rmtree(blocked)
    fixed = run("build", "-q", cwd=tmp_path)
    assert fixed.returncode == 0 and fixed.stderr == ""
    blocked.unlink()
    blocked.mkdir()
    (tmp_path / "articles/good.md").write_text(GOOD.replace("A good article", "Edited again"))
    back = run("build", "-q", cwd=tmp_path)  # failing again after it cleared: new, said again
    assert back.returncode == 3 and back.stderr.startswith("categories/good/rss.xml: ")


def test_quiet_says_an_unusable_output_folder_once(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site({"good.md": GOOD})
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    shutil.rmtree(tmp_path / "feeds")
    (tmp_path / "feeds").write_text("a file where the output folder was")
    first = run("build", "-q", cwd=tmp_path)
    assert first.returncode == 3 and first.stderr.startswith("refeed: ")
    assert "feeds: not a folder" in first.stderr and first.stderr.count("\n") == 1
    again = run("build", "-q", cwd=tmp_path)
    assert again.returncode == 3 and again.stderr == ""
    assert "feeds: not a folder" in run("build", cwd=tmp_path).stderr


def test_a_build_that_does_not_finish_keeps_the_last_builds_status_and_says_why(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD})
    assert run("build", "-q", cwd=tmp_path).returncode == 0
    status_file = tmp_path / ".refeed/status.json"
    before = json.loads(status_file.read_text(encoding="utf-8"))
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "clean: {remove: ['div[[bad']}\n")
    refused = run("build", "-q", cwd=tmp_path)
    assert refused.returncode == 2 and "clean.remove[0]" in refused.stderr
    after = json.loads(status_file.read_text(encoding="utf-8"))
    assert (
        after["last_error"].startswith("build refused: ")
        and "clean.remove[0]" in after["last_error"]
    )
    assert after["last_failed_at"] and after["articles"] == before["articles"] == 1
    assert after["feed_files"] == before["feed_files"] != []


def test_a_held_back_post_is_announced_once(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site({"good.md": GOOD, "later.md": GOOD.replace("2021-11-01", "2099-01-01")})
    assert "later.md: held back" in run("build", cwd=tmp_path).stderr
    (tmp_path / "articles/other.md").write_text(GOOD.replace("good", "other"), encoding="utf-8")
    assert "later.md" not in run("build", cwd=tmp_path).stderr
    assert "later.md: held back" in run("build", "-v", cwd=tmp_path).stderr  # listed on request


def test_check_finds_what_a_build_would_fail_on_without_writing(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD}, watch={"full_rebuild": "0 99 * * *"})
    (tmp_path / "feeds").write_text("a file where the folder should be", encoding="utf-8")
    checked = run("check", cwd=tmp_path)
    assert checked.returncode == 1
    assert "watch.full_rebuild:" in checked.stderr and "'0 99 * * *'" in checked.stderr
    assert "feeds: not a folder; set output.dir to a folder" in checked.stderr
    assert not (tmp_path / ".refeed").exists()  # nothing written, not even the state


def test_a_failed_thumbnail_probe_names_the_article(make_site: SiteFactory, tmp_path: Path) -> None:
    make_site(
        {"good.md": GOOD.replace("https://img.example.org/good.png", "http://127.0.0.1:9/x.png")},
        thumbnails={"offline": False, "allow": ["127.0.0.1"], "retries": 0, "timeout": 2},
    )
    built = run("build", cwd=tmp_path)
    assert "good.md: thumbnail http://127.0.0.1:9/x.png: " in built.stderr
