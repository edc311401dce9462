"""The only module that writes into the output directory.

Each file is written to a temporary file in its own folder, fsynced and renamed over the old one,
so a reader (or a crash) sees the old file or the new one, never a mix. A file whose bytes did
not change is left alone: its mtime, and so the ETag a static host derives from it, stays.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path

from .errors import WriteError
from .models import FEED_FILES

_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK  # what open() would have given; mkstemp's 0600 is unreadable to nginx


def _target(root: Path, rel: str) -> Path:
    """``root/rel``, refusing anything that would land outside ``root``."""
    if not rel or "\x00" in rel or rel.startswith(("/", "\\")):
        raise WriteError(rel or "''", "refused: not a relative path inside the output directory")
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise WriteError(rel, "refused: path leads outside the output directory")
    return target


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Atomically make ``root/rel`` hold ``data``; False (and nothing written) if it already does."""
    target = _target(root, rel)
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        if not target.exists():
            raise WriteError(rel, f"cannot read the existing file: {exc.strerror or exc}") from None
    import tempfile  # a build that writes nothing needs neither it nor ElementTree

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteError(rel, f"cannot create a file: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(_FILE_MODE)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        kept = ", previous file kept" if target.is_file() else ""  # a failed rename left it
        raise WriteError(rel, f"not written{kept}: {exc.strerror or exc}") from None
    _fsync_dir(target.parent)
    return True


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sweep(root: Path) -> list[str]:
    """Remove temporary files a killed build left behind (``.<name>.<random>.tmp``).

    Only called under the state lock, so no other build can be writing one right now.
    """
    if not root.is_dir():
        return []
    removed = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3:
                with contextlib.suppress(OSError):
                    (Path(folder) / name).unlink()
                    removed.append((Path(folder) / name).relative_to(root).as_posix())
    return removed


def existing_feeds(root: Path) -> set[str]:
    """Relative paths of feed files already in ``root`` (by name: atom.xml / rss.xml)."""
    if not root.is_dir():
        return set()
    names = set(FEED_FILES.values())
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name in names:
                found.add((Path(folder) / name).relative_to(root).as_posix())
    return found


def read_title(root: Path, rel: str) -> str | None:
    """The channel/feed title of an existing feed file, or None if it cannot be read."""
    from xml.etree import ElementTree

    try:  # the file opened here, closed here: iterparse left early keeps its own file open
        with _target(root, rel).open("rb") as handle:
            for _, element in ElementTree.iterparse(handle, events=("end",)):
                if element.tag in ("title", "{http://www.w3.org/2005/Atom}title"):
                    return str(element.text or "") or None
    except (OSError, ElementTree.ParseError, WriteError):
        return None
    return None


def published_items(root: Path) -> list[tuple[str, str, int]]:
    """(id, title, published as epoch seconds) of every item in the feed files under ``root``,
    Atom, RSS and JSON Feed alike; files or items that cannot be read are left out."""
    items: list[tuple[str, str, int]] = []
    for rel in sorted(existing_feeds(root)):
        try:
            data = _target(root, rel).read_bytes()
            items += _json_items(data) if rel.endswith(".json") else _xml_items(data)
        except (OSError, ValueError, TypeError, AttributeError, SyntaxError, WriteError):
            continue
    return items


def _xml_items(data: bytes) -> list[tuple[str, str, int]]:
    from email.utils import parsedate_to_datetime
    from xml.etree import ElementTree

    atom = "{http://www.w3.org/2005/Atom}"
    items = []
    for element in ElementTree.fromstring(data).iter():
        if element.tag not in ("item", f"{atom}entry"):
            continue
        if element.tag == "item":
            guid, date = element.findtext("guid"), element.findtext("pubDate")
            when = parsedate_to_datetime(date) if date else None
        else:
            guid, date = element.findtext(f"{atom}id"), element.findtext(f"{atom}published")
            when = datetime.fromisoformat(date) if date else None
        title = element.findtext("title") or element.findtext(f"{atom}title")
        if guid and title and when is not None:
            items.append((guid, title, int(when.timestamp())))
    return items


def _json_items(data: bytes) -> list[tuple[str, str, int]]:
    return [
        (item["id"], item["title"], int(datetime.fromisoformat(item["date_published"]).timestamp()))
        for item in json.loads(data).get("items", [])
        if isinstance(item, dict) and {"id", "title", "date_published"} <= item.keys()
    ]


def remove(root: Path, rel: str) -> bool:
    """Delete a feed file and any folders it leaves empty (up to ``root``); False if not there."""
    target = _target(root, rel)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteError(rel, f"cannot remove: {exc.strerror or exc}") from None
    folder = target.parent
    root = root.resolve()
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent
    return True
