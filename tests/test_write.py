from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from refeed.errors import WriteError
from refeed.write import existing_feeds, published_items, read_title, remove, write_if_changed


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


def test_published_items_are_read_from_every_feed_format_and_broken_files_are_left_out(
    tmp_path: Path,
) -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:a</id><title>A &amp; B</title>
        <published>2021-11-04T10:00:00+08:00</published></entry><entry><id>urn:no-date</id>
        <title>T</title></entry></feed>"""
    rss = b"""<rss><channel><item><guid>urn:r</guid><title>R</title>
        <pubDate>Thu, 04 Nov 2021 02:00:00 +0000</pubDate></item></channel></rss>"""
    feed_json = (
        b'{"items": [{"id": "urn:j", "title": "J", "date_published": "2021-11-04T02:00:00Z"}]}'
    )
    write_if_changed(tmp_path, "atom.xml", atom)
    write_if_changed(tmp_path, "categories/x/rss.xml", rss)
    write_if_changed(tmp_path, "categories/x/feed.json", feed_json)
    write_if_changed(tmp_path, "categories/y/atom.xml", b"<feed><entry>cut short")
    write_if_changed(tmp_path, "categories/y/feed.json", b"[1, 2]")
    assert sorted(published_items(tmp_path)) == [
        ("urn:a", "A & B", 1635991200),
        ("urn:j", "J", 1635991200),
        ("urn:r", "R", 1635991200),
    ]
    assert published_items(tmp_path / "missing") == []


def test_the_temporary_file_is_made_beside_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename is atomic only within one file system: a temporary file made anywhere else (the
    system's temp folder) could not replace the target where feeds live on their own disk."""
    renames: list[tuple[Path, Path]] = []
    real = os.replace

    def noting(src: str, dst: str) -> None:
        renames.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", noting)
    write_if_changed(tmp_path, "categories/a/atom.xml", b"x")
    [(temporary, target)] = renames
    assert target == (tmp_path / "categories/a/atom.xml").resolve()
    assert temporary.parent == target.parent and temporary.name.startswith(".atom.xml.")
