"""Hexo's post conventions (pure): tag plugins rendered as safe HTML, the ``<!-- more -->``
excerpt marker, and the posts a body links to.

Order as in Hexo: tags are cut out of a Markdown body (code left alone), the Markdown is
rendered, then each tag's HTML goes where it stood; a tag that ended up in a code block shows
as the text it was. Nothing here reads a file; the Markdown renderer is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from ..models import BodyFormat
from .plugins import PLUGINS, VALUE_TAGS, PostRef, TagContext, TagProblem
from .syntax import TagCall, parse

__all__ = ["PostRef", "Rendered", "TagContext", "excerpt", "references", "render_body"]

Markdown = Callable[[str], str]
_VALUE = "zrefeedvalue"
_STAND_IN = re.compile(
    "(?P<open><|&lt;)!--refeed\ufffc(?P<html>\\d+)--(?:>|&gt;)|" + _VALUE + r"(?P<value>\d+)z"
)
_CODE_ELEMENT = re.compile(r"(<code\b[^>]*>.*?</code>)", re.DOTALL)
_LINKING = frozenset(["post_link", "post_path"])  # tags naming another post
_VERBATIM = frozenset(["raw", "codeblock", "code"])


@dataclass(frozen=True)
class Rendered:
    """A body as HTML, and what a person should hear about its tags (one line each)."""

    html: str
    warnings: tuple[str, ...]


def render_body(
    body: str, body_format: BodyFormat, context: TagContext, markdown: Markdown
) -> Rendered:
    """``body`` as HTML with every Hexo tag plugin rendered."""
    notes: list[str] = []
    unknown: list[str] = []
    html = _render(body, body_format, _Renderer(context, markdown, notes, unknown))
    if unknown:
        names = ", ".join(f"{{% {name} %}}" for name in dict.fromkeys(unknown))
        notes.append(f"unknown Hexo tag plugin(s) {names}, shown as their text")
    return Rendered(html, tuple(dict.fromkeys(notes)))


@dataclass(frozen=True)
class _Renderer:
    context: TagContext
    markdown: Markdown
    notes: list[str]
    unknown: list[str]

    def nested(self, body: str) -> str:
        return _render(body, "markdown", self)

    def call(self, call: TagCall) -> str:
        plugin = PLUGINS.get(call.name)
        if plugin is None:
            self.unknown.append(call.name)
        else:
            try:
                return plugin(call, self.context, self.nested)
            except TagProblem as exc:
                self.notes.append(str(exc))
                if exc.shown is not None:
                    return exc.shown
        # What is left without the {% %} noise: a block's content, an inline tag's arguments.
        if call.body is not None:
            return self.nested(call.body)
        return escape(" ".join(call.args), quote=False)


def _render(text: str, body_format: BodyFormat, renderer: _Renderer) -> str:
    if "{%" not in text and "{#" not in text:
        return renderer.markdown(text) if body_format == "markdown" else text
    pieces = parse(text, body_format)
    if body_format == "html":  # code was left out by the parse; every tag is rendered in place
        return "".join(p if isinstance(p, str) else renderer.call(p) for p in pieces)
    # Markdown: each tag leaves a stand-in, the Markdown is rendered, then each stand-in becomes
    # the tag's HTML, or, where it landed in code, the tag as written (and is not run at all).
    calls: list[TagCall] = []
    parts: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(piece)
        elif piece.name in VALUE_TAGS:  # a URL: link targets hold it, so a plain-letter token
            parts.append(f"{_VALUE}{len(calls)}z")
            calls.append(piece)
        else:  # HTML: a comment, which Markdown passes through as it is
            parts.append(f"<!--refeed\ufffc{len(calls)}-->")
            calls.append(piece)
    html = renderer.markdown("".join(parts))

    def called(match: re.Match[str]) -> TagCall:
        return calls[int(match.group("html") or match.group("value"))]

    def in_code(match: re.Match[str]) -> str:
        return escape(called(match).source, quote=False)

    def outside(match: re.Match[str]) -> str:
        if match.group("open") == "&lt;":  # a comment that Markdown escaped sits in code
            return in_code(match)
        return renderer.call(called(match))

    return "".join(
        _STAND_IN.sub(in_code if chunk.startswith("<code") else outside, chunk)
        for chunk in _CODE_ELEMENT.split(html)
    )


def references(body: str, body_format: BodyFormat) -> tuple[str, ...]:
    """The posts ``body`` links to with post_link/post_path (slug or title), in order."""
    if "{%" not in body:
        return ()
    found: list[str] = []
    for piece in parse(body, body_format):
        if not isinstance(piece, TagCall):
            continue
        if piece.name in _LINKING and piece.args:
            found.append(piece.args[0].partition("#")[0])
        elif piece.body is not None and piece.name not in _VERBATIM:
            found.extend(references(piece.body, "markdown"))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=8)
def _marker(marker: str) -> re.Pattern[str]:
    # Hexo's own rule is /<!-- ?more ?-->/i: spacing and case inside the marker are free.
    return re.compile(r"\s*".join(map(re.escape, marker.split())), re.IGNORECASE)


def excerpt(html: str, marker: str) -> str | None:
    """The part of ``html`` before the excerpt marker, or None when there is no marker."""
    if not marker:
        return None
    match = _marker(marker).search(html)
    return html[: match.start()] if match else None
