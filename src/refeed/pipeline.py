"""The one module that composes the stages: scan → load → plan → clean → assemble → render → write.

Builds are incremental: the state store remembers each file's stat and parse, cleaned bodies,
and the fingerprint each feed was rendered from, so an unchanged article is not read again and
an unchanged feed is not rendered again. A bad article is skipped with one log line and never
costs another article its place; a feed that fails to render or write keeps its previous file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import posixpath
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from . import assemble, load, state, thumbs, write
from .__about__ import __version__
from .config import Config
from .errors import ArticleError, ConfigError, WriteError
from .models import Article, BodyFormat, Entry, Feed, Problem, RunReport, Thumbnail

if TYPE_CHECKING:
    from . import clean

log = logging.getLogger("refeed")
Progress = Callable[[int, int], None]


@dataclass
class _Run:
    """One build's working set."""

    cfg: Config
    store: state.State
    now: datetime
    report: RunReport = field(default_factory=RunReport)
    articles: list[Article] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    entry_keys: dict[str, str] = field(default_factory=dict)  # entry id -> fingerprint
    media: set[str] = field(default_factory=set)  # mirrored thumbnails the feeds use
    changed: bool = False


@dataclass
class _Scan:
    """The article directory compared with the store, before anything is read."""

    unchanged: list[tuple[load.SourceFile, state.Stored]] = field(default_factory=list)
    modified: list[tuple[load.SourceFile, state.Stored | None]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)


def check(cfg: Config) -> list[Problem]:
    """Every problem with the config and the articles, without writing anything."""
    _rules(cfg)
    problems: list[Problem] = []
    sources, not_followed = _scan(cfg)
    for problem in not_followed:
        log.warning("%s", problem)
    for source in sources:
        try:
            _parse(source, load.read_bytes(source, cfg.articles.max_bytes), cfg)
        except ArticleError as exc:
            problems.append(Problem(source.rel, exc.reason))
            log.warning("%s", problems[-1])
    return [*not_followed, *problems]


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
) -> RunReport:
    """Bring the output directory up to date with the articles and report what happened.

    ``settle``: files modified less than that many seconds ago wait for a later build.
    ``repeat_known``: log again the articles that failed before and have not changed since.
    ``full``: forget what the store knows and re-read and re-render everything (files whose
    bytes come out the same are still left untouched).
    ``lookup``: enclosure facts from this function instead of the cached prober.
    ``offline``: no network: thumbnails come from the cache or are guessed from their URL.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    wait = cfg.state is None or cfg.state.lock == "wait"
    with state.open_state(cfg.state_dir, wait=wait) as store:
        run = _Run(cfg, store, now)
        try:
            if full:
                store.forget_everything()
            config_key = _fingerprint(cfg)
            run.changed = store.meta("config") != config_key
            if run.changed:
                _rules(cfg)  # a new config's selectors are checked before anything is read
            store.set_meta("config", config_key)
            found = _compare(run, settle)
            if run.changed or prune or not _outputs_intact(run):
                _load(run, found, progress, repeat_known)
                _produce(run, lookup, prune, offline or cfg.thumbnails.offline)
            else:
                _report_unchanged(run, found, repeat_known)
            if run.report.failed:
                store.set_meta("config", "")  # the next build must retry what could not be written
        finally:
            run.report.seconds = time.perf_counter() - started
            store.write_status(_status(run))
    return run.report


def _rules(cfg: Config) -> clean.Rules:
    from . import clean  # bleach, lxml and cssselect load only when there is cleaning to do

    try:
        return clean.compile_rules(cfg.clean.remove)
    except ValueError as exc:
        raise ConfigError(cfg.source, [str(exc)]) from None


def _scan(cfg: Config) -> tuple[list[load.SourceFile], list[Problem]]:
    if not cfg.articles.dir.is_dir():
        raise ConfigError(
            cfg.source, [f"articles.dir: not a folder, got {str(cfg.articles.dir)!r}"]
        )
    return load.scan(cfg.articles.dir, cfg.articles.include, cfg.articles.exclude)


def _fingerprint(*parts: object) -> str:
    text = repr((__version__, *parts)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


# --------------------------------------------------------------------------- loading


def _compare(run: _Run, settle: float) -> _Scan:
    """Which files are new, modified or gone; nothing is read or decoded yet."""
    cfg, store, report = run.cfg, run.store, run.report
    parse_key = _fingerprint(cfg.articles, cfg.categories.hierarchical)
    if store.meta("parse") != parse_key:
        store.clear_articles()  # settings that change how files parse: everything is re-read
        store.set_meta("parse", parse_key)
        run.changed = True
    sources, report.not_followed = _scan(cfg)
    for problem in report.not_followed:
        log.warning("%s", problem)
    report.articles_read = len(sources)
    known = store.articles()
    found = _Scan(gone=set(known) - {s.rel for s in sources})
    store.forget_articles(sorted(found.gone))
    settled_before = time.time_ns() - int(settle * 1e9)
    for source in sources:
        stored = known.get(source.rel)
        if stored is not None and (stored.size, stored.mtime_ns) == (source.size, source.mtime_ns):
            found.unchanged.append((source, stored))
        elif settle and source.mtime_ns > settled_before:
            report.pending.append(source.rel)  # still being written: the last good version stays
            if stored is not None and stored.parsed:
                found.unchanged.append((source, stored))
        else:
            found.modified.append((source, stored))
    thumbs_due = store.meta("thumbs_due")
    run.changed |= bool(thumbs_due) and float(thumbs_due or 0) <= run.now.timestamp()
    due = store.meta("next_due")
    run.changed |= bool(found.gone or found.modified) or (
        bool(due) and datetime.fromisoformat(due or "") <= run.now
    )
    return found


def _report_unchanged(run: _Run, found: _Scan, repeat_known: bool) -> None:
    """Nothing to do: the report comes from the store alone (no article is decoded)."""
    report, store = run.report, run.store
    for source, stored in found.unchanged:
        if stored.error is not None:
            report.skipped.append(Problem(source.rel, stored.error))
            if repeat_known:
                log.warning("%s", report.skipped[-1])
    report.held_back = [Problem(*item) for item in json.loads(store.meta("held") or "[]")]
    report.next_due = (
        datetime.fromisoformat(store.meta("next_due") or "") if store.meta("next_due") else None
    )
    report.published = int(store.meta("published") or 0)
    report.unchanged = sorted(store.feed_fingerprints())


def _load(run: _Run, found: _Scan, progress: Progress | None, repeat_known: bool) -> None:
    """Every article: decoded from the store when its file is unchanged, parsed anew otherwise."""
    report, store = run.report, run.store
    loaded: list[Article] = []
    total = len(found.unchanged) + len(found.modified)
    known = store.all_articles() if found.unchanged else {}
    for index, (source, stored) in enumerate(found.unchanged):
        if progress is not None:
            progress(index, total)
        run.digests[source.rel] = stored.hash
        article = known.get(source.rel)
        if article is not None:
            loaded.append(article)
        elif stored.error is not None:
            report.skipped.append(Problem(source.rel, stored.error))
            if repeat_known:
                log.warning("%s", report.skipped[-1])
    parsed = _parallel(partial(_read_one, cfg=run.cfg), [source for source, _ in found.modified])
    for index, ((source, maybe_stored), outcome) in enumerate(
        zip(found.modified, parsed, strict=True)
    ):
        if progress is not None:
            progress(len(found.unchanged) + index, total)
        try:
            loaded.append(_load_modified(run, source, maybe_stored, outcome, found.gone))
        except ArticleError as exc:
            log.warning("%s", exc)
            report.skipped.append(Problem(source.rel, exc.reason))
    held = []
    for article in sorted(loaded, key=lambda a: a.source):
        if run.cfg.articles.future == "hold" and article.published > run.now:
            held.append(
                Problem(
                    article.source,
                    f"held back: dated {article.published.isoformat()}, in the future",
                )
            )
            log.info("%s", held[-1])
            report.next_due = min(filter(None, (report.next_due, article.published)))
        else:
            run.articles.append(article)
    report.held_back = held
    report.skipped.sort(key=lambda p: p.path)
    _drop_duplicate_ids(run)
    store.set_meta("held", json.dumps([[p.path, p.reason] for p in held], ensure_ascii=False))
    store.set_meta("next_due", report.next_due.isoformat() if report.next_due else "")


_Read = tuple[str | None, Article | None, str | None]  # (content hash, article, why it failed)


def _read_one(source: load.SourceFile, cfg: Config) -> _Read:
    """Read and parse one file (in a worker process when there are many); never raises."""
    try:
        data = load.read_bytes(source, cfg.articles.max_bytes)
    except ArticleError as exc:
        return None, None, exc.reason
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        article = _parse(source, data, cfg)
    except ArticleError as exc:
        return digest, None, exc.reason
    return digest, dataclasses.replace(article, body=""), None  # bodies are re-read when cleaned


def _load_modified(
    run: _Run, source: load.SourceFile, stored: state.Stored | None, outcome: _Read, gone: set[str]
) -> Article:
    digest, article, error = outcome
    if digest is None:  # unreadable: not remembered, so it is tried again next time
        raise ArticleError(source.rel, error or "cannot read file")
    run.digests[source.rel] = digest
    if stored is not None and stored.hash == digest and stored.error is None and stored.parsed:
        run.store.touch_article(source.rel, source.size, source.mtime_ns)  # same bytes, new stat
        unchanged = stored.article(source.rel)
        assert unchanged is not None  # stored.parsed is set
        return unchanged
    if article is None:
        run.store.put_article(source.rel, source.size, source.mtime_ns, digest, None, error)
        raise ArticleError(source.rel, error or "cannot parse")
    article = _with_identity(run, article, digest, gone)
    run.store.put_article(source.rel, source.size, source.mtime_ns, digest, article, None)
    return article


def _drop_duplicate_ids(run: _Run) -> None:
    """Readers deduplicate on ids: of two articles claiming one id, the second is skipped."""
    owners: dict[str, str] = {}
    kept = []
    for article in run.articles:
        identity = assemble.article_id(article, run.cfg)
        if identity in owners:
            problem = Problem(
                article.source, f"id {identity!r} is already used by {owners[identity]}"
            )
            log.warning("%s", problem)
            run.report.skipped.append(problem)
        else:
            owners[identity] = article.source
            kept.append(article)
    run.articles = kept


def _parse(source: load.SourceFile, data: bytes, cfg: Config) -> Article:
    try:
        text = load.decode(data, source.rel, cfg.articles.encodings)
        mtime = source.path.stat().st_mtime if cfg.articles.missing_date == "mtime" else None
        flat = not cfg.categories.hierarchical
        return load.parse_article(text, source.rel, cfg.articles, flat=flat, mtime=mtime)
    except ArticleError:
        raise
    except Exception as exc:  # a bug or a library edge case must not cost the other articles
        raise ArticleError(source.rel, f"unexpected error: {type(exc).__name__}: {exc}") from None


def _with_identity(run: _Run, article: Article, digest: str, gone: set[str]) -> Article:
    """Pin the id the article was first published with (unless its frontmatter names one)."""
    if article.id:
        return article
    identity = run.store.identity(article.source, digest, gone)
    if identity is None:
        identity = assemble.article_id(article, run.cfg)
    run.store.remember_identity(article.source, digest, identity)
    return dataclasses.replace(article, id=identity)


# --------------------------------------------------------------------------- producing


def _outputs_intact(run: _Run) -> bool:
    files = run.store.feed_fingerprints()
    return bool(files) and all((run.cfg.output.dir / rel).is_file() for rel in files)


def _produce(run: _Run, lookup: thumbs.ThumbLookup | None, prune: bool, offline: bool) -> None:
    entries: dict[str, Entry] = {}
    keys: dict[str, str] = {}
    articles = run.articles
    while True:  # an article that fails to clean is dropped and the feeds re-planned without it
        plans = assemble.plan_feeds(articles, run.cfg)
        failed = _make_entries(
            run, plans, entries, keys, partial(_enclosures, run, lookup, offline)
        )
        if not failed:
            break
        articles = [a for a in articles if a.source not in failed]
    run.store.keep_cleaned({keys[source] for source in entries})
    newest = max(
        (e.updated for e in entries.values()), key=lambda d: d.timestamp(), default=assemble.EPOCH
    )
    feeds = [
        assemble.make_feed(p.spec, [entries[a.source] for a in p.members], run.cfg, newest)
        for p in plans
    ]
    run.report.published = len(articles)
    run.store.set_meta("published", str(len(articles)))
    _handle_orphans(run, feeds, prune, newest)
    _publish(run, feeds)
    if prune:
        _prune_media(run)
    _announce(run, feeds)


@dataclass(frozen=True)
class _CleanJob:
    """One body to clean; plain values only, so it can go to another process."""

    key: str
    source: str
    path: str
    body_format: BodyFormat
    base: str
    summary: str | None


def _make_entries(
    run: _Run,
    plans: list[assemble.Plan],
    entries: dict[str, Entry],
    keys: dict[str, str],
    enclosures: Callable[[list[str]], dict[str, Thumbnail]],
) -> set[str]:
    """Entries for the articles that appear in some feed (only those: feeds are capped).

    Cleaned bodies come from the store when the article and the cleaning rules are unchanged;
    the rest are cleaned, on every core when there are enough of them to pay for the processes.
    """
    cfg = run.cfg
    members = {a.source: a for plan in plans for a in plan.members if a.source not in entries}
    jobs: list[_CleanJob] = []
    links = {source: assemble.article_link(article, cfg) for source, article in members.items()}
    bases = {source: cfg.articles.base_url or links[source] for source in members}
    for source in members:
        keys[source] = _fingerprint(
            run.digests[source], bases[source], cfg.clean.remove, cfg.clean.summary_length
        )
    cached = run.store.cleaned_many([keys[source] for source in members])
    for source, article in members.items():
        if keys[source] not in cached:
            path = str(cfg.articles.dir / source)
            jobs.append(
                _CleanJob(
                    keys[source], source, path, article.body_format, bases[source], article.summary
                )
            )
    cleaned = _clean_all(jobs, cfg) if jobs else {}
    thumbnail_urls = {
        source: _thumbnail_url(article, links[source]) for source, article in members.items()
    }
    facts = enclosures(sorted({url for url in thumbnail_urls.values() if url}))
    failed: set[str] = set()
    for source, article in members.items():
        outcome = cached.get(keys[source]) or cleaned[keys[source]]
        if isinstance(outcome, str):
            failed.add(source)
            run.report.skipped.append(Problem(source, outcome))
            log.warning("%s", run.report.skipped[-1])
            continue
        if keys[source] in cleaned:
            run.store.put_cleaned(keys[source], *outcome)
        url = thumbnail_urls[source]
        thumbnail = facts.get(url) if url else None
        entries[source] = assemble.make_entry(article, cfg, *outcome, thumbnail, links[source])
        # What the entry is made of, cheaper to fingerprint than the entry and its whole body.
        run.entry_keys[entries[source].id] = _fingerprint(
            keys[source], article, thumbnail, links[source]
        )
    return failed


def _thumbnail_url(article: Article, link: str) -> str | None:
    url = assemble.thumbnail_url(article, link)
    if url is None and article.thumbnail:
        log.warning(
            "%s: thumbnail dropped: not an http(s) URL, got %r", article.source, article.thumbnail
        )
    return url


def _enclosures(
    run: _Run, lookup: thumbs.ThumbLookup | None, offline: bool, urls: list[str]
) -> dict[str, Thumbnail]:
    """Enclosure facts per thumbnail URL: remembered while fresh, else probed (or mirrored).

    A probe that fails leaves the item with length 0 and a guessed type, and one warning; a
    failure is remembered for ``thumbnails.failure_ttl`` so a dead host costs one attempt.
    """
    cfg, store = run.cfg.thumbnails, run.store
    if lookup is not None:
        return {url: lookup(url) for url in urls}
    if cfg.mode == "off":
        return {url: thumbs.guess(url) for url in urls}
    now = run.now.timestamp()
    known = store.thumbs(urls, cfg.mode)
    fresh = {
        u: f
        for u, f in known.items()
        if f.checked + (cfg.ttl if f.ok else cfg.failure_ttl) > now and _media_present(run, f)
    }
    todo = [url for url in urls if url not in fresh]
    if todo and not offline:
        for url, fact in _probe(run, todo).items():
            store.put_thumb(url, cfg.mode, fact)
            fresh[url] = fact
            if not fact.ok:
                log.warning(
                    "thumbnail %s: %s; published with length 0 and a guessed type", url, fact.error
                )
    expiries = [f.checked + (cfg.ttl if f.ok else cfg.failure_ttl) for f in fresh.values()]
    store.set_meta("thumbs_due", str(min(expiries)) if expiries else "")
    result = {}
    for url in urls:
        remembered = fresh.get(url) or known.get(url)  # a stale fact beats a guess when offline
        if remembered is not None and remembered.ok:
            public = join_media(run.cfg, remembered.media) if remembered.media else url
            result[url] = Thumbnail(public, remembered.length, remembered.type)
        else:
            result[url] = thumbs.guess(url)
    if cfg.mode == "mirror":
        run.media = {f.media for f in fresh.values() if f.ok and f.media}
    return result


def _media_present(run: _Run, fact: state.ThumbFact) -> bool:
    return not fact.media or (run.cfg.output.dir / fact.media).is_file()


def join_media(cfg: Config, rel: str) -> str:
    from .urls import join_path

    return join_path(cfg.site.feeds_url, rel)


def _probe(run: _Run, urls: list[str]) -> dict[str, state.ThumbFact]:
    from . import net  # httpx loads only when something is to be fetched

    cfg = run.cfg.thumbnails
    mirror = cfg.mode == "mirror"
    checked = run.now.timestamp()
    with net.make_client(run.cfg.site.url, cfg.timeout) as client:
        prober = net.Prober(cfg, client, net.Guard(cfg.allow))
        probes = prober.probe_all(urls, mirror=mirror)
    facts = {}
    for url in urls:
        probe = probes.get(url)
        if probe is None:  # the time budget ran out first: not remembered, tried next build
            continue
        media = None
        if mirror and probe.body is not None and probe.error is None:
            media = f"media/{hashlib.sha256(probe.body).hexdigest()}{thumbs.EXTENSIONS.get(probe.type, '')}"
            if (
                _guarded(
                    run.report,
                    partial(write.write_if_changed, run.cfg.output.dir, media, probe.body),
                )
                is None
            ):
                continue
        facts[url] = state.ThumbFact(
            probe.length, probe.type, media, probe.error is None, checked, probe.error
        )
    return facts


_POOL_MIN_JOBS = 200  # below this, starting worker processes costs more than it saves
_T = TypeVar("_T")
_R = TypeVar("_R")


def _parallel(work: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """``[work(item) for item in items]``, on every core when there are enough items."""
    workers = min(os.cpu_count() or 1, 8)
    if len(items) < _POOL_MIN_JOBS or workers < 2:
        return [work(item) for item in items]
    # fork is cheapest, but not safe once threads exist (refeed watch runs a scheduler).
    forkable = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forkable else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(work, items, chunksize=max(1, len(items) // (workers * 8))))


def _clean_all(jobs: list[_CleanJob], cfg: Config) -> dict[str, tuple[str, str] | str]:
    _rules(cfg)  # refuse a bad selector here, once, rather than in every job
    work = partial(_clean_one, encodings=cfg.articles.encodings, max_bytes=cfg.articles.max_bytes,
                   selectors=cfg.clean.remove, summary_length=cfg.clean.summary_length)  # fmt: skip
    return dict(zip((job.key for job in jobs), _parallel(work, jobs), strict=True))


def _clean_one(
    job: _CleanJob,
    encodings: tuple[str, ...],
    max_bytes: int,
    selectors: tuple[str, ...],
    summary_length: int,
) -> tuple[str, str] | str:
    """(content, summary) for one body, or why it could not be cleaned; never raises."""
    from . import clean

    try:
        source = load.SourceFile(job.source, Path(job.path))
        text = load.decode(load.read_bytes(source, max_bytes), job.source, encodings)
        body = load.split_frontmatter(text, job.source)[1]
        content = clean.clean_html(
            clean.to_html(body, job.body_format), job.base, clean.compile_rules(selectors)
        )
        if job.summary:
            summary = clean.plain_text(job.summary) if "<" in job.summary else job.summary
        else:
            summary = clean.summarize(clean.plain_text(content), summary_length)
    except Exception as exc:  # one bad body must not cost the others
        return f"cannot clean body: {type(exc).__name__}: {exc}"
    return content, summary


def _handle_orphans(run: _Run, feeds: list[Feed], prune: bool, newest: datetime) -> None:
    """Feeds on disk whose category or tag has no articles now: kept empty, or removed (prune).

    Only refeed's own folders are looked at, so other files in the output directory are safe.
    """
    root = run.cfg.output.dir
    planned = {feed.spec.file(fmt) for feed in feeds for fmt in run.cfg.output.formats}
    ours = (assemble.CATEGORY_ROOT + "/", assemble.TAG_ROOT + "/")
    orphans = sorted(rel for rel in write.existing_feeds(root) - planned if rel.startswith(ours))
    if prune:
        for rel in orphans:
            if _guarded(run.report, partial(write.remove, root, rel)):
                run.report.pruned.append(rel)
                run.store.set_feed_fingerprint(rel, None)
        return
    planned_dirs = {feed.spec.dir for feed in feeds}
    for folder in sorted({posixpath.dirname(rel) for rel in orphans} - planned_dirs):
        title = next(
            (
                t
                for rel in orphans
                if posixpath.dirname(rel) == folder and (t := write.read_title(root, rel))
            ),
            None,
        )
        feeds.append(assemble.make_feed(assemble.orphan_spec(folder, title), [], run.cfg, newest))


def _publish(run: _Run, feeds: list[Feed]) -> None:
    """Render and write each feed file whose inputs changed (or whose file is missing)."""
    from . import render  # feedgen loads only when a feed is rendered

    root, report = run.cfg.output.dir, run.report
    previous = run.store.feed_fingerprints()
    for feed in feeds:
        head = dataclasses.replace(feed, entries=())
        key = _fingerprint(head, [run.entry_keys[e.id] for e in feed.entries])
        for fmt in run.cfg.output.formats:
            rel = feed.spec.file(fmt)
            if previous.get(rel) == key and (root / rel).is_file():
                report.unchanged.append(rel)
                continue
            try:
                data = render.render(feed, fmt)
            except Exception as exc:
                report.failed.append(Problem(rel, f"cannot render: {type(exc).__name__}: {exc}"))
                log.error("%s", report.failed[-1])
                continue
            changed = _guarded(report, partial(write.write_if_changed, root, rel, data))
            if changed is None:
                continue
            (report.written if changed else report.unchanged).append(rel)
            run.store.set_feed_fingerprint(rel, key)


def _prune_media(run: _Run) -> None:
    """Mirrored thumbnails no feed uses any more (only with --prune, like empty feeds)."""
    folder = run.cfg.output.dir / "media"
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        rel = f"media/{path.name}"
        if (
            rel not in run.media
            and path.is_file()
            and _guarded(run.report, partial(write.remove, run.cfg.output.dir, rel))
        ):
            run.report.pruned.append(rel)


def _announce(run: _Run, feeds: list[Feed]) -> None:
    """WebSub: tell the hub which feeds changed, once each; a hub that is down costs nothing."""
    hub = run.cfg.websub.hub
    if not hub or not run.report.written:
        return
    from . import net

    written = set(run.report.written)
    urls = [
        url
        for feed in feeds
        for fmt, url in feed.self_urls.items()
        if feed.spec.file(fmt) in written
    ]
    with net.make_client(run.cfg.site.url, run.cfg.thumbnails.timeout) as client:
        for failure in net.ping_hub(client, hub, urls):
            log.warning("WebSub hub %s not told: %s", hub, failure)


def _guarded(report: RunReport, action: Callable[[], bool]) -> bool | None:
    try:
        return action()
    except WriteError as exc:
        report.failed.append(Problem(exc.path, exc.reason))
        log.error("%s", report.failed[-1])
        return None


def _status(run: _Run) -> dict[str, object]:
    report = run.report
    problems = report.failed or report.skipped
    return {
        "last_build": run.now.isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 3),
        "articles": report.articles_read,
        "published": report.published,
        "skipped": len(report.skipped),
        "held_back": len(report.held_back),
        "pending": len(report.pending),
        "feeds_written": len(report.written),
        "feeds_unchanged": len(report.unchanged),
        "failed": len(report.failed),
        "last_error": str(problems[-1]) if problems else None,
        "next_due": report.next_due.isoformat() if report.next_due else None,
        "feed_files": sorted(set(report.written) | set(report.unchanged)),
    }
