"""The bleach sanitizer (the only bleach import).

bleach 6.4 is the final release: the project is archived and publishes no further security
fixes. It stays the default because the project's design names it; ``clean.sanitizer: nh3``
switches to a maintained engine. Only bleach's public ``Cleaner`` is used.
"""

from __future__ import annotations

from functools import lru_cache

import bleach

from . import policy


@lru_cache(maxsize=1)
def _cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=policy.ALLOWED_TAGS,
        attributes=_allow,
        protocols=policy.URL_SCHEMES,
        strip=True,
        strip_comments=True,
    )


def _allow(tag: str, name: str, value: str) -> bool:
    # bleach hands values over as written (entities kept): judge what they stand for.
    return policy.allow_written_attribute(tag, name, value)


def sanitize(html: str) -> str:
    """``html`` with everything off the allowlist removed, by bleach's html5lib sanitizer."""
    cleaned: str = _cleaner().clean(html)
    return cleaned
