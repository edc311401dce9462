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
