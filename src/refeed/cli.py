"""Command line: each command turns options into one library call and its result into an exit code.

Exit codes: 0 built; 1 --strict and something was skipped, or `check` found problems;
2 bad configuration or usage (or `init` refused); 3 some files could not be written (the old
ones are kept); 4 another refeed holds the state directory's lock (with state.lock: fail), or
`feeds` met a build committing; 5 the output could not all be published to object storage (the
next build or publish finishes);
6 the state folder cannot be used; 7 an internal error (a bug; REFEED_DEBUG=1 shows where);
8 `feeds` found no build recorded in the state folder.
Every failure is one line on stderr, ``refeed: <where>: <what>``; never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import posixpath
import signal
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .__about__ import __version__
from .config import Config, StateConfig, load_config
from .errors import ConfigError, InitError, RefeedError, StateError, UsageError, WriteError
from .models import FEED_FILES, PublishedFeed, RunReport

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_WRITE, EXIT_LOCKED = 0, 1, 2, 3, 4
EXIT_PUBLISH, EXIT_STATE, EXIT_INTERNAL, EXIT_NOT_BUILT, EXIT_INTERRUPTED = 5, 6, 7, 8, 130
PREVIEW_FOLDER_NAME = ".refeed-preview"  # refeed.preview.PREVIEW_FOLDER, without importing it


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose - args.quiet, args.log_format, timestamps=args.command is _watch)
    try:
        if args.command is _init:  # the one command that needs no config: it writes one
            return int(_init(args))
        cfg = _config(args)
        code = int(args.command(args, cfg))
        sys.stdout.flush()  # here, where a reader that stopped early is caught below
        return code
    except ConfigError as exc:  # one line per problem, each naming its key
        for problem in exc.problems:
            _fail(f"{exc.source}: {problem}")
        return EXIT_CONFIG
    except (InitError, UsageError) as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except WriteError as exc:
        if exc.repeated and args.quiet:  # cron mailed it after the build that first failed
            return EXIT_WRITE
        return _fail(str(exc), EXIT_WRITE)
    except StateError as exc:
        return _fail(str(exc), EXIT_STATE)
    except RefeedError as exc:  # the state lock is held (state.lock: fail)
        return _fail(str(exc), EXIT_LOCKED)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:  # `refeed build -v | head`: the reader had what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # none at exit either
        return EXIT_OK
    except Exception as exc:  # a bug: said in one line; the traceback only on request
        if _while_interrupted(exc):
            return _interrupted()
        if os.environ.get("REFEED_DEBUG"):
            raise
        detail = f"{type(exc).__name__}: {exc}"
        return _fail(f"internal error: {detail} (a bug: REFEED_DEBUG=1 shows where)", EXIT_INTERNAL)


def _interrupted() -> int:
    return _fail("interrupted; the feeds already written are complete", EXIT_INTERRUPTED)


def _while_interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a Ctrl-C unwound the build: a worker pool that the signal
    caught mid-start fails its own shutdown ("cannot join thread before it is started"), and
    that second error hides the interrupt the user made."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__context__
    return False


def entry_point() -> NoReturn:
    """The ``refeed`` command: :func:`main`, then exit with its code. Once the command is done,
    a late Ctrl-C (while the interpreter shuts down, where Python would let the signal kill the
    process with no word) changes nothing: the work is finished, the exit code says how."""
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"refeed: {message}", file=sys.stderr)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors in refeed's one-line form (argparse prints usage and two lines)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"refeed: {message}; see {self.prog} --help\n")


def _build(args: argparse.Namespace, cfg: Config) -> int:
    from .pipeline import build

    # Quiet (cron): what needs a human, once; an old problem is not said again every minute.
    progress = _progress() if sys.stderr.isatty() else None
    report = build(cfg, prune=args.prune, progress=progress, repeat_known=args.quiet == 0)
    if args.verbose > 0:
        for rel in report.written:
            print(f"wrote {os.path.relpath(cfg.output.dir / rel)}")
        for rel in report.pruned:
            print(f"removed {os.path.relpath(cfg.output.dir / rel)}")
        _list_objects(report)
    if args.quiet == 0:
        print(_summary(report))
    if report.failed:
        return EXIT_WRITE
    if report.publish_failed:
        return EXIT_PUBLISH
    unpublished = report.skipped + report.not_followed
    if args.strict and unpublished:
        first = unpublished[0]
        return _fail(f"--strict: {len(unpublished)} file(s) not published, first {first}", 1)
    return EXIT_OK


def _publish(args: argparse.Namespace, cfg: Config) -> int:
    from .pipeline import upload

    report = upload(cfg, verify=args.verify)
    if args.verbose > 0:
        _list_objects(report)
    if args.quiet == 0:
        print(f"refeed publish:{_published(report) or ' nothing to do'} ({report.seconds:.2f} s)")
    return EXIT_PUBLISH if report.publish_failed else EXIT_OK


def _feeds(args: argparse.Namespace, cfg: Config) -> int:
    from .pipeline import published_feeds

    feeds = published_feeds(cfg)  # read from the state store: nothing built, nothing written
    if feeds is None:
        where = os.path.relpath(cfg.state_dir)
        return _fail(
            f"{where}: no build recorded here yet; run refeed build first "
            "(or give --state the folder the build used)",
            EXIT_NOT_BUILT,
        )
    if args.json:
        text = json.dumps([_feed_object(feed) for feed in feeds], ensure_ascii=False, indent=2)
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(_feed_table(feeds))
    return EXIT_OK


def _feed_object(feed: PublishedFeed) -> dict[str, object]:
    """One feed for scripts; the keys and their meaning stay as they are (see README)."""
    return {
        "path": _feed_path(feed),
        "dir": feed.dir,
        "kind": feed.kind,
        "title": feed.title,
        "items": feed.items,
        "newest": feed.newest.isoformat() if feed.newest else None,
        "files": feed.files,
        "urls": feed.urls,
    }


def _feed_path(feed: PublishedFeed) -> str:
    """The feed's first file (atom.xml, unless output.formats leaves Atom out)."""
    return next(iter(feed.files.values()), posixpath.join(feed.dir, FEED_FILES["atom"]))


def _feed_table(feeds: list[PublishedFeed]) -> str:
    """PATH, FORMATS, ITEMS, NEWEST (the newest item's day, as index.html shows it), TITLE."""
    rows = [("PATH", "FORMATS", "ITEMS", "NEWEST", "TITLE")]
    for feed in feeds:
        newest = feed.newest.date().isoformat() if feed.newest else "-"
        formats = ",".join(feed.files)
        rows.append((_feed_path(feed), formats, str(feed.items), newest, feed.title))
    widths = [max(_columns(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (width - _columns(cell))
            for cell, width in zip(row[:4], widths, strict=True)
        ]
        lines.append("  ".join([*cells, row[4]]))
    return "".join(line + "\n" for line in lines)


def _columns(text: str) -> int:
    """Terminal columns ``text`` takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _list_objects(report: RunReport) -> None:
    for url in report.uploaded:
        print(f"uploaded {url}")
    for url in report.deleted:
        print(f"deleted {url}")


def _check(args: argparse.Namespace, cfg: Config) -> int:
    from .pipeline import check
    from .service import schedule_problem

    problems: list[object] = []
    if (schedule := schedule_problem(cfg)) is not None:  # what watch would refuse at start
        problems.append(schedule)
        logging.getLogger("refeed").warning("%s: %s", cfg.source, schedule)
    problems += check(cfg)  # each problem is logged as it is found
    if args.quiet == 0:
        print(
            f"refeed check: {len(problems)} problem(s)" if problems else "refeed check: no problems"
        )
    return EXIT_PROBLEMS if problems else EXIT_OK


def _watch(args: argparse.Namespace, cfg: Config) -> int:
    from .service import Service

    # The command-line overrides apply to every reload of the config as well.
    Service(args.config, lambda path: _overridden(load_config(path), args)).run()
    return EXIT_OK


def _serve(args: argparse.Namespace, cfg: Config) -> int:
    from .preview import PREVIEW_FOLDER, PreviewServer

    folder = args.preview or args.config.resolve().parent / PREVIEW_FOLDER
    host = args.bind.removeprefix("[").removesuffix("]")  # [::1] as copied from a URL
    server = PreviewServer(host=host, port=args.port, folder=folder.resolve())
    server.run(args.config, lambda path: _overridden(load_config(path), args))
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from .starter import init_config

    started = init_config(args.folder, force=args.force)
    origin = " from Hexo's _config.yml" if started.hexo else ""
    print(f"refeed: wrote {started.path}{origin}")
    for note in started.notes:
        print(f"  check: {note}")
    config = "" if started.path == Path("config.yaml") else f" --config {started.path}"
    print(f"  next: refeed check{config}, then refeed build{config}")
    return EXIT_OK


def _summary(report: RunReport) -> str:
    return (
        f"refeed: {report.articles_read} articles read, {len(report.skipped)} skipped, "
        f"{len(report.held_back)} held back"
        + (
            f", {len(report.drafts)} draft{'s' * (len(report.drafts) != 1)}"
            if report.drafts
            else ""
        )
        + f"; {len(report.written)} feed files written, "
        f"{len(report.unchanged)} unchanged"
        + (f", {len(report.pruned)} pruned" if report.pruned else "")
        + (f", {len(report.failed)} FAILED" if report.failed else "")
        + (f";{published}" if (published := _published(report)) else "")
        + f" ({report.seconds:.2f} s)"
    )


def _published(report: RunReport) -> str:
    """' 3 objects uploaded, 1 deleted', and how many targets failed; '' when nothing was sent."""
    if not (report.uploaded or report.deleted or report.publish_failed):
        return ""
    parts = [f"{len(report.uploaded)} object{'s' * (len(report.uploaded) != 1)} uploaded"]
    if report.deleted:
        parts.append(f"{len(report.deleted)} deleted")
    if report.publish_failed:
        parts.append(f"publish FAILED on {len(report.publish_failed)} target(s)")
    return " " + ", ".join(parts)


def _config(args: argparse.Namespace) -> Config:
    _check_flags(args)
    return _overridden(load_config(args.config), args)


def _check_flags(args: argparse.Namespace) -> None:
    """A flag that names something unusable is refused by its name, before the config is read."""
    articles = getattr(args, "articles", None)
    if articles is not None and not articles.is_dir():
        missing = "no such folder" if not articles.exists() else "not a folder"
        raise UsageError("--articles", f"{articles}: {missing}")
    for flag in ("output", "state", "preview"):
        path = getattr(args, flag, None)
        if path is not None and path.exists() and not path.is_dir():
            raise UsageError(f"--{flag}", f"{path}: not a folder")
    if not args.config.exists() and args.config != Path("config.yaml"):
        raise UsageError("--config", f"{args.config}: no such file")


def _overridden(cfg: Config, args: argparse.Namespace) -> Config:
    if args.articles is not None:
        cfg = dataclasses.replace(
            cfg, articles=dataclasses.replace(cfg.articles, dir=args.articles.resolve())
        )
    if getattr(args, "output", None) is not None:
        cfg = dataclasses.replace(
            cfg, output=dataclasses.replace(cfg.output, dir=args.output.resolve())
        )
    if args.drafts:
        articles = dataclasses.replace(cfg.articles, drafts="publish")
        cfg = dataclasses.replace(cfg, articles=articles)
    if getattr(args, "offline", False):
        cfg = dataclasses.replace(cfg, thumbnails=dataclasses.replace(cfg.thumbnails, offline=True))
    if getattr(args, "state", None) is not None:
        lock = cfg.state.lock if cfg.state else "wait"
        cfg = dataclasses.replace(cfg, state=StateConfig(args.state.resolve(), lock))
    if getattr(args, "no_publish", False):
        cfg = dataclasses.replace(cfg, publish=dataclasses.replace(cfg.publish, deferred=True))
    return cfg


class _JsonFormatter(logging.Formatter):
    """One JSON object per line, for service managers and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def _setup_logging(level: int, fmt: str, timestamps: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(message)s" if timestamps else "%(message)s"
            )
        )
    logger = logging.getLogger("refeed")
    logger.handlers[:] = [handler]
    logger.propagate = False
    # -q keeps warnings: a new problem still reaches cron's mail (said once, see _build).
    logger.setLevel({-1: logging.WARNING, 0: logging.INFO}.get(max(level, -1), logging.DEBUG))


def _progress() -> Callable[[int, int], None]:
    started = time.monotonic()
    last = [0.0]

    def draw(done: int, total: int) -> None:
        now = time.monotonic()
        if now - started < 1.0 or now - last[0] < 0.1:
            return  # short builds draw nothing
        last[0] = now
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done + 1 >= total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done + 1}/{total}{end}")
        sys.stderr.flush()

    return draw


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="refeed",
        description="Republish a directory of articles as per-category Atom and RSS feeds.",
        epilog="Exit codes: 0 ok; 1 --strict and articles were skipped, or check found problems; "
        "2 bad config or usage, or init refused; 3 files could not be written; "
        "4 state directory locked (feeds: a build committing); 5 publishing to object storage failed; 6 state folder "
        "unusable; 7 internal error (a bug); 8 feeds: nothing built yet; 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"refeed {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    build = commands.add_parser(
        "build",
        help="bring feeds/ up to date once (for cron)",
        description="Build what changed since the last build. Example: refeed build --config config.yaml -v",
    )
    build.set_defaults(command=_build)
    _common(build, output=True)
    build.add_argument("--strict", action="store_true", help="exit 1 if any article was skipped")
    build.add_argument(
        "--prune", action="store_true", help="remove feeds whose category has no articles"
    )
    check = commands.add_parser(
        "check",
        help="validate config and articles, write nothing",
        description="List every problem with the config and the articles. Example: refeed check",
    )
    check.set_defaults(command=_check)
    _common(check, output=False)
    watch = commands.add_parser(
        "watch",
        help="keep feeds/ current as a service",
        description="Scan the articles every watch.interval seconds and rebuild what changed; "
        "SIGHUP reloads the config, SIGTERM stops after the build in progress. "
        "Example: refeed watch --config /etc/refeed/config.yaml --log-format json",
    )
    watch.set_defaults(command=_watch)
    _common(watch, output=True)
    publish = commands.add_parser(
        "publish",
        help="upload the output folder to the publish: targets, without building",
        description="Bring every publish: target in line with the output folder: what changed "
        "since the last publish is uploaded (media, then feeds, then pages), what refeed put and "
        "the folder no longer has is deleted. Example: refeed publish --verify",
    )
    publish.set_defaults(command=_publish, articles=None, drafts=False)
    _config_option(publish)
    _state_options(publish)
    publish.add_argument(
        "--verify",
        action="store_true",
        help="list each bucket and repair any object that is missing, different or stale",
    )
    _logging_options(publish)
    feeds = commands.add_parser(
        "feeds",
        help="list the feeds the last build published, without building",
        description="List every feed the last build published, as index.html does: its path in "
        "the output folder and formats, item count, newest item's date and title; --json for "
        "scripts. Read from the state store: builds nothing, writes nothing, needs no network, "
        "and answers while watch is building. Exit 8 if no build is recorded in the state "
        "folder. Example: refeed feeds --json",
    )
    # Nothing to log: no -v, -q or --log-format (what it prints is its answer, or one error line).
    feeds.set_defaults(
        command=_feeds, articles=None, drafts=False, verbose=0, quiet=0, log_format="text"
    )
    _config_option(feeds)
    _state_options(feeds)
    feeds.add_argument(
        "--json",
        action="store_true",
        help="a JSON list, one object per feed: path, dir, kind, title, items, newest (ISO 8601 "
        "or null), files and urls by format",
    )
    serve = commands.add_parser(
        "serve",
        help="preview the feeds on http://127.0.0.1:8000/ while you write",
        description="Build a preview (in --preview, never the production output or state) with "
        "site.feeds_url set to this server, serve it with the types nginx gives the files, and "
        "rebuild when an article changes, like watch. Nothing is published or sent to a hub. "
        "Example: refeed serve --drafts, then open the index.html URL it prints",
    )
    serve.set_defaults(command=_serve)
    _common(serve, output=False)
    serve.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    serve.add_argument(
        "--bind", default="127.0.0.1", metavar="ADDRESS", help="address (default 127.0.0.1)"
    )
    serve.add_argument(
        "--preview",
        type=Path,
        metavar="DIR",
        help=f"preview folder (default {PREVIEW_FOLDER_NAME}/ beside the config)",
    )
    serve.add_argument(
        "--offline", action="store_true", help="no network: thumbnails from the cache or guessed"
    )
    init = commands.add_parser(
        "init",
        help="write a commented config.yaml to start from",
        description="Write DIR/config.yaml from refeed's template; in a Hexo site (a folder with "
        "_config.yml) fill it from Hexo's settings. Never replaces a config without --force. "
        "Example: cd my-hexo-blog && refeed init && refeed build",
    )
    init.set_defaults(command=_init, verbose=0, quiet=0, log_format="text")
    init.add_argument(
        "folder", nargs="?", type=Path, default=Path(), metavar="DIR", help="default: here"
    )
    init.add_argument("--force", action="store_true", help="replace an existing config.yaml")
    return parser


def _common(parser: argparse.ArgumentParser, output: bool) -> None:
    _config_option(parser)
    parser.add_argument("--articles", type=Path, help="article folder (overrides articles.dir)")
    parser.add_argument(
        "--drafts",
        action="store_true",
        help="include drafts (draft: true, published: false, _drafts/), e.g. for a preview",
    )
    if output:
        _state_options(parser)
        parser.add_argument(
            "--offline",
            action="store_true",
            help="no network: thumbnails from the cache or guessed",
        )
        parser.add_argument(
            "--no-publish",
            action="store_true",
            help="do not upload to the publish: targets this time (refeed publish does it later)",
        )
    _logging_options(parser)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config.yaml"),
        help="config file (default: ./config.yaml)",
    )


def _state_options(parser: argparse.ArgumentParser) -> None:
    """--output and --state (build, watch, publish, feeds)."""
    parser.add_argument("--output", type=Path, help="output folder (overrides output.dir)")
    parser.add_argument(
        "--state", type=Path, help="state folder (overrides state.dir; default .refeed/)"
    )


def _logging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log line format"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="list every file written"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="say only what needs a human: new problems and failures, once (for cron)",
    )
