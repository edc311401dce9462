"""Feed files out: render what changed, write it atomically, keep or prune orphans, tell the
WebSub hub."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import NamedTuple

from .. import assemble, write
from ..config import Config
from ..errors import WriteError
from ..models import (
    FEED_FILES,
    INDEX_FILE,
    OPML_FILE,
    PREVIEW_FILE,
    STYLESHEET_FILE,
    Feed,
    FeedFormat,
    FeedOutput,
    Problem,
    PublishedFeed,
)
from ..urls import join_path
from .entries import fill
from .run import Run, fingerprint, guarded, inherited, log, page_files, report_failure


def handle_orphans(run: Run, feeds: list[Feed], prune: bool, newest: datetime) -> None:
    """Feeds on disk whose category or tag has no articles now: kept empty, or removed (prune).

    Only refeed's own folders are looked at, so other files in the output directory are safe.
    """
    root = run.cfg.output.dir
    planned = {feed.spec.file(fmt) for feed in feeds for fmt in run.cfg.output.formats}
    ours = (assemble.CATEGORY_ROOT + "/", assemble.TAG_ROOT + "/")
    orphans = sorted(rel for rel in write.existing_feeds(root) - planned if rel.startswith(ours))
    planned_dirs = {feed.spec.dir for feed in feeds}
    if prune:
        gone = {posixpath.dirname(rel) for rel in orphans} - planned_dirs
        pages = [posixpath.join(folder, PREVIEW_FILE) for folder in sorted(gone)]
        for rel in orphans + [page for page in pages if (root / page).is_file()]:
            if guarded(run, partial(write.remove, root, rel)):
                run.report.pruned.append(rel)
                run.store.set_feed_fingerprint(rel, None)
        return
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


def prune_switched_off(run: Run, feeds: list[Feed], *, prune: bool) -> None:
    """Files refeed wrote that the config no longer asks for: a format dropped from
    ``output.formats``, every feed.html once ``output.preview`` is off, index.html, feeds.opml or
    feed.css once switched off. Only files the state store says refeed wrote are removed, so a
    web root's own index.html is never touched."""
    root, cfg = run.cfg.output.dir, run.cfg
    outputs: tuple[FeedOutput, ...] = cfg.output.formats + (("page",) if cfg.output.preview else ())
    planned = {feed.spec.file(fmt) for feed in feeds for fmt in outputs}
    gone = sorted(set(run.store.feed_fingerprints()) - planned)
    wanted_pages = page_files(cfg)
    written_pages = (run.store.meta(_PAGES_KEY) or "").split()
    if not prune:  # output.prune: false keeps them; remember every page written for a later prune
        run.store.set_meta(_PAGES_KEY, " ".join(sorted({*written_pages, *wanted_pages})))
        return
    gone += [rel for rel in written_pages if rel not in wanted_pages]
    kept: list[str] = []  # could not be removed: reported now, and tried again next build
    for rel in gone:
        removed = guarded(run, partial(write.remove, root, rel))
        if removed is None:
            kept.append(rel)
            continue
        if removed:
            run.report.pruned.append(rel)
        run.store.set_feed_fingerprint(rel, None)
    pages = wanted_pages + [rel for rel in kept if rel in written_pages]
    run.store.set_meta(_PAGES_KEY, " ".join(pages))


_PAGES_KEY = "pages"  # the pages beside the feeds that refeed has written, space-separated


def publish(run: Run, feeds: list[Feed]) -> None:
    """Render and write each feed file whose inputs changed (or whose file is missing).

    Each feed's preview page (feed.html) is one more of its files, rendered from the same items.
    Many feeds at once (a cold build) are rendered and written on every core.
    """
    root, report = run.cfg.output.dir, run.report
    for leftover in write.sweep(root):  # a build killed mid-write left it; ours, and unused
        log.info("%s: removed a temporary file a killed build left", leftover)
    previous = run.store.feed_fingerprints()
    outputs: tuple[FeedOutput, ...] = run.cfg.output.formats
    if run.cfg.output.preview:
        outputs += ("page",)
    pages = _Pages.of(run.cfg)
    jobs: list[tuple[Feed, str, tuple[FeedOutput, ...]]] = []
    for feed in feeds:
        head = dataclasses.replace(feed, entries=())
        parts = [run.parts[entry.id] for entry in feed.entries]
        key = fingerprint(head, [(p.key, p.thumbnail) for p in parts], pages)  # bodies: in p.key
        stale: list[FeedOutput] = []
        for fmt in outputs:
            rel = feed.spec.file(fmt)
            if previous.get(rel) == key and (root / rel).is_file():
                report.unchanged.append(rel)
            else:
                stale.append(fmt)
        if not stale:
            continue
        try:
            jobs.append((fill(run, feed), key, tuple(stale)))
        except Exception as exc:  # this feed's files stay as they were; the others go on
            for fmt in stale:
                report_failure(run, Problem(feed.spec.file(fmt), f"cannot render: {exc!r}"))
    work = partial(render_and_write, jobs, root, pages, run.cfg.output.max_feed_bytes)
    for (feed, key, formats), outcomes in zip(
        jobs, inherited(work, len(jobs), RENDER_MIN_JOBS), strict=True
    ):
        for fmt, outcome in zip(formats, outcomes, strict=True):
            if isinstance(outcome, Problem):
                report_failure(run, outcome)
                continue
            rel = feed.spec.file(fmt)
            (report.written if outcome else report.unchanged).append(rel)
            run.store.set_feed_fingerprint(rel, key)


RENDER_MIN_JOBS = 24  # feeds; each takes milliseconds, so fewer than parse or clean jobs need


class _Pages(NamedTuple):
    """What a preview page needs beyond its feed."""

    site_title: str
    links_index: bool

    @classmethod
    def of(cls, cfg: Config) -> _Pages:
        return cls(cfg.site.title, cfg.output.index)


def render_and_write(
    jobs: list[tuple[Feed, str, tuple[FeedOutput, ...]]],
    root: Path,
    pages: _Pages,
    budget: int,
    index: int,
) -> list[bool | Problem]:
    """Feed ``index`` of ``jobs`` in each of its files: written (True), unchanged (False), or
    why not (the previous file stays). Never raises: one feed must not cost the others."""
    feed, _, outputs = jobs[index]
    outcomes: list[bool | Problem] = []
    for fmt in outputs:
        rel = feed.spec.file(fmt)
        try:
            outcomes.append(write.write_if_changed(root, rel, _rendered(feed, fmt, pages, budget)))
        except WriteError as exc:
            outcomes.append(Problem(exc.path, exc.reason))
        except Exception as exc:
            outcomes.append(Problem(rel, f"cannot render: {type(exc).__name__}: {exc}"))
    return outcomes


def _rendered(feed: Feed, fmt: FeedOutput, pages: _Pages, budget: int) -> bytes:
    # feedgen and jinja2 load only when something is rendered
    if fmt == "page":
        from .. import pages as html_pages

        return html_pages.render_preview(feed, site_title=pages.site_title, index=pages.links_index)
    from .. import render

    return render.render_within(feed, fmt, budget)


def prune_media(run: Run) -> None:
    """Mirrored thumbnails no feed uses any more (only with --prune, like empty feeds)."""
    folder = run.cfg.output.dir / "media"
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        rel = f"media/{path.name}"
        if (
            rel not in run.media
            and path.is_file()
            and guarded(run, partial(write.remove, run.cfg.output.dir, rel))
        ):
            run.report.pruned.append(rel)


def announce(cfg: Config, files: Iterable[str]) -> None:
    """WebSub: tell the hub which feed files changed, once each; a hub that is down costs nothing.

    The files written, or with ``publish:`` the ones put on every target: the hub fetches the
    public URL, so it must not be told before the change is there."""
    hub = cfg.websub.hub
    names = set(FEED_FILES.values())
    if not hub:
        return
    urls = [join_path(cfg.site.feeds_url, rel) for rel in files if posixpath.basename(rel) in names]
    if not urls:
        return
    from .. import net

    with net.make_client(cfg.site.url, cfg.thumbnails.timeout) as client:
        for failure in net.ping_hub(client, hub, urls):
            log.warning("WebSub hub %s not told: %s", hub, failure)


def published(feed: Feed, formats: tuple[FeedFormat, ...]) -> PublishedFeed:
    """``feed`` as index.html lists it: its label, item count, newest item, files and URLs."""
    from .. import pages as html_pages

    formats = tuple(fmt for fmt in formats if fmt in feed.self_urls)
    return PublishedFeed(
        dir=feed.spec.dir,
        kind=feed.spec.kind,
        title=html_pages.index_label(feed),
        items=len(feed.entries),
        newest=feed.entries[0].published if feed.entries else None,
        files={fmt: feed.spec.file(fmt) for fmt in formats},
        urls={fmt: feed.self_urls[fmt] for fmt in formats},
    )


def publish_pages(run: Run, feeds: list[Feed]) -> None:
    """feeds.opml (every feed, nested like the categories, for one-click import), index.html and
    feed.css, each when the config asks for it (same atomic, lazy writer)."""
    from .. import pages as html_pages
    from .. import render

    cfg = run.cfg
    pages: dict[str, bytes] = {}
    # A feed kept empty (output.prune: false) is no feed to subscribe to: never advertised.
    feeds = [feed for feed in feeds if feed.entries or not assemble.is_orphan(feed.spec)]
    if cfg.output.opml:
        pages[OPML_FILE] = render.render_opml(feeds, cfg.site.title, cfg.output.formats)
    if cfg.output.index:
        pages[INDEX_FILE] = html_pages.render_index(
            feeds, cfg.site.title, cfg.site.description, cfg.site.language, cfg.output.formats,
            opml=cfg.output.opml,
        )  # fmt: skip
    if cfg.output.stylesheet:
        pages[STYLESHEET_FILE] = html_pages.stylesheet()
    # What `refeed feeds` lists, recorded now (with output.index off too) rather than read back
    # from the feed files later: these are index.html's very rows (its labels and order, the
    # newest item as it shows it) with no feed parsed, whatever the formats (a JSON-only site
    # has no XML to read); a kept-empty orphan is told from an empty feed by its spec, which no
    # file holds; and the list commits with the build, so it is never half of one build and
    # half of the next. The price: schema 4, and a lost store lists nothing until a build.
    ordered = html_pages.index_order(feeds)
    run.store.set_published_feeds([published(feed, cfg.output.formats) for feed in ordered])
    for rel, data in pages.items():
        changed = guarded(run, partial(write.write_if_changed, cfg.output.dir, rel, data))
        if changed is not None:
            (run.report.written if changed else run.report.unchanged).append(rel)
