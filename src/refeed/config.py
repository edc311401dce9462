"""The configuration: read once, every key validated, every problem listed, refused once.

Unknown keys are errors: a long-running service must fail fast on a typo rather than run with a
default the operator did not mean.
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass, field
from datetime import time, tzinfo
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError
from .models import FeedFormat
from .slugs import is_canonical
from .urls import is_http

BodyMode = Literal["auto", "html", "markdown"]
# {name} fields of articles.permalink; Hexo's :name placeholders are the same names.
PERMALINK_FIELDS = frozenset(
    "year month day hour minute second i_month i_day timestamp name path title post_title id "
    "category hash".split()
)
_HEXO_PLACEHOLDER = re.compile(r":([A-Za-z_]+)")
_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


@dataclass(frozen=True)
class NameOverride:
    slug: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class SiteConfig:
    title: str
    url: str
    feeds_url: str
    description: str | None = None
    language: str | None = None
    author: str | None = None
    icon: str | None = None
    logo: str | None = None


@dataclass(frozen=True)
class ArticlesConfig:
    dir: Path
    include: tuple[str, ...] = ("*.md", "*.markdown", "*.html", "*.htm", "*.txt")
    exclude: tuple[str, ...] = ()
    encodings: tuple[str, ...] = ("gb18030", "big5", "shift_jis", "cp1252")
    max_bytes: int = 16 * 1024**2
    missing_date: Literal["error", "mtime"] = "error"
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    default_time: time = time(0, 0)
    future: Literal["hold", "publish"] = "hold"
    drafts: Literal["hold", "publish"] = "hold"  # publish: preview drafts (--drafts)
    formats: dict[str, BodyMode] = field(
        default_factory=lambda: cast(dict[str, BodyMode], {".html": "html", ".htm": "html"})
    )
    permalink: str = "{year}/{month}/{day}/{name}/"  # Hexo's :year/:title/ form is accepted too
    thumbnail_fields: tuple[str, ...] = ("thumbnail", "headimg", "cover", "image")
    base_url: str | None = None
    zone_names: dict[str, str] = field(default_factory=dict)  # "CST" -> "+0800"
    more_marker: str = "<!-- more -->"  # Hexo's excerpt marker; "" turns it off
    tag_plugins: bool = True  # render Hexo's {% tag %} plugins
    post_asset_folder: bool = False  # Hexo's: asset_img & co. resolve under the post's URL
    default_category: str = "uncategorized"  # Hexo's: {category} of a post without one
    trailing_index: bool = True  # Hexo's pretty_urls: false drops a permalink's index.html
    trailing_html: bool = True  # Hexo's pretty_urls: false drops a permalink's .html


@dataclass(frozen=True)
class TaxonomyConfig:
    feeds: bool = True
    hierarchical: bool = True
    names: dict[str, NameOverride] = field(default_factory=dict)


Sanitizer = Literal["bleach", "nh3"]
SANITIZERS: tuple[Sanitizer, ...] = ("bleach", "nh3")


@dataclass(frozen=True)
class CleanConfig:
    remove: tuple[str, ...] = ()
    summary_length: int = 200
    sanitizer: Sanitizer = "bleach"  # bleach: the design's choice, final release; nh3: maintained


@dataclass(frozen=True)
class OutputConfig:
    dir: Path
    items_per_feed: int = 50
    formats: tuple[FeedFormat, ...] = ("atom", "rss")
    opml: bool = False  # feeds.opml listing every feed, for one-click import into a reader
    index: bool = False  # index.html: every feed, its newest item, subscribe links
    stylesheet: bool = False  # feed.css and a note in each feed, for a feed opened in a browser
    preview: bool = False  # feed.html beside each feed: the feed as a page, linked from index.html
    max_feed_bytes: int = 4 * 1024**2  # over it, the oldest items carry their summary only
    prune: bool = True  # a feed whose category or tag has no articles left is removed; false:
    # kept as an empty feed (never listed in index.html or feeds.opml either way)


@dataclass(frozen=True)
class ThumbnailsConfig:
    mode: Literal["probe", "mirror", "off"] = "probe"
    allow: tuple[str, ...] = ()  # hosts, addresses or CIDR ranges exempt from the address guard
    offline: bool = False  # use only the cache and guesses
    concurrency: int = 8
    timeout: float = 10.0  # seconds per request
    budget: float = 60.0  # seconds for all probes of one build
    retries: int = 2
    max_redirects: int = 5
    ttl: int = 7 * 86400  # seconds a probe result is trusted
    failure_ttl: int = 6 * 3600  # seconds a failed probe is not retried
    mirror_max_bytes: int = 10 * 1024**2


@dataclass(frozen=True)
class WebSubConfig:
    hub: str | None = None


@dataclass(frozen=True)
class StateConfig:
    dir: Path
    lock: Literal["wait", "fail"] = "wait"


@dataclass(frozen=True)
class WatchConfig:
    interval: int = 5  # seconds between scans of the article directory
    settle: int = 2  # seconds a file must be left alone before it is published
    full_rebuild: str | None = None  # crontab expression, e.g. "0 3 * * *"
    events: bool = True  # react to file events (inotify) at once; the scan is the safety net


@dataclass(frozen=True)
class PublishTarget:
    """One bucket (and key prefix) the output folder is uploaded to."""

    url: str  # "s3://bucket/prefix/", always with the slash after the bucket and prefix
    bucket: str
    prefix: str  # "" or a key prefix ending in "/"
    endpoint: str | None = None  # an S3-compatible service; None: AWS S3
    region: str | None = None  # None: the standard chain (AWS_REGION, the profile), else us-east-1
    addressing: Literal["path", "virtual"] = "virtual"
    profile: str | None = None  # a shared-config profile name (never the credentials themselves)

    @property
    def name(self) -> str:
        """How logs, messages and the state store name it."""
        return f"{self.url} at {self.endpoint}" if self.endpoint else self.url


@dataclass(frozen=True)
class CacheControl:
    """``Cache-Control`` per kind of object; feeds and pages as deploy/nginx.conf sends them."""

    feeds: str = "public, max-age=300, must-revalidate"
    pages: str = "public, max-age=300, must-revalidate"
    media: str = "public, max-age=31536000, immutable"  # mirrored images: named by their hash


@dataclass(frozen=True)
class PublishConfig:
    targets: tuple[PublishTarget, ...] = ()  # none: nothing is uploaded
    cache_control: CacheControl = field(default_factory=CacheControl)
    concurrency: int = 8  # uploads in flight per target
    retries: int = 4  # after the first attempt, on network errors, throttling and 5xx
    timeout: float = 30.0  # seconds to connect, and to wait for each response
    deferred: bool = False  # --no-publish: build locally; `refeed publish` uploads (and pings)


@dataclass(frozen=True)
class Config:
    site: SiteConfig
    articles: ArticlesConfig
    output: OutputConfig
    categories: TaxonomyConfig = field(default_factory=TaxonomyConfig)
    tags: TaxonomyConfig = field(default_factory=lambda: TaxonomyConfig(feeds=False))
    clean: CleanConfig = field(default_factory=CleanConfig)
    source: str = "<config>"
    state: StateConfig | None = None  # None: .refeed/ beside the config file
    watch: WatchConfig = field(default_factory=WatchConfig)
    thumbnails: ThumbnailsConfig = field(default_factory=ThumbnailsConfig)
    websub: WebSubConfig = field(default_factory=WebSubConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)

    @property
    def state_dir(self) -> Path:
        return self.state.dir if self.state else self.output.dir.parent / ".refeed"


class _Section:
    """One mapping of the config file; reads typed keys and records what is wrong with them."""

    def __init__(self, data: object, path: str, problems: list[str]) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{path or 'top level'}: expected a mapping, got {data!r}")
            data = {}
        self.data: dict[Any, Any] = data
        self.where = path
        self.problems = problems
        self.known: list[str] = []

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, rule: str, value: object) -> None:
        self.problems.append(f"{self.key(name)}: {rule}, got {value!r}")

    def get(self, name: str) -> Any:
        self.known.append(name)
        return self.data.get(name)

    def mapping(self, name: str, rule: str) -> dict[Any, Any]:
        """An optional mapping key; anything else is a problem (and reads as empty)."""
        value = self.get(name) or {}
        if not isinstance(value, dict):
            self.fail(name, rule, value)
            return {}
        return value

    def section(self, name: str) -> _Section:
        return _Section(self.get(name), self.key(name), self.problems)

    def text(self, name: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                self.problems.append(f"{self.key(name)}: is required")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(name, "expected text", value)
            return default
        return str(value)

    def url(self, name: str, required: bool = False, folder: bool = False) -> str | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not is_http(value):
            self.fail(name, "expected an absolute http(s) URL", value)
            return None
        return value if not folder or value.endswith("/") else value + "/"

    def integer(self, name: str, default: int, minimum: int = 1) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            rule = (
                "expected a positive integer"
                if minimum == 1
                else f"expected an integer >= {minimum}"
            )
            self.fail(name, rule, value)
            return default
        return value

    def size(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        match = _SIZE.match(str(value)) if not isinstance(value, bool) else None
        if match is None or int(match.group(1)) < 1:
            self.fail(name, "expected a size such as 16MB or 500000", value)
            return default
        return int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].upper()]

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(name, "expected true or false", value)
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name)
        if value is None:
            return default
        if value not in choices:
            self.fail(name, f"expected one of {', '.join(choices)}", value)
            return default
        return cast(str, value)

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(name, "expected a list of non-empty strings", value)
            return default
        return tuple(value)

    def folder(self, name: str, base: Path, default: str | None = None) -> Path:
        value = self.text(name, default=default, required=default is None)
        return (base / (value or ".")).resolve() if value is not None else base

    def finish(self) -> None:
        for unknown in sorted(set(map(str, self.data)) - set(self.known)):
            hint = difflib.get_close_matches(unknown, self.known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.problems.append(f"{self.key(unknown)}: unknown key{suggestion}")


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file; relative paths in it are relative to its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["no such file; `refeed init` writes one, or pass --config PATH"]
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"cannot be read: not UTF-8 ({exc.reason})"]) from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [yaml_problem(exc)]) from None
    return config_from_dict(data, base_dir=path.resolve().parent, source=str(path))


def yaml_problem(exc: yaml.YAMLError, first_line: int = 1) -> str:
    """A YAML error in one line, at its line and column in the file (PyYAML's own text names
    the source ``<unicode string>`` and spans several lines); ``first_line``: where the YAML
    starts in the file."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + first_line if mark is not None else 0
    where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
    what = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = getattr(exc, "context", None)
    return f"not valid YAML{where}: {what}" + (f" ({' '.join(context.split())})" if context else "")


def config_from_dict(data: object, base_dir: Path, source: str = "<config>") -> Config:
    """Validate a config mapping (as YAML gives it); raises ConfigError listing every problem."""
    problems: list[str] = []
    top = _Section(data, "", problems)
    site = _read_site(top.section("site"))
    articles = _read_articles(top.section("articles"), base_dir)
    categories = _read_taxonomy(top.section("categories"), feeds=True)
    tags = _read_taxonomy(top.section("tags"), feeds=False)
    clean_section = top.section("clean")
    clean = CleanConfig(
        remove=clean_section.strings("remove", ()),
        summary_length=clean_section.integer("summary_length", CleanConfig.summary_length),
        sanitizer=cast(Sanitizer, clean_section.choice("sanitizer", SANITIZERS, "bleach")),
    )
    clean_section.finish()
    output = _read_output(top.section("output"), base_dir)
    state_section = top.section("state")
    state = StateConfig(
        dir=state_section.folder("dir", base_dir, default=".refeed"),
        lock=cast(Any, state_section.choice("lock", ("wait", "fail"), "wait")),
    )
    state_section.finish()
    watch = _read_watch(top.section("watch"))
    thumbnails = _read_thumbnails(top.section("thumbnails"))
    websub_section = top.section("websub")
    websub = WebSubConfig(hub=websub_section.url("hub"))
    websub_section.finish()
    publish = _read_publish(top)
    top.finish()
    if problems or site is None:
        raise ConfigError(source, problems or ["site: is required"])
    return Config(
        site, articles, output, categories, tags, clean, source, state, watch, thumbnails, websub,
        publish,
    )  # fmt: skip


def _read_thumbnails(section: _Section) -> ThumbnailsConfig:
    d = ThumbnailsConfig()
    allow = section.strings("allow", ())
    thumbnails = ThumbnailsConfig(
        mode=cast(Any, section.choice("mode", ("probe", "mirror", "off"), d.mode)),
        allow=allow,
        offline=section.boolean("offline", d.offline),
        concurrency=section.integer("concurrency", d.concurrency),
        timeout=float(section.integer("timeout", int(d.timeout))),
        budget=float(section.integer("budget", int(d.budget))),
        retries=section.integer("retries", d.retries, minimum=0),
        max_redirects=section.integer("max_redirects", d.max_redirects, minimum=0),
        ttl=section.integer("ttl", d.ttl),
        failure_ttl=section.integer("failure_ttl", d.failure_ttl),
        mirror_max_bytes=section.size("mirror_max_size", d.mirror_max_bytes),
    )
    section.finish()
    return thumbnails


def _read_watch(section: _Section) -> WatchConfig:
    cron = section.text("full_rebuild")
    if cron is not None and len(cron.split()) != 5:
        section.fail("full_rebuild", "expected a crontab expression such as '0 3 * * *'", cron)
        cron = None
    watch = WatchConfig(
        interval=section.integer("interval", WatchConfig.interval),
        settle=section.integer("settle", WatchConfig.settle, minimum=0),
        full_rebuild=cron,
        events=section.boolean("events", WatchConfig.events),
    )
    section.finish()
    return watch


def _read_site(section: _Section) -> SiteConfig | None:
    title = section.text("title", required=True)
    url = section.url("url", required=True, folder=True)
    feeds_url = section.url("feeds_url", required=True, folder=True)
    site = SiteConfig(
        title=title or "",
        url=url or "",
        feeds_url=feeds_url or "",
        description=section.text("description"),
        language=section.text("language"),
        author=section.text("author"),
        icon=section.url("icon"),
        logo=section.url("logo"),
    )
    section.finish()
    return site if title and url and feeds_url else None


def _read_articles(section: _Section, base: Path) -> ArticlesConfig:
    d = ArticlesConfig(dir=base)
    encodings = section.strings("encodings", d.encodings)
    for name in encodings:
        try:
            "".encode(name)
        except LookupError:
            section.fail("encodings", "unknown encoding", name)
    zone_name = section.text("timezone", "UTC") or "UTC"
    try:
        zone: tzinfo = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        section.fail("timezone", "expected an IANA time zone such as Asia/Shanghai", zone_name)
        zone = d.timezone
    clock = section.text("default_time", "00:00") or "00:00"
    try:
        default_time = time.fromisoformat(clock)
    except ValueError:
        section.fail("default_time", "expected a time of day such as 09:00", clock)
        default_time = d.default_time
    formats = dict(d.formats)
    raw_formats = section.mapping(
        "formats", "expected a mapping of extension to auto/html/markdown"
    )
    for ext, mode in raw_formats.items():
        if not (isinstance(ext, str) and ext.startswith(".")) or mode not in (
            "auto",
            "html",
            "markdown",
        ):
            section.fail("formats", "expected '.ext: auto|html|markdown'", {ext: mode})
        else:
            formats[ext.lower()] = mode
    written = section.text("permalink", d.permalink) or d.permalink
    permalink = _HEXO_PLACEHOLDER.sub(r"{\1}", written)  # :year → {year}
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(permalink) if f is not None}
    except ValueError:
        names = {"?"}
    if names - PERMALINK_FIELDS:
        rule = f"expected a pattern using only {{{'}, {'.join(sorted(PERMALINK_FIELDS))}}}"
        section.fail("permalink", rule, written)
        permalink = d.permalink
    zones: dict[str, str] = {}
    raw_zones = section.mapping("zone_names", "expected a mapping such as {CST: '+08:00'}")
    for name, offset in raw_zones.items():
        match = _OFFSET.match(str(offset))
        if not (isinstance(name, str) and name.isalpha() and match):
            section.fail("zone_names", "expected 'ABBR: +HH:MM'", {name: offset})
        else:
            zones[name.upper()] = f"{match.group(1)}{match.group(2)}{match.group(3)}"
    articles = ArticlesConfig(
        dir=section.folder("dir", base),
        include=section.strings("include", d.include),
        exclude=section.strings("exclude", d.exclude),
        encodings=encodings,
        max_bytes=section.size("max_size", d.max_bytes),
        missing_date=cast(Any, section.choice("missing_date", ("error", "mtime"), d.missing_date)),
        timezone=zone,
        default_time=default_time,
        future=cast(Any, section.choice("future", ("hold", "publish"), d.future)),
        drafts=cast(Any, section.choice("drafts", ("hold", "publish"), d.drafts)),
        formats=formats,
        permalink=permalink,
        thumbnail_fields=section.strings("thumbnail_fields", d.thumbnail_fields),
        base_url=section.url("base_url", folder=False),
        zone_names=zones,
        more_marker=section.text("more_marker", d.more_marker) or "",
        tag_plugins=section.boolean("tag_plugins", d.tag_plugins),
        post_asset_folder=section.boolean("post_asset_folder", d.post_asset_folder),
        default_category=section.text("default_category", d.default_category) or d.default_category,
        trailing_index=section.boolean("trailing_index", d.trailing_index),
        trailing_html=section.boolean("trailing_html", d.trailing_html),
    )
    section.finish()
    return articles


def _read_taxonomy(section: _Section, feeds: bool) -> TaxonomyConfig:
    names: dict[str, NameOverride] = {}
    raw = section.mapping("names", "expected a mapping of name to {slug, title}")
    for name, override in raw.items():
        entry = _Section(override, f"{section.key('names')}.{name}", section.problems)
        slug = entry.text("slug")
        if slug is not None and not is_canonical(slug):
            entry.fail("slug", "expected lower-case letters, digits, '-' or '_'", slug)
            slug = None
        names[str(name)] = NameOverride(slug=slug, title=entry.text("title"))
        entry.finish()
    slugs = [o.slug for o in names.values() if o.slug]
    for dup in sorted({s for s in slugs if slugs.count(s) > 1}):
        section.fail("names", "two names are given the same slug", dup)
    taxonomy = TaxonomyConfig(
        feeds=section.boolean("feeds", feeds),
        hierarchical=section.boolean("hierarchical", True),
        names=names,
    )
    section.finish()
    return taxonomy


def _read_output(section: _Section, base: Path) -> OutputConfig:
    formats = section.strings("formats", OutputConfig.formats)
    bad = [f for f in formats if f not in ("atom", "rss", "json")]
    if bad or not formats:
        section.fail("formats", "expected a non-empty list of atom, rss, json", list(formats))
        formats = OutputConfig.formats
    output = OutputConfig(
        dir=section.folder("dir", base, default="feeds"),
        items_per_feed=section.integer("items_per_feed", OutputConfig.items_per_feed),
        formats=cast(tuple[FeedFormat, ...], tuple(dict.fromkeys(formats))),
        opml=section.boolean("opml", OutputConfig.opml),
        index=section.boolean("index", OutputConfig.index),
        stylesheet=section.boolean("stylesheet", OutputConfig.stylesheet),
        preview=section.boolean("preview", OutputConfig.preview),
        max_feed_bytes=section.size("max_feed_size", OutputConfig.max_feed_bytes),
        prune=section.boolean("prune", OutputConfig.prune),
    )
    section.finish()
    return output


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # S3's rules, which R2, B2, MinIO share
# Keys that would put a secret into config.yaml: refused with a pointer to the standard chain.
_CREDENTIAL_KEYS = frozenset(
    "access_key access_key_id aws_access_key_id secret secret_key secret_access_key "
    "aws_secret_access_key session_token aws_session_token token password credentials".split()
)


def _read_publish(top: _Section) -> PublishConfig:
    """``publish:`` is a mapping with ``targets:`` and settings, or just the list of targets."""
    raw = top.get("publish")
    if raw is None:
        return PublishConfig()
    section = _Section({"targets": raw} if isinstance(raw, list) else raw, "publish", top.problems)
    targets_raw = section.get("targets")
    if not isinstance(targets_raw, list) or not targets_raw:
        section.problems.append(  # not repeated: a mistyped target may hold a secret
            f"{section.key('targets')}: expected a list of one or more targets such as "
            "{url: 's3://bucket/feeds/'}"
        )
        targets_raw = []
    read = [
        _read_target(_Section(raw_target, f"publish.targets[{i}]", top.problems))
        for i, raw_target in enumerate(targets_raw)
    ]
    targets = tuple(target for target in read if target is not None)
    names = [target.name for target in targets]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        section.fail("targets", "the same target is named twice", dup)
    cache = section.section("cache_control")
    d = CacheControl()
    cache_control = CacheControl(
        feeds=_header(cache, "feeds", d.feeds),
        pages=_header(cache, "pages", d.pages),
        media=_header(cache, "media", d.media),
    )
    cache.finish()
    publish = PublishConfig(
        targets=targets,
        cache_control=cache_control,
        concurrency=section.integer("concurrency", PublishConfig.concurrency),
        retries=section.integer("retries", PublishConfig.retries, minimum=0),
        timeout=float(section.integer("timeout", int(PublishConfig.timeout))),
    )
    section.finish()
    return publish


def _read_target(section: _Section) -> PublishTarget | None:
    for name in sorted(_CREDENTIAL_KEYS & set(map(str, section.data))):
        section.known.append(name)
        section.problems.append(  # the value is a secret: never repeated in a message
            f"{section.key(name)}: credentials are never read from config.yaml; use the "
            "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), a shared profile "
            "(profile: or AWS_PROFILE) or an instance role"
        )
    location = _s3_url(section)
    endpoint = section.url("endpoint")
    parts = urlsplit(endpoint or "")
    if parts.username or parts.password or parts.query or parts.fragment:
        section.problems.append(
            f"{section.key('endpoint')}: expected a plain http(s) URL without user, password or "
            "query (credentials are never read from config.yaml)"
        )
    default_addressing = "path" if endpoint else "virtual"  # MinIO, Ceph: path; AWS: virtual
    addressing = section.choice("addressing", ("path", "virtual"), default_addressing)
    region, profile = section.text("region"), section.text("profile")
    section.finish()
    if location is None:
        return None
    bucket, prefix = location  # the url is kept in one spelling: it names the target in the state
    return PublishTarget(
        url=f"s3://{bucket}/{prefix}",
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint,
        region=region,
        addressing=cast(Any, addressing),
        profile=profile,
    )


def _s3_url(section: _Section) -> tuple[str, str] | None:
    """(bucket, prefix) of ``url: s3://bucket/prefix/``; the prefix ends in "/" or is empty."""
    url = section.text("url", required=True)
    if url is None:
        return None
    match = re.fullmatch(r"s3://([^/]*)(?:/(.*))?", url)
    if match is None or not _BUCKET.match(match.group(1)):
        rule = "expected s3://bucket/prefix/ (a bucket name of 3-63 a-z, 0-9, '.', '-')"
        section.fail("url", rule, url)
        return None
    prefix = match.group(2) or ""
    if prefix and (prefix.endswith("//") or {"", ".", ".."} & set(prefix.rstrip("/").split("/"))):
        section.fail("url", "expected a key prefix without empty, '.' or '..' parts", url)
        return None
    return match.group(1), prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _header(section: _Section, name: str, default: str) -> str:
    value = section.text(name, default) or default
    if not value.isascii() or not value.isprintable() or not value.strip():
        section.fail(name, "expected a Cache-Control value such as 'public, max-age=300'", value)
        return default
    return value
