"""Which characters may reach a feed (pure leaf helper).

XML 1.0 forbids most C0 controls, surrogates and U+FFFE/U+FFFF; the W3C Feed Validator also
warns on C1 controls and U+FFFD. None of them carries meaning in an article, so all are dropped.
"""

from __future__ import annotations

import re

NOT_IN_FEEDS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\ufffd]")


def feed_safe(text: str) -> str:
    """``text`` without the characters no feed may carry."""
    return NOT_IN_FEEDS.sub("", text)


# "<" followed by what the HTML tokenizer reads as the start of a tag, end tag or comment.
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_TAG = re.compile(r"<[A-Za-z/!?][^>]*>?")


def plain(text: str) -> str:
    """``text`` as plain text that no reader can turn into elements: feed-safe, whitespace
    collapsed, and markup reduced to its text (tags stripped, as WordPress does with names).

    For every title, name and description that comes from an article or the config: readers
    that show such fields as HTML then find no element in them. Text that is nothing but
    markup keeps its characters without the angle brackets, so a title never ends up empty.
    """
    text = feed_safe(text)
    stripped = text
    while _TAG_START.search(stripped):  # until none is left: stripping can join a new "<tag"
        stripped = _TAG.sub("", stripped)
    words = stripped.split() or text.replace("<", " ").replace(">", " ").split()
    return " ".join(words)
