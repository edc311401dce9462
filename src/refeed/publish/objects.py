"""What each file of the output folder is as an object, and what to do to bring a bucket in line
with the folder (pure: no I/O; the caller passes stats, digests and listings in).

Order is what keeps a bucket consistent while it changes: media first, then feeds, then the
pages that link to them, each wave complete before the next starts, and deletions last, so
nothing ever links to an object that is not there yet. Only objects refeed itself put (the state
store's records, or objects carrying refeed's marker) are ever deleted.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ..config import CacheControl
from ..models import (
    FEED_FILES,
    INDEX_FILE,
    OPML_FILE,
    PREVIEW_FILE,
    STYLESHEET_FILE,
    StoredObject,
)
from ..thumbs import IMAGE_TYPES, RASTER_TYPES

Kind = Literal["media", "feeds", "pages"]
WAVES: tuple[Kind, ...] = ("media", "feeds", "pages")
MEDIA_FOLDER = "media"
PAGES = frozenset((INDEX_FILE, OPML_FILE, STYLESHEET_FILE))
OCTET_STREAM = "application/octet-stream"  # nginx's default_type
# The types deploy/nginx.conf gives each file (by name, then by extension); text ones are UTF-8.
_BY_NAME = {"atom.xml": "application/atom+xml", "rss.xml": "application/rss+xml"}
_BY_EXTENSION = {
    ".json": "application/feed+json",
    ".css": "text/css",
    ".xsl": "text/xml",  # feed.xsl, left by refeed before 0.2: no longer published
    ".opml": "text/x-opml",
    ".html": "text/html",
}


class LocalFile(NamedTuple):
    """The stat of one file in the output folder: unchanged stat, unchanged bytes."""

    size: int
    mtime_ns: int


class Headers(NamedTuple):
    content_type: str
    cache_control: str

    @property
    def key(self) -> str:
        """How the state store remembers them: a change of either uploads the object again."""
        return f"{self.content_type}\n{self.cache_control}"


def is_published(rel: str) -> bool:
    """Whether refeed publishes this file of the output folder: feeds and their preview pages,
    the pages at its top, mirrored raster images. Anything else kept there stays local."""
    folder, name = posixpath.split(rel)
    if folder == MEDIA_FOLDER:  # what mirror mode writes: raster images, never an SVG or page
        # that would run script on the bucket's origin (one an older build left there too)
        return IMAGE_TYPES.get(posixpath.splitext(name)[1].lower()) in RASTER_TYPES
    return name in FEED_FILES.values() or name == PREVIEW_FILE or (not folder and name in PAGES)


def kind_of(rel: str) -> Kind:
    folder, name = posixpath.split(rel)
    if folder == MEDIA_FOLDER:
        return "media"
    if name == PREVIEW_FILE or (not folder and name in PAGES):
        return "pages"  # they link to the feeds: put after them
    return "feeds"


def headers_for(rel: str, cache: CacheControl) -> Headers:
    kind = kind_of(rel)
    return Headers(content_type(rel), getattr(cache, kind))


def content_type(rel: str) -> str:
    name = posixpath.basename(rel)
    extension = posixpath.splitext(name)[1].lower()
    if kind_of(rel) == "media":
        return IMAGE_TYPES.get(extension, OCTET_STREAM)
    text = _BY_NAME.get(name) or _BY_EXTENSION.get(extension)
    return f"{text}; charset=utf-8" if text else OCTET_STREAM


@dataclass(frozen=True, slots=True)
class Upload:
    file: str  # its path in the output folder; the key is the target's prefix + this
    headers: Headers


@dataclass(slots=True)
class Plan:
    """What one publish does to one target."""

    waves: list[list[Upload]] = field(default_factory=list)  # media, feeds, pages, in order
    deletes: list[str] = field(default_factory=list)  # files whose objects refeed put
    refreshed: dict[str, StoredObject] = field(default_factory=dict)  # same bytes, new stat
    forgotten: list[str] = field(default_factory=list)  # records of objects gone everywhere

    @property
    def uploads(self) -> list[Upload]:
        return [upload for wave in self.waves for upload in wave]

    @property
    def idle(self) -> bool:
        return not self.waves and not self.deletes


Digest = Callable[[str], str]  # file -> MD5 hex of its bytes


def plan(
    local: Mapping[str, LocalFile],
    stored: Mapping[str, StoredObject],
    cache: CacheControl,
    *,
    digest: Digest,
) -> Plan:
    """The normal path: the records say what the bucket holds (no listing). A file whose stat
    is unchanged is not read; one whose bytes and headers match its record is not sent."""
    result = Plan(deletes=sorted(set(stored) - set(local)))
    uploads = []
    for file, stat in sorted(local.items()):
        headers = headers_for(file, cache)
        known = stored.get(file)
        if known is None or known.headers != headers.key:
            uploads.append(Upload(file, headers))
        elif (known.size, known.mtime_ns) != stat:
            if known.md5 == digest(file):
                result.refreshed[file] = known._replace(size=stat.size, mtime_ns=stat.mtime_ns)
            else:
                uploads.append(Upload(file, headers))
    result.waves = _waves(uploads)
    return result


def verify_plan(
    local: Mapping[str, LocalFile],
    stored: Mapping[str, StoredObject],
    cache: CacheControl,
    *,
    remote: Mapping[str, str],
    marked: set[str],
    digest: Digest,
) -> Plan:
    """``--verify``: the bucket's listing (file -> ETag) checked against the folder. An object
    is vouched for only if it still has the ETag refeed got when it put these very bytes with
    these headers; anything else is put again. Objects refeed put (recorded, or ``marked`` with
    its metadata) that the folder no longer has are deleted; other objects are left alone."""
    result = Plan()
    uploads = []
    for file, stat in sorted(local.items()):
        headers = headers_for(file, cache)
        known = stored.get(file)
        if (
            known is None
            or known.headers != headers.key
            or remote.get(file) != known.etag
            or known.md5 != digest(file)
        ):
            uploads.append(Upload(file, headers))
        elif (known.size, known.mtime_ns) != stat:
            result.refreshed[file] = known._replace(size=stat.size, mtime_ns=stat.mtime_ns)
    result.waves = _waves(uploads)
    result.deletes = sorted(((set(stored) & set(remote)) | marked) - set(local))
    result.forgotten = sorted(set(stored) - set(remote) - set(local))
    return result


def _waves(uploads: list[Upload]) -> list[list[Upload]]:
    waves = [[u for u in uploads if kind_of(u.file) == kind] for kind in WAVES]
    return [wave for wave in waves if wave]
