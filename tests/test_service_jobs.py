"""The watcher's jobs, checked on a Service whose scheduler is never started."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import GOOD, SiteFactory, article
from refeed.errors import ConfigError
from refeed.service import Service


@pytest.fixture
def paused() -> Iterator[list[Service]]:
    """Services whose schedulers run paused: jobs are real, but none fires."""
    services: list[Service] = []
    yield services
    for svc in services:
        svc.scheduler.shutdown(wait=False)


def service(tmp_path: Path, paused: list[Service] | None = None) -> Service:
    svc = Service(tmp_path / "config.yaml")
    if paused is not None:
        svc.scheduler.start(paused=True)
        paused.append(svc)
    return svc


def test_jobs_never_overlap_and_coalesce(
    make_site: SiteFactory, tmp_path: Path, paused: list[Service]
) -> None:
    make_site({"good.md": GOOD}, watch={"interval": 7, "full_rebuild": "0 3 * * *"})
    svc = service(tmp_path, paused)
    svc._schedule()
    scan, full = svc.scheduler.get_job("scan"), svc.scheduler.get_job("full")
    assert scan.trigger.interval.total_seconds() == 7 and scan.max_instances == 1 and scan.coalesce
    assert str(full.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='0']"
    assert full.kwargs == {"full": True}


def test_a_held_back_post_gets_a_job_at_its_publish_time(
    make_site: SiteFactory, tmp_path: Path, paused: list[Service]
) -> None:
    later = article("Later", date="2099-01-01T08:00:00Z")
    make_site({"good.md": GOOD, "later.md": later}, watch={"settle": 0})
    svc = service(tmp_path, paused)
    svc.build()
    due = svc.scheduler.get_job("due")
    assert due is not None and due.trigger.run_date == datetime(2099, 1, 1, 8, tzinfo=UTC)


def test_a_full_rebuild_rereads_everything_but_rewrites_nothing_unchanged(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    cfg = make_site({"good.md": GOOD}, watch={"settle": 0})
    svc = service(tmp_path)
    svc.build()
    mtime = (cfg.output.dir / "atom.xml").stat().st_mtime_ns
    svc.build(full=True)
    assert (cfg.output.dir / "atom.xml").stat().st_mtime_ns == mtime


def test_a_bad_crontab_expression_is_refused_naming_the_key(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    make_site({"good.md": GOOD}, watch={"full_rebuild": "61 * * * *"})
    with pytest.raises(ConfigError, match=r"watch.full_rebuild"):
        service(tmp_path)


@pytest.mark.parametrize(
    "broken",
    [
        {"watch": {"full_rebuild": "61 * * * *"}},  # read fine, refused by the scheduler's check
        {"output": {"items_per_feed": -3}},  # refused while reading
    ],
)
def test_a_refused_reload_keeps_the_running_config(
    make_site: SiteFactory,
    tmp_path: Path,
    paused: list[Service],
    broken: dict[str, dict[str, object]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_site({"good.md": GOOD}, watch={"interval": 7})
    svc = service(tmp_path, paused)
    svc._schedule()
    running = svc.cfg
    with contextlib.suppress(ConfigError):  # the factory loads it too
        make_site({}, **broken)
    with caplog.at_level(logging.ERROR, logger="refeed"):
        svc.reload()
    assert svc.cfg is running and "config reload refused" in caplog.text
    assert svc.scheduler.get_job("full") is None and svc.scheduler.get_job("reload") is None
    make_site({}, site={"title": "Renamed"})
    svc.reload()
    assert svc.cfg.site.title == "Renamed" and svc.scheduler.get_job("reload") is not None


def test_the_full_rebuild_job_rereads_files_whose_stat_did_not_change(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    cfg = make_site({"good.md": GOOD}, watch={"settle": 0})
    svc = service(tmp_path)
    svc.build()
    path = cfg.articles.dir / "good.md"
    before = path.stat()
    path.write_text(GOOD.replace("A good article", "A fine article"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime
    svc.build()
    assert b"A good article" in (cfg.output.dir / "atom.xml").read_bytes()  # the stat decides
    svc.build(full=True)
    assert b"A fine article" in (cfg.output.dir / "atom.xml").read_bytes()


def test_events_gather_the_files_for_the_next_build_and_a_failed_build_makes_it_look_at_all(
    make_site: SiteFactory, tmp_path: Path, paused: list[Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_site({"good.md": GOOD}, watch={"settle": 0})
    svc = service(tmp_path, paused)
    svc.build()  # the first build looks at every file
    seen: list[frozenset[str] | None] = []

    def build(cfg: object, **kwargs: object) -> object:
        seen.append(kwargs["paths"])  # type: ignore[arg-type]
        raise OSError("disk gone")

    monkeypatch.setattr("refeed.pipeline.build", build)
    svc._changed(frozenset({"a.md"}))
    svc._changed(frozenset({"b.md"}))
    assert svc.scheduler.get_job("change") is not None
    svc.build_changes()  # what both events named, at once
    svc.build_changes()  # the build before failed: this one looks at every file
    svc._changed(frozenset({"c.md"}))
    svc._changed(None)  # a folder changed
    svc.build_changes()
    assert seen == [frozenset({"a.md", "b.md"}), None, None]
