"""Article body → safe, absolute, boilerplate-free HTML and a plain-text summary (pure).

One policy (:mod:`.policy`), two sanitizer engines. Every body is first parsed the way current
browsers parse it (:mod:`.tree`): boilerplate matched by the configured CSS selectors goes,
executable elements go with their content, foreign content keeps only the HTML a browser shows,
``<noscript>`` fallbacks stay as HTML, embedded players become links, URLs become absolute.
The engine named by ``clean.sanitizer`` then has the last word: ``bleach`` (the default; its
final release, no longer maintained) or ``nh3`` (ammonia, maintained). The Markdown import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

from ..chars import NOT_IN_FEEDS, feed_safe
from ..config import SANITIZERS, Sanitizer
from ..models import BodyFormat
from . import policy, tree

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Engine = Sanitizer  # clean.sanitizer's choices
ENGINES: tuple[Engine, ...] = SANITIZERS
ALLOWED_TAGS = policy.ALLOWED_TAGS
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_SUMMARY_WINDOW = 1024  # characters of a body parsed for its summary first (most need fewer)
_EMPTY_CONTAINER = re.compile(
    r"<(" + "|".join(sorted(policy.EMPTY_CONTAINERS)) + r")\b[^>]*>\s*</\1>", re.IGNORECASE
)


@dataclass(frozen=True)
class Rules:
    """Boilerplate rules: the configured selectors, and all of them as one selector list."""

    selectors: tuple[str, ...]
    combined: str


class SelectorError(ValueError):
    """CSS selectors lexbor cannot apply: one line per selector, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@lru_cache(maxsize=8)
def compile_rules(selectors: tuple[str, ...]) -> Rules:
    """Check CSS selectors; raises SelectorError naming every one that is not valid."""
    problems = []
    for index, selector in enumerate(selectors):
        error = tree.selector_error(selector) if selector.strip() else "empty"
        if error is not None:
            problems.append(
                f"clean.remove[{index}]: not a CSS selector ({error}), got {selector!r}"
            )
    if problems:
        raise SelectorError(problems)
    return Rules(tuple(selectors), ", ".join(selectors))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt  # only Markdown bodies need it

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def to_html(body: str, body_format: BodyFormat) -> str:
    """Markdown bodies are rendered; HTML bodies are left alone (no Markdown pass over them)."""
    return _markdown().render(body) if body_format == "markdown" else body


def clean_html(html: str, base_url: str, rules: Rules, *, engine: Engine = "bleach") -> str:
    """Sanitized HTML: boilerplate and executable content removed, every URL absolute."""
    html = _XML_DECL.sub("", _CHAR_REF.sub(_drop_bad_ref, feed_safe(html)))
    if not html.strip():
        return ""
    if engine == "nh3":
        from . import nh3_engine as sanitizer
    else:
        from . import bleach_engine as sanitizer  # type: ignore[no-redef]
    cleaned: str = sanitizer.sanitize(tree.prepare(html, base_url, rules.combined))
    # An engine whose parser nests misplaced markup differently (bleach's html5lib: an <a>
    # split around a <table>) can leave an empty container the tree pass would remove: once
    # more until none is left, so that cleaning the output again changes nothing.
    for _ in range(3):
        if not _EMPTY_CONTAINER.search(cleaned):
            break
        cleaned = sanitizer.sanitize(tree.prepare(cleaned, base_url, ""))
    return cleaned.strip()


def _drop_bad_ref(match: re.Match[str]) -> str:
    """A character reference to a character no feed may carry is dropped before parsing."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code == 0 or code > 0x10FFFF or NOT_IN_FEEDS.match(chr(code)):
        return ""
    return match.group(0)


def plain_text(html: str) -> str:
    """The readable text of an HTML fragment, whitespace collapsed."""
    return _collapsed(_text_pieces(html))


def summary_of(html: str, length: int) -> str:
    """``summarize(plain_text(html), length)``, reading only as much of the text as the
    summary needs: a long body is not parsed whole, nor its text joined and collapsed whole."""
    window = max(_SUMMARY_WINDOW, 4 * length)
    while window < len(html):
        prefix = _complete_pieces(_text_pieces(html[:window]))
        if (summary := _summary(prefix, length, whole=False)) is not None:
            return summary
        window *= 4  # too little text in it: a longer prefix, or the whole
    return _summary(_text_pieces(html), length, whole=True) or ""


def _complete_pieces(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces of a prefix's text that the whole text has too. The parser reads in document
    order and never goes back, so that is all but the piece the cut fell in and what comes
    after it (the ends of the blocks the cut left open)."""
    held: list[str] = []
    for piece in pieces:
        if piece.strip():
            yield from held
            held = [piece]
        else:
            held.append(piece)


def _summary(pieces: Iterable[str], length: int, *, whole: bool) -> str | None:
    """The summary of the text that starts with ``pieces``, or None when they hold too little
    of it to tell (unless they are the ``whole`` text)."""
    taken: list[str] = []
    gathered, enough = 0, length + 1
    for piece in pieces:
        taken.append(piece)
        gathered += len(piece)
        if gathered > enough:  # the collapsed text is never longer than the raw
            # A prefix of the collapsed text; once it is longer than the summary, the rest
            # cannot change it (summarize looks at the first ``length`` characters only).
            text = _collapsed(taken)
            if len(text) > length:
                return summarize(text, length)
            enough = gathered + length  # mostly whitespace so far: gather on
    return summarize(_collapsed(taken), length) if whole else None


def _collapsed(pieces: Iterable[str]) -> str:
    return _SPACE.sub(" ", "".join(pieces)).strip()


def _text_pieces(html: str) -> Iterator[str]:
    """The text of an HTML fragment in document order (a block's end as a space), without
    comments, executable or foreign elements."""
    html = feed_safe(html)
    if not html.strip():
        return
    try:
        body = lxml.html.document_fromstring(html).find("body")
    except (etree.ParserError, ValueError):
        return
    if body is None:
        return
    skipped = policy.DROP | policy.FOREIGN
    if body.text:
        yield body.text
    # Depth first by hand, each level with the tail that follows it: a dropped element's
    # content is never visited, its tail is (where the element was).
    stack: list[tuple[Iterator[etree._Element], str]] = [(iter(body), "")]
    while stack:
        children, after = stack[-1]
        element = next(children, None)
        if element is None:
            stack.pop()
            if after:
                yield after
        elif isinstance(element.tag, str) and element.tag.lower() not in skipped:
            if element.text:
                yield element.text
            tail = element.tail or ""
            stack.append((iter(element), " " + tail if element.tag in policy.BLOCKS else tail))
        elif element.tail:  # a comment, a processing instruction, a dropped element
            yield element.tail


def summarize(text: str, length: int) -> str:
    """At most ``length`` characters, cut at a word boundary where the text has words (not CJK),
    never inside a character sequence that renders as one (combining marks, joiners)."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= length:
        return text
    cut = length - 1  # room for the ellipsis
    space = text.rfind(" ", 0, cut + 1)
    if space >= length * 0.6:
        cut = space
    while cut > 0 and (_joins(text[cut]) or _joins(text[cut - 1], before=True)):
        cut -= 1
    return text[:cut].rstrip(" ,.;:，。；：、") + "…"


def _joins(char: str, before: bool = False) -> bool:
    if before:
        return char in "\u200d"  # a zero-width joiner binds to what follows
    return (
        unicodedata.combining(char) > 0
        or unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in "\u200d\ufe0e\ufe0f"
    )
