"""Find article files and turn each into an :class:`Article` (the only frontmatter import).

``scan`` and ``read_text`` touch the file system; ``parse_article`` is pure. A bad file raises
:class:`ArticleError` with the reason; the pipeline skips it and carries on.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import operator
import os
import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from pathlib import Path, PurePosixPath
from stat import S_ISLNK, S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import yaml

from .chars import feed_safe
from .config import ArticlesConfig, yaml_problem
from .errors import ArticleError
from .models import Article, BodyFormat, Problem

if TYPE_CHECKING:
    from frontmatter.default_handlers import YAMLHandler

_MAX_NODES = 10_000  # frontmatter values; far above any real post, far below an alias bomb
_MAX_DEPTH = 32
_MAX_LEVELS = 8  # category hierarchy depth kept; deeper levels are dropped
_OPENING = re.compile(r"^-{3,}[ \t]*$", re.MULTILINE)


class SourceFile(NamedTuple):  # a tuple: made once per file on every build, so it is cheap
    rel: str  # posix path relative to the article directory: the article's identity
    # The article directory, resolved: one object shared by every file of a scan (a path of
    # its own per file was a third of a million-file scan's memory); the file is root/rel.
    root: str | Path
    size: int = -1  # from the scan's stat; -1 when not known
    mtime_ns: int = -1
    device: int = -1  # the scanned file's st_dev and st_ino: a later read checks it is the same
    inode: int = -1
    target: str | None = None  # a followed link's target: the file read, without following

    @property
    def abspath(self) -> str:
        return self.target if self.target is not None else f"{self.root}/{self.rel}"

    @property
    def path(self) -> Path:
        # Built on demand: a scan of 10,000 unchanged files needs no Path objects at all.
        return Path(self.abspath)


_by_name = operator.attrgetter("name")
_NOT_REGULAR = "not read: not a regular file (a fifo, socket or device)"
_new_source = tuple.__new__  # SourceFile(...) without the generated __new__: once per file


# --------------------------------------------------------------------------- scanning


class ScannedPart(NamedTuple):
    """What a worker found of its share of a scan (files listed already, folders below), packed
    to be sent back in one piece: an object per file would cost more to send than to find."""

    rels: str  # joined by NUL (which no file name holds)
    sizes: array[int]
    mtimes_ns: array[int]
    devices: array[int]
    inodes: array[int]
    links: list[tuple[str, str]]  # (rel, path) of the file links to follow
    problems: list[Problem]


T = TypeVar("T")


class Spread(Protocol):
    """Runs ``work(0) … work(count - 1)``, maybe in other processes, and gives the results
    in order (see pipeline.run.inherited)."""

    def __call__(self, work: Callable[[int], T], count: int, /) -> Sequence[T]: ...


_SHARES = 16  # a shared scan cuts its work into this many shares (or fewer)
_LEVELS_LISTED_FIRST = 3  # levels listed at most to find folders to share
# The store keeps mtimes as SQLite INTEGERs (64 bits): a file dated past 2262 is kept as if
# dated then (its edits are still seen by size, and a future date holds a post back anyway).
_MTIME_MOST, _MTIME_LEAST = 2**63 - 1, -(2**63)


def scan(
    root: Path, include: tuple[str, ...], exclude: tuple[str, ...]
) -> tuple[list[SourceFile], list[Problem]]:
    """Article files under ``root`` in sorted order (with their stat), and the links not followed.

    Hidden files and folders are skipped. Folder links are never descended (their targets inside
    the directory are scanned under their own names); file links are followed only when they
    resolve to a file inside ``root`` that is not scanned already.
    """
    root = root.resolve()
    walk = _Walk(root, _matcher(include, exclude))
    walk.tree(str(root), "")
    found, problems, _ = walk.finished()
    return found, problems


def scan_shared(
    root: Path,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    *,
    spread: Spread,
    summarize: Callable[[list[SourceFile]], T],
) -> tuple[list[SourceFile], list[Problem], list[tuple[int, T]] | None]:
    """:func:`scan`, its work shared among ``spread``'s workers: most of a scan is the
    kernel's work for each file's stat, which two processes do in about half the time
    (threads do not: they wait for each other).

    The first levels of folders are listed here; the files found there and the folders below
    are cut into shares, each a run of the sorted scan, which a worker scans, sorts and gives
    to ``summarize``. Also returned: each run's start in the scan and its summary (None when a
    followed link, found last, put the scan out of runs)."""
    root = root.resolve()
    walk = _Walk(root, _matcher(include, exclude))
    folders = walk.first_levels(str(root), wanted=_SHARES)
    shares = _shares(walk.listed, folders)

    def scan_share(index: int) -> tuple[ScannedPart, T]:
        share = _Walk(root, walk.selected)
        for files, folder in shares[index]:
            share.files(files)
            if folder is not None:
                share.tree(*folder)
        share.found.sort()  # its run of the whole scan, in order
        return share.packed(), summarize(share.found)

    done = list(spread(scan_share, len(shares)))
    shares.clear()  # their entries (one per file of a big first folder) are not needed now
    walk.listed = []
    done.reverse()
    summaries = []
    while done:  # each dropped once added: not all held twice at the peak
        part, summary = done.pop()
        summaries.append((len(walk.found), summary))
        walk.unpack(part)
    found, problems, resorted = walk.finished()
    return found, problems, None if resorted else summaries


_Listed = list[tuple[str, "os.DirEntry[str]"]]  # (rel, entry) of files listed, no stat taken
_Share = list[tuple[_Listed, tuple[str, str] | None]]  # files, then maybe a (folder, prefix)


def _shares(listed: _Listed, folders: list[tuple[str, str]]) -> list[_Share]:
    """The listed files and the folders (path, prefix) in the order of the sorted scan, where a
    folder's files follow its name and "/", cut into runs of about equal work. A folder is
    taken to hold as many files as the folders listed, on average: a guess (its size is not
    known yet), which only decides how even the shares are."""
    units = sorted(
        [(rel, (rel, entry), None) for rel, entry in listed]
        + [(prefix, None, (path, prefix)) for path, prefix in folders],
        key=_by_first,
    )
    folder_weight = max(1, len(listed) // max(1, len(folders)))
    total = sum(1 if folder is None else folder_weight for _, _, folder in units)
    shares: list[_Share] = []
    share: _Share = []
    files: _Listed = []
    done = 0
    for _, file, folder in units:
        if file is not None:
            files.append(file)
            done += 1
        else:
            share.append((files, folder))
            files = []
            done += folder_weight
        # Its part of the work done: a share ends (the last unit ends the last one, done being
        # the total then, and never more than _SHARES end before it).
        if done * _SHARES >= (len(shares) + 1) * total:
            shares.append([*share, (files, None)] if files else share)
            share, files = [], []
    return shares


_by_first = operator.itemgetter(0)


class _Walk:
    """The files some folders hold, with their stats; the file links in them, to be followed
    once every file is known; and what could not be read."""

    def __init__(self, root: Path, selected: Callable[[str, str], bool]) -> None:
        self.root = root
        self.shared_root = str(root)
        self.selected = selected
        self.devices: dict[int, int] = {}  # one int object per device, not one per file
        self.found: list[SourceFile] = []
        self.links: list[tuple[str, str]] = []
        self.problems: list[Problem] = []
        self.listed: list[tuple[str, os.DirEntry[str]]] = []  # found, stats not taken yet

    def tree(self, folder: str, prefix: str) -> None:
        """``folder`` and every folder in it."""
        pending = [(folder, prefix)]
        while pending:
            pending += reversed(self.folder(*pending.pop()))  # the first folder is next

    def first_levels(self, folder: str, *, wanted: int) -> list[tuple[str, str]]:
        """Lists ``folder`` and the folders below it, a level at a time, until ``wanted``
        folders are left to scan (or no level is left, or _LEVELS_LISTED_FIRST are listed):
        those, in order. The article files of the folders listed are left in ``listed``, their
        stats not taken."""
        level = [(folder, "")]
        for _ in range(_LEVELS_LISTED_FIRST):
            if len(level) >= wanted:
                break
            level = [
                below
                for folder, prefix in level
                for below in self.folder(folder, prefix, stats_later=True)
            ]
        return level

    def folder(
        self, folder: str, prefix: str, *, stats_later: bool = False
    ) -> list[tuple[str, str]]:
        """The files of ``folder`` (the one named ``prefix``) found; its folders returned."""
        selected, listed = self.selected, []
        try:  # by name: then the files come nearly in the sorted order the end needs
            entries = sorted(os.scandir(folder), key=_by_name)
        except OSError as exc:
            where = prefix.rstrip("/") or "."
            self.problems.append(Problem(where, f"cannot read folder: {exc.strerror}"))
            return []
        folders: list[tuple[str, str]] = []
        for entry in entries:  # the hot loop of a no-op build: plain files first
            name = entry.name
            if name[0] == ".":
                continue
            rel = prefix + name
            if not name.isascii() and undecodable(name):  # the store and feeds hold UTF-8
                shown = _shown(rel)
                if entry.is_dir(follow_symlinks=False) or selected(shown, _shown(name)):
                    self.problems.append(
                        Problem(shown, "not read: its name is not UTF-8; rename it")
                    )
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    if selected(rel, name):
                        listed.append((rel, entry))
                elif entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, rel + "/"))
                elif not entry.is_symlink():  # a fifo, a socket, a device: never an article
                    if selected(rel, name):  # (but its name says it is meant to be one)
                        self.problems.append(Problem(rel, _NOT_REGULAR))
                elif _points_to_folder(entry):  # a folder link is never descended
                    if _link_target(Path(entry.path), self.root) is None:
                        self.problems.append(
                            Problem(rel, "not followed: link points outside the article directory")
                        )
                elif selected(rel, name):
                    self.links.append((rel, entry.path))
            except OSError as exc:
                self.problems.append(Problem(rel, f"cannot read: {exc.strerror}"))
        if stats_later:
            self.listed += listed
        else:
            self.files(listed)
        return folders

    def files(self, listed: list[tuple[str, os.DirEntry[str]]]) -> None:
        """The listed files found, with their stats."""
        root, found, devices = self.shared_root, self.found, self.devices
        for rel, entry in listed:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.problems.append(Problem(rel, f"cannot read: {exc.strerror}"))
                continue
            device = devices.setdefault(stat.st_dev, stat.st_dev)
            mtime = stat.st_mtime_ns
            if mtime > _MTIME_MOST or mtime < _MTIME_LEAST:
                mtime = _storable(mtime)
            found.append(_new_source(SourceFile, (rel, root, stat.st_size, mtime,
                                                  device, stat.st_ino, None)))  # fmt: skip

    def finished(self) -> tuple[list[SourceFile], list[Problem], bool]:
        """The files found, the file links followed among them, in sorted order; the problems;
        and whether following links added files (and so had to sort them again)."""
        root, found, problems = self.root, self.found, self.problems
        real = {f.abspath for f in found} if self.links else set()
        followed = False
        for rel, link in self.links:
            path = Path(link)
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                loop = "loop" in str(exc).lower() or getattr(exc, "errno", 0) == 40
                problems.append(
                    Problem(rel, f"not followed: {'symlink loop' if loop else 'dangling link'}")
                )
                continue
            if not target.is_relative_to(root):
                problems.append(
                    Problem(rel, "not followed: link points outside the article directory")
                )
            elif str(target) not in real and target.is_file():
                found.append(_source(rel, root, target.stat(), target=str(target)))
                followed = True
        found.sort()  # by rel (unique: the other fields never take part); few runs to merge
        problems.sort(key=lambda p: p.path)
        return found, problems, followed

    def packed(self) -> ScannedPart:
        found = self.found
        return ScannedPart(
            "\0".join([f.rel for f in found]),
            array("q", [f.size for f in found]),
            array("q", [f.mtime_ns for f in found]),
            array("Q", [f.device for f in found]),
            array("Q", [f.inode for f in found]),
            self.links,
            self.problems,
        )

    def unpack(self, part: ScannedPart) -> None:
        """Adds what a worker found (C loops, not Python: half a million files at a time)."""
        rels = part.rels.split("\0") if part.rels else []
        count = len(rels)
        devices = map(self.devices.setdefault, part.devices, part.devices)
        fields = zip(rels, repeat(self.shared_root, count), part.sizes, part.mtimes_ns,
                     devices, part.inodes, repeat(None, count), strict=True)  # fmt: skip
        self.found += map(_new_source, repeat(SourceFile, count), fields)
        self.links += part.links
        self.problems += part.problems


def stat_files(
    root: Path, rels: Iterable[str], include: tuple[str, ...], exclude: tuple[str, ...]
) -> list[SourceFile] | None:
    """The article files among ``rels`` (paths below ``root`` as :func:`scan` names them), as
    the scan would find them, in sorted order: those not there (deleted) or no article file
    are left out. None when one is a link, has a name that is not UTF-8 or cannot be looked
    at: only a whole scan decides links and says what it cannot read, in one line."""
    root = root.resolve()
    selected = _matcher(include, exclude)
    found = []
    for rel in sorted(set(rels)):
        if not rel.isascii() and undecodable(rel):
            return None
        parts = rel.split("/")
        if any(part.startswith(".") for part in parts):
            continue
        if not selected(rel, parts[-1]):
            continue
        try:
            source = stat_file(root, rel)
        except OSError:
            return None
        if source is not None:
            found.append(source)
    return found


def stat_file(root: Path, rel: str, *, follow: bool = False) -> SourceFile | None:
    """The regular file ``rel`` below ``root`` (resolved) as the scan records it, or None when
    there is none there. A link raises OSError (ELOOP), unless ``follow``: then it is its
    target's, as the scan takes a link to a file in the folder. An unreadable one raises."""
    path = os.path.join(root, rel)  # noqa: PTH118 (a str: one per changed file, no Path)
    try:
        stat = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if S_ISLNK(stat.st_mode):
        if not follow:
            raise OSError(errno.ELOOP, "a link", path)
        target = _link_target(Path(path), root)
        if target is None or not target.is_file():
            return None
        return _source(rel, root, target.stat(), target=str(target))
    return _source(rel, root, stat) if S_ISREG(stat.st_mode) else None


def undecodable(name: str) -> bool:
    """Whether a file name holds bytes that are not UTF-8 (kept by Python as lone surrogates):
    no store or feed can hold it."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(name: str) -> str:
    """``name`` with its undecodable bytes shown as U+FFFD, for a message."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _source(rel: str, root: Path, stat: os.stat_result, *, target: str | None = None) -> SourceFile:
    mtime = _storable(stat.st_mtime_ns)
    return SourceFile(rel, str(root), stat.st_size, mtime, stat.st_dev, stat.st_ino, target)


def _storable(mtime_ns: int) -> int:
    return min(max(mtime_ns, _MTIME_LEAST), _MTIME_MOST)


def _points_to_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a loop: reported when the link is resolved
        return False


def _link_target(path: Path, root: Path) -> Path | None:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return target if target.is_relative_to(root) else None


_SUFFIX_ONLY = re.compile(r"\*[^*?\[\]/]+")  # "*" and then plain characters


def _matcher(include: tuple[str, ...], exclude: tuple[str, ...]) -> Callable[[str, str], bool]:
    """``(rel, name) -> bool`` with pathlib's match semantics (patterns match from the right).

    Patterns without a ``/`` (the usual ``*.md``) need only the file name, which one compiled
    regex checks far faster than ``PurePosixPath.match`` does per file.
    """

    def compile_side(patterns: tuple[str, ...]) -> Callable[[str, str], bool]:
        by_name = [p for p in patterns if "/" not in p]
        by_path = [p for p in patterns if "/" in p]
        name_re = re.compile("|".join(fnmatch.translate(p) for p in by_name)) if by_name else None
        if not by_path:
            if name_re is None:
                return lambda rel, name: False
            if all(_SUFFIX_ONLY.fullmatch(p) for p in by_name):  # "*.md": the usual case
                suffixes = tuple(p[1:] for p in by_name)
                return lambda rel, name: name.endswith(suffixes)
            match = name_re.match
            return lambda rel, name: match(name) is not None

        def test(rel: str, name: str) -> bool:
            if name_re is not None and name_re.match(name):
                return True
            return any(PurePosixPath(rel).match(p) for p in by_path)

        return test

    wanted = compile_side(include)
    if not exclude:
        return wanted
    unwanted = compile_side(exclude)
    return lambda rel, name: wanted(rel, name) and not unwanted(rel, name)


# --------------------------------------------------------------------------- reading


def read_text(source: SourceFile, encodings: tuple[str, ...], max_bytes: int) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 with a BOM, else the first fallback that fits."""
    return decode(read_bytes(source, max_bytes), source.rel, encodings)


# Never through a link (the scan decided which links to follow and recorded their targets), never
# blocking on a fifo that replaced a file.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def read_bytes(source: SourceFile, max_bytes: int) -> bytes:
    """The file's bytes, refusing files over ``max_bytes`` before reading them, and refusing a
    file that is not the one the scan found (a link or another file swapped in since)."""
    try:
        # One open and one fstat (not a Path and two stats): it runs for every file of a cold build.
        fd = os.open(source.abspath, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArticleError(source.rel, "not read: it became a link after the scan") from None
        raise ArticleError(source.rel, f"cannot read file: {exc.strerror or exc}") from None
    try:
        found = os.fstat(fd)
        if not S_ISREG(found.st_mode) or (
            source.inode >= 0 and (found.st_dev, found.st_ino) != (source.device, source.inode)
        ):
            raise ArticleError(
                source.rel, "not read: replaced by another file after the scan (next build)"
            )
        if found.st_size > max_bytes:
            raise ArticleError(
                source.rel,
                f"file is {found.st_size:,} bytes, over the limit of {max_bytes:,} (articles.max_size)",
            )
        data = _read_up_to(fd, found.st_size, max_bytes + 1)
    except OSError as exc:
        raise ArticleError(source.rel, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew since the stat
        raise ArticleError(
            source.rel, f"file is over the limit of {max_bytes:,} bytes (articles.max_size)"
        )
    return data


def prefetch(sources: Iterable[SourceFile]) -> None:
    """Asks the kernel to start reading these files now (``POSIX_FADV_WILLNEED``), so that
    reading them one by one next does not wait for the disk file after file: a cold build of a
    million files that were not in the page cache waited for each one in turn (93 µs a file
    here, 16 µs when asked ahead). Best effort: a file that cannot be opened is left to the
    read, which says why; where the call does not exist this does nothing."""
    if _advise is None:
        return
    for source in sources:
        try:
            fd = os.open(source.abspath, _OPEN_FLAGS)
        except OSError:
            continue
        try:
            _advise(fd, 0, 0, _WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


_advise = getattr(os, "posix_fadvise", None)  # not on macOS or Windows
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", 0)


def _read_up_to(fd: int, expected: int, limit: int) -> bytes:
    """At most ``limit`` bytes of ``fd``, to its end. Asking for the size the stat gave (not
    for ``limit``: a buffer that large is allocated, then shrunk, for every file) saves a third
    of a small file's read; what a file grew by since is read in small steps."""
    parts = [os.read(fd, min(expected + 1, limit))]
    total = len(parts[0])
    while parts[-1] and total < limit:
        parts.append(os.read(fd, min(limit - total, 1 << 16)))
        total += len(parts[-1])
    if not parts[-1]:
        parts.pop()  # the end of the file
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode(data: bytes, rel: str, encodings: tuple[str, ...]) -> str:
    """Text from bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else the first fallback that fits."""
    return decode_text(data, rel, encodings)[0]


# Files that are something else: images, PDFs, archives, executables (by their first bytes).
_BINARY_MAGIC = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF-", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF",
    b"SQLite format 3\x00", b"7z\xbc\xaf", b"II*\x00", b"MM\x00*", b"OggS", b"fLaC", b"\x00asm",
)  # fmt: skip
_STRAY_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])  # the same, as bytes


def decode_text(data: bytes, rel: str, encodings: tuple[str, ...]) -> tuple[str, str | None]:
    """:func:`decode`, and a warning when stray control characters (a NUL, a C0 byte) were
    removed from otherwise textual data; files that really are binary are refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _without_controls(data.decode("utf-16"), rel)
        except UnicodeDecodeError:
            raise ArticleError(rel, "not valid UTF-16 despite its byte-order mark") from None
    nuls = data.count(b"\x00")
    if data.startswith(_BINARY_MAGIC) or (nuls > 8 and nuls * 10 > len(data)):
        raise ArticleError(rel, "binary file (an image, PDF or archive, or mostly NUL bytes)")
    for encoding in ("utf-8-sig", *encodings):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and len(data.translate(None, _C0_BYTES)) == len(data):
            return text, None  # UTF-8 carries a control character only as that very byte
        return _without_controls(text, rel)
    tried = ", ".join(("utf-8", *encodings))
    raise ArticleError(rel, f"text is in none of the encodings tried ({tried}; articles.encodings)")


def _without_controls(text: str, rel: str) -> tuple[str, str | None]:
    text, count = _STRAY_CONTROLS.subn("", text)
    if not count:
        return text, None
    plural = "s" if count > 1 else ""
    return text, f"{rel}: removed {count} stray control character{plural} (NUL or other C0)"


# --------------------------------------------------------------------------- parsing


try:
    from yaml import CSafeLoader as _SafeBase
except ImportError:  # PyYAML built without libyaml: same rules, slower
    from yaml import SafeLoader as _SafeBase  # type: ignore[assignment]


class _TextLoader(_SafeBase):
    """Safe YAML that leaves every scalar as the text the author typed (only null is resolved).

    A title of ``yes``, ``2021-11-04`` or ``1e3`` stays that text; date fields are parsed by
    :mod:`refeed.dates`, which knows far more shapes than YAML's timestamp rule.
    """


# Start from no implicit rules at all (the SafeLoader's bool/int/float/timestamp ones are gone).
setattr(_TextLoader, "yaml_implicit_resolvers", {})  # noqa: B010
_TextLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


@lru_cache(maxsize=1)
def _frontmatter() -> YAMLHandler:
    # python-frontmatter is imported on first use: a build with nothing new never needs it.
    from frontmatter.default_handlers import YAMLHandler

    return YAMLHandler()


def split_frontmatter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) from an article's text; raises ArticleError when there is no frontmatter."""
    meta_text, body = _split(text, source)
    try:
        meta = _load_yaml(meta_text, source)
    except yaml.YAMLError as exc:
        first = _first_line(text, meta_text)
        raise ArticleError(source, f"frontmatter: {yaml_problem(exc, first)[:300]}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ArticleError(source, f"frontmatter: unreadable value: {exc}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError(
            source, f"frontmatter: expected key: value pairs, got {type(meta).__name__}"
        )
    return meta, body


def _load_yaml(meta_text: str, source: str) -> object:
    """The frontmatter's value. Composed by libyaml, then made into Python here when it holds
    only text, nulls, lists and mappings (every real post): PyYAML's generic constructor cost a
    third of a cold build's parsing. Anything else (an explicit tag, a list as a key) goes
    through the constructor, which knows every rule. Either way it is size-checked."""
    loader = _TextLoader(meta_text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        return _plain_value(node, [_MAX_NODES], 0, source)
    except _NeedsConstructor:
        pass
    meta = yaml.load(meta_text, Loader=_TextLoader)  # a safe loader (SafeLoader rules)
    _check_size(meta, source)
    return meta


class _NeedsConstructor(Exception):
    """The YAML has something only PyYAML's constructor makes (a tag, a non-text key)."""


_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _plain_value(node: yaml.Node, budget: list[int], depth: int, source: str) -> object:
    """``node`` as Python, counted as :func:`_check_size` counts (aliases once per use)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise ArticleError(source, "frontmatter: too large or too deeply nested (YAML alias bomb?)")
    tag = node.tag
    if isinstance(node, yaml.ScalarNode) and tag in (_STR, _NULL):
        return node.value if tag == _STR else None
    if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
        return [_plain_value(item, budget, depth + 1, source) for item in node.value]
    if not isinstance(node, yaml.MappingNode) or tag != _MAP:
        raise _NeedsConstructor
    mapping: dict[object, object] = {}
    for key_node, value_node in node.value:
        if key_node.tag not in (_STR, _NULL):  # a merge key, a list as a key
            raise _NeedsConstructor
        key = _plain_value(key_node, budget, depth + 1, source)
        mapping[key] = _plain_value(value_node, budget, depth + 1, source)
    return mapping


def _first_line(text: str, meta_text: str) -> int:
    """The line of the file on which the frontmatter's YAML starts (after the ``---`` line)."""
    normal = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    found = normal.find(meta_text) if meta_text else -1
    return normal.count("\n", 0, found) + 1 if found >= 0 else 2


def body_of(text: str, source: str) -> str:
    """The body alone, for a file whose frontmatter was read before (no YAML parse)."""
    return _split(text, source)[1]


def _split(text: str, source: str) -> tuple[str, str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = text.lstrip(" \t\n")  # Hexo allows blank lines before the opening ---
    if not _OPENING.match(text):
        raise ArticleError(source, "no frontmatter: the file must start with a '---' line")
    try:
        meta_text, body = _frontmatter().split(text)
    except ValueError:
        raise ArticleError(source, "frontmatter is not closed: no second '---' line") from None
    return meta_text, body


def _check_size(value: object, source: str) -> None:
    budget = [_MAX_NODES]

    def visit(node: object, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0 or depth > _MAX_DEPTH:
            raise ArticleError(
                source, "frontmatter: too large or too deeply nested (YAML alias bomb?)"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                visit(key, depth + 1)
                visit(item, depth + 1)
        elif isinstance(node, list | tuple | set):
            for item in node:
                visit(item, depth + 1)

    visit(value, 0)


def parse_article(
    text: str, source: str, cfg: ArticlesConfig, flat: bool = False, mtime: float | None = None
) -> Article:
    """An Article from a file's text; ``source`` is its path relative to the article directory."""
    meta, body = split_frontmatter(text, source)
    fields = _Fields(meta, source)
    private = private_reason(meta, source)
    title = fields.text("title")
    if not title and private:  # Hexo's draft scaffold has no title or date yet
        title = PurePosixPath(source).stem
    if not title:
        raise ArticleError(source, "frontmatter: 'title' is required")
    raw_date = meta.get("date")
    lenient = cfg.missing_date == "mtime" or private is not None
    if raw_date in (None, "") and lenient and mtime is not None:
        raw_date = datetime.fromtimestamp(int(mtime), tz=UTC).astimezone(cfg.timezone)
    if raw_date in (None, ""):
        raise ArticleError(
            source, "frontmatter: 'date' is required (or set articles.missing_date: mtime)"
        )
    published = fields.date("date", raw_date, cfg)
    updated = (
        fields.date("updated", meta.get("updated"), cfg)
        if meta.get("updated") not in (None, "")
        else None
    )
    return Article(
        source=source,
        title=title,
        published=published,
        updated=updated,
        body=body,
        body_format=_body_format(source, body, cfg),
        categories=_categories(meta.get("categories", meta.get("category")), source, flat),
        tags=tuple(dict.fromkeys(_names(meta.get("tags"), source, "tags"))),
        author=fields.text("author"),
        thumbnail=fields.first(cfg.thumbnail_fields),
        link=fields.first(("link",))
        or _below_site(fields.first(("permalink",)))
        or fields.first(("url",)),
        id=fields.first(("id", "guid")),
        summary=fields.first(("description", "excerpt", "summary")),
        private=private,
        tag_plugins=not _flag(meta, "disableNunjucks", source),
    )


DRAFTS_FOLDER = "_drafts"  # Hexo's: what `hexo new draft` writes, published only on request
_YES = frozenset(["true", "yes", "on", "y"])
_NO = frozenset(["false", "no", "off", "n"])


def private_reason(meta: dict[str, Any], source: str) -> str | None:
    """Why the author keeps this post out of every feed, or None when it is public.

    Hexo's ``published: false``, the common ``draft: true``, and a file in a ``_drafts/``
    folder. A value that is neither true nor false is refused rather than guessed: guessing
    "public" could publish a post its author meant to keep private.
    """
    if _flag(meta, "draft", source):
        return "draft: true"
    if _flag(meta, "published", source) is False:
        return "published: false"
    if DRAFTS_FOLDER in PurePosixPath(source).parts[:-1]:
        return f"in {DRAFTS_FOLDER}/"
    return None


def _flag(meta: dict[str, Any], key: str, source: str) -> bool | None:
    value = meta.get(key)
    if value is None or value == "" or isinstance(value, bool):
        return value if isinstance(value, bool) else None
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _YES or text == "1":
        return True
    if text in _NO or text == "0":
        return False
    raise ArticleError(source, f"frontmatter: {key!r}: expected true or false, got {_brief(value)}")


class _Fields:
    def __init__(self, meta: dict[str, Any], source: str) -> None:
        self.meta = meta
        self.source = source

    def text(self, key: str) -> str | None:
        value = self.meta.get(key)
        if isinstance(value, dict) and key == "author":
            value = value.get("name")
        if value is None:
            return None
        if isinstance(value, bool | int | float | str):
            return feed_safe(str(value)).strip() or None
        raise ArticleError(self.source, f"frontmatter: {key!r}: expected text, got {_brief(value)}")

    def first(self, keys: tuple[str, ...]) -> str | None:
        for key in keys:
            value = self.text(key)
            if value:
                return value
        return None

    def date(self, key: str, value: object, cfg: ArticlesConfig) -> datetime:
        from . import dates  # dateutil is imported only when a date is parsed

        try:
            return dates.parse_date(value, cfg.timezone, cfg.default_time, cfg.zone_names)
        except dates.DateParseError as exc:
            raise ArticleError(self.source, f"frontmatter: {key!r}: {exc}") from None


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _names(value: object, source: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise ArticleError(
            source, f"frontmatter: {key!r}: expected a list of names, got {_brief(value)}"
        )
    names = []
    for item in value:
        if isinstance(item, list | dict | bool):
            raise ArticleError(source, f"frontmatter: {key!r}: expected names, got {_brief(item)}")
        name = feed_safe(str(item)).strip() if item is not None else ""
        if name:
            names.append(name)
    return names


def _categories(value: object, source: str, flat: bool) -> tuple[tuple[str, ...], ...]:
    """Hexo semantics: a list is one hierarchy, a list of lists several; flat makes each a root."""
    if isinstance(value, list) and any(isinstance(item, list) for item in value):
        paths = [tuple(_names(item, source, "categories")) for item in value]
    else:
        paths = [tuple(_names(value, source, "categories"))]
    if flat:
        paths = [(name,) for path in paths for name in path]
    result = [p[:_MAX_LEVELS] for p in paths if p]
    return tuple(dict.fromkeys(result))


def _body_format(source: str, body: str, cfg: ArticlesConfig) -> BodyFormat:
    mode = cfg.formats.get(PurePosixPath(source).suffix.lower(), "auto")
    if mode == "auto":
        return "html" if body.lstrip()[:1] == "<" else "markdown"
    return mode


def _below_site(permalink: str | None) -> str | None:
    """Hexo's ``permalink:`` frontmatter is a path below the site's root even with a leading
    ``/`` (``/custom/`` on a site at ``https://ex.org/blog/`` is ``…/blog/custom/``)."""
    if permalink and permalink.startswith("/") and not permalink.startswith("//"):
        return permalink[1:]
    return permalink
