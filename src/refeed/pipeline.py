"""The one module that composes the stages: scan → load → plan → clean → build → render → write.

A bad article is skipped with one log line and never costs another article its place; a feed
that fails to render or write keeps its previous file and the rest are still published.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from . import assemble, clean, load, render, thumbs, write
from .config import Config
from .errors import ArticleError, ConfigError, WriteError
from .models import Article, Entry, Feed, Problem, RunReport

log = logging.getLogger("refeed")
Progress = Callable[[int, int], None]


@dataclass
class _Loaded:
    articles: list[Article] = field(default_factory=list)
    report: RunReport = field(default_factory=RunReport)


def check(cfg: Config) -> list[Problem]:
    """Every problem with the config and the articles, without writing anything."""
    _rules(cfg)
    loaded = _load_all(cfg, now=None, progress=None)
    return [*loaded.report.not_followed, *loaded.report.skipped]


def build(
    cfg: Config,
    *,
    now: datetime | None = None,
    prune: bool = False,
    lookup: thumbs.ThumbLookup = thumbs.guess,
    progress: Progress | None = None,
) -> RunReport:
    """Build every feed ``cfg`` describes into its output directory and report what happened."""
    started = time.perf_counter()
    rules = _rules(cfg)
    now = now or datetime.now(UTC)
    loaded = _load_all(cfg, now, progress)
    report = loaded.report
    entries: dict[str, Entry] = {}
    articles = loaded.articles
    while True:  # an article that fails to clean is dropped and the feeds re-planned without it
        plans = assemble.plan_feeds(articles, cfg)
        failed = _make_entries(plans, cfg, rules, lookup, entries, report)
        if not failed:
            break
        articles = [a for a in articles if a.source not in failed]
    newest = max(
        (e.updated for e in entries.values()), key=lambda d: d.timestamp(), default=assemble.EPOCH
    )
    feeds = [
        assemble.make_feed(p.spec, [entries[a.source] for a in p.members], cfg, newest)
        for p in plans
    ]
    _publish(feeds, cfg, prune, newest, report)
    report.seconds = time.perf_counter() - started
    return report


def _rules(cfg: Config) -> clean.Rules:
    try:
        return clean.compile_rules(cfg.clean.remove)
    except ValueError as exc:
        raise ConfigError(cfg.source, [str(exc)]) from None


def _load_all(cfg: Config, now: datetime | None, progress: Progress | None) -> _Loaded:
    result = _Loaded()
    report = result.report
    if not cfg.articles.dir.is_dir():
        raise ConfigError(
            cfg.source, [f"articles.dir: not a folder, got {str(cfg.articles.dir)!r}"]
        )
    sources, not_followed = load.scan(cfg.articles.dir, cfg.articles.include, cfg.articles.exclude)
    for problem in not_followed:
        log.warning("%s", problem)
    report.not_followed = not_followed
    for index, source in enumerate(sources):
        if progress is not None:
            progress(index, len(sources))
        report.articles_read += 1
        try:
            article = _load_one(source, cfg)
        except ArticleError as exc:
            _skip(report, Problem(source.rel, exc.reason))
            continue
        except Exception as exc:  # a bug or a library edge case must not cost the other articles
            _skip(report, Problem(source.rel, f"unexpected error: {type(exc).__name__}: {exc}"))
            continue
        if now is not None and cfg.articles.future == "hold" and article.published > now:
            held = Problem(
                source.rel, f"held back: dated {article.published.isoformat()}, in the future"
            )
            log.info("%s", held)
            report.held_back.append(held)
            continue
        result.articles.append(article)
    return result


def _load_one(source: load.SourceFile, cfg: Config) -> Article:
    text = load.read_text(source, cfg.articles.encodings, cfg.articles.max_bytes)
    mtime = source.path.stat().st_mtime if cfg.articles.missing_date == "mtime" else None
    return load.parse_article(
        text, source.rel, cfg.articles, flat=not cfg.categories.hierarchical, mtime=mtime
    )


def _skip(report: RunReport, problem: Problem) -> None:
    log.warning("%s", problem)
    report.skipped.append(problem)


def _make_entries(
    plans: list[assemble.Plan],
    cfg: Config,
    rules: clean.Rules,
    lookup: thumbs.ThumbLookup,
    entries: dict[str, Entry],
    report: RunReport,
) -> set[str]:
    """Clean the bodies of articles that appear in some feed (only those: feeds are capped)."""
    failed: set[str] = set()
    for plan in plans:
        for article in plan.members:
            if article.source in entries or article.source in failed:
                continue
            try:
                entries[article.source] = _entry(article, cfg, rules, lookup)
            except Exception as exc:
                failed.add(article.source)
                _skip(
                    report,
                    Problem(article.source, f"cannot clean body: {type(exc).__name__}: {exc}"),
                )
    return failed


def _entry(article: Article, cfg: Config, rules: clean.Rules, lookup: thumbs.ThumbLookup) -> Entry:
    link = assemble.article_link(article, cfg)
    content = clean.clean_html(
        clean.to_html(article.body, article.body_format), cfg.articles.base_url or link, rules
    )
    if article.summary:
        summary = clean.plain_text(article.summary) if "<" in article.summary else article.summary
    else:
        summary = clean.summarize(clean.plain_text(content), cfg.clean.summary_length)
    thumbnail = None
    url = assemble.thumbnail_url(article, link)
    if url is not None:
        thumbnail = lookup(url)
    elif article.thumbnail:
        log.warning(
            "%s: thumbnail dropped: not an http(s) URL, got %r", article.source, article.thumbnail
        )
    return assemble.make_entry(article, cfg, content, summary, thumbnail)


def _publish(
    feeds: list[Feed], cfg: Config, prune: bool, newest: datetime, report: RunReport
) -> None:
    root = cfg.output.dir
    _handle_orphans(feeds, cfg, prune, newest, report)
    for feed in feeds:
        for fmt in cfg.output.formats:
            rel = feed.spec.file(fmt)
            try:
                data = render.render(feed, fmt)
            except Exception as exc:
                report.failed.append(Problem(rel, f"cannot render: {type(exc).__name__}: {exc}"))
                log.error("%s", report.failed[-1])
                continue
            changed = _guarded(report, partial(write.write_if_changed, root, rel, data))
            if changed is True:
                report.written.append(rel)
            elif changed is False:
                report.unchanged.append(rel)


def _handle_orphans(
    feeds: list[Feed], cfg: Config, prune: bool, newest: datetime, report: RunReport
) -> None:
    """Feeds on disk whose category or tag has no articles now: kept empty, or removed (prune).

    Only refeed's own folders are looked at, so other files in the output directory are safe.
    """
    root = cfg.output.dir
    planned = {feed.spec.file(fmt) for feed in feeds for fmt in cfg.output.formats}
    ours = (assemble.CATEGORY_ROOT + "/", assemble.TAG_ROOT + "/")
    orphans = sorted(rel for rel in write.existing_feeds(root) - planned if rel.startswith(ours))
    if prune:
        for rel in orphans:
            if _guarded(report, partial(write.remove, root, rel)):
                report.pruned.append(rel)
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
        feeds.append(assemble.make_feed(assemble.orphan_spec(folder, title), [], cfg, newest))


def _guarded(report: RunReport, action: Callable[[], bool | None]) -> bool | None:
    try:
        return action()
    except WriteError as exc:
        report.failed.append(Problem(exc.path, exc.reason))
        log.error("%s", report.failed[-1])
        return None
