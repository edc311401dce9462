"""Article bodies before sanitizing: Hexo's tag plugins rendered (links to other posts resolved
against the published ones only), Markdown made HTML, and the excerpt before ``<!-- more -->``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .. import assemble, hexo
from ..config import Config
from ..models import Article, BodyFormat
from .loading import published_listings
from .run import PostIndex, PostTarget, Run

# A cleaned body's key starts with this when the body links to other posts: their titles and
# URLs are part of it, so such an item is made again on every build that plans (see entries).
LINKED = "linked-"


@dataclass(frozen=True)
class BodySettings:
    """What every body of a build is prepared with (plain values: sent to worker processes)."""

    more_marker: str
    site_url: str
    asset_folder: bool


class Prepared(NamedTuple):
    html: str  # the whole body, ready for the sanitizer
    excerpt: str | None  # the HTML before the excerpt marker, when there is one
    notes: tuple[str, ...]  # tags that could not be rendered as written


def prepare(
    body: str,
    body_format: BodyFormat,
    settings: BodySettings,
    *,
    tag_plugins: bool,
    link: str,
    targets: tuple[PostTarget, ...],
    path: Path,
) -> Prepared:
    """``body`` (of the file at ``path``) as HTML: Hexo's tags rendered (``tag_plugins``),
    Markdown rendered."""
    from .. import clean  # imported only where bodies are cleaned (maybe a worker)

    if tag_plugins:
        posts = {t.reference: hexo.PostRef(t.title, t.url) for t in targets}
        assets = asset_files(path) if settings.asset_folder and "{%" in body else None
        context = hexo.TagContext(settings.site_url, link, settings.asset_folder, posts, assets)
        rendered = hexo.render_body(
            body, body_format, context, lambda text: clean.to_html(text, "markdown")
        )
        html, notes = rendered.html, rendered.warnings
    else:
        html, notes = clean.to_html(body, body_format), ()
    return Prepared(html, hexo.excerpt(html, settings.more_marker), notes)


def asset_files(post: Path) -> frozenset[str]:
    """What the post's asset folder (Hexo's: beside it, named like it) holds, as asset names."""
    folder = post.with_suffix("")
    try:
        return frozenset(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    except OSError:
        return frozenset()


def settings_of(cfg: Config) -> BodySettings:
    return BodySettings(cfg.articles.more_marker, cfg.site.url, cfg.articles.post_asset_folder)


def renders_tags(run: Run, article: Article) -> bool:
    return run.cfg.articles.tag_plugins and article.tag_plugins


def post_targets(run: Run, article: Article) -> tuple[PostTarget, ...]:
    """The published posts ``article`` links to; a draft, a post held back or one that does not
    exist is left out (its tag says so once, and no private title or URL leaks)."""
    if not article.references or not renders_tags(run, article):
        return ()
    index = run.post_index or _index_posts(run)
    if article.source not in index.targets:
        sources = _published(run, index, article.references)
        found = run.store.decoded(sorted(set(sources.values())))
        index.targets[article.source] = tuple(
            PostTarget(ref, target.title, assemble.article_link(target, run.cfg))
            for ref in article.references
            if (target := found.get(sources.get(ref, ""))) is not None
        )
    return index.targets[article.source]


def _index_posts(run: Run) -> PostIndex:
    """The published posts by Hexo slug (the path below ``_posts/``), once per build."""
    slugs: dict[str, str] = {}
    listings = published_listings(run)
    for listing in listings:
        slugs.setdefault(assemble.source_slug(listing.source), listing.source)
    run.post_index = PostIndex(slugs, frozenset(listing.source for listing in listings))
    return run.post_index


def _published(run: Run, index: PostIndex, references: tuple[str, ...]) -> dict[str, str]:
    """Reference → source of the published post it names: Hexo looks for the slug (the path
    below ``_posts/``), then the title."""
    found = {ref: index.slugs[ref] for ref in references if ref in index.slugs}
    rest = [ref for ref in references if ref not in found]
    for value, sources in run.store.sources_by_field("title", rest).items():
        published = [source for source in sources if source in index.public]
        if published:
            found[value] = published[0]
    return found


def tag_notes(cfg: Config, articles: list[Article]) -> Iterator[tuple[str, str]]:
    """(source, note) for each tag a build would report, without cleaning (``refeed check``).
    ``articles`` are the published ones, bodies included: post_link finds only those."""
    by_slug: dict[str, Article] = {}
    by_title: dict[str, Article] = {}
    for article in sorted(articles, key=lambda a: a.source):
        by_slug.setdefault(assemble.post_slug(article), article)
        by_title.setdefault(article.title, article)
    settings = settings_of(cfg)
    for article in articles:
        if not (cfg.articles.tag_plugins and article.tag_plugins) or "{%" not in article.body:
            continue
        found = {ref: by_slug.get(ref) or by_title.get(ref) for ref in article.references}
        targets = tuple(
            PostTarget(ref, target.title, assemble.article_link(target, cfg))
            for ref, target in found.items()
            if target is not None
        )
        link = assemble.article_link(article, cfg)
        prepared = prepare(
            article.body,
            article.body_format,
            settings,
            tag_plugins=True,
            link=link,
            targets=targets,
            path=cfg.articles.dir / article.source,
        )
        for note in prepared.notes:
            yield article.source, note
