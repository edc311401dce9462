"""The output folder as object storage sees it: refeed's own files, their stats and digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .objects import LocalFile, is_published


def scan(root: Path) -> dict[str, LocalFile]:
    """The files refeed publishes under ``root`` (see :func:`objects.is_published`), by their
    posix path in it. Hidden files and folders (a writer's temporary files) are not."""
    found: dict[str, LocalFile] = {}
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder)
        for name in files:
            rel = (base / name).relative_to(root).as_posix()
            if name.startswith(".") or not is_published(rel):
                continue
            try:
                stat = (base / name).stat()
            except OSError:  # gone since the walk: not published this time
                continue
            found[rel] = LocalFile(stat.st_size, stat.st_mtime_ns)
    return found


def md5(root: Path, rel: str) -> str:
    """The MD5 of the file's bytes: what S3 answers as the ETag of an object put in one part,
    and what its Content-MD5 check compares. Not a security measure: these are our own files."""
    digest = hashlib.md5(usedforsecurity=False)
    with (root / rel).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read(root: Path, rel: str) -> tuple[bytes, LocalFile]:
    """The file's bytes and the stat of exactly the file read."""
    with (root / rel).open("rb") as handle:
        stat = os.fstat(handle.fileno())
        return handle.read(), LocalFile(stat.st_size, stat.st_mtime_ns)


def md5_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
