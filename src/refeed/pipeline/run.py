"""What every part of a build shares: the working set, fingerprints, the worker pool, and the
guard that turns a failed write into a reported problem."""

from __future__ import annotations

import bisect
import gc
import hashlib
import logging
import operator
import os
import posixpath
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar, cast

from .. import assemble, load, state
from ..__about__ import __version__
from ..config import Config
from ..errors import ConfigError, WriteError
from ..models import INDEX_FILE, OPML_FILE, STYLESHEET_FILE, Problem, RunReport, Thumbnail

if TYPE_CHECKING:
    from .. import clean

log = logging.getLogger("refeed")
Progress = Callable[[int, int], None]


class Parts(NamedTuple):
    """What one feed entry is made of, beyond the entry itself (filled in only when rendered)."""

    key: str  # fingerprint of the item (see state.Item.key)
    clean_key: str  # its cleaned body's key in the store
    thumbnail: Thumbnail | None


class PostTarget(NamedTuple):
    """A published post another post links to with post_link / post_path."""

    reference: str  # as the linking post wrote it: a slug or a title
    title: str
    url: str


@dataclass
class PostIndex:
    """The published posts, for bodies that link to others (Hexo's post_link)."""

    slugs: dict[str, str]  # Hexo slug -> source
    public: frozenset[str]  # every published source
    targets: dict[str, tuple[PostTarget, ...]] = field(default_factory=dict)  # per linking post


@dataclass(frozen=True)
class Catalog:
    """The articles this build publishes, as the store lists them (see :func:`plan`)."""

    until: float  # published by then: later ones are held back (+inf when none are)
    duplicates: frozenset[str]  # sources left out: the id each claims is an earlier one's
    count: int  # how many are published


@dataclass
class Run:
    """One build's working set."""

    cfg: Config
    store: state.State
    now: datetime
    report: RunReport = field(default_factory=RunReport)
    catalog: Catalog = field(default_factory=lambda: Catalog(0.0, frozenset(), 0))
    digests: dict[str, str] = field(default_factory=dict)  # of the feed members, from the store
    scanned: list[load.SourceFile] = field(default_factory=list)  # as scanned, sorted by path
    sources: dict[str, load.SourceFile] = field(default_factory=dict)  # looked up since
    recovered: dict[str, str] = field(default_factory=dict)  # source -> id, for a new store
    parts: dict[str, Parts] = field(default_factory=dict)  # entry id -> what it is made of
    bodies: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (content, summary)
    media: set[str] = field(default_factory=set)  # mirrored thumbnails the feeds use
    drafts: list[Problem] = field(default_factory=list)  # in _drafts/, held back unread
    thumbnail_users: dict[str, str] = field(default_factory=dict)  # URL -> first article using it
    announced: set[Problem] = field(default_factory=set)  # held back, said at INFO this build
    post_index: PostIndex | None = None  # for Hexo's post_link: made when first needed
    changed: bool = False
    scan_chunks: list[state.ScanChunk] | None = None  # of a whole scan, to remember (see state)
    unstored: set[str] = field(default_factory=set)  # scanned, but not stored as scanned
    repeat_known: bool = True  # False (-q): a write failure the last build had is not said again
    failed_before: frozenset[Problem] = frozenset()  # the last build's write failures

    def scanned_file(self, rel: str) -> load.SourceFile | None:
        """The file ``rel`` as this build found it, if it did (the scan is sorted: no index of
        a million files is made for the few a build looks up)."""
        index = bisect.bisect_left(self.scanned, rel, key=operator.attrgetter("rel"))
        if index < len(self.scanned) and self.scanned[index].rel == rel:
            return self.scanned[index]
        return self.sources.get(rel)


FAILED_KEY = "failed"  # the state store's record of the last build's write failures


def report_failure(run: Run, problem: Problem) -> None:
    """A file that could not be written or removed: in the report (exit 3), and said, unless
    it failed the same way in the last build and this one is quiet (cron mails it once)."""
    run.report.failed.append(problem)
    if run.repeat_known or problem not in run.failed_before:
        log.error("%s", problem)


def rules(cfg: Config) -> clean.Rules:
    from .. import clean  # the parser and sanitizers load only when there is cleaning to do

    try:
        return clean.compile_rules(cfg.clean.remove)
    except clean.SelectorError as exc:
        raise ConfigError(cfg.source, exc.problems) from None


class Scanned(NamedTuple):
    """The article files found, the links not followed, and the drafts held back unread."""

    sources: list[load.SourceFile]
    not_followed: list[Problem]
    drafts: list[Problem]
    chunks: list[state.ScanChunk] | None = None  # cut by the workers of a shared scan


SCAN_POOL_MIN = 40_000  # stored articles from which a whole scan is shared among worker processes
# (a scan alone, as whole processes: 21,000 files 1.03x, 50,000 0.81x, 100,000 0.72x)


def scan_articles(cfg: Config, *, expected: int = 0) -> Scanned:
    """The article files under ``articles.dir``, as Hexo would take them.

    Files in a ``_drafts/`` folder are held back unread (``articles.drafts: hold``): a draft in
    progress is no article yet, however broken. Any other name starting with ``_`` is hidden,
    as Hexo hides it. In a Hexo ``source/`` folder (one that holds ``_posts/``) only
    ``_posts/`` and ``_drafts/`` hold posts; the rest are pages (About…). With
    ``post_asset_folder``, what lies in a post's asset folder is an asset, never a post.
    """
    if not cfg.articles.dir.is_dir():
        raise ConfigError(
            cfg.source, [f"articles.dir: not a folder, got {str(cfg.articles.dir)!r}"]
        )
    sources, not_followed, chunks = _scanned(cfg, expected)
    for problem in not_followed:  # the folder itself unreadable: refused, or every article
        if problem.path == ".":  # would look deleted and leave its feeds
            where = f"articles.dir: {problem.reason}, got {str(cfg.articles.dir)!r}"
            raise ConfigError(cfg.source, [where])
    hexo_source = (cfg.articles.dir / HEXO_POSTS).is_dir()
    assets = cfg.articles.post_asset_folder
    hidden = any(source.rel[0] == "_" or "/_" in source.rel for source in sources)
    if not (hexo_source or assets or hidden):
        return Scanned(sources, not_followed, [], chunks)  # the usual case: one cheap pass
    stems = {posixpath.splitext(source.rel)[0] for source in sources} if assets else set()
    return _posts_only(cfg, sources, not_followed, hexo_source=hexo_source, post_stems=stems)


def _scanned(
    cfg: Config, expected: int
) -> tuple[list[load.SourceFile], list[Problem], list[state.ScanChunk] | None]:
    """The whole folder's scan, shared among worker processes when the store holds
    ``expected`` files, enough to pay for them, and this process can fork (refeed watch has
    threads: sharing in this one process would only add packing to the same work); with the
    chunks the workers cut, if they could."""
    articles = cfg.articles
    if expected < SCAN_POOL_MIN or _cores() < 2 or not _forkable():
        return (*load.scan(articles.dir, articles.include, articles.exclude), None)
    sources, not_followed, runs = load.scan_shared(
        articles.dir, articles.include, articles.exclude,
        spread=_spread_scan, summarize=state.scan_chunks,
    )  # fmt: skip
    if runs is None:
        return sources, not_followed, None
    # Each run's chunks count from the run's start: from the scan's start here.
    chunks = [chunk._replace(start=chunk.start + start, end=chunk.end + start)
              for start, run_chunks in runs for chunk in run_chunks]  # fmt: skip
    return sources, not_followed, chunks


def _posts_only(
    cfg: Config,
    sources: list[load.SourceFile],
    not_followed: list[Problem],
    *,
    hexo_source: bool,
    post_stems: set[str],
) -> Scanned:
    kept: list[load.SourceFile] = []
    drafts: list[Problem] = []
    for source in sources:
        if why := _not_a_post(source.rel, hexo_source=hexo_source, post_stems=post_stems):
            log.debug("%s: not a post: %s", source.rel, why)
        elif load.DRAFTS_FOLDER in source.rel.split("/")[:-1] and cfg.articles.drafts == "hold":
            drafts.append(Problem(source.rel, f"held back: draft (in {load.DRAFTS_FOLDER}/)"))
        else:
            kept.append(source)
    return Scanned(kept, not_followed, drafts)


def scan_changed(cfg: Config, rels: frozenset[str]) -> Scanned | None:
    """:func:`scan_articles` for the files ``rels`` alone (a file event's), by the same rules;
    None when only a whole scan can tell (see :func:`load.stat_files`; post asset folders:
    whether a file is a post depends on the others)."""
    if cfg.articles.post_asset_folder or not cfg.articles.dir.is_dir():
        return None
    found = load.stat_files(cfg.articles.dir, rels, cfg.articles.include, cfg.articles.exclude)
    if found is None:
        return None
    hexo_source = (cfg.articles.dir / HEXO_POSTS).is_dir()
    return _posts_only(cfg, found, [], hexo_source=hexo_source, post_stems=set())


def _not_a_post(rel: str, *, hexo_source: bool, post_stems: set[str]) -> str | None:
    parts = rel.split("/")
    if hexo_source and parts[0] not in (HEXO_POSTS, load.DRAFTS_FOLDER):
        return f"a page of the Hexo site, outside {HEXO_POSTS}/"
    if any(part.startswith("_") and part not in _POST_FOLDERS for part in parts):
        return "its name starts with _ (Hexo hides such files and folders)"
    folders = ["/".join(parts[:depth]) for depth in range(1, len(parts))]
    if any(folder in post_stems for folder in folders):
        return "an asset in a post's asset folder (articles.post_asset_folder)"
    return None


HEXO_POSTS = "_posts"
_POST_FOLDERS = frozenset([HEXO_POSTS, "_drafts"])


def output_problem(folder: Path, where: str) -> str | None:
    """:func:`folder_problem` for the output folder, and a file in the place of one of the
    folders refeed keeps in it (else every feed file below it fails on its own line)."""
    if (problem := folder_problem(folder, where)) is not None:
        return problem
    for name in (assemble.CATEGORY_ROOT, assemble.TAG_ROOT, "media"):
        if (folder / name).exists() and not (folder / name).is_dir():
            return f"{name} in it is not a folder, where refeed keeps its {name}; move it away"
    return None


def folder_problem(folder: Path, where: str) -> str | None:
    """Why refeed cannot keep its files in ``folder`` (a file in its place, no write access to
    it or to the folder that would hold it), or None; nothing is created to find out."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == folder and not folder.is_dir():
        return f"not a folder; set {where} to a folder"
    if not existing.is_dir():
        return f"cannot be created: {existing} is not a folder; set {where} to a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"not writable{'' if existing == folder else f' ({existing})'}; set {where} to a writable folder"
    return None


def page_files(cfg: Config) -> list[str]:
    """The pages beside the feeds that the config asks for."""
    wanted = (cfg.output.opml, cfg.output.index, cfg.output.stylesheet)
    pages = (OPML_FILE, INDEX_FILE, STYLESHEET_FILE)
    return [rel for rel, on in zip(pages, wanted, strict=True) if on]


def fingerprint(*parts: object) -> str:
    text = repr((__version__, *parts)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after. A scan makes an
    object per file and keeps them all (a million at a time), none in a cycle: every few
    hundred of them the collector would walk the young ones again, and now and then all of
    them (a million-file no-op: 0.78x its time with it). The few cycles made in the block
    (a worker pool's) wait for the next collection after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


POOL_MIN_JOBS = 200  # below this, starting worker processes costs more than it saves
T = TypeVar("T")
R = TypeVar("R")


@contextmanager
def parallel(
    work: Callable[[T], R],
    items: Iterable[T],
    *,
    expected: int | None = None,
    ahead: Callable[[list[T]], None] | None = None,
) -> Iterator[Iterator[R]]:
    """``work(item)`` for each item, in order, on every core when there are enough items.

    Results arrive while the workers go on, so the caller's own work on them overlaps theirs.
    ``items`` may be made as they are taken (a generator): the workers start on the first
    batch while the rest are still being made, so making them overlaps their work too;
    ``expected`` then says how many there will be (``len(items)`` for a list), which decides
    whether worker processes pay for themselves and how the items are batched.
    A context manager, not a bare generator: leaving the block (Ctrl-C included) shuts the
    pool down there and then; a generator's cleanup waits for garbage collection, and until
    then the workers wait for work and the interpreter's exit waits for them.
    ``ahead``: told in the worker of the next items (up to ``AHEAD``) before the current ones
    are worked on (to start reading their files).
    """
    workers = _cores()
    count = len(items) if expected is None and isinstance(items, Sized) else expected or 0
    if count < POOL_MIN_JOBS or workers < 2:
        yield map(work, items)
        return
    import multiprocessing  # imported only by builds with enough work for worker processes
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if _forkable() else "spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_die_with, initargs=(os.getpid(),)
    )
    try:
        # map starts the workers at the first batch (a spawned pool: as batches come) and
        # takes every item before it returns, so Ctrl-C waits until all are made
        with _sigint_held():
            results = pool.map(
                partial(_work_through, work, ahead),
                _batches(items, max(1, count // (workers * 32))),
            )
        yield chain.from_iterable(results)
    finally:
        pool.shutdown(cancel_futures=True)  # the caller stopped early: drop what is queued


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter), each made when it is taken."""
    taking = iter(items)
    while batch := list(islice(taking, size)):
        yield batch


AHEAD = 64  # items a worker tells ``ahead`` of at a time: as many files asked for in advance


def _work_through(
    work: Callable[[T], R], ahead: Callable[[list[T]], None] | None, batch: list[T]
) -> list[R]:
    """``work`` over one batch in a worker, telling ``ahead`` of each next window of items
    while the window before it is worked on."""
    if ahead is None:
        return [work(item) for item in batch]
    results: list[R] = []
    ahead(batch[:AHEAD])
    for start in range(0, len(batch), AHEAD):
        if start + AHEAD < len(batch):
            ahead(batch[start + AHEAD : start + 2 * AHEAD])
        results += [work(item) for item in batch[start : start + AHEAD]]
    return results


def inherited(work: Callable[[int], R], count: int, min_jobs: int) -> list[R]:
    """``[work(i) for i in range(count)]``, on every core when this process can fork: the
    workers inherit ``work`` and all it refers to, so only the results are sent between them."""
    workers = _cores()
    if count < min_jobs or workers < 2 or not _forkable():
        return [work(i) for i in range(count)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_inherit,
        initargs=(work, os.getpid()),  # forked, not pickled
    )
    try:
        with _sigint_held():  # map starts the workers
            results = pool.map(_call_inherited, range(count))
        return cast(list[R], list(results))
    finally:
        pool.shutdown(cancel_futures=True)  # interrupted: what is queued is dropped, not run


def _spread_scan(work: Callable[[int], R], count: int) -> list[R]:
    return inherited(work, count, min_jobs=2)


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C waits (in this thread) while a pool starts its workers, who are made with the
    signal held too. One that arrived mid-start would interrupt the pool's own bookkeeping (a
    thread made but not started, which its shutdown then fails to join) or a new worker before
    it ignores Ctrl-C (a traceback from the fork's own handlers). The held signal is raised here,
    at the block's end, where the pool is whole and can be shut down."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _cores() -> int:
    return min(os.cpu_count() or 1, 8)


def _forkable() -> bool:
    """fork is cheapest, but not safe once threads exist (refeed watch runs a scheduler)."""
    import multiprocessing

    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


_inherited_work: Callable[[int], object] | None = None


def _inherit(work: Callable[[int], object], parent: int) -> None:
    global _inherited_work
    _inherited_work = work
    _die_with(parent)


def _die_with(parent: int) -> None:
    """In a worker: end with the build. A build killed outright (cron's timeout, the OOM killer)
    must not leave workers behind that wait forever and hold its state lock.

    Ctrl-C reaches the whole process group: only the build handles it. A worker interrupted
    inside the pool's own queue code can leave the pool deadlocked; it finishes its chunk."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held by _sigint_held; ignored now
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # elsewhere: watch for the parent to go
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _call_inherited(index: int) -> object:
    assert _inherited_work is not None
    return _inherited_work(index)


def guarded(run: Run, action: Callable[[], bool]) -> bool | None:
    try:
        return action()
    except WriteError as exc:
        report_failure(run, Problem(exc.path, exc.reason))
        return None
