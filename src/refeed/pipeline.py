"""The one module that composes the stages: scan → load → plan → clean → assemble → render → write.

Builds are incremental: the state store remembers each file's stat and parse, cleaned bodies,
and the fingerprint each feed was rendered from, so an unchanged article is not read again and
an unchanged feed is not rendered again. A bad article is skipped with one log line and never
costs another article its place; a feed that fails to render or write keeps its previous file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from . import assemble, load, state, thumbs, write
from .__about__ import __version__
from .config import Config
from .errors import ArticleError, ConfigError, WriteError
from .models import Article, Entry, Feed, Problem, RunReport

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
    bodies: dict[str, str] = field(
        default_factory=dict
    )  # read this run; others are re-read on demand
    changed: bool = False


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
    lookup: thumbs.ThumbLookup = thumbs.guess,
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
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    with state.open_state(
        cfg.state_dir, wait=cfg.state is None or cfg.state.lock == "wait"
    ) as store:
        run = _Run(cfg, store, now)
        try:
            if full:
                store.forget_everything()
            config_key = _fingerprint(cfg)
            run.changed = store.meta("config") != config_key
            if run.changed:
                _rules(cfg)  # a new config's selectors are checked before anything is read
            store.set_meta("config", config_key)
            _load(run, progress, settle, repeat_known)
            if run.changed or prune or not _outputs_intact(run):
                _produce(run, _rules(cfg), lookup, prune)
            else:
                run.report.unchanged = sorted(store.feed_fingerprints())
                run.report.published = len(run.articles)
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
    return hashlib.blake2b(
        repr((__version__, *parts)).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


# --------------------------------------------------------------------------- loading


def _load(run: _Run, progress: Progress | None, settle: float, repeat_known: bool) -> None:
    cfg, store, report = run.cfg, run.store, run.report
    parse_key = _fingerprint(cfg.articles, cfg.categories.hierarchical)
    if store.meta("parse") != parse_key:
        store.clear_articles()  # settings that change how files parse: everything is re-read
        store.set_meta("parse", parse_key)
        run.changed = True
    sources, report.not_followed = _scan(cfg)
    for problem in report.not_followed:
        log.warning("%s", problem)
    known = store.articles()
    gone = set(known) - {s.rel for s in sources}
    store.forget_articles(sorted(gone))
    run.changed |= bool(gone)
    wall = time.time()
    for index, source in enumerate(sources):
        if progress is not None:
            progress(index, len(sources))
        report.articles_read += 1
        try:
            article = _load_one(
                run,
                source,
                known.get(source.rel),
                gone,
                wall - settle if settle else None,
                repeat_known,
            )
        except ArticleError as exc:
            report.skipped.append(Problem(source.rel, exc.reason))
            continue
        if article is None:
            continue
        if cfg.articles.future == "hold" and article.published > run.now:
            held = Problem(
                source.rel, f"held back: dated {article.published.isoformat()}, in the future"
            )
            log.info("%s", held)
            report.held_back.append(held)
            report.next_due = min(filter(None, (report.next_due, article.published)))
            continue
        run.articles.append(article)
    _drop_duplicate_ids(run)
    due = store.meta("next_due")
    run.changed |= bool(due) and datetime.fromisoformat(due or "") <= run.now
    store.set_meta("next_due", report.next_due.isoformat() if report.next_due else "")


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


def _load_one(
    run: _Run,
    source: load.SourceFile,
    known: state.Stored | None,
    gone: set[str],
    settled_before: float | None,
    repeat_known: bool,
) -> Article | None:
    """The article in ``source``: from the store when the file is unchanged, else parsed anew."""
    try:
        stat = source.path.stat()
    except OSError as exc:
        raise ArticleError(source.rel, f"cannot read file: {exc.strerror or exc}") from None
    if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
        run.digests[source.rel] = known.hash
        if known.error is not None:
            if repeat_known:
                log.warning("%s: %s", source.rel, known.error)
            raise ArticleError(source.rel, known.error)
        return known.article
    if settled_before is not None and stat.st_mtime > settled_before:
        run.report.pending.append(source.rel)  # still being written: the last good version stays
        if known is not None and known.article is not None:
            run.digests[source.rel] = known.hash
            return known.article
        return None
    run.changed = True
    try:
        data = load.read_bytes(source, run.cfg.articles.max_bytes)
    except ArticleError as exc:
        log.warning("%s", exc)
        raise
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    run.digests[source.rel] = digest
    try:
        article = _parse(source, data, run.cfg)
    except ArticleError as exc:
        log.warning("%s", exc)
        run.store.put_article(source.rel, stat.st_size, stat.st_mtime_ns, digest, None, exc.reason)
        raise
    article = _with_identity(run, article, digest, gone)
    run.bodies[source.rel] = article.body
    run.store.put_article(source.rel, stat.st_size, stat.st_mtime_ns, digest, article, None)
    return article


def _parse(source: load.SourceFile, data: bytes, cfg: Config) -> Article:
    try:
        text = load.decode(data, source.rel, cfg.articles.encodings)
        mtime = source.path.stat().st_mtime if cfg.articles.missing_date == "mtime" else None
        return load.parse_article(
            text, source.rel, cfg.articles, flat=not cfg.categories.hierarchical, mtime=mtime
        )
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


def _produce(run: _Run, rules: clean.Rules, lookup: thumbs.ThumbLookup, prune: bool) -> None:
    entries: dict[str, Entry] = {}
    articles = run.articles
    while True:  # an article that fails to clean is dropped and the feeds re-planned without it
        plans = assemble.plan_feeds(articles, run.cfg)
        failed = _make_entries(run, plans, rules, lookup, entries)
        if not failed:
            break
        articles = [a for a in articles if a.source not in failed]
    newest = max(
        (e.updated for e in entries.values()), key=lambda d: d.timestamp(), default=assemble.EPOCH
    )
    feeds = [
        assemble.make_feed(p.spec, [entries[a.source] for a in p.members], run.cfg, newest)
        for p in plans
    ]
    run.report.published = len(articles)
    _handle_orphans(run, feeds, prune, newest)
    _publish(run, feeds, entries)


def _make_entries(
    run: _Run,
    plans: list[assemble.Plan],
    rules: clean.Rules,
    lookup: thumbs.ThumbLookup,
    entries: dict[str, Entry],
) -> set[str]:
    """Entries for the articles that appear in some feed (only those: feeds are capped)."""
    failed: set[str] = set()
    used: set[str] = set()
    for article in {a.source: a for plan in plans for a in plan.members}.values():
        if article.source in entries:
            continue
        try:
            entries[article.source] = _entry(run, article, rules, lookup, used)
        except Exception as exc:
            failed.add(article.source)
            problem = Problem(article.source, f"cannot clean body: {type(exc).__name__}: {exc}")
            log.warning("%s", problem)
            run.report.skipped.append(problem)
    if not failed:
        run.store.keep_cleaned(used)
    return failed


def _entry(
    run: _Run, article: Article, rules: clean.Rules, lookup: thumbs.ThumbLookup, used: set[str]
) -> Entry:
    from . import clean

    cfg = run.cfg
    link = assemble.article_link(article, cfg)
    base = cfg.articles.base_url or link
    key = _fingerprint(run.digests[article.source], base, rules.selectors, cfg.clean.summary_length)
    used.add(key)
    cached = run.store.cleaned(key)
    if cached is None:
        body = run.bodies.get(article.source)
        if body is None:  # parsed in an earlier run: read the (unchanged) file again
            source = load.SourceFile(article.source, cfg.articles.dir / article.source)
            body = _parse(source, load.read_bytes(source, cfg.articles.max_bytes), cfg).body
        content = clean.clean_html(clean.to_html(body, article.body_format), base, rules)
        if article.summary:
            summary = (
                clean.plain_text(article.summary) if "<" in article.summary else article.summary
            )
        else:
            summary = clean.summarize(clean.plain_text(content), cfg.clean.summary_length)
        run.store.put_cleaned(key, content, summary)
        cached = (content, summary)
    thumbnail = None
    url = assemble.thumbnail_url(article, link)
    if url is not None:
        thumbnail = lookup(url)
    elif article.thumbnail:
        log.warning(
            "%s: thumbnail dropped: not an http(s) URL, got %r", article.source, article.thumbnail
        )
    return assemble.make_entry(article, cfg, cached[0], cached[1], thumbnail)


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


def _publish(run: _Run, feeds: list[Feed], entries: dict[str, Entry]) -> None:
    """Render and write each feed file whose inputs changed (or whose file is missing)."""
    from . import render  # feedgen loads only when a feed is rendered

    root, report = run.cfg.output.dir, run.report
    previous = run.store.feed_fingerprints()
    entry_keys = {source: _fingerprint(entry) for source, entry in entries.items()}
    by_id = {entry.id: entry_keys[source] for source, entry in entries.items()}
    for feed in feeds:
        head = dataclasses.replace(feed, entries=())
        key = _fingerprint(head, [by_id[e.id] for e in feed.entries])
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
