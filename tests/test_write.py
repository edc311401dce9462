from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from refeed.errors import WriteError
from refeed.write import (
    existing_feeds,
    published_items,
    read_title,
    remove,
    sweep,
    write_if_changed,
)


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


def test_sweep_removes_only_the_temporary_files_a_killed_build_left(tmp_path: Path) -> None:
    leftovers = ["categories/a/.atom.xml.k3j2h1.tmp", ".rss.xml.abc.tmp"]
    kept = ["categories/a/atom.xml", ".hidden", "notes.tmp", ".x.tmp", "categories/a/.keep.TMP"]
    for rel in leftovers + kept:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert sorted(sweep(tmp_path)) == sorted(leftovers)
    assert sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    ) == sorted(kept)
    assert sweep(tmp_path / "missing") == []


def test_the_temporary_file_name_is_one_sweep_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(fd: int) -> None:  # the build dies after creating its temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        write_if_changed(tmp_path, "a/atom.xml", b"x")
    [leftover] = list((tmp_path / "a").iterdir())
    assert sweep(tmp_path) == [f"a/{leftover.name}"] and not leftover.exists()


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("", "refused: not a relative path inside the output directory"),
        ("/etc/passwd", "refused: not a relative path inside the output directory"),
        ("a\x00b.xml", "refused: not a relative path inside the output directory"),
        ("../escape.xml", "refused: path leads outside the output directory"),
        ("plain/atom.xml", "cannot read the existing file: Not a directory"),  # plain: a file
    ],
)
def test_refusals_name_the_path_and_the_rule(tmp_path: Path, rel: str, reason: str) -> None:
    (tmp_path / "plain").write_bytes(b"a file where a folder should be")
    with pytest.raises(WriteError) as caught:
        write_if_changed(tmp_path, rel, b"x")
    assert (caught.value.path, caught.value.reason) == (rel or "''", reason)


def test_feeds_in_hidden_folders_are_not_refeeds_and_an_empty_title_is_none(
    tmp_path: Path,
) -> None:
    write_if_changed(tmp_path, ".git/atom.xml", b"<feed/>")
    write_if_changed(tmp_path, "a/rss.xml", b"<rss><channel><title></title></channel></rss>")
    assert existing_feeds(tmp_path) == {"a/rss.xml"}
    assert read_title(tmp_path, "a/rss.xml") is None and read_title(tmp_path, "b/rss.xml") is None
    assert remove(tmp_path, "b/rss.xml") is False
    with pytest.raises(WriteError) as caught:
        remove(tmp_path, "a")  # a folder: not a file to remove
    assert caught.value.path == "a" and caught.value.reason.startswith("cannot remove: ")


def test_an_unreadable_item_costs_only_itself(tmp_path: Path) -> None:
    rss = b"""<rss><channel><item><guid>urn:undated</guid><title>U</title></item>
        <item><guid>urn:r</guid><title>R</title><pubDate>Thu, 04 Nov 2021 02:00:00 +0000</pubDate>
        </item></channel></rss>"""
    items = [
        1,
        {"id": "urn:no-title"},
        {"id": "urn:j", "title": "J", "date_published": "2021-11-04T02:00:00Z"},
    ]
    write_if_changed(tmp_path, "rss.xml", rss)
    write_if_changed(tmp_path, "feed.json", json.dumps({"items": items}).encode())
    assert sorted(published_items(tmp_path)) == [
        ("urn:j", "J", 1635991200),
        ("urn:r", "R", 1635991200),
    ]
