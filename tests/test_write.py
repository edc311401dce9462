from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from refeed.errors import WriteError
from refeed.write import existing_feeds, read_title, remove, write_if_changed


def test_writes_then_skips_identical_bytes(tmp_path: Path) -> None:
    assert write_if_changed(tmp_path, "a/atom.xml", b"one") is True
    path = tmp_path / "a" / "atom.xml"
    os.utime(path, (1_000_000, 1_000_000))
    assert write_if_changed(tmp_path, "a/atom.xml", b"one") is False
    assert path.stat().st_mtime == 1_000_000
    assert write_if_changed(tmp_path, "a/atom.xml", b"two") is True
    assert path.read_bytes() == b"two"


def test_written_files_are_world_readable_like_open_would_make_them(tmp_path: Path) -> None:
    write_if_changed(tmp_path, "atom.xml", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "atom.xml").stat().st_mode & 0o777 == 0o666 & ~umask


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    write_if_changed(tmp_path, "atom.xml", b"x")
    write_if_changed(tmp_path, "atom.xml", b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["atom.xml"]


@pytest.mark.parametrize(
    "rel", ["../escape.xml", "/etc/passwd", "a/../../x.xml", "", "a\x00b.xml", "."]
)
def test_nothing_is_written_outside_the_output_directory(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(WriteError):
        write_if_changed(root, rel, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_write_that_fails_midway_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_if_changed(tmp_path, "atom.xml", b"old complete feed")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(WriteError, match="No space left on device"):
        write_if_changed(tmp_path, "atom.xml", b"new feed that will not fit")
    assert (tmp_path / "atom.xml").read_bytes() == b"old complete feed"
    assert [p.name for p in tmp_path.iterdir()] == ["atom.xml"]


def test_read_only_output_is_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ro").mkdir(mode=0o555)
    if (
        os.geteuid() == 0
    ):  # root ignores permission bits: refuse the temp file as a read-only fs would

        def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(WriteError, match="cannot create a file"):
        write_if_changed(tmp_path / "ro", "atom.xml", b"x")


def test_existing_feeds_title_and_remove(tmp_path: Path) -> None:
    write_if_changed(
        tmp_path,
        "categories/a/b/atom.xml",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>S - B</title></feed>",
    )
    write_if_changed(
        tmp_path, "categories/a/rss.xml", b"<rss><channel><title>S - A</title></channel></rss>"
    )
    write_if_changed(tmp_path, "index.html", b"<html></html>")
    assert existing_feeds(tmp_path) == {"categories/a/b/atom.xml", "categories/a/rss.xml"}
    assert read_title(tmp_path, "categories/a/b/atom.xml") == "S - B"
    assert read_title(tmp_path, "categories/a/rss.xml") == "S - A"
    assert remove(tmp_path, "categories/a/b/atom.xml") is True
    assert (
        not (tmp_path / "categories" / "a" / "b").exists()
        and (tmp_path / "categories" / "a").exists()
    )
