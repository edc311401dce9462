"""Hexo's tag syntax as Nunjucks reads it (pure): ``{% name args %}``, block tags closed by
``{% endname %}``, ``{% raw %}…{% endraw %}`` and ``{# comments #}``.

A small scanner, not a template engine: posts use only tag plugins, and Jinja2's lexer (the
nearest maintained Python one) drops the whitespace that separates Hexo's arguments and refuses
characters common in them (``?`` and ``#`` in URLs). Tags inside code are left alone, as Hexo
leaves them: fenced code blocks and code spans in Markdown, ``<pre>`` and ``<code>`` in HTML.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..models import BodyFormat

# Always blocks, closed by {% end<name> %}; any other tag is a block only when its end tag follows.
BLOCK_TAGS = frozenset(["blockquote", "quote", "codeblock", "code", "pullquote", "raw"])
_NAME = re.compile(r"[A-Za-z_][\w-]*\Z")
_TAG_OR_COMMENT = re.compile(r"\{[%#]")
_MAX_HEADER = 4096  # characters between {% and %}: an unclosed {% must not swallow the post
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_BACKTICKS = re.compile(r"(?<!\\)`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_HTML_CODE = re.compile(r"<(pre|code)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


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


def parse(text: str, body_format: BodyFormat) -> list[Piece]:
    """``text`` as plain text and tag calls, in order; comments are dropped."""
    headers = list(_headers(text, code_spans(text, body_format)))
    pieces: list[Piece] = []
    position = index = 0
    while index < len(headers):
        header = headers[index]
        pieces.append(text[position : header.start])
        position, index = header.end, index + 1
        if not header.name:
            continue  # {# a comment #}
        if header.name == "raw":
            close = next(
                (i for i in range(index, len(headers)) if headers[i].name == "endraw"), None
            )
        else:
            close = _matching_end(headers, index, header.name)
        if close is None:
            pieces.append(
                TagCall(
                    header.name, split_args(header.arguments), None, text[header.start : header.end]
                )
            )
            continue
        end = headers[close]
        body = text[header.end : end.start]
        pieces.append(
            TagCall(header.name, split_args(header.arguments), body, text[header.start : end.end])
        )
        position, index = end.end, close + 1
    pieces.append(text[position:])
    return [piece for piece in pieces if piece != ""]


def _matching_end(headers: Sequence[_Header], index: int, name: str) -> int | None:
    """Index of the ``end<name>`` header closing the tag before ``index`` (nesting counted)."""
    depth = 0
    for position in range(index, len(headers)):
        other = headers[position].name
        if other == name:
            depth += 1
        elif other == f"end{name}":
            if depth == 0:
                return position
            depth -= 1
    return None


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
        yield _Header(start, close + 2, name, arguments)
        position = close + 2


def _split_name(inner: str) -> tuple[str, str]:
    parts = inner.split(None, 1)
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


def _header_end(text: str, start: int) -> int:
    """Index of the ``%}`` that closes a tag opened before ``start`` (quotes respected), or -1."""
    quote = ""
    limit = min(len(text) - 1, start + _MAX_HEADER)
    position = start
    while position < limit:
        char = text[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and _closes(text, position, limit):
            quote = char
        elif char == "%" and text[position + 1] == "}":
            return position
        position += 1
    return -1


def _closes(text: str, position: int, limit: int) -> bool:
    """Whether the quote at ``position`` is closed on its line: an apostrophe in running text
    ("Hexo's docs") is no string, and must not swallow the rest of the post."""
    end = text.find("\n", position, limit)
    return text.find(text[position], position + 1, limit if end < 0 else end) >= 0


def split_args(arguments: str) -> tuple[str, ...]:
    """Arguments as Nunjucks' lexer splits them: at whitespace, a quoted string being one
    argument (without its quotes) even when it holds spaces."""
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
        elif char in "\"'" and _closes(arguments, position, len(arguments)):
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
        return [match.span() for match in _HTML_CODE.finditer(text)]
    spans = _fenced_blocks(text)
    return sorted(spans + _code_runs(text, spans))


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
    paragraph (CommonMark's rule, which Hexo's escaping follows)."""
    spans: list[tuple[int, int]] = []
    starts = [start for start, _ in fenced]
    position = 0
    while (opening := _BACKTICKS.search(text, position)) is not None:
        region = bisect_right(starts, opening.start()) - 1
        if region >= 0 and fenced[region][1] > opening.start():
            position = fenced[region][1]
            continue
        paragraph_end = _BLANK_LINE.search(text, opening.end())
        limit = paragraph_end.start() if paragraph_end is not None else len(text)
        width = len(opening.group(0))
        closing = next(
            (
                run
                for run in _BACKTICKS.finditer(text, opening.end(), limit)
                if len(run.group(0)) == width
            ),
            None,
        )
        if closing is None:
            position = opening.end()
            continue
        spans.append((opening.start(), closing.end()))
        position = closing.end()
    return spans
