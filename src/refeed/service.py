"""``refeed watch``: APScheduler jobs keep the feeds current (the only apscheduler import).

File events (``watch.events``, inotify through :mod:`refeed.events`) schedule a build as soon as
the changed file has settled; one interval job scans the article directory and builds what
changed, the safety net for events missed or unavailable; an optional cron job
does a full rebuild; a one-off job fires when a held-back post falls due. Jobs never overlap
(``max_instances=1``, coalescing, and one build lock), a failed build is logged and the service
carries on with the previous feeds in place. SIGTERM/SIGINT let the build in progress finish,
then exit; SIGHUP reloads the config, keeping the old one if the new one is refused.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import NamedTuple

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import pipeline
from .config import Config, load_config
from .errors import ConfigError, RefeedError
from .events import ArticleEvents
from .models import RunReport

log = logging.getLogger("refeed")
Loader = Callable[[Path], Config]
AfterBuild = Callable[[Config, RunReport], None]


class Refusal(NamedTuple):
    error: ConfigError
    at: datetime


class Service:
    """The long-running watcher; ``run()`` blocks until SIGTERM or SIGINT."""

    def __init__(
        self,
        config_path: Path,
        loader: Loader = load_config,
        *,
        after_build: AfterBuild | None = None,
    ) -> None:
        self.config_path = config_path
        self.loader = loader
        self.after_build = after_build  # refeed serve: says where to look once there is a build
        self.cfg = validate(loader(config_path))  # a bad config at start is the caller's error
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.build_lock = threading.Lock()
        self.first = True  # the first build says every known problem once
        self.events: ArticleEvents | None = None
        # What file events said changed since the last build: files, or None once a folder
        # changed or a build failed (the next build then looks at everything).
        self.changed_files: set[str] | None = set()
        self.changes_lock = threading.Lock()
        self.refusal: Refusal | None = None  # the last reload refused, until one is taken
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # ----------------------------------------------------------------- lifecycle

    def run(self) -> None:
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            self._schedule()
            self.scheduler.start()
            self._follow_events()
            ticks = 0
            while not self.stopping.wait(0.2):
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    self.reload()
                ticks += 1
                if ticks % 10 == 0 and self.events is not None and self.events.replaced():
                    log.warning(
                        "watch: %s was replaced; watching the folder now there",
                        self.cfg.articles.dir,
                    )
                    self._follow_events()
                    self._changed()
        finally:
            log.info("stopping: letting the build in progress finish")
            if self.events is not None:
                self.events.stop()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested.set()
        else:
            self.stopping.set()

    def reload(self) -> None:
        """Re-read the config; a refused one leaves the running one in force."""
        try:
            cfg = validate(self.loader(self.config_path))
        except ConfigError as exc:  # all or nothing: the running config stays in force
            with self.build_lock:  # not while a build writes status.json
                self.refusal = Refusal(exc, datetime.now(UTC))
                pipeline.record_refusal(self.cfg, exc, self.refusal.at)
            log.error(
                "config reload refused, the running config stays: %s: %s",
                exc.source, "; ".join(exc.problems),
            )  # fmt: skip
            return
        self.refusal = None
        self.cfg = cfg
        log.info("config reloaded from %s", self.config_path)
        self._schedule()
        self._follow_events()  # the article folder or watch.events may have changed
        self.scheduler.add_job(self.build, id="reload", replace_existing=True)

    def _schedule(self) -> None:
        watch = self.cfg.watch
        self.scheduler.add_job(
            self.build,
            IntervalTrigger(seconds=watch.interval, timezone=UTC),
            id="scan",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        if watch.full_rebuild:
            trigger = CronTrigger.from_crontab(watch.full_rebuild, timezone=UTC)
            self.scheduler.add_job(
                self.build, trigger, kwargs={"full": True}, id="full", replace_existing=True
            )
        elif self.scheduler.get_job("full"):
            self.scheduler.remove_job("full")

    def _follow_events(self) -> None:
        """(Re)start file events for the article folder, or say why the scan alone must do."""
        if self.events is not None:
            self.events.stop()
            self.events = None
        watch, folder = self.cfg.watch, self.cfg.articles.dir
        why_not = "watch.events is false"
        if watch.events:
            events = ArticleEvents(
                folder, self._changed, ignored=(self.cfg.output.dir, self.cfg.state_dir)
            )
            why_not = events.start() or ""
            if not why_not:
                self.events = events
                log.info(
                    "watching %s: file events, and a scan every %ss (settle %ss)",
                    folder, watch.interval, watch.settle,
                )  # fmt: skip
                return
            log.warning("watch: no file events for %s: %s; polling instead", folder, why_not)
        log.info(
            "watching %s: a scan every %ss (settle %ss; %s)",
            folder, watch.interval, watch.settle, why_not,
        )  # fmt: skip

    def _changed(self, files: frozenset[str] | None = None) -> None:
        """A file event: build once the file has been left alone for ``watch.settle`` seconds.
        Each event moves the job later, so a burst of writes is one build after the last.
        That build looks at ``files`` alone (and those of the events before it), or at every
        file when a folder changed (``None``)."""
        if self.stopping.is_set():
            return
        with self.changes_lock:
            if files is None or self.changed_files is None:
                self.changed_files = None
            else:
                self.changed_files |= files
        when = datetime.now(UTC) + timedelta(seconds=self.cfg.watch.settle + 0.2)
        self.scheduler.add_job(
            self.build_changes,
            DateTrigger(run_date=when, timezone=UTC),
            id="change",
            replace_existing=True,
        )

    def build_changes(self) -> None:
        """The build after file events: of the files they named, or of everything."""
        with self.changes_lock:
            files, self.changed_files = self.changed_files, set()
        self.build(files=None if files is None else frozenset(files))

    # ----------------------------------------------------------------- jobs

    def build(self, full: bool = False, files: frozenset[str] | None = None) -> None:
        """One build (of the changed ``files`` alone, when given); any failure is logged and
        the next scan tries again."""
        if self.stopping.is_set():
            return
        with self.build_lock:
            try:
                # The first build names the problems already there; later ones only new ones.
                refused = self.refusal  # kept in status.json by the build's own write
                report = pipeline.build(
                    self.cfg, settle=self.cfg.watch.settle, repeat_known=self.first, full=full,
                    paths=None if self.first else files,
                    status=refused and pipeline.refusal_status(refused.error, refused.at),
                )  # fmt: skip
                self.first = False
            except Exception as exc:
                with self.changes_lock:  # what it was to look at: the next build looks at all
                    self.changed_files = None
                if self.refusal is not None:  # a build that stopped early may not have kept it
                    pipeline.record_refusal(self.cfg, self.refusal.error, self.refusal.at)
                if isinstance(exc, RefeedError):  # an operator's problem (a folder): as is
                    log.error("build failed, previous feeds kept: %s", exc)
                else:  # a bug: the class names it for the report
                    log.error("build failed, previous feeds kept: %s: %s", type(exc).__name__, exc)
                return
        for rel in report.written:
            log.debug("wrote %s", rel)  # watch -v
        for rel in report.pruned:
            log.debug("removed %s", rel)
        if report.written or report.pruned or report.failed or report.uploaded or full:
            log.info(
                "built: %d articles, %d published, %d skipped, %d held back; %d feed files written, %d unchanged; %d objects uploaded, %d deleted (%.2f s)",
                report.articles_read, report.published, len(report.skipped), len(report.held_back),
                len(report.written), len(report.unchanged), len(report.uploaded),
                len(report.deleted), report.seconds,
            )  # fmt: skip
        if report.pending and self.events is not None:  # too fresh to publish yet: no event
            self._changed(frozenset(report.pending))  # may follow: look again once settled
        if self.after_build is not None:
            self.after_build(self.cfg, report)
        if report.next_due is not None:
            self.scheduler.add_job(
                self.build,
                DateTrigger(run_date=report.next_due, timezone=UTC),
                id="due",
                replace_existing=True,
            )


def validate(cfg: Config) -> Config:
    """``cfg`` if a build and the schedule can run with it (what ``refeed check`` checks of the
    config); else ConfigError naming the key: a crontab APScheduler cannot read, a selector,
    a folder (:func:`refeed.pipeline.validate`)."""
    if (problem := schedule_problem(cfg)) is not None:
        raise ConfigError(cfg.source, [problem])
    pipeline.validate(cfg)
    return cfg


def schedule_problem(cfg: Config) -> str | None:
    """Why APScheduler cannot run ``watch.full_rebuild``, naming the key; None when it can."""
    if cfg.watch.full_rebuild:
        try:
            CronTrigger.from_crontab(cfg.watch.full_rebuild, timezone=UTC)
        except ValueError as exc:
            return f"watch.full_rebuild: {exc}, got {cfg.watch.full_rebuild!r}"
    return None


def watch(config_path: Path, loader: Loader = load_config) -> None:
    """Run the watcher until SIGTERM or SIGINT."""
    Service(config_path, loader).run()
