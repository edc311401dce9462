"""The article directory against the state store: what changed, and every article, decoded
from the store when its file is unchanged and parsed anew (on every core) when it is not."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import NamedTuple

from .. import assemble, hexo, load, state, write
from ..config import Config
from ..errors import ArticleError
from ..models import Article, Listing, Problem
from .run import (
    Catalog,
    Progress,
    Run,
    collector_paused,
    fingerprint,
    log,
    page_files,
    parallel,
    scan_articles,
    scan_changed,
)


@dataclass
class Scan:
    """The article directory compared with the store, before anything is read. The unchanged
    files stay in the store (see :meth:`state.State.compare_stats`): a build with nothing to
    do makes no Python object for them."""

    modified: list[tuple[load.SourceFile, state.Stored | None]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    kept: dict[str, state.Stored] = field(default_factory=dict)  # still being written: as stored
    # Stored before and modified since, pending included: the rows to leave out when the store
    # is asked about the unchanged files (a new file has no row).
    changed: frozenset[str] = frozenset()
    unchanged_count: int = 0  # kept included


UNREAD_DRAFTS = "unread_drafts"  # the store's meta: the drafts in _drafts/ the last scan found
NOT_FOLLOWED = "not_followed"  # the store's meta: what the last whole scan could not take


def compare(run: Run, settle: float, paths: frozenset[str] | None = None) -> Scan:
    """Which files are new, modified or gone; nothing is read or decoded yet. ``paths``: only
    those files may have changed (a file event's): they alone are looked at."""
    cfg, store, report = run.cfg, run.store, run.report
    # Whether drafts are published is decided after parsing: switching it re-reads nothing.
    parse_key = fingerprint(
        dataclasses.replace(cfg.articles, drafts="hold"), cfg.categories.hierarchical
    )
    if store.meta("parse") != parse_key:
        store.clear_articles()  # settings that change how files parse: everything is re-read
        store.set_meta("parse", parse_key)
        run.changed = True
        paths = None
    scanned = None if paths is None else scan_changed(cfg, paths)
    stored_count = store.count_articles()
    changes: state.StatChanges | None  # None: nothing is stored, every file scanned is new
    if scanned is None or paths is None:  # the whole folder
        with collector_paused():
            sources, report.not_followed, run.drafts, chunks = scan_articles(
                cfg, expected=stored_count
            )
            # Cut into chunks with a digest each: those the store remembers need no comparing.
            if chunks is None:
                chunks = state.scan_chunks(sources)
        # Said every build, or (-q, refeed watch after its first build) once, when new: cron
        # mailed a dangling link every minute.
        said = set() if run.repeat_known else set(remembered_problems(store, NOT_FOLLOWED))
        for problem in report.not_followed:
            if problem not in said:
                log.warning("%s", problem)
        remember_problems(store, NOT_FOLLOWED, report.not_followed)
        if store.keeps_scan(chunks, len(sources)):
            changes = state.StatChanges({}, [])
        else:
            # A first build compares nothing: a million files put in a table, joined with an
            # empty one and looked up again one by one cost 10 s and 150 MB for no answer.
            changes = store.compare_scan(sources, chunks) if stored_count else None
            run.scan_chunks = chunks  # remembered once the store holds what was scanned
    else:  # those files alone; the drafts in _drafts/ as the last scan left them, updated
        sources = scanned.sources
        changes = store.compare_files(paths, {s.rel: (s.size, s.mtime_ns) for s in sources})
        run.drafts = [p for p in remembered_problems(store, UNREAD_DRAFTS) if p.path not in paths]
        run.drafts = sorted(run.drafts + scanned.drafts, key=by_path)
    remember_problems(store, UNREAD_DRAFTS, run.drafts)
    run.scanned = sources
    if changes is None:
        changed: Iterable[tuple[load.SourceFile | None, state.Stored | None]]
        changed = ((source, None) for source in sources)
        changes_count, gone, stored_before = len(sources), [], frozenset[str]()
    else:
        stored_changes = changes.changed
        changed = ((run.scanned_file(rel), stored_changes[rel]) for rel in sorted(stored_changes))
        changes_count, gone = len(stored_changes), changes.gone
        # Only the files stored before have rows to leave out when the store is asked about
        # the unchanged ones: a new file has none.
        stored_before = frozenset(r for r, s in stored_changes.items() if s is not None)
    found = Scan(gone=set(gone), changed=stored_before)
    store.forget_articles(gone)
    settled_before = time.time_ns() - int(settle * 1e9)
    for source, stored in changed:
        assert source is not None  # compared because scanned
        rel = source.rel
        if settle and source.mtime_ns > settled_before:
            report.pending.append(rel)  # still being written: the last good version stays
            if stored is not None and stored.parsed:
                found.kept[rel] = stored
        else:
            found.modified.append((source, stored))
    # The store now holds every article file but the new ones (the gone ones' rows went): those
    # not changed are unchanged.
    unchanged = stored_count - len(gone) - len(found.changed)
    found.unchanged_count = unchanged + len(found.kept)
    report.articles_read = unchanged + changes_count
    dues = (meta_time(store, "next_due"), meta_time(store, "thumbs_due"))
    run.unstored.update(report.pending)  # the store keeps the last good version of those
    if run.scan_chunks is not None and not (changes_count or gone):
        store.remember_scan(run.scan_chunks)
    run.changed |= bool(found.gone or found.modified)
    run.changed |= any(due is not None and due <= run.now for due in dues)
    return found


def source_file(run: Run, rel: str) -> load.SourceFile:
    """The article file ``rel`` as found now: as scanned, else looked up (a build that looked
    at changed files only cleans an unchanged one that moves up into a feed)."""
    if (source := run.scanned_file(rel)) is None:
        try:
            source = load.stat_file(run.cfg.articles.dir.resolve(), rel, follow=True)
        except OSError:  # unreadable: the read says why
            source = None
        source = source or load.SourceFile(rel, run.cfg.articles.dir.resolve())
        run.sources[rel] = source
    return source


def _load_parsed(
    run: Run,
    found: Scan,
    parsed: Iterable[Read],
    writes: PendingWrites,
    *,
    progress: Progress | None,
    total: int,
) -> None:
    """The modified files' listings, from their parses as the workers deliver them."""
    store, report = run.store, run.report
    # With no first id stored, none can be found for these files (each is loaded once), so
    # none is asked for: a first build of a million files asked a million times.
    known_ids = store.knows_identities()
    if not known_ids and store.meta("ids_from_feeds") is None:
        # A new store: ids come back from the published feeds (once; all the parses are needed
        # first, so only when there are feeds to read).
        store.set_meta("ids_from_feeds", "read")
        if published := write.published_items(run.cfg.output.dir):
            parsed = list(parsed)
            run.recovered = recover_ids(published, parsed)
    for index, ((source, maybe_stored), outcome) in enumerate(
        zip(found.modified, parsed, strict=True)
    ):
        if progress is not None:
            progress(found.unchanged_count + index, total)
        try:
            article = load_modified(
                run, source, maybe_stored, outcome, writes, gone=found.gone, known_ids=known_ids
            )
        except ArticleError as exc:
            log.warning("%s", exc)
            report.skipped.append(Problem(source.rel, exc.reason))
        else:
            writes.list(article)


def meta_time(store: state.State, key: str) -> datetime | None:
    """A moment kept in the store's meta table (held-back post or stale probe falling due)."""
    try:
        return datetime.fromisoformat(store.meta(key) or "")
    except ValueError:  # absent (stored as ""), or written by an older refeed
        return None


def report_unchanged(run: Run, found: Scan, repeat_known: bool) -> None:
    """Nothing to do: the report comes from the store alone (no article is decoded)."""
    report, store = run.report, run.store
    for rel, error in run.store.unchanged_errors(found.changed):
        skip_known(run, rel, error, repeat_known)
    report.held_back = remembered_problems(store, "held")
    report.drafts = sorted(remembered_problems(store, "drafts") + run.drafts, key=by_path)
    report.next_due = meta_time(store, "next_due")
    report.published = int(store.meta("published") or 0)
    report.unchanged = sorted([*store.feed_fingerprints(), *page_files(run.cfg)])


def skip_known(run: Run, rel: str, error: str, repeat_known: bool) -> None:
    """An article that failed before and has not changed since: skipped, and said again if asked."""
    run.report.skipped.append(Problem(rel, error))
    if repeat_known:
        log.warning("%s", run.report.skipped[-1])


def load_articles(run: Run, found: Scan, progress: Progress | None, repeat_known: bool) -> None:
    """Every article's listing: from the store when its file is unchanged (nothing is decoded),
    parsed anew otherwise."""
    report, store = run.report, run.store
    total = found.unchanged_count + len(found.modified)
    # The unchanged files' listings, those to list again and those that failed, all found by
    # the store: a build that changes one file of a million makes no object for the others.
    for rel, error in run.store.unchanged_errors(found.changed):
        skip_known(run, rel, error, repeat_known)
    unlisted = store.unchanged_unlisted(found.changed) if found.unchanged_count else []
    if found.kept:  # still being written: published as last stored (listed again if need be)
        listed = {listing.source for listing in store.listings_of(sorted(found.kept))}
        unlisted += sorted(set(found.kept) - listed)
    if progress is not None and found.unchanged_count:
        progress(found.unchanged_count - 1, total)  # the unchanged ones are done at once
    private: list[Problem] = []
    writes = PendingWrites(run, private)
    store.begin_bulk_listing()  # if nothing is listed yet (each source is listed once below)
    for article in store.each_decoded(unlisted):
        writes.list(Parsed.of(article))
    # A modified file is listed again below if it still parses and is public; one that cannot
    # be read now leaves the feeds, as a broken one does.
    store.unlist([source.rel for source, _ in found.modified])
    with parallel(
        partial(read_one, cfg=run.cfg),
        [source for source, _ in found.modified],
        ahead=load.prefetch,  # a cold build's files are seldom all in the page cache
    ) as results:
        _load_parsed(run, found, results, writes, progress=progress, total=total)
    writes.flush()
    store.end_bulk_listing()
    hold = run.cfg.articles.future == "hold"
    until = run.now.timestamp() if hold else math.inf
    held = hold_back(run, store.listed_after(until)) if hold else []
    report.held_back = [problem for problem, _ in held]
    report.drafts = sorted(private + run.drafts, key=by_path)
    report.next_due = min((due for _, due in held), default=None)
    report.skipped.sort(key=by_path)
    duplicates = drop_duplicate_ids(run, until)
    run.catalog = Catalog(until, duplicates, store.listed_count(until) - len(duplicates))
    remember_problems(store, "held", report.held_back)
    remember_problems(store, "drafts", private)  # those in _drafts/ are unread: scanned anew
    store.set_meta("next_due", report.next_due.isoformat() if report.next_due else "")
    if run.scan_chunks is not None:  # every file scanned is now stored as scanned, but these
        store.remember_scan(run.scan_chunks, unstored=run.unstored)


def plan(run: Run, left_out: set[str]) -> list[assemble.Plan]:
    """Every feed and its newest members, from the store's index of feed membership: only the
    members are read. ``left_out``: sources not to publish (their body failed to clean)."""
    catalog, store, cap = run.catalog, run.store, run.cfg.output.items_per_feed
    skipped = left_out | catalog.duplicates
    newest: dict[assemble.Group, list[str]] = {}
    for key in store.member_feeds(catalog.until):
        sources = store.newest_members(key, catalog.until, cap + len(skipped))
        if kept := [source for source in sources if source not in skipped][:cap]:
            newest[assemble.group_of(key)] = kept
    listings = {
        listing.source: listing
        for listing in store.listings_of(sorted({s for kept in newest.values() for s in kept}))
    }
    groups = {group: [listings[s] for s in kept] for group, kept in newest.items()}
    return assemble.plans_for(groups, run.cfg)


def published_listings(run: Run) -> list[Listing]:
    """Every article this build publishes, by source (for the few bodies that link to others)."""
    catalog = run.catalog
    return [
        listing
        for source, listing in sorted(run.store.listings().items())
        if listing.published <= catalog.until and source not in catalog.duplicates
    ]


class PendingWrites:
    """What a build stores of the files it parsed and the articles it lists, in batches (a cold
    build does it for every file). A public article gets its listing and the feeds it belongs
    in; a draft (added to ``private``) gets none, so it leaves every feed exactly as a deleted
    article does."""

    BATCH = 2000

    def __init__(self, run: Run, private: list[Problem]) -> None:
        self.run = run
        self.private = private
        self.articles: list[state.ArticleRow] = []
        self.identities: list[tuple[str, str, str]] = []
        self.pending: list[tuple[Listing, list[str]]] = []

    def put_article(self, row: state.ArticleRow) -> None:
        self.articles.append(row)
        if len(self.articles) >= self.BATCH:
            self.flush()

    def remember_identity(self, source: str, digest: str, identity: str) -> None:
        self.identities.append((source, digest, identity))

    def list(self, article: Parsed) -> None:
        cfg = self.run.cfg
        if article.private and cfg.articles.drafts == "hold":
            self.private.append(private_problem(article))
            return
        listing = assemble.listing(article, cfg)
        feeds = [assemble.group_key(group) for group in assemble.feed_groups(listing, cfg)]
        self.pending.append((listing, feeds))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        store = self.run.store
        store.put_articles(self.articles)  # first: storing a file's row unlists it
        store.remember_identities(self.identities)
        store.put_listings(self.pending)
        self.articles, self.identities, self.pending = [], [], []


def private_problem(article: Parsed | Article) -> Problem:
    return Problem(article.source, f"held back: draft ({article.private})")


def by_path(problem: Problem) -> str:
    return problem.path


def remember_problems(store: state.State, key: str, problems: list[Problem]) -> None:
    """Kept for the builds that read nothing (see :func:`report_unchanged`)."""
    store.set_meta(key, json.dumps([[p.path, p.reason] for p in problems], ensure_ascii=False))


def remembered_problems(store: state.State, key: str) -> list[Problem]:
    return [Problem(*item) for item in json.loads(store.meta(key) or "[]")]


def hold_back(run: Run, future: list[str]) -> list[tuple[Problem, datetime]]:
    """The posts dated in the future (``articles.future: hold``), and when each falls due."""
    announced = set(remembered_problems(run.store, "held"))
    held = []
    for source, article in sorted(run.store.decoded(future).items()):
        problem = Problem(
            source, f"held back: dated {article.published.isoformat()}, in the future"
        )
        held.append((problem, article.published))
        if problem not in announced:  # said when first held back (or its date moves)
            log.info("%s", problem)
            run.announced.add(problem)
    return held


class Parsed(NamedTuple):
    """What the parent needs of a parsed article to list it (the store keeps the rest, as
    the worker encoded it): a tuple, cheaper to send and to copy than the Article."""

    source: str
    title: str
    published: datetime
    id: str | None  # its frontmatter's, until the parent pins the one it is published with
    categories: tuple[tuple[str, ...], ...]
    tags: tuple[str, ...]
    private: str | None

    @classmethod
    def of(cls, article: Article) -> Parsed:
        return cls(article.source, article.title, article.published, article.id,
                   article.categories, article.tags, article.private)  # fmt: skip


class Read(NamedTuple):
    """What a worker made of one file."""

    digest: str | None  # of its bytes; None: it could not be read
    article: Parsed | None  # None: it failed
    derived_id: str | None  # the id its path and date give
    fields: str | None  # the article as the store keeps it, with the derived id unless its own
    error: str | None  # why it failed
    warning: str | None  # to log once, in the parent


def read_one(source: load.SourceFile, cfg: Config) -> Read:
    """Read and parse one file (in a worker process when there are many); never raises."""
    try:
        data = load.read_bytes(source, cfg.articles.max_bytes)
    except ArticleError as exc:
        return Read(None, None, None, None, exc.reason, None)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        article, warning = parse(source, data, cfg)
    except ArticleError as exc:
        return Read(digest, None, None, None, exc.reason, None)
    # Bodies are re-read when cleaned; the id is derived and the row encoded here, on every
    # core (the parent only stores them).
    derived_id = assemble.article_id(article, cfg)
    fields = state.encode_article(article, identity=derived_id)
    return Read(digest, Parsed.of(article), derived_id, fields, None, warning)


def load_modified(
    run: Run,
    source: load.SourceFile,
    stored: state.Stored | None,
    outcome: Read,
    writes: PendingWrites,
    *,
    gone: set[str],
    known_ids: bool,
) -> Parsed:
    digest, article, derived_id, fields, error, warning = outcome
    if warning is not None:  # said here, in the parent: workers' logs go nowhere
        log.warning("%s", warning)
    if digest is None:  # unreadable: not remembered, so it is tried again next time
        run.unstored.add(source.rel)
        raise ArticleError(source.rel, error or "cannot read file")
    if stored is not None and stored.hash == digest and stored.error is None and stored.parsed:
        run.store.touch_article(source.rel, source.size, source.mtime_ns)  # same bytes, new stat
        return Parsed.of(run.store.decoded([source.rel])[source.rel])  # stored.parsed is set
    row = state.ArticleRow(source.rel, source.size, source.mtime_ns, digest, None, error)
    if article is None:
        writes.put_article(row)
        raise ArticleError(source.rel, error or "cannot parse")
    assert derived_id is not None and fields is not None  # set with every article
    pinned = with_identity(
        run, article, writes, digest=digest, gone=gone, derived_id=derived_id, known=known_ids
    )
    if pinned.id != (article.id or derived_id):  # the worker encoded it with the derived id
        fields = state.with_stored_id(fields, pinned.id or derived_id)
    writes.put_article(row._replace(fields=fields))
    return pinned


def recover_ids(published: list[tuple[str, str, int]], outcomes: list[Read]) -> dict[str, str]:
    """For a new store: the id each moved article was published with, by source, from the
    ``(id, title, published)`` of every item in the output folder's feeds.

    An article whose derived id is in no published feed, while an item with its title and date
    is, under an id no article here claims, was moved: it keeps that item's id. (The store's
    registry matched moves by content hash; the feeds carry id, title and date, not the hash.)
    Where that is not one item exactly, the article gets its derived id.
    """
    known = {identity for identity, _, _ in published}
    claimed = {outcome.derived_id for outcome in outcomes if outcome.derived_id is not None}
    free: dict[tuple[str, int], set[str]] = {}
    for identity, title, when in published:
        if identity not in claimed:
            free.setdefault((title, when), set()).add(identity)
    wanted: dict[tuple[str, int], list[str]] = {}
    for outcome in outcomes:
        article = outcome.article
        if article is not None and not article.id and outcome.derived_id not in known:
            key = (article.title, int(article.published.timestamp()))
            wanted.setdefault(key, []).append(article.source)
    return {
        sources[0]: next(iter(free[key]))
        for key, sources in wanted.items()
        if len(sources) == 1 and len(free.get(key, ())) == 1
    }


def drop_duplicate_ids(run: Run, until: float) -> frozenset[str]:
    """Readers deduplicate on ids: of articles claiming one id, all but the first (by source)
    are skipped, each with one line. Returns those skipped."""
    skipped = []
    for identity, sources in run.store.shared_ids(until).items():
        skipped += [Problem(source, f"id {identity!r} is already used by {sources[0]}")
                    for source in sources[1:]]  # fmt: skip
    for problem in sorted(skipped, key=by_path):
        log.warning("%s", problem)
        run.report.skipped.append(problem)
    return frozenset(problem.path for problem in skipped)


def parse(source: load.SourceFile, data: bytes, cfg: Config) -> tuple[Article, str | None]:
    """The article (with the posts its body links to: Hexo's post_link, which only the whole
    body tells), and a warning about the file to log once (stray control characters)."""
    try:
        text, warning = load.decode_text(data, source.rel, cfg.articles.encodings)
        # A date from the file's mtime: by request (articles.missing_date), or for a draft. The
        # scan's, when known: the file is not looked up again, so never through a link.
        mtime = source.mtime_ns / 1e9 if source.mtime_ns >= 0 else source.path.lstat().st_mtime
        flat = not cfg.categories.hierarchical
        article = load.parse_article(text, source.rel, cfg.articles, flat=flat, mtime=mtime)
        if article.tag_plugins and cfg.articles.tag_plugins:
            links = hexo.references(article.body, article.body_format)
            article = dataclasses.replace(article, references=links)
        return article, warning
    except ArticleError:
        raise
    except ValueError as exc:  # tags nested past the limit: refused, like deep HTML
        raise ArticleError(source.rel, f"cannot read its Hexo tags: {exc}") from None
    except Exception as exc:  # a bug or a library edge case must not cost the other articles
        raise ArticleError(source.rel, f"unexpected error: {type(exc).__name__}: {exc}") from None


def with_identity(
    run: Run,
    article: Parsed,
    writes: PendingWrites,
    *,
    digest: str,
    gone: set[str],
    derived_id: str,
    known: bool,
) -> Parsed:
    """Pin the id the article was first published with (unless its frontmatter names one).
    ``known``: whether the store held any first id when loading began (else none is looked up)."""
    if article.id:
        return article
    identity = (
        (known and run.store.identity(article.source, digest, gone))
        or run.recovered.get(article.source)
        or derived_id
    )
    writes.remember_identity(article.source, digest, identity)
    return article._replace(id=identity)
