"""Articles → the feed model: which feeds exist, which items each holds, in what order (pure).

Takes the config and every date as arguments; nothing here reads a clock or a file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import string
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from .__about__ import __version__
from .config import Config, TaxonomyConfig
from .models import Article, Entry, Feed, FeedFormat, FeedKind, FeedSpec, Listing, Thumbnail
from .slugs import assign_slugs, hexo_slugize
from .urls import is_http, join_path, resolve, to_uri

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
CATEGORY_ROOT = "categories"
TAG_ROOT = "tags"


@dataclass(frozen=True)
class Plan:
    """A feed to write and the articles (newest first, capped) it holds."""

    spec: FeedSpec
    members: tuple[Listing, ...]


# --------------------------------------------------------------------------- per article


def article_link(article: Article, cfg: Config) -> str:
    """The frontmatter link (resolved against the site), else the site's permalink pattern."""
    if article.link:
        link = resolve(cfg.site.url, article.link)
        if is_http(link):
            return to_uri(link)
    stamp = article.published.astimezone(cfg.articles.timezone)  # Hexo: the site's dates
    slug = post_slug(article)
    seconds = int(stamp.timestamp())
    made: dict[str, Callable[[], str]] = {
        "year": lambda: f"{stamp.year:04d}", "month": lambda: f"{stamp.month:02d}",
        "day": lambda: f"{stamp.day:02d}", "hour": lambda: f"{stamp.hour:02d}",
        "minute": lambda: f"{stamp.minute:02d}", "second": lambda: f"{stamp.second:02d}",
        "i_month": lambda: str(stamp.month), "i_day": lambda: str(stamp.day),
        "timestamp": lambda: str(seconds), "name": lambda: posixpath.basename(slug),
        "path": lambda: posixpath.splitext(article.source)[0], "title": lambda: slug,
        "post_title": lambda: hexo_slugize(article.title, lower=True),
        "id": lambda: _bare_id(article.id or article_id(article, cfg)),
        "category": lambda: _category_path(article, cfg),
        "hash": lambda: hashlib.sha1(
            f"{slug}{seconds}".encode(), usedforsecurity=False
        ).hexdigest()[:12],
    }  # fmt: skip
    # Only the placeholders the pattern uses (a slug of the title, a hash: per article).
    values = {name: made[name]() for name in _placeholders(cfg.articles.permalink)}
    path = cfg.articles.permalink.format(**values).lstrip("/")  # always under site.url
    if not cfg.articles.trailing_index and path.endswith("index.html"):  # Hexo's pretty_urls
        path = path[: -len("index.html")]
    elif not cfg.articles.trailing_html and path.endswith(".html"):
        path = path[: -len(".html")]
    return to_uri(resolve(cfg.site.url, path))


@lru_cache(maxsize=16)
def _placeholders(permalink: str) -> frozenset[str]:
    """The {name} fields of a permalink pattern (the config allows only known names)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(permalink) if name)


_POST_FOLDERS = ("_posts/", "_drafts/")


def post_slug(article: Article) -> str:
    """Hexo's slug: the path below ``_posts/`` without extension (Hexo sets it from the file
    name, whatever the frontmatter says)."""
    return source_slug(article.source)


def source_slug(source: str) -> str:
    stem = posixpath.splitext(source)[0]
    return next((stem[len(f) :] for f in _POST_FOLDERS if stem.startswith(f)), stem)


def _bare_id(identity: str) -> str:
    """An id fit for a path: a derived ``urn:uuid:…`` id without its prefix."""
    return identity.removeprefix("urn:uuid:")


def _category_path(article: Article, cfg: Config) -> str:
    """Hexo's ``:category``: the post's last category, each level slugized (or as the config
    names it), joined by ``/``; ``articles.default_category`` when it has none."""
    if not article.categories:
        return hexo_slugize(cfg.articles.default_category)
    names = cfg.categories.names
    return "/".join(
        (names[n].slug if n in names and names[n].slug else None) or hexo_slugize(n)
        for n in article.categories[-1]
    )


class Identified(Protocol):
    """What an item id is made of: an Article, or the parse a worker sends back."""

    @property
    def source(self) -> str: ...
    @property
    def id(self) -> str | None: ...


class Listable(Identified, Protocol):
    """What a listing is made of."""

    @property
    def published(self) -> datetime: ...
    @property
    def categories(self) -> tuple[tuple[str, ...], ...]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def article_id(article: Identified, cfg: Config) -> str:
    """The frontmatter id when it is a URI; otherwise a name-based UUID, stable across edits.

    Derived ids come from the site URL and the article's path, never from its title or date,
    so fixing a typo does not make every reader show the item twice.
    """
    if article.id and _SCHEME.match(article.id):
        return to_uri(article.id)
    seed = f"id={article.id}" if article.id else f"source={article.source}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, cfg.site.url + '#' + seed)}"


def thumbnail_url(article: Article, link: str) -> str | None:
    """The thumbnail as an absolute http(s) URI, or None when it cannot be one."""
    if not article.thumbnail:
        return None
    url = resolve(link, article.thumbnail)
    return to_uri(url) if is_http(url) else None


def make_entry(
    article: Article,
    cfg: Config,
    content_html: str,
    summary: str,
    thumbnail: Thumbnail | None,
    link: str | None = None,
) -> Entry:
    """The feed item for ``article``; ``link`` is :func:`article_link`'s, when already known."""
    link = link or article_link(article, cfg)
    updated = max(article.updated or article.published, article.published, key=_instant)
    names = [name for path in article.categories for name in path] + list(article.tags)
    return Entry(
        id=article_id(article, cfg),
        title=article.title,
        link=link,
        published=article.published,
        updated=updated,
        content_html=content_html,
        summary=summary,
        author=article.author,
        categories=tuple(dict.fromkeys(names)),
        thumbnail=thumbnail,
    )


def _instant(moment: datetime) -> float:
    return moment.timestamp()


# --------------------------------------------------------------------------- planning


def listing(article: Listable, cfg: Config) -> Listing:
    """What :func:`plan_feeds` needs of ``article``."""
    return Listing(
        article.source,
        article_id(article, cfg),
        article.published.timestamp(),
        article.categories,
        article.tags,
    )


def newest_first(articles: Iterable[Listing]) -> list[Listing]:
    """Newest first; equal dates fall back to the id, so the order never depends on the disk."""
    return sorted(articles, key=lambda a: (-a.published, a.id))


def plan_feeds(articles: Sequence[Listing], cfg: Config) -> list[Plan]:
    """Every feed the articles call for: site-wide, each category level, each tag if enabled."""
    cap = cfg.output.items_per_feed
    groups: dict[Group, list[Listing]] = {}
    for article in newest_first(articles):
        for group in feed_groups(article, cfg):
            members = groups.setdefault(group, [])
            if len(members) < cap:
                members.append(article)
    return plans_for(groups, cfg)


Group = tuple[FeedKind, tuple[str, ...]]  # ("site", ()), ("category", path), ("tag", (name,))
SITE_GROUP: Group = ("site", ())


def feed_groups(article: Listing, cfg: Config) -> list[Group]:
    """The feeds ``article`` belongs in (before any cap): the site's, every level of each of
    its categories, and each of its tags, as the config asks for them."""
    groups = [SITE_GROUP]
    if cfg.categories.feeds:
        prefixes = {p[:depth] for p in article.categories for depth in range(1, len(p) + 1)}
        groups += [("category", prefix) for prefix in sorted(prefixes)]
    if cfg.tags.feeds:
        groups += [("tag", (tag,)) for tag in dict.fromkeys(article.tags)]
    return groups


@lru_cache(maxsize=4096)  # articles share a few hundred categories and tags
def group_key(group: Group) -> str:
    """``group`` as the state store keeps it (text that sorts and compares as a whole)."""
    kind, path = group
    return json.dumps([kind, *path], ensure_ascii=False)


def group_of(key: str) -> Group:
    kind, *path = json.loads(key)
    return kind, tuple(path)


def plans_for(groups: Mapping[Group, Sequence[Listing]], cfg: Config) -> list[Plan]:
    """The feeds for ``groups``' newest members (newest first, at most the cap each): the
    site's first (always there), then categories and tags, each in folder order."""
    cap = cfg.output.items_per_feed
    plans = [Plan(site_spec(cfg), tuple(groups.get(SITE_GROUP, ())[:cap]))]
    if cfg.categories.feeds:
        paths = {key: members for (kind, key), members in groups.items() if kind == "category"}
        plans += _taxonomy_plans("category", paths, cfg.categories, CATEGORY_ROOT, cfg)
    if cfg.tags.feeds:
        tags = {key: members for (kind, key), members in groups.items() if kind == "tag"}
        plans += _taxonomy_plans("tag", tags, cfg.tags, TAG_ROOT, cfg)
    return plans


def _taxonomy_plans(
    kind: FeedKind,
    groups: Mapping[tuple[str, ...], Sequence[Listing]],
    taxonomy: TaxonomyConfig,
    root: str,
    cfg: Config,
) -> list[Plan]:
    dirs = _taxonomy_dirs(set(groups), taxonomy, root)
    cap = cfg.output.items_per_feed
    return [
        Plan(_spec(kind, key, dirs[key], taxonomy), tuple(groups[key][:cap]))
        for key in sorted(groups, key=lambda k: dirs[k])
    ]


def _taxonomy_dirs(
    paths: set[tuple[str, ...]], taxonomy: TaxonomyConfig, root: str
) -> dict[tuple[str, ...], str]:
    """Folder of each path: one slug per level, assigned among siblings so none collide."""
    children: dict[tuple[str, ...], set[str]] = {}
    for path in paths:
        children.setdefault(path[:-1], set()).add(path[-1])
    fixed = {name: o.slug for name, o in taxonomy.names.items() if o.slug}
    slugs = {parent: assign_slugs(names, fixed) for parent, names in children.items()}
    return {
        path: posixpath.join(root, *(slugs[path[:i]][path[i]] for i in range(len(path))))
        for path in paths
    }


def site_spec(cfg: Config) -> FeedSpec:
    return FeedSpec(kind="site", key=(), dir="", title=cfg.site.title)


def _spec(kind: FeedKind, key: tuple[str, ...], folder: str, taxonomy: TaxonomyConfig) -> FeedSpec:
    shown = [(taxonomy.names[n].title if n in taxonomy.names else None) or n for n in key]
    label = " › ".join(shown) if kind == "category" else f"#{shown[0]}"
    return FeedSpec(kind=kind, key=key, dir=folder, title=label)


def is_orphan(spec: FeedSpec) -> bool:
    """Whether ``spec`` is a feed kept only because its files exist (see :func:`orphan_spec`)."""
    return spec.kind != "site" and not spec.key


def orphan_spec(folder: str, title: str | None) -> FeedSpec:
    """A feed whose articles are gone: kept, empty, under its old title."""
    kind: FeedKind = "tag" if folder.startswith(TAG_ROOT + "/") else "category"
    return FeedSpec(kind=kind, key=(), dir=folder, title=title or folder)


# --------------------------------------------------------------------------- feeds


def make_feed(
    spec: FeedSpec, entries: Sequence[Entry], cfg: Config, fallback_updated: datetime
) -> Feed:
    """Feed metadata around ``entries``; ``updated`` is the newest entry's, else the fallback."""
    site = cfg.site
    self_urls: dict[FeedFormat, str] = {
        fmt: join_path(site.feeds_url, spec.file(fmt)) for fmt in cfg.output.formats
    }
    if spec.kind == "site":
        title = site.title
        subtitle = site.description or f"Latest articles from {site.title}"
    elif spec.key:
        title = f"{site.title} — {spec.title}"
        subtitle = f"{spec.title}: articles from {site.title}"
    else:  # an orphan keeps the full title it was published with
        title = spec.title
        subtitle = f"{spec.title}: no current articles"
    updated = max((e.updated for e in entries), key=_instant, default=fallback_updated)
    return Feed(
        spec=spec,
        title=title,
        subtitle=subtitle,
        link=site.url,
        self_urls=self_urls,
        id=join_path(site.feeds_url, spec.file("atom")),
        updated=updated,
        author=site.author or site.title,
        generator="refeed",
        version=__version__,
        language=site.language,
        icon=site.icon,
        logo=site.logo,
        hub=cfg.websub.hub,
        stylesheet=cfg.output.stylesheet,
        preview=join_path(site.feeds_url, spec.file("page")) if cfg.output.preview else None,
        entries=tuple(entries),
    )
