"""A body parsed the way current browsers parse it, and the policy applied to that tree (the
only selectolax import: lexbor, a WHATWG-conformant HTML parser in C).

Both engines start here, so boilerplate selectors, foreign content, ``<noscript>`` fallbacks,
embedded players, lazy images and URLs are handled once, on the tree a browser would build.
What comes out holds only allowlisted elements, no comments, no foreign or raw-text elements:
markup every HTML5 parser reads back into the same tree, which keeps cleaning idempotent when
an engine's sanitizer parses it again.
"""

from __future__ import annotations

import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from . import policy

_EMBEDS = frozenset(["iframe", "embed", "object", "frame"])
_START_TAG = re.compile(r"<[A-Za-z]")
# Elements whose start tag first closes an open <p> (a walk up the open elements): nested
# thousands deep they make any HTML5 parser quadratic, so their nesting is bounded before parsing.
_NESTING = re.compile(
    r"<(/?)(address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset|"
    r"figcaption|figure|footer|header|hgroup|main|menu|nav|ol|search|section|summary|ul)(?=[\s/>])",
    re.IGNORECASE,
)
_EMPTY_SELECTOR = ", ".join(sorted(policy.EMPTY_CONTAINERS))


def selector_error(selector: str) -> str | None:
    """Why ``selector`` is not a CSS selector lexbor can apply, or None when it is one."""
    try:
        _probe().css(selector)
    except SelectolaxError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1)
def _probe() -> LexborHTMLParser:
    return LexborHTMLParser("<p>probe</p>", is_fragment=True)  # empty: selectors go unparsed


def prepare(html: str, base_url: str, remove: str) -> str:
    """``html`` with the policy applied to its tree, serialized; ``remove`` is a selector list
    ("" for none). Raises ValueError for a body too deep or too large to parse safely."""
    _check_size(html)
    # Scripting off, as in a feed reader: <noscript> content is markup, the fallback it is.
    parser = LexborHTMLParser(html, is_fragment=True)
    if remove:
        for node in parser.css(remove):
            node.remove()  # unlinked, not freed: a match inside an earlier match stays valid
    walk = _Walk(parser, base_url)
    walk.run()
    if walk.hoisted:  # HTML moved out of foreign content can nest where no parser puts it
        parser = LexborHTMLParser(parser.html or "", is_fragment=True)
        _Walk(parser, base_url).run()
    for node in reversed(parser.css(_EMPTY_SELECTOR)):  # innermost first
        if _blank(node):
            node.remove()
    parser.merge_text_nodes()  # the text on both sides of a removed node becomes one
    _tidy(parser)
    return parser.html or ""


def _check_size(html: str) -> None:
    if html.count("<") <= policy.MAX_DEPTH:  # too few tags to nest or number past a limit
        return
    open_tags: dict[str, int] = {}
    depth = 0
    for match in _NESTING.finditer(html):
        name = match.group(2).lower()
        if not match.group(1):
            open_tags[name] = open_tags.get(name, 0) + 1
            depth += 1
            if depth > policy.MAX_DEPTH:
                raise ValueError(f"HTML nested deeper than {policy.MAX_DEPTH} levels")
        elif open_tags.get(name):
            open_tags[name] -= 1
            depth -= 1
    if len(_START_TAG.findall(html)) > policy.MAX_ELEMENTS:
        raise ValueError(f"HTML with more than {policy.MAX_ELEMENTS:,} elements")


def _tidy(parser: LexborHTMLParser) -> None:
    """Runs of blank lines left by removed boilerplate become one newline (outside <pre>)."""
    root = parser.root
    if root is None:
        return
    for node in list(root.traverse(include_text=True)):
        if node.tag != "-text":
            continue
        text = node.text_content or ""
        if text == "\n" or "\n" not in text or text.strip():
            continue
        parent = node.parent
        while parent is not None and parent.tag not in policy.VERBATIM:
            parent = parent.parent
        if parent is None:
            node.replace_with("\n")


def _blank(node: LexborNode) -> bool:
    child = node.first_child
    while child is not None:
        if child.tag != "-text" or (child.text_content or "").strip():
            return False
        child = child.next
    return True


class _Walk:
    """One pass over the tree in document order, deciding for each node what stays."""

    def __init__(self, parser: LexborHTMLParser, base_url: str) -> None:
        self.parser = parser
        self.base_url = base_url
        self.elements = 0
        self.hoisted = False

    def run(self) -> None:
        node = self.parser.root
        ancestors: list[LexborNode | None] = []  # the next sibling of each
        while node is not None or ancestors:
            if node is None:
                node = ancestors.pop()
                continue
            following = node.next
            tag = node.tag or "-"
            if tag == "-text":
                node = following
                continue
            self.elements += 1
            if self.elements > policy.MAX_ELEMENTS:
                raise ValueError(f"HTML with more than {policy.MAX_ELEMENTS:,} elements")
            if tag in policy.ALLOWED_TAGS:
                self.attributes(node, tag)
                child = node.first_child
                if child is None:
                    node = following
                    continue
                ancestors.append(following)
                if len(ancestors) > policy.MAX_DEPTH:
                    raise ValueError(f"HTML nested deeper than {policy.MAX_DEPTH} levels")
                node = child
            elif tag in policy.FOREIGN:
                node = self.hoist(node, following)
            elif tag in _EMBEDS and self.link(node):
                node = following
            elif tag == "noscript":
                self.drop_repeated_images(node)
                node = self.unwrap(node, following)
            elif tag in policy.DROP or not tag or tag[0] in "-!":  # comments, doctypes
                node.remove()
                node = following
            else:  # policy.UNWRAP, and every other element off the allowlist
                node = self.unwrap(node, following)

    def attributes(self, node: LexborNode, tag: str) -> None:
        attrs = node.attributes
        if not attrs:
            return
        kept = policy.clean_attributes(tag, attrs, self.base_url)
        if kept == attrs:
            return
        live = node.attrs
        for name in attrs:
            if name not in kept:
                del live[name]
        for name, value in kept.items():
            if attrs.get(name) != value:
                live[name] = value

    def first_at(self, before: LexborNode | None, parent: LexborNode | None) -> LexborNode | None:
        """The node now following ``before`` (or first in ``parent``, or first of all)."""
        if before is not None:
            return before.next
        return parent.first_child if parent is not None else self.parser.root

    def unwrap(self, node: LexborNode, following: LexborNode | None) -> LexborNode | None:
        """The tag goes, its content stays where it was (and is walked next)."""
        if node.first_child is None:
            node.remove()
            return following
        before, parent = node.prev, node.parent
        node.unwrap()
        return self.first_at(before, parent)

    def drop_repeated_images(self, noscript: LexborNode) -> None:
        """A lazy-loading page shows an image and repeats it in <noscript> for readers without
        JavaScript; once the lazy image has its real source, the repeat would show it twice."""
        shown = noscript.prev
        while shown is not None and shown.tag == "-text" and not (shown.text_content or "").strip():
            shown = shown.prev
        if shown is None or shown.tag == "-text":
            return
        sources = {
            img.attributes.get("src") for img in [shown, *shown.css("img")] if img.tag == "img"
        }
        for img in noscript.css("img"):
            src = img.attributes.get("src") or ""
            if src and policy.absolute(self.base_url, src) in sources:
                img.remove()

    def hoist(self, node: LexborNode, following: LexborNode | None) -> LexborNode | None:
        """Foreign content (SVG, MathML) goes; the HTML a browser renders inside it stays."""
        keep: list[LexborNode] = []
        children: list[LexborNode | None] = [node.first_child]  # next to look at, per level
        hosts = [(node.tag or "").lower() in policy.FOREIGN_HTML_HOSTS]
        while children:
            child = children[-1]
            if child is None:
                children.pop()
                hosts.pop()
                continue
            children[-1] = child.next
            name = (child.tag or "-").lower()
            if hosts[-1] and name not in ("mglyph", "malignmark", "svg", "math", "-comment"):
                keep.append(child)  # HTML content, where the parser put it: walked next
            elif name[0] not in "-!":  # still foreign: only its HTML content may stay
                self.elements += 1
                if self.elements > policy.MAX_ELEMENTS:
                    raise ValueError(f"HTML with more than {policy.MAX_ELEMENTS:,} elements")
                if len(children) > policy.MAX_DEPTH:
                    raise ValueError(f"HTML nested deeper than {policy.MAX_DEPTH} levels")
                children.append(child.first_child)
                hosts.append(name in policy.FOREIGN_HTML_HOSTS)
        before, parent = node.prev, node.parent
        self.hoisted |= bool(keep)
        for kept in keep:
            node.insert_before(kept)  # a copy; the original goes with ``node``
        node.remove()
        return self.first_at(before, parent) if keep else following

    def link(self, node: LexborNode) -> bool:
        """An embedded player becomes a link to its page; False when it is not one."""
        attrs = node.attributes
        src = attrs.get("src") or attrs.get("data") or ""
        found = policy.embed_link(src, attrs.get("title")) if src else None
        if found is None:
            return False
        page, text = found
        parent = node.parent
        while parent is not None and parent.tag != "a":
            parent = parent.parent
        if parent is not None:  # already inside a link: a link in a link would split it
            node.replace_with(text)
            return True
        anchor = self.parser.create_node("a")
        anchor.attrs["href"] = page
        anchor.insert_child(text)
        node.replace_with(anchor)
        return True
