"""``refeed init``: a commented ``config.yaml`` from the template shipped in the package,
pre-filled from a Hexo site's ``_config.yml`` when the folder is one."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .config import PERMALINK_FIELDS, config_from_dict, yaml_problem
from .errors import ConfigError, InitError, WriteError
from .hexo.site import HEXO_PLACEHOLDER_URL, HexoSite, read_site
from .slugs import is_canonical, preferred_slug
from .urls import is_http

_PLACEHOLDER = re.compile(r":([A-Za-z_]+)")

CONFIG_FILE = "config.yaml"
GENERIC_POSTS = ["*.md", "*.markdown", "*.html", "*.htm", "*.txt"]
HEXO_POSTS = ["*.md", "*.markdown", "*.html", "*.htm"]
HEXO_CONFIG = "_config.yml"


@dataclass(frozen=True)
class Started:
    path: Path  # the config written
    hexo: bool  # whether it was filled in from a Hexo site
    notes: tuple[str, ...]  # what the person should still look at


def init_config(folder: Path, *, force: bool = False) -> Started:
    """Write ``folder/config.yaml``; never over an existing one unless ``force``."""
    target = folder / CONFIG_FILE
    if target.exists() and not force:
        raise InitError(str(target), "exists already; pass --force to replace it")
    hexo_file = folder / HEXO_CONFIG
    site = _hexo_site(hexo_file) if hexo_file.is_file() else None
    text, notes = render_config(site, local_zone=_local_zone())
    try:  # what refeed would still refuse is said now, not at the first build
        config_from_dict(yaml.safe_load(text), base_dir=folder.resolve(), source=CONFIG_FILE)
    except ConfigError as exc:
        notes += tuple(exc.problems)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{CONFIG_FILE}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
    except OSError as exc:
        raise WriteError(str(target), f"cannot be written: {exc.strerror or exc}") from None
    return Started(target, site is not None, notes)


def _hexo_site(path: Path) -> HexoSite:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        return read_site(data)
    except (OSError, UnicodeDecodeError) as exc:
        raise InitError(str(path), f"cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise InitError(str(path), yaml_problem(exc)) from None
    except ValueError as exc:
        raise InitError(str(path), str(exc)) from None


def render_config(site: HexoSite | None, *, local_zone: str | None) -> tuple[str, tuple[str, ...]]:
    """The config text (every value YAML-quoted) and notes on what to check (pure)."""
    notes: list[str] = []
    hexo = site is not None
    site = site or HexoSite(title="My site", url="https://example.org/")
    if site.url == HEXO_PLACEHOLDER_URL + "/" or not hexo:
        notes.append(f"site.url is {site.url!r}: set your site's real address")
    zone = site.timezone or local_zone or "UTC"
    if hexo and not site.timezone:
        notes.append(f"articles.timezone is {zone!r} (Hexo's is empty: this machine's zone)")
    if not _known_zone(zone):
        notes.append(f"articles.timezone: Hexo's {zone!r} is no IANA time zone; using 'UTC'")
        zone = "UTC"
    url = site.url
    if not is_http(url):
        url = "https://" + url.split("://")[-1]
        notes.append(f"site.url: Hexo's url {site.url!r} has no http(s) scheme; using {url!r}")
    permalink = site.permalink if hexo else "{year}/{month}/{day}/{name}/"
    unknown = sorted(set(_PLACEHOLDER.findall(permalink)) - PERMALINK_FIELDS)
    if unknown:
        notes.append(
            f"articles.permalink: Hexo's {permalink!r} uses {', '.join(unknown)}, which refeed "
            "cannot fill; using :year/:month/:day/:title/ (set a post's own link with permalink:)"
        )
        permalink = ":year/:month/:day/:title/"
    values = {
        "origin": f" from Hexo's {HEXO_CONFIG}" if hexo else "",
        "title": site.title, "url": url, "feeds_url": url + "feeds/",
        "description": site.description, "language": site.language, "author": site.author,
        # source/ itself, not source/_posts: only _posts/ is published, and --drafts can reach
        # _drafts/ beside it, as hexo server --draft does.
        "articles_dir": "source" if hexo else "articles",
        # Hexo renders these; anything else beside a post (notes.txt in its asset folder) is
        # an asset, never a post.
        # With asset folders Hexo takes only new_post_name's extension as posts.
        "include": ([f"*{site.post_extension}"] if site.post_asset_folder else HEXO_POSTS)
        if hexo else GENERIC_POSTS,
        "exclude": list(site.ignore),
        "timezone": zone,
        "missing_date": "mtime" if hexo else "error",
        "future": "publish" if hexo and site.future else "hold",
        "permalink": permalink,
        "post_asset_folder": site.post_asset_folder,
        "default_category": site.default_category,
        "trailing_index": site.trailing_index, "trailing_html": site.trailing_html,
    }  # fmt: skip
    text = Template(_template()).substitute(
        {key: _scalar(value) for key, value in values.items() if key != "origin"},
        origin=values["origin"],
        category_names=_names(site.category_map),
        tag_names=_names(site.tag_map),
    )
    return text, tuple(notes)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _template() -> str:
    return (resources.files("refeed") / "assets" / "config.template.yaml").read_text("utf-8")


def _scalar(value: object) -> str:
    """A YAML scalar: JSON's strings, booleans and null are YAML's too."""
    return json.dumps(value, ensure_ascii=False)


def _names(mapping: dict[str, str]) -> str:
    """Hexo's category_map / tag_map as refeed's ``names`` (slugs made canonical)."""
    if not mapping:
        return " {}"
    lines = [
        f"\n    {_scalar(name)}: {{slug: {_scalar(slug if is_canonical(slug) else preferred_slug(slug))}}}"
        for name, slug in sorted(mapping.items())
    ]
    return "".join(lines)


def _local_zone() -> str | None:
    """This machine's IANA zone name, as Hexo would use it (``TZ``, or /etc/localtime's link)."""
    zone = os.environ.get("TZ", "").lstrip(":")
    if zone and "/" in zone and not zone.startswith("/"):
        return zone
    try:
        target = str(Path("/etc/localtime").readlink())
    except OSError:
        return None
    _, found, name = target.partition("zoneinfo/")
    return name if found and name else None
