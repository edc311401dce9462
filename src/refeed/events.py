"""File events for ``refeed watch`` (the only watchdog import): a change in the article folder
is seen when it happens (inotify on Linux) rather than at the next scan.

Events say which files changed: the build that follows looks at those alone (a folder created,
moved or deleted: at everything). A lost event costs latency only: the service's interval scan
compares every file and stays as the safety net. Where events cannot be had (no inotify, the kernel's watch limit reached), the
caller is told why and keeps to its interval scan.
"""

from __future__ import annotations

import errno
import warnings
from collections.abc import Callable
from pathlib import Path, PurePath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

# watchdog's recursive inotify watch warns from its own thread when a folder and its sub-folder
# appear at once (it adds the sub-folder's watch twice, harmlessly): not a word for the log.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)

# What a writer does to an article; opening and reading (the build's own reads) are not changes.
_CHANGES = frozenset({"created", "modified", "deleted", "moved", "closed", "attrib"})


# What changed: the files' paths relative to the folder (as the scan names them), or None when a
# folder was created, moved or deleted (everything below it may have changed: scan it all).
OnChange = Callable[[frozenset[str] | None], None]


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: Path, ignored: tuple[Path, ...], on_change: OnChange):
        self.folder = folder
        self.ignored = ignored
        self.on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES:
            return
        if event.is_directory and event.event_type in ("modified", "attrib"):
            return  # a folder's own time changes with every entry: the entry has its own event
        paths = [event.src_path, getattr(event, "dest_path", "")]
        changed = {rel for path in paths if path and (rel := self._relevant(_text(path)))}
        if changed:
            self.on_change(None if event.is_directory else frozenset(changed))

    def _relevant(self, path: str) -> str | None:
        """``path`` relative to the folder, if a change there can change an article: not a
        hidden file or folder (the scan skips those), not the output or state folder when
        they sit inside."""
        target = Path(path)
        if any(target == folder or folder in target.parents for folder in self.ignored):
            return None
        try:
            parts = PurePath(target).relative_to(self.folder).parts
        except ValueError:
            return None
        if not parts or any(part.startswith(".") for part in parts):
            return None
        return "/".join(parts)


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


class ArticleEvents:
    """Calls ``on_change`` (from watchdog's thread) whenever something under ``folder`` that
    could be an article is created, written, moved, deleted or has its attributes changed,
    with what changed (see :data:`OnChange`)."""

    def __init__(
        self, folder: Path, on_change: OnChange, *, ignored: tuple[Path, ...] = ()
    ) -> None:
        self.given = folder  # as configured: a symlink re-pointed is a new folder
        self.identity = _identity(folder)
        self.folder = folder.resolve()
        self.handler = _Handler(self.folder, tuple(p.resolve() for p in ignored), on_change)
        self.observer: BaseObserver | None = None

    def start(self) -> str | None:
        """Start watching; None when events flow, else why not (the caller keeps scanning)."""
        observer = Observer()
        observer.start()
        try:
            # Scheduled on a running observer, so that a failure to watch (the inotify watch or
            # instance limit) is raised here rather than swallowed in watchdog's start-up.
            observer.schedule(self.handler, str(self.folder), recursive=True)
        except OSError as exc:
            observer.stop()
            observer.join(timeout=5)
            if exc.errno == errno.ENOSPC:
                return "the inotify watch limit is reached (sysctl fs.inotify.max_user_watches)"
            if exc.errno == errno.EMFILE:
                return (
                    "the inotify instance limit is reached (sysctl fs.inotify.max_user_instances)"
                )
            return exc.strerror or str(exc)
        self.observer = observer
        return None

    def replaced(self) -> bool:
        """Whether the folder is no longer the one watched (moved away and another put in its
        place, a symlink re-pointed, deleted): inotify says nothing of its own root then."""
        return _identity(self.given) != self.identity

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        stat = folder.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
