"""Hexo's built-in tag plugins, each made into HTML a feed reader can show (pure).

The output still goes through the sanitizer; these functions only have to mean the same as
Hexo's. Where Hexo embeds (YouTube, Vimeo, iframes) they link instead: readers strip iframes,
and a link to the video page works everywhere. Facts follow Hexo's own plugins and tests
(hexojs/hexo ``lib/plugins/tag``); the code does not.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from urllib.parse import parse_qs, quote, urlsplit

from .syntax import TagCall


@dataclass(frozen=True)
class PostRef:
    """What a post_link shows of another post: its title and its public URL."""

    title: str
    url: str


@dataclass(frozen=True)
class TagContext:
    """What tags need to know beyond their arguments."""

    site_url: str  # Hexo's url + root, ending in "/": where "/path" arguments point
    post_url: str  # the post's own link
    asset_folder: bool = False  # Hexo's post_asset_folder: assets live under the post's URL
    posts: Mapping[str, PostRef | None] = field(default_factory=dict)  # post_link targets
    assets: frozenset[str] | None = None  # the files in the post's asset folder, when known


class TagProblem(Exception):
    """A tag that cannot be rendered as written: said once, and ``shown`` in its place (None:
    the tag's own text, as for an unknown tag)."""

    def __init__(self, message: str, shown: str | None = None) -> None:
        super().__init__(message)
        self.shown = shown


Nested = Callable[[str], str]  # renders a block tag's body (Markdown, tags inside it too)
Plugin = Callable[[TagCall, TagContext, Nested], str]
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]{1,8}:|//|www\.)")
_YOUTUBE_ID = re.compile(r"^[\w-]{6,}$")
_NUMBER = re.compile(r"^\d+$")
_QUOTED_META = re.compile(
    r"""^(?:"([^"]*)"|'([^']*)'|(\S.*?))(?:\s+(?:"([^"]*)"|'([^']*)'))?\s*$"""
)


def _attrs(**values: str | None) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in values.items() if v)


def _link(url: str, text: str) -> str:
    return f"<a{_attrs(href=url)}>{escape(text, quote=False)}</a>"


def _site_path(path: str, ctx: TagContext) -> str:
    """Hexo's url_for: a path from the site root ("/images/x.png") gains the site's root."""
    return ctx.site_url + path[1:] if path.startswith("/") and not path.startswith("//") else path


# --------------------------------------------------------------------------- embeds → links


def youtube(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% youtube id [video|playlist] [cookie] %}`` → a linked thumbnail (or a link)."""
    reference = call.args[0] if call.args else ""
    if len(call.args) > 1 and call.args[1] == "playlist":
        url = f"https://www.youtube.com/playlist?list={quote(reference, safe='')}"
        return f"<p>{_link(url, 'Watch the playlist on YouTube')}</p>"
    video = _youtube_id(reference)
    if video is None:
        raise TagProblem(f"youtube: expected a video id, got {reference!r}")
    url = f"https://www.youtube.com/watch?v={video}"
    thumbnail = f"https://i.ytimg.com/vi/{video}/hqdefault.jpg"
    image = f"<img{_attrs(src=thumbnail, alt='Watch the video on YouTube')}>"
    return f"<p><a{_attrs(href=url)}>{image}</a></p>"


def _youtube_id(reference: str) -> str | None:
    if _YOUTUBE_ID.match(reference):
        return reference
    parts = urlsplit(reference)
    if parts.hostname in ("youtu.be", "www.youtu.be"):
        candidate = parts.path.strip("/")
    else:
        candidate = (parse_qs(parts.query).get("v") or [""])[0] or parts.path.rsplit("/", 1)[-1]
    return candidate if _YOUTUBE_ID.match(candidate) else None


def vimeo(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% vimeo id %}`` → a link to the video page."""
    video = call.args[0].rstrip("/").rsplit("/", 1)[-1] if call.args else ""
    if not video.isdigit():
        raise TagProblem(f"vimeo: expected a video id, got {video!r}")
    return f"<p>{_link(f'https://vimeo.com/{video}', 'Watch the video on Vimeo')}</p>"


def iframe(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% iframe url [width] [height] %}`` → a link to the page it would frame."""
    if not call.args:
        raise TagProblem("iframe: expected a URL")
    url = _site_path(call.args[0], ctx)
    return f"<p>{_link(url, url)}</p>"


# --------------------------------------------------------------------------- images and links


def img(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% img [class names] /path/to/image [width] [height] [title text [alt text]] %}``."""
    args = list(call.args)
    src = None
    while args:  # classes come first; the image is the first argument that looks like one
        item = args.pop(0)
        if _URL.match(item) or "/" in item or "." in item:
            src = _site_path(item, ctx)
            break
    if src is None:
        raise TagProblem("img: expected an image path or URL")
    width = args.pop(0) if args and _NUMBER.match(args[0]) else None
    height = args.pop(0) if width and args and _NUMBER.match(args[0]) else None
    title, alt = _title_and_alt(" ".join(args))
    return f"<img{_attrs(src=src, width=width, height=height, title=title, alt=alt)}>"


def _title_and_alt(meta: str) -> tuple[str | None, str | None]:
    """Hexo's ``"title text" "alt text"`` (each optionally quoted) after the image size."""
    match = _QUOTED_META.match(meta)
    if not meta or match is None:
        return None, None
    title = next((g for g in match.groups()[:3] if g is not None), None)
    alt = next((g for g in match.groups()[3:] if g is not None), None)
    return title, alt


def link(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% link text url [external] [title] %}``."""
    args = list(call.args)
    position = next((i for i, item in enumerate(args) if _URL.match(item)), None)
    if position is None:
        raise TagProblem("link: expected a URL")
    rest = args[position + 1 :]
    if rest and rest[0] in ("true", "false"):
        rest = rest[1:]
    text = " ".join(args[:position]) or args[position]
    return f"<a{_attrs(href=args[position], title=' '.join(rest))}>{escape(text, quote=False)}</a>"


# --------------------------------------------------------------------------- blocks

_CITE_URL_TITLE = re.compile(r"(\S.*)\s+(https?://\S+)\s+(.+)", re.IGNORECASE)
_CITE_URL = re.compile(r"(\S.*)\s+(https?://\S+)", re.IGNORECASE)
_AUTHOR_TITLE = re.compile(r"([^,]+),\s*([^,]+)")


def blockquote(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% blockquote [author[, source]] [link] [source_link_title] %}…{% endblockquote %}``."""
    footer = _quote_footer(" ".join(call.args))
    inner = nested(call.body or "")
    return f"<blockquote>{inner}{f'<footer>{footer}</footer>' if footer else ''}</blockquote>"


def _quote_footer(text: str) -> str:
    author = source = title = ""
    if match := _CITE_URL_TITLE.match(text):
        author, source, title = match.groups()
    elif match := _CITE_URL.match(text):
        author, source = match.groups()
    elif match := _AUTHOR_TITLE.match(text):
        author, title = match.groups()
    else:
        author = text
    footer = f"<strong>{escape(author, quote=False)}</strong>" if author else ""
    if source:
        shown = title or re.sub(r"^https?://|/(index.html?)?$", "", source)
        footer += f"<cite>{_link(source, shown)}</cite>"
    elif title:
        footer += f"<cite>{escape(title, quote=False)}</cite>"
    return footer


def pullquote(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% pullquote [class] %}…{% endpullquote %}``."""
    classes = " ".join(("pullquote", *call.args))
    return f"<blockquote{_attrs(**{'class': classes})}>{nested(call.body or '')}</blockquote>"


_CODE_OPTIONS = frozenset(
    "lang line_number line_threshold highlight first_line mark wrap language_attr".split()
)


def codeblock(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% codeblock [title] [lang:language] [url] [link text] [options] %}…{% endcodeblock %}``:
    the code as text, its language as a ``language-*`` class, the caption above it."""
    language = None
    words = []
    for arg in call.args:
        key, colon, value = arg.partition(":")
        if colon and key in _CODE_OPTIONS:
            language = value if key == "lang" and value else language
        else:
            words.append(arg)
    code = textwrap.dedent(call.body or "").strip("\n")
    kind = _attrs(**{"class": f"language-{language}"}) if language else ""
    block = f"<pre><code{kind}>{escape(code, quote=False)}</code></pre>"
    caption = _code_caption(" ".join(words))
    return f"<figure><figcaption>{caption}</figcaption>{block}</figure>" if caption else block


def _code_caption(text: str) -> str:
    if match := _CITE_URL_TITLE.match(text):
        name, url, shown = match.groups()
    elif match := _CITE_URL.match(text):
        (name, url), shown = match.groups(), "link"
    elif text.strip():
        return f"<span>{escape(text.strip(), quote=False)}</span>"
    else:
        return ""
    return f"<span>{escape(name, quote=False)}</span>{_link(url, shown)}"


def raw(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% raw %}…{% endraw %}``: the text as written, tags and all (not Markdown)."""
    return call.body or ""


# --------------------------------------------------------------------------- posts and assets


def _escaped_title(args: list[str], fallback: str) -> str:
    """Hexo's ``[title] [escape]`` tail: the title, HTML unless ``escape`` is false."""
    keep_html = bool(args) and args[-1] == "false"
    if args and args[-1] in ("true", "false"):
        args = args[:-1]
    title = " ".join(args) or fallback
    return title if keep_html else escape(title, quote=False)


def post_link(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% post_link slug|title [text] [escape] %}`` → a link to the other post."""
    slug, _, anchor = (call.args[0] if call.args else "").partition("#")
    target = ctx.posts.get(slug)
    if target is None:  # a draft's title must not leak either: only what this tag says
        shown = _escaped_title(list(call.args[1:]), slug)
        raise TagProblem(f"post_link: no published post {slug!r}", shown)
    url = target.url + (f"#{anchor}" if anchor else "")
    text = _escaped_title(list(call.args[1:]), target.title)
    return f"<a{_attrs(href=url, title=target.title)}>{text}</a>"


def post_path(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% post_path slug|title %}`` → the other post's URL."""
    slug = call.args[0] if call.args else ""
    target = ctx.posts.get(slug)
    if target is None:
        raise TagProblem(f"post_path: no published post {slug!r}", "")
    return escape(target.url)


def asset_url(slug: str, ctx: TagContext) -> str:
    """An asset of the post's asset folder: published beside the post, under its URL."""
    if not ctx.asset_folder:  # Hexo renders nothing then, too
        raise TagProblem("asset tags need articles.post_asset_folder: true (Hexo's setting)", "")
    if ctx.assets is not None and slug not in ctx.assets:  # Hexo renders nothing for it either
        raise TagProblem(f"no {slug!r} in the post's asset folder", "")
    base = re.sub(r"\.html?$", "", ctx.post_url)
    return (base if base.endswith("/") else base + "/") + quote(slug)


def asset_img(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% asset_img [class names] slug [width] [height] [title text [alt text]] %}``."""
    args = list(call.args)
    position = next((i for i, a in enumerate(args) if "." in a or "/" in a), 0 if args else None)
    if position is None:
        raise TagProblem("asset_img: expected an asset name")
    args[position] = asset_url(args[position], ctx)
    return img(TagCall("img", tuple(args), None, call.source), ctx, nested)


def asset_link(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% asset_link slug [title] [escape] %}``."""
    if not call.args:
        raise TagProblem("asset_link: expected an asset name")
    url = asset_url(call.args[0], ctx)
    title = " ".join(a for a in call.args[1:] if a not in ("true", "false")) or call.args[0]
    return (
        f"<a{_attrs(href=url, title=title)}>{_escaped_title(list(call.args[1:]), call.args[0])}</a>"
    )


def asset_path(call: TagCall, ctx: TagContext, nested: Nested) -> str:
    """``{% asset_path slug %}`` → the asset's URL."""
    if not call.args:
        raise TagProblem("asset_path: expected an asset name")
    return escape(asset_url(call.args[0], ctx))


PLUGINS: dict[str, Plugin] = {
    "youtube": youtube, "vimeo": vimeo, "iframe": iframe,
    "img": img, "image": img, "link": link, "a": link, "anchor": link,
    "blockquote": blockquote, "quote": blockquote, "pullquote": pullquote,
    "codeblock": codeblock, "code": codeblock, "raw": raw,
    "post_link": post_link, "post_path": post_path,
    "asset_img": asset_img, "asset_image": asset_img, "asset_link": asset_link,
    "asset_path": asset_path,
}  # fmt: skip
# Tags whose output is a bare URL: written straight into Markdown (link targets use them).
VALUE_TAGS = frozenset(["post_path", "asset_path"])
