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


# --------------------------------------------------------------------------- Hexo's slugize

# Characters hexo-util's slugize turns into the separator, and the letters its diacritic map
# gives a base that Unicode decomposition does not (Æ, Ø, Ł…).
_HEXO_SPECIAL = re.compile(r"""[\s~`!@#$%^&*()\-_+=\[\]{}|\\;:"'<>,.?/]+""")
_HEXO_CONTROL = re.compile(r"[\x00-\x1f]")
_HEXO_LETTERS = str.maketrans(
    dict(
        zip(
            "ÆæØøĐđŁłŒœßĦħıŦŧĿŀſÐƒ",
            "AE ae O o D d L l OE oe s H h i T t L l l D f".split(),
            strict=True,
        )
    )
)


# The letters that may have a base letter: Latin with diacritics, Ⓐ…ⓩ, Ａ…ｚ (one regex pass
# finds them; a title in another script or plain ASCII has none, and no letter is looked at).
_HEXO_ACCENTED = re.compile("[\u00c0-\u024f\u1e00-\u1eff\u24b6-\u24e9\uff21-\uff5a]")


def _hexo_base_letter(found: re.Match[str]) -> str:
    char = found.group(0)
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base.isascii() and base.isalpha() else char


def hexo_slugize(text: str, lower: bool = False) -> str:
    """hexo-util's ``slugize``: diacritics dropped from Latin letters, punctuation and spaces
    made one ``-``, other scripts kept as they are (``遊戲`` stays ``遊戲``); case kept unless
    ``lower`` (Hexo lower-cases ``:post_title``)."""
    plain = _HEXO_ACCENTED.sub(_hexo_base_letter, text.translate(_HEXO_LETTERS))
    slug = _HEXO_SPECIAL.sub("-", _HEXO_CONTROL.sub("", plain)).strip("-")
    return slug.lower() if lower else slug
