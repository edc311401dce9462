"""Hexo's tag syntax as Nunjucks reads it (pure): ``{% name args %}``, block tags closed by
``{% endname %}``, ``{% raw %}…{% endraw %}`` and ``{# comments #}``.

A small scanner, not a template engine: posts use only tag plugins, and Jinja2's lexer (the
nearest maintained Python one) drops the whitespace that separates Hexo's arguments and refuses
characters common in them (``?`` and ``#`` in URLs). Tags inside code are left alone, as Hexo
leaves them: fenced code blocks and code spans in Markdown, ``<pre>`` and ``<code>`` in either.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..models import BodyFormat

_NAME = re.compile(r"[A-Za-z_][\w-]*\Z")
_TAG_OR_COMMENT = re.compile(r"\{[%#]")
_MAX_HEADER = 4096  # characters between {% and %}: an unclosed {% must not swallow the post
MAX_NESTING = 32  # block tags inside block tags; deeper is refused (each level renders nested)
_QUOTE = re.compile("[\"']")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_BACKTICKS = re.compile(r"(?<!\\)`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_HTML_OPEN = re.compile(r"<(pre|code)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TagCall:
    """One tag as written: its name, its arguments, and for a block tag the text it encloses."""

    name: str
    args: tuple[str, ...]
    body: str | None
    source: str  # the tag exactly as written (end tag included): what code shows instead


Piece = str | TagCall


@dataclass(frozen=True)
class _Header:
    start: int
    end: int  # just past the closing %} (or #})
    name: str  # "" for a comment
    arguments: str
    body: str | None = None  # raw's text, taken whole (its end is past {% endraw %})


def parse(text: str, body_format: BodyFormat) -> list[Piece]:
    """``text`` as plain text and tag calls, in order; comments are dropped.

    Linear in the text: every tag is found once, and block tags are paired with their end tags
    in one pass (a stack per name), so hostile input costs no more than its length.
    """
    headers = list(_headers(text, code_spans(text, body_format)))
    closes = _pair_blocks(headers)
    pieces: list[Piece] = []
    position = index = 0
    while index < len(headers):
        header = headers[index]
        pieces.append(text[position : header.start])
        position, index = header.end, index + 1
        if not header.name:
            continue  # {# a comment #}
        close = closes.get(index - 1)
        if close is None:
            source = text[header.start : header.end]
            pieces.append(TagCall(header.name, split_args(header.arguments), header.body, source))
            continue
        end = headers[close]
        body = text[header.end : end.start]
        source = text[header.start : end.end]
        pieces.append(TagCall(header.name, split_args(header.arguments), body, source))
        position, index = end.end, close + 1
    pieces.append(text[position:])
    return [piece for piece in pieces if piece != ""]


def _pair_blocks(headers: Sequence[_Header]) -> dict[int, int]:
    """Index of each block tag → index of its ``end<name>`` (the innermost open tag of that
    name closes first); refuses blocks nested deeper than :data:`MAX_NESTING`."""
    open_by_name: dict[str, list[int]] = {}
    pairs: dict[int, int] = {}
    for index, header in enumerate(headers):
        if header.name.startswith("end") and open_by_name.get(header.name[3:]):
            pairs[open_by_name[header.name[3:]].pop()] = index
        elif header.name and header.body is None:
            open_by_name.setdefault(header.name, []).append(index)
    depth = 0
    for _, step in sorted([(i, 1) for i in pairs] + [(i, -1) for i in pairs.values()]):
        depth += step
        if depth > MAX_NESTING:
            raise ValueError(f"Hexo tags nested deeper than {MAX_NESTING} levels")
    return pairs


def _headers(text: str, protected: Sequence[tuple[int, int]]) -> Iterator[_Header]:
    starts = [start for start, _ in protected]
    position = 0
    while (match := _TAG_OR_COMMENT.search(text, position)) is not None:
        start = match.start()
        region = bisect_right(starts, start) - 1
        if region >= 0 and protected[region][1] > start:
            position = protected[region][1]  # inside code: left as written
            continue
        if text[start + 1] == "#":
            end = text.find("#}", start + 2)
            if end < 0:
                return
            yield _Header(start, end + 2, "", "")
            position = end + 2
            continue
        close = _header_end(text, start + 2)
        inner = text[start + 2 : close].strip("-").strip() if close >= 0 else ""
        name, arguments = _split_name(inner)
        if close < 0 or not _NAME.match(name):
            position = start + 2  # not a tag: "{%" stays as text
            continue
        if name == "raw":  # everything up to {% endraw %} is text, tags and all
            end_raw = _END_RAW.search(text, close + 2)
            if end_raw is not None:
                yield _Header(
                    start, end_raw.end(), name, arguments, text[close + 2 : end_raw.start()]
                )
                position = end_raw.end()
                continue
        yield _Header(start, close + 2, name, arguments)
        position = close + 2


def _split_name(inner: str) -> tuple[str, str]:
    parts = inner.split(None, 1)
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


def _header_end(text: str, start: int) -> int:
    """Index of the ``%}`` that closes a tag opened before ``start``, or -1: within
    :data:`_MAX_HEADER` characters, a quoted argument's own ``%}`` not counting."""
    limit = min(len(text), start + _MAX_HEADER)
    close = text.find("%}", start, limit)
    if close < 0 or not _QUOTE.search(text, start, close):
        return close  # the usual tag, no quote before its end: one search at C speed
    quote = ""
    position = start
    while position < limit - 1:
        char = text[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and _opens(text, position, start, limit):
            quote = char
        elif char == "%" and text[position + 1] == "}":
            return position
        position += 1
    return -1


def _opens(text: str, position: int, start: int, limit: int) -> bool:
    """Whether the quote at ``position`` opens a quoted argument: at an argument's start, and
    closed on its line. An apostrophe inside a word ("Hexo's", "O'Reilly") is text."""
    if position > start and not text[position - 1].isspace():
        return False
    end = text.find("\n", position, limit)
    return text.find(text[position], position + 1, limit if end < 0 else end) >= 0


def split_args(arguments: str) -> tuple[str, ...]:
    """Arguments as Nunjucks' lexer splits them: at whitespace, a quoted string being one
    argument (without its quotes) even when it holds spaces; a quote inside a word is text."""
    args: list[str] = []
    current: list[str] = []
    quote = ""
    started = False
    position = 0
    while position < len(arguments):
        char = arguments[position]
        if quote:
            if char == "\\" and position + 1 < len(arguments):
                position += 1
                current.append(arguments[position])
            elif char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "\"'" and not started and _opens(arguments, position, 0, len(arguments)):
            quote, started = char, True
        elif char.isspace():
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
        position += 1
    if started:
        args.append("".join(current))
    return tuple(args)


def code_spans(text: str, body_format: BodyFormat) -> list[tuple[int, int]]:
    """Sorted (start, end) regions of ``text`` that are code, where tags are not expanded."""
    if body_format == "html":
        return _html_code(text)
    spans = _fenced_blocks(text)
    spans += _code_runs(text, spans)
    # Raw HTML is Markdown too: a <pre> or <code> written by hand is code as in an HTML body,
    # but not one that Markdown code shows as text (blanked out, same length, to find the rest).
    blanked = list(text)
    for start, end in spans:
        blanked[start:end] = " " * (end - start)
    found = sorted(spans + _html_code("".join(blanked)))
    merged: list[tuple[int, int]] = []
    for start, end in found:  # a region inside (or starting inside) another is part of it
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _html_code(text: str) -> list[tuple[int, int]]:
    """``<pre>…</pre>`` and ``<code>…</code>`` regions; an element never closed is no region.
    Each opening finds its end by bisection: linear however many are left open."""
    closings = {
        name: [m.start() for m in re.finditer(rf"</{name}\s*>", text, re.I)]
        for name in ("pre", "code")
    }
    spans: list[tuple[int, int]] = []
    position = 0
    for opening in _HTML_OPEN.finditer(text):
        if opening.start() < position:
            continue
        ends = closings[opening.group(1).lower()]
        found = bisect_right(ends, opening.end() - 1)
        if found < len(ends):
            position = text.index(">", ends[found]) + 1
            spans.append((opening.start(), position))
    return spans


def _fenced_blocks(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    while (opening := _FENCE.search(text, position)) is not None:
        fence = opening.group(1)
        closing = re.compile(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE
        )
        line_end = text.find("\n", opening.end())
        if line_end < 0:
            spans.append((opening.start(), len(text)))
            break
        close = closing.search(text, line_end + 1)
        end = close.end() if close is not None else len(text)
        spans.append((opening.start(), end))
        position = end
    return spans


def _code_runs(text: str, fenced: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inline code spans: a run of backticks up to the next run of the same length, within one
    paragraph (CommonMark's rule, which Hexo's escaping follows). One pass over the runs."""
    starts = [start for start, _ in fenced]

    def in_fence(at: int) -> bool:
        region = bisect_right(starts, at) - 1
        return region >= 0 and fenced[region][1] > at

    runs = [m.span() for m in _BACKTICKS.finditer(text) if not in_fence(m.start())]
    breaks = [m.start() for m in _BLANK_LINE.finditer(text)]
    following: list[int | None] = [None] * len(runs)  # the next run of the same width
    latest: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        width = runs[index][1] - runs[index][0]
        following[index] = latest.get(width)
        latest[width] = index
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(runs):
        close = following[index]
        same_paragraph = close is not None and bisect_right(breaks, runs[index][0]) == bisect_right(
            breaks, runs[close][0]
        )
        if close is not None and same_paragraph:
            spans.append((runs[index][0], runs[close][1]))
            index = close + 1
        else:
            index += 1
    return spans
