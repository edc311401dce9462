"""refeed's exceptions: everything a user can cause is one of these.

    RefeedError
    ├── ConfigError      the configuration is unusable (carries every problem found)
    ├── ArticleError     one article cannot be published (path, reason)
    ├── FetchError       a remote resource could not be looked up (url, reason)
    ├── WriteError       an output file could not be written (path, reason)
    ├── PublishError     object storage refused or could not be reached (target, reason)
    ├── InitError        ``refeed init`` refuses (path, reason): a config exists, a bad _config.yml
    ├── StateError       the state folder cannot be used (path, reason): not a folder, read-only
    └── UsageError       a command-line flag names something unusable (flag, reason)

Messages follow ``<where>: <rule>, got <value!r>`` so that a log line says what to fix.
"""

from __future__ import annotations


class RefeedError(Exception):
    """Base of every error refeed raises on purpose."""


class ConfigError(RefeedError):
    """The configuration is refused; ``problems`` lists each one with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        super().__init__(
            f"{source}: configuration refused ({len(self.problems)} problem(s)):\n{lines}"
        )


class ArticleError(RefeedError):
    """One article is skipped; the others are still published."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class FetchError(RefeedError):
    """A URL could not be looked up."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class WriteError(RefeedError):
    """An output file could not be written; the previous file is left as it was."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        self.repeated = False  # the last build failed the same way: quiet (cron) says it once
        super().__init__(f"{path}: {reason}")


class PublishError(RefeedError):
    """An object could not be uploaded to, listed on or removed from a publish target."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"publish {target}: {reason}")


class InitError(RefeedError):
    """``refeed init`` cannot start a config here."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class StateError(RefeedError):
    """The state folder (``state.dir``) cannot hold the store: nothing is built."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UsageError(RefeedError):
    """A command-line flag names a file or folder that cannot be used."""

    def __init__(self, flag: str, reason: str) -> None:
        self.flag = flag
        self.reason = reason
        super().__init__(f"{flag}: {reason}")
