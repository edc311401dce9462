"""Feed items for the articles that land in some feed: cleaned bodies (from the store, or
cleaned on every core) and enclosure facts (remembered, probed or mirrored)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import NamedTuple

from .. import assemble, load, state, thumbs, write
from ..config import Config, Sanitizer
from ..errors import ArticleError
from ..models import Article, BodyFormat, Entry, Feed, Problem, Thumbnail
from ..urls import join_path
from .bodies import (
    LINKED,
    BodySettings,
    post_targets,
    prepare,
    renders_tags,
    settings_of,
)
from .loading import source_file
from .run import Parts, PostTarget, Run, fingerprint, guarded, log, parallel, rules


@dataclass(frozen=True)
class CleanJob:
    """One body to clean; plain values only, so it can go to another process."""

    key: str
    source: str
    path: str  # as named in the article folder (Hexo's asset folder is beside it)
    file: load.SourceFile  # as scanned: read without following links, checked to be that file
    digest: str  # of the bytes the article was parsed from: a body edited since waits a build
    body_format: BodyFormat
    base: str
    summary: str | None
    link: str
    tag_plugins: bool
    targets: tuple[PostTarget, ...]


class CleanedBody(NamedTuple):
    content: str
    summary: str
    notes: tuple[str, ...]  # said once, when the body is cleaned (then it is remembered)


def make_entries(
    run: Run,
    plans: list[assemble.Plan],
    entries: dict[str, Entry],
    enclosures: Callable[[list[str]], dict[str, Thumbnail]],
) -> set[str]:
    """Entries for the articles that appear in some feed (only those: feeds are capped).

    Items come from the store when already made under this config; cleaned bodies likewise.
    The rest are made, and cleaned on every core when there are enough to pay for the processes.
    """
    wanted = list(
        dict.fromkeys(a.source for plan in plans for a in plan.members if a.source not in entries)
    )
    # Content hashes of the unchanged members (the store compared their stats, not their bytes).
    run.digests.update(run.store.hashes([s for s in wanted if s not in run.digests]))
    items = run.store.items(wanted)
    for source in [s for s, item in items.items() if item.clean_key.startswith(LINKED)]:
        del items[source]  # links to other posts, whose titles or URLs may have changed
    unmade = [source for source in wanted if source not in items]
    present = run.store.cleaned_keys([item.clean_key for item in items.values()])
    stale = [source for source in items if items[source].clean_key not in present]
    jobs: list[CleanJob] = []
    # Made as the cleaning workers take them: the items of a cold build are made (and their
    # bodies looked up) while the first bodies are already being cleaned.
    made = _clean_jobs(run, items, stale=stale, unmade=unmade, into=jobs)
    outcomes = clean_all(run, made, expected=len(stale) + len(unmade))
    cleaned = dict(zip((job.key for job in jobs), outcomes, strict=True))
    for source, item in sorted(items.items()):
        if item.thumbnail:  # a failed probe names the article, not only the URL
            run.thumbnail_users.setdefault(item.thumbnail, source)
    facts = enclosures(sorted({item.thumbnail for item in items.values() if item.thumbnail}))
    failed: set[str] = set()
    for source in wanted:
        item = items[source]
        outcome = cleaned.get(item.clean_key)
        if isinstance(outcome, str):
            failed.add(source)
            run.report.skipped.append(Problem(source, outcome))
            log.warning("%s", run.report.skipped[-1])
            continue
        if outcome is not None:
            for note in outcome.notes:
                log.warning("%s: %s", source, note)
            run.store.put_cleaned(item.clean_key, outcome.content, outcome.summary)
            run.bodies[item.clean_key] = (outcome.content, outcome.summary)
        # Bodies and enclosures are filled in only for the feeds that get rendered (see fill).
        entries[source] = item.entry
        thumbnail = facts.get(item.thumbnail) if item.thumbnail else None
        run.parts[item.entry.id] = Parts(item.key, item.clean_key, thumbnail)
    return failed


_MADE_AT_ONCE = 256  # items made (their articles read from the store) per query


def _clean_jobs(
    run: Run,
    items: dict[str, state.Item],
    *,
    stale: list[str],
    unmade: list[str],
    into: list[CleanJob],
) -> Iterator[CleanJob]:
    """A job for each body to clean: the stored items' whose cleaned body is not stored, then
    the unmade ones', made here (and added to ``items``) a few hundred at a time, each kept
    only when its body is not stored either. Each job is also appended to ``into``."""
    for source, article in run.store.decoded(stale).items():
        into.append(_clean_job(run, items[source], article))
        yield into[-1]
    for start in range(0, len(unmade), _MADE_AT_ONCE):
        articles = run.store.decoded(unmade[start : start + _MADE_AT_ONCE])
        made = {source: make_item(run, article) for source, article in articles.items()}
        run.store.put_items(made)  # kept for the next builds
        items.update(made)
        present = run.store.cleaned_keys([items[source].clean_key for source in articles])
        for source, article in articles.items():
            if items[source].clean_key not in present:
                into.append(_clean_job(run, items[source], article))
                yield into[-1]


def _clean_job(run: Run, item: state.Item, article: Article) -> CleanJob:
    cfg = run.cfg
    source = article.source
    return CleanJob(
        item.clean_key,
        source,
        str(cfg.articles.dir / source),
        source_file(run, source),
        run.digests[source],
        article.body_format,
        cfg.articles.base_url or item.entry.link,
        article.summary,
        item.entry.link,
        renders_tags(run, article),
        post_targets(run, article),
    )


def make_item(run: Run, article: Article) -> state.Item:
    """``article`` as a feed item under this config (for the store to keep)."""
    cfg = run.cfg
    link = assemble.article_link(article, cfg)
    targets = post_targets(run, article)
    clean_key = fingerprint(
        run.digests[article.source],
        cfg.articles.base_url or link,
        cfg.clean.remove,
        cfg.clean.summary_length,
        settings_of(run.cfg),
        renders_tags(run, article),
        link,
        targets,
        cfg.clean.sanitizer,
    )
    if article.references and renders_tags(run, article):
        clean_key = LINKED + clean_key
    return state.Item(
        assemble.make_entry(article, cfg, "", "", None, link),
        clean_key,
        thumbnail_url(article, link),
        # What the entry is made of: cheaper to fingerprint than the entry and its whole body.
        fingerprint(clean_key, article, link),
    )


def fill(run: Run, feed: Feed) -> Feed:
    """``feed`` with its items' cleaned bodies and enclosures: only for a feed that is rendered."""
    parts = [run.parts[entry.id] for entry in feed.entries]
    wanted = [p.clean_key for p in parts if p.clean_key not in run.bodies]
    run.bodies.update(run.store.cleaned_many(wanted))
    entries = tuple(
        dataclasses.replace(
            entry,
            content_html=run.bodies[p.clean_key][0],
            summary=run.bodies[p.clean_key][1],
            thumbnail=p.thumbnail,
        )
        for entry, p in zip(feed.entries, parts, strict=True)
    )
    return dataclasses.replace(feed, entries=entries)


def thumbnail_url(article: Article, link: str) -> str | None:
    url = assemble.thumbnail_url(article, link)
    if url is None and article.thumbnail:
        log.warning(
            "%s: thumbnail dropped: not an http(s) URL, got %r", article.source, article.thumbnail
        )
    return url


def enclosures(
    run: Run, lookup: thumbs.ThumbLookup | None, offline: bool, urls: list[str]
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
        if f.checked + (cfg.ttl if f.ok else cfg.failure_ttl) > now and media_present(run, f)
    }
    todo = [url for url in urls if url not in fresh]
    if todo and not offline:
        for url, fact in probe(run, todo).items():
            store.put_thumb(url, cfg.mode, fact)
            fresh[url] = fact
            if not fact.ok:
                log.warning(
                    "%s: thumbnail %s: %s; published with length 0 and a guessed type",
                    run.thumbnail_users.get(url, "?"), url, fact.error,
                )  # fmt: skip
    expiries = [f.checked + (cfg.ttl if f.ok else cfg.failure_ttl) for f in fresh.values()]
    due = datetime.fromtimestamp(min(expiries), UTC).isoformat() if expiries else ""
    store.set_meta("thumbs_due", due)  # when the first remembered probe goes stale
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


def media_present(run: Run, fact: state.ThumbFact) -> bool:
    return not fact.media or (run.cfg.output.dir / fact.media).is_file()


def join_media(cfg: Config, rel: str) -> str:
    return join_path(cfg.site.feeds_url, rel)


def probe(run: Run, urls: list[str]) -> dict[str, state.ThumbFact]:
    from .. import net  # httpx loads only when something is to be fetched

    cfg = run.cfg.thumbnails
    mirror = cfg.mode == "mirror"
    checked = run.now.timestamp()
    with net.Prober(cfg, net.Guard(cfg.allow), site_url=run.cfg.site.url) as prober:
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
                guarded(
                    run,
                    partial(write.write_if_changed, run.cfg.output.dir, media, probe.body),
                )
                is None
            ):
                continue
        facts[url] = state.ThumbFact(
            probe.length, probe.type, media, probe.error is None, checked, probe.error
        )
    return facts


def clean_all(run: Run, jobs: Iterable[CleanJob], *, expected: int) -> list[CleanedBody | str]:
    """Each job's cleaned body (or why not), in order; ``jobs`` may be made as they are taken."""
    cfg = run.cfg
    if expected:
        rules(cfg)  # refuse a bad selector here, once, rather than in every job
    work = partial(clean_one, encodings=cfg.articles.encodings, max_bytes=cfg.articles.max_bytes,
                   selectors=cfg.clean.remove, summary_length=cfg.clean.summary_length,
                   settings=settings_of(run.cfg), sanitizer=cfg.clean.sanitizer)  # fmt: skip
    with parallel(work, jobs, expected=expected, ahead=prefetch_bodies) as results:
        return list(results)


def prefetch_bodies(jobs: list[CleanJob]) -> None:
    load.prefetch(job.file for job in jobs)


def clean_one(
    job: CleanJob,
    *,
    encodings: tuple[str, ...],
    max_bytes: int,
    selectors: tuple[str, ...],
    summary_length: int,
    settings: BodySettings,
    sanitizer: Sanitizer = "bleach",
) -> CleanedBody | str:
    """The cleaned body and its summary, or why it could not be cleaned; never raises.

    The summary is the frontmatter's, else the text before the excerpt marker (Hexo's
    ``<!-- more -->``), else the body's first ``summary_length`` characters.
    """
    from .. import clean

    try:
        data = load.read_bytes(job.file, max_bytes)
        if hashlib.blake2b(data, digest_size=16).hexdigest() != job.digest:
            return "changed since it was read: published on the next build"
        text = load.decode(data, job.source, encodings)
        prepared = prepare(
            load.body_of(text, job.source), job.body_format, settings,
            tag_plugins=job.tag_plugins, link=job.link, targets=job.targets, path=Path(job.path),
        )  # fmt: skip
        rules = clean.compile_rules(selectors)
        content = clean.clean_html(prepared.html, job.base, rules, engine=sanitizer)
        if job.summary:
            summary = clean.plain_text(job.summary) if "<" in job.summary else job.summary
        elif prepared.excerpt and (
            excerpt := clean.plain_text(
                clean.clean_html(prepared.excerpt, job.base, rules, engine=sanitizer)
            )
        ):
            summary = excerpt  # Hexo's excerpt is the whole part before the marker
        else:
            summary = clean.summary_of(content, summary_length)
    except ArticleError as exc:  # the file is not the one scanned, or no longer readable
        return exc.reason
    except Exception as exc:  # one bad body must not cost the others
        return f"cannot clean body: {type(exc).__name__}: {exc}"
    return CleanedBody(content, summary, prepared.notes)
