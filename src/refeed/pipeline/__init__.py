"""The one place that composes the stages: scan → load → plan → clean → assemble → render → write.

Builds are incremental: the state store remembers each file's stat and parse, cleaned bodies,
and the fingerprint each feed was rendered from, so an unchanged article is not read again and
an unchanged feed is not rendered again. A bad article is skipped with one log line and never
costs another article its place; a feed that fails to render or write keeps its previous file.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from .. import assemble, load, state, thumbs
from ..config import Config, PublishConfig, WatchConfig
from ..errors import ArticleError, ConfigError, RefeedError, WriteError
from ..models import (
    FEED_FILES,
    INDEX_FILE,
    OPML_FILE,
    PREVIEW_FILE,
    STYLESHEET_FILE,
    Article,
    Entry,
    Problem,
    PublishedFeed,
    RunReport,
)
from ..publish.objects import content_type
from .bodies import tag_notes
from .entries import enclosures, make_entries
from .loading import (
    compare,
    load_articles,
    parse,
    plan,
    private_problem,
    remember_problems,
    remembered_problems,
    report_unchanged,
)
from .publishing import (
    announce,
    handle_orphans,
    prune_media,
    prune_switched_off,
    publish,
    publish_pages,
)
from .run import (
    FAILED_KEY,
    Progress,
    Run,
    fingerprint,
    folder_problem,
    log,
    output_problem,
    page_files,
    rules,
    scan_articles,
)
from .uploads import check_targets, publish_output, require_client

__all__ = [
    "build", "check", "published_feeds", "record_refusal", "served_type", "upload", "validate",
]  # fmt: skip


def served_type(rel: str) -> str:
    """The Content-Type deploy/nginx.conf (and a bucket) gives this file of the output folder."""
    return content_type(rel)


def validate(cfg: Config) -> None:
    """Refuse, naming the keys, a config a build could not run with: selectors lexbor cannot
    apply, an article folder that is not one, output or state folders refeed cannot write.
    ``watch`` runs this at start and on every reload, before anything changes."""
    rules(cfg)
    problems = []
    if not cfg.articles.dir.is_dir():
        problems.append(f"articles.dir: not a folder, got {str(cfg.articles.dir)!r}")
    for folder, key, unusable in _unusable_folders(cfg):
        problems.append(f"{key}: {unusable}, got {str(folder)!r}")
    if problems:
        raise ConfigError(cfg.source, problems)


def _unusable_folders(cfg: Config) -> list[tuple[Path, str, str]]:
    """(folder, its key, why) for the output and state folders a build could not use."""
    found = []
    for folder, key, judge in (
        (cfg.output.dir, "output.dir", output_problem),
        (cfg.state_dir, "state.dir", folder_problem),
    ):
        if (unusable := judge(folder, key)) is not None:
            found.append((folder, key, unusable))
    return found


def record_refusal(cfg: Config, refused: ConfigError, now: datetime) -> None:
    """A refused reload in ``status.json`` (the running config's state folder): monitoring
    sees it at once, not an older error."""
    state.write_status(cfg.state_dir, {**state.read_status(cfg.state_dir),
                                       **refusal_status(refused, now)})  # fmt: skip


def refusal_status(refused: ConfigError, at: datetime) -> dict[str, object]:
    """What ``status.json`` says of a refused reload (kept by every build until one is taken:
    see ``build``'s ``status``)."""
    return {
        "last_error": f"config reload refused: {'; '.join(refused.problems)}",
        "config_refused_at": at.isoformat(timespec="seconds"),
    }


def check(cfg: Config) -> list[Problem]:
    """Every problem with the config and the articles, without writing anything (but the probe
    object each publish: target is checked with, removed again)."""
    rules(cfg)
    require_client(cfg)
    problems: list[Problem] = []
    for folder, _, unusable in _unusable_folders(cfg):
        problems.append(Problem(str(folder), unusable))
        log.warning("%s", problems[-1])
    for rel in _folders_in_place_of_files(cfg.output.dir):
        where = str(cfg.output.dir / rel)
        problems.append(Problem(where, "a folder where refeed writes a file; move it away"))
        log.warning("%s", problems[-1])
    sources, not_followed, drafts, _ = scan_articles(cfg)
    for problem in not_followed:
        log.warning("%s", problem)
    held = list(drafts)
    published: list[Article] = []
    for source in sources:
        try:
            article, warning = parse(source, load.read_bytes(source, cfg.articles.max_bytes), cfg)
        except ArticleError as exc:
            problems.append(Problem(source.rel, exc.reason))
            log.warning("%s", problems[-1])
            continue
        if warning is not None:  # published all the same: a warning, not a problem
            log.warning("%s", warning)
        if article.private and cfg.articles.drafts == "hold":
            held.append(private_problem(article))
        else:
            published.append(article)
    # Listed, not counted: a draft is no problem, and a tag shown as its text still publishes.
    for problem in sorted(held, key=lambda p: p.path):
        log.info("%s", problem)
    for path, note in tag_notes(cfg, published):
        log.warning("%s: %s", path, note)
    return [*not_followed, *problems, *check_targets(cfg)]


def _folders_in_place_of_files(root: Path) -> list[str]:
    """Folders named as the files refeed writes (``rss.xml``, ``index.html``…) under ``root``:
    each would fail its build with exit 3."""
    names = {*FEED_FILES.values(), PREVIEW_FILE, INDEX_FILE, OPML_FILE, STYLESHEET_FILE}
    if not root.is_dir():
        return []
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.name in names and path.is_dir() and not path.is_symlink()
    )


def published_feeds(cfg: Config) -> list[PublishedFeed] | None:
    """The feeds the last build advertised (index.html's rows, in its order), from the state
    store, building and writing nothing; None when no build has recorded them there yet."""
    return state.read_published_feeds(cfg.state_dir)


def upload(cfg: Config, *, verify: bool = False, now: datetime | None = None) -> RunReport:
    """Bring every ``publish:`` target in line with the output folder, without building.

    ``verify``: list each bucket and compare it with the folder, repairing any object that is
    missing, different or stale (the normal path trusts the state store instead)."""
    if not cfg.publish.targets:
        raise ConfigError(cfg.source, ["publish: not configured; add a publish: section"])
    require_client(cfg)
    started, report = time.perf_counter(), RunReport()
    wait = cfg.state is None or cfg.state.lock == "wait"
    with state.open_state(cfg.state_dir, wait=wait) as store:
        try:
            announce(cfg, publish_output(cfg, store, report, verify=verify))
        finally:
            report.seconds = time.perf_counter() - started
            status = store.read_status()
            status.update(_publish_status(report, now or datetime.now(UTC)))
            store.write_status(status)
    return report


def build(
    cfg: Config,
    *,
    now: datetime | None = None,
    prune: bool = False,
    lookup: thumbs.ThumbLookup | None = None,
    offline: bool = False,
    progress: Progress | None = None,
    settle: float = 0.0,
    repeat_known: bool = True,
    full: bool = False,
    paths: frozenset[str] | None = None,
    status: Mapping[str, object] | None = None,
) -> RunReport:
    """Bring the output directory up to date with the articles and report what happened.

    ``settle``: files modified less than that many seconds ago wait for a later build.
    ``repeat_known``: log again the articles that failed before and have not changed since.
    ``full``: forget what the store knows and re-read and re-render everything (files whose
    bytes come out the same are still left untouched).
    ``paths``: only these files (relative to ``articles.dir``) may have changed since the last
    build, as file events tell: they alone are looked at, not the whole folder.
    ``status``: written into ``status.json`` with the build's own figures, over them (the
    service's refused reload: in the same write, so no reader ever sees it missing).
    ``lookup``: enclosure facts from this function instead of the cached prober.
    ``offline``: no network: thumbnails come from the cache or are guessed from their URL.
    """
    once = partial(
        _build, cfg, now or datetime.now(UTC), time.perf_counter(), prune, lookup, offline,
        progress, settle, repeat_known, full, status or {},
    )  # fmt: skip
    try:
        return once(None if full else paths)
    except state.StoreDamaged as exc:  # removed: once more from scratch, as after a deletion
        log.warning("%s", exc)
        return once(None)  # every file: the new store knows none


def _build(
    cfg: Config,
    now: datetime,
    started: float,
    prune: bool,
    lookup: thumbs.ThumbLookup | None,
    offline: bool,
    progress: Progress | None,
    settle: float,
    repeat_known: bool,
    full: bool,
    status: Mapping[str, object],
    paths: frozenset[str] | None,
) -> RunReport:
    wait = cfg.state is None or cfg.state.lock == "wait"
    if (problem := output_problem(cfg.output.dir, "output.dir or --output")) is not None:
        unusable = WriteError(str(cfg.output.dir), problem)  # one line, not one per feed file
        unusable.repeated = _seen_before(cfg, str(unusable))
        raise unusable
    uploading = bool(cfg.publish.targets) and not cfg.publish.deferred
    if uploading:
        require_client(cfg)
    with state.open_state(cfg.state_dir, wait=wait) as store:
        failed_before = frozenset(remembered_problems(store, FAILED_KEY))
        run = Run(cfg, store, now, repeat_known=repeat_known, failed_before=failed_before)
        try:
            if full:
                store.forget_everything()
            # Not what touches no output (publish, the service's timing, the state folder's
            # lock, the config file's name: a change there once re-listed every article);
            # --offline is part of it: the first online build after one probes what it guessed.
            config_key = fingerprint(
                dataclasses.replace(
                    cfg, publish=PublishConfig(), watch=WatchConfig(), state=None, source=""
                ),
                offline or cfg.thumbnails.offline,
            )
            run.changed = store.meta(state.CONFIG_KEY) != config_key
            if run.changed:
                rules(cfg)  # a new config's selectors are checked before anything is read
                store.clear_items()  # made under the old config
            store.set_meta(state.CONFIG_KEY, config_key)
            found = compare(run, settle, paths)
            if run.changed or prune or not _outputs_intact(run):
                load_articles(run, found, progress, repeat_known)
                _produce(run, lookup, prune, offline or cfg.thumbnails.offline)
            else:
                report_unchanged(run, found, repeat_known)
            if uploading:  # every build: a publish that failed before is finished now
                announce(cfg, publish_output(cfg, store, run.report))
            for held in run.report.held_back + run.report.drafts:  # -v lists them every time
                if held not in run.announced:
                    log.debug("%s", held)
            if run.report.failed:
                # The next build must retry what could not be written.
                store.set_meta(state.CONFIG_KEY, "")
            if run.report.failed or failed_before:
                remember_problems(store, FAILED_KEY, run.report.failed)
        except BaseException as exc:
            # A build that did not finish is no build: status.json keeps the last finished
            # one's figures, and says what stopped this one.
            store.write_status({**store.read_status(), "last_error": _stopped_by(exc),
                                "last_failed_at": now.isoformat(timespec="seconds"),
                                **status})  # fmt: skip
            raise
        run.report.seconds = time.perf_counter() - started
        store.write_status({**_status(run), **status})
    return run.report


def _stopped_by(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "build interrupted"
    if isinstance(exc, ConfigError):
        return f"build refused: {exc.source}: {'; '.join(exc.problems)}"
    return f"build failed: {exc}" if isinstance(exc, RefeedError) else f"build failed: {exc!r}"


def _seen_before(cfg: Config, error: str) -> bool:
    """Whether the last build ended with ``error`` too; records it in status.json if not."""
    status = state.read_status(cfg.state_dir)
    if status.get("last_error") == error:
        return True
    if os.access(cfg.state_dir, os.W_OK | os.X_OK):  # else there is no status: said every time
        state.write_status(cfg.state_dir, {**status, "last_error": error})
    return False


def _outputs_intact(run: Run) -> bool:
    """Whether a build with nothing changed may skip producing: every output is there, and so
    is the list of feeds (a store from before schema 4 gets one from the next build)."""
    files = [*run.store.feed_fingerprints(), *page_files(run.cfg)]
    return (
        bool(files)
        and run.store.lists_published_feeds()
        and all((run.cfg.output.dir / rel).is_file() for rel in files)
    )


def _produce(run: Run, lookup: thumbs.ThumbLookup | None, prune: bool, offline: bool) -> None:
    entries: dict[str, Entry] = {}
    left_out: set[str] = set()
    while True:  # an article that fails to clean is dropped and the feeds re-planned without it
        plans = plan(run, left_out)
        failed = make_entries(run, plans, entries, partial(enclosures, run, lookup, offline))
        if not failed:
            break
        left_out |= failed
    run.store.keep_cleaned({parts.clean_key for parts in run.parts.values()})
    newest = max(
        (e.updated for e in entries.values()), key=lambda d: d.timestamp(), default=assemble.EPOCH
    )
    feeds = [
        assemble.make_feed(p.spec, [entries[a.source] for a in p.members], run.cfg, newest)
        for p in plans
    ]
    run.report.published = run.catalog.count - len(left_out)
    run.store.set_meta("published", str(run.report.published))
    try:  # here, not at start: a config refused on the way has created nothing
        run.cfg.output.dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # what the permission bits do not tell (a read-only file system)
        where = "set output.dir or --output to a writable folder"
        reason = f"cannot be created: {exc.strerror}; {where}"
        raise WriteError(str(run.cfg.output.dir), reason) from None
    prune = prune or run.cfg.output.prune  # --prune also forces a build that plans (above)
    handle_orphans(run, feeds, prune, newest)
    publish(run, feeds)
    publish_pages(run, feeds)
    prune_switched_off(run, feeds, prune=prune)
    if prune:
        prune_media(run)
    if not run.cfg.publish.targets:  # else told once the change is on object storage
        announce(run.cfg, run.report.written)


def _status(run: Run) -> dict[str, object]:
    report = run.report
    problems = report.failed or report.skipped
    return {
        "last_build": run.now.isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 3),
        "articles": report.articles_read,
        "published": report.published,
        "skipped": len(report.skipped),
        "held_back": len(report.held_back),
        "drafts": len(report.drafts),
        "pending": len(report.pending),
        "feeds_written": len(report.written),
        "feeds_unchanged": len(report.unchanged),
        "failed": len(report.failed),
        "last_error": str(problems[-1]) if problems else None,
        "next_due": report.next_due.isoformat() if report.next_due else None,
        "feed_files": sorted(set(report.written) | set(report.unchanged)),
        **_publish_part(run),
    }


def _publish_part(run: Run) -> dict[str, object]:
    """The last publish's figures; a build with --no-publish keeps the previous ones."""
    if not run.cfg.publish.targets:
        return {}
    if run.cfg.publish.deferred:
        previous = run.store.read_status().get("publish")
        return {"publish": previous} if previous else {}
    return _publish_status(run.report, run.now)


def _publish_status(report: RunReport, now: datetime) -> dict[str, object]:
    failed = report.publish_failed
    return {
        "publish": {
            "last_run": now.isoformat(timespec="seconds"),
            "uploaded": len(report.uploaded),
            "deleted": len(report.deleted),
            "failed": len(failed),
            "last_error": str(failed[-1]) if failed else None,
        }
    }
