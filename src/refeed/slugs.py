"""Category and tag names → safe, stable file-name segments (pure).

A name's slug is its readable form (NFKC, case-folded, anything but letters, digits and marks
turned into ``-``, at most 60 bytes). Names whose readable forms clash (``Tech``/``tech``,
full-width look-alikes) are told apart by a short hash of the exact name, so two names never share
a file and ``..``, ``/`` or NUL can never reach a path.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_SLUG_BYTES = 60
# Names Windows (and so many sync tools) cannot use as a file or folder name.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{n}" for p in ("com", "lpt") for n in range(10)]
)
_DASHES = re.compile(r"-{2,}")


def name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _readable(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(c if c == "_" or unicodedata.category(c)[0] in "LNM" else "-" for c in folded)
    kept = _DASHES.sub("-", kept).strip("-_")
    encoded = kept.encode("utf-8")
    if len(encoded) > MAX_SLUG_BYTES:
        kept = encoded[:MAX_SLUG_BYTES].decode("utf-8", "ignore").rstrip("-_")
        # A cut may leave a combining mark without its base; drop trailing marks.
        while kept and unicodedata.category(kept[-1])[0] == "M":
            kept = kept[:-1]
    return kept


def unique_slug(name: str) -> str:
    """The slug that no other name can have: readable part plus a hash of the exact name."""
    readable = _readable(name)
    return f"{readable}-{name_hash(name)}" if readable else name_hash(name)


def preferred_slug(name: str) -> str:
    """The readable slug ``name`` gets when no sibling name shares it."""
    readable = _readable(name)
    return readable if readable and readable not in _RESERVED else unique_slug(name)


def assign_slugs(names: Iterable[str], fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """Slugs for sibling names (one folder level): deterministic and collision-free.

    Each name gets its readable slug unless another name wants the same one; then the name the
    config fixed that slug for, else the name that already *is* the slug, keeps it, and the
    others get :func:`unique_slug`. Case-insensitive file systems are safe: slugs are lower-case.
    """
    fixed = fixed or {}
    wanted: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        wanted.setdefault(fixed.get(name) or preferred_slug(name), []).append(name)
    result: dict[str, str] = {}
    for slug, group in wanted.items():
        keeper = next((n for n in group if fixed.get(n) == slug), None)
        if keeper is None and len(group) > 1:
            keeper = next((n for n in group if n == slug), None)
        if keeper is None and len(group) == 1:
            keeper = group[0]
        for name in group:
            result[name] = slug if name == keeper else unique_slug(name)
    taken: set[str] = set()
    for name in sorted(result):  # a readable slug may equal another name's hashed one
        if result[name] in taken:
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            result[name] = f"{_readable(name)}-{digest}".lstrip("-")
        taken.add(result[name])
    return result


def is_canonical(slug: str) -> bool:
    """True when ``slug`` may be used as is (e.g. a slug chosen in the config)."""
    return bool(slug) and _readable(slug) == slug and slug not in _RESERVED
