"""refeed: republish a directory of articles as per-category Atom 1.0 and RSS 2.0 feeds.

>>> import refeed
>>> report = refeed.build(refeed.load_config("config.yaml"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .config import Config, load_config
from .errors import (
    ArticleError,
    ConfigError,
    FetchError,
    PublishError,
    RefeedError,
    WriteError,
)
from .models import Problem, RunReport

if TYPE_CHECKING:
    from .pipeline import build, check, upload

__all__ = [
    "ArticleError",
    "Config",
    "ConfigError",
    "FetchError",
    "Problem",
    "PublishError",
    "RefeedError",
    "RunReport",
    "WriteError",
    "__version__",
    "build",
    "check",
    "load_config",
    "upload",
]


def __getattr__(name: str) -> Any:
    # The pipeline pulls in lxml, bleach and feedgen; `import refeed` alone should not.
    if name in ("build", "check", "upload"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'refeed' has no attribute {name!r}")
