"""File events for refeed watch: what counts as a change, and saying why there are none."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver

from refeed.events import ArticleEvents

DEADLINE = 10.0


class Changes:
    def __init__(self) -> None:
        self.count = 0
        self.seen = threading.Event()
        self.files: list[frozenset[str] | None] = []  # what each event said changed

    def __call__(self, files: frozenset[str] | None) -> None:
        self.count += 1
        self.files.append(files)
        self.seen.set()

    def quiet_for(self, seconds: float) -> bool:
        """No change reported during ``seconds`` (events arrive within milliseconds)."""
        self.seen.clear()
        return not self.seen.wait(seconds)


@contextmanager
def watching(
    folder: Path, changes: Changes, *, ignored: tuple[Path, ...] = ()
) -> Iterator[ArticleEvents]:
    """Events for ``folder`` flowing for the block, stopped after it."""
    watcher = ArticleEvents(folder, changes, ignored=ignored)
    assert watcher.start() is None
    try:
        yield watcher
    finally:
        watcher.stop()


@pytest.fixture
def watched(tmp_path: Path) -> tuple[Path, Changes]:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("---\ntitle: A\n---\nA\n", encoding="utf-8")
    return folder, Changes()


def test_writes_moves_and_deletes_anywhere_below_are_changes(
    watched: tuple[Path, Changes],
) -> None:
    folder, changes = watched
    with watching(folder, changes):
        for change in (
            lambda: (folder / "sub" / "b.md").write_text("new", encoding="utf-8"),
            lambda: (folder / "a.md").write_text("edited", encoding="utf-8"),
            lambda: (folder / "a.md").rename(folder / "sub" / "a.md"),
            lambda: (folder / "sub" / "a.md").unlink(),
            lambda: (folder / "new" / "deep").mkdir(parents=True),
            lambda: (folder / "new" / "deep" / "c.md").write_text("c", encoding="utf-8"),
        ):
            changes.seen.clear()
            change()
            assert changes.seen.wait(DEADLINE), "a change was not reported"
            # inotify watches a new folder only once its creation is seen: a file written into
            # it at once can be missed (the scan is the safety net for that); give it the time
            time.sleep(0.3)


def test_each_change_names_its_files_and_a_folder_change_names_none(
    watched: tuple[Path, Changes],
) -> None:
    folder, changes = watched
    with watching(folder, changes):
        for change, said in (
            (lambda: (folder / "sub" / "b.md").write_text("b", encoding="utf-8"), {"sub/b.md"}),
            (lambda: (folder / "a.md").rename(folder / "sub" / "a.md"), {"a.md", "sub/a.md"}),
            (lambda: (folder / "sub" / "a.md").unlink(), {"sub/a.md"}),
            (lambda: (folder / "sub").rename(folder / "moved"), None),  # all below it moved
            (lambda: (folder / "new").mkdir(), None),
        ):
            time.sleep(0.3)  # the events of the change before have all arrived
            changes.files.clear()
            change()
            deadline = time.monotonic() + DEADLINE
            while said is not None and set().union(*(f or () for f in changes.files)) < said:
                assert time.monotonic() < deadline, f"{said} not reported: {changes.files}"
                time.sleep(0.05)
            while said is None and None not in changes.files:
                assert time.monotonic() < deadline, f"no folder change: {changes.files}"
                time.sleep(0.05)
            if said is not None:  # nothing else was named
                assert set().union(*(f or () for f in changes.files)) == said, changes.files


def test_reads_hidden_files_and_the_output_and_state_folders_inside_are_not_changes(
    watched: tuple[Path, Changes],
) -> None:
    folder, changes = watched
    output, state = folder / "feeds", folder / "state"
    output.mkdir()
    state.mkdir()
    with watching(folder, changes, ignored=(output, state)):
        time.sleep(0.3)
        assert changes.quiet_for(0.3)
        (folder / "a.md").read_bytes()  # the build's own reads
        (output / "atom.xml").write_text("<feed/>", encoding="utf-8")  # the build's own writes
        (state / "state.sqlite").write_bytes(b"x")
        (folder / ".a.md.swp").write_bytes(b"x")  # an editor's hidden files, like the scan
        (folder / ".git").mkdir()
        (folder / ".git" / "index").write_bytes(b"x")
        assert changes.quiet_for(1.0), f"{changes.count} changes reported"
        (folder / "sub" / "b.md").write_text("b", encoding="utf-8")
        assert changes.seen.wait(DEADLINE)


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "the inotify watch limit is reached (sysctl fs.inotify.max_user_watches)"),
        (
            errno.EMFILE,
            "the inotify instance limit is reached (sysctl fs.inotify.max_user_instances)",
        ),
    ],
)
def test_a_watch_limit_is_said_and_nothing_is_left_running(
    watched: tuple[Path, Changes], monkeypatch: pytest.MonkeyPatch, code: int, said: str
) -> None:
    folder, changes = watched

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, "inotify limit")

    monkeypatch.setattr(BaseObserver, "schedule", refuse)
    before = threading.active_count()
    watcher = ArticleEvents(folder, changes)
    assert watcher.start() == said
    assert watcher.observer is None and threading.active_count() == before
    watcher.stop()  # harmless


def test_a_missing_folder_is_said(tmp_path: Path) -> None:
    watcher = ArticleEvents(tmp_path / "nope", Changes())
    reason = watcher.start()
    assert reason and "No such file" in reason
    assert watcher.observer is None


def test_a_file_saved_through_a_hidden_temporary_and_renamed_is_a_change(
    watched: tuple[Path, Changes],
) -> None:
    folder, changes = watched
    with watching(folder, changes):
        (folder / ".post.md.tmp").write_text("draft", encoding="utf-8")
        assert changes.quiet_for(0.5)
        (folder / ".post.md.tmp").rename(folder / "post.md")  # how editors and rsync save
        assert changes.seen.wait(DEADLINE), "the rename into view was not reported"


def test_a_folder_replaced_or_gone_is_noticed(watched: tuple[Path, Changes]) -> None:
    folder, changes = watched
    link = folder.parent / "current"
    link.symlink_to(folder)
    watcher = ArticleEvents(link, changes)
    assert not watcher.replaced()
    (folder.parent / "next").mkdir()
    link.unlink()
    link.symlink_to(folder.parent / "next")  # an atomic deploy re-points the link
    assert watcher.replaced()
    link.unlink()
    assert watcher.replaced()  # gone
    assert not ArticleEvents(folder, changes).replaced()
