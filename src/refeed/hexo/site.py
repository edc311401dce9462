"""A Hexo site's ``_config.yml``, read for ``refeed init`` (pure: takes the parsed YAML)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HEXO_PLACEHOLDER_URL = "http://example.com"  # what `hexo init` writes: never the real site


@dataclass(frozen=True)
class HexoSite:
    """What refeed's config takes from a Hexo site (Hexo's defaults where a key is absent)."""

    title: str = "Hexo"
    url: str = HEXO_PLACEHOLDER_URL + "/"  # Hexo's url, ending in "/": where posts live
    description: str | None = None
    author: str | None = None
    language: str | None = None
    timezone: str | None = None  # "" in Hexo: the building machine's zone
    permalink: str = ":year/:month/:day/:title/"
    post_asset_folder: bool = False
    future: bool = True  # Hexo shows posts dated in the future unless told not to
    category_map: dict[str, str] = field(default_factory=dict)
    tag_map: dict[str, str] = field(default_factory=dict)
    default_category: str = "uncategorized"
    trailing_index: bool = True  # pretty_urls
    trailing_html: bool = True
    ignore: tuple[str, ...] = ()  # globs of files Hexo does not read
    post_extension: str = ".md"  # of new_post_name: with asset folders, only these are posts


def read_site(data: object) -> HexoSite:
    """The settings of a parsed ``_config.yml``; raises ValueError naming the key that is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"expected key: value pairs, got {type(data).__name__}")
    default = HexoSite()
    language = data.get("language")
    if isinstance(language, list):  # Hexo allows a list; the first is the site's own
        language = language[0] if language else None
    pretty = data.get("pretty_urls") or {}
    if not isinstance(pretty, dict):
        raise ValueError(f"pretty_urls: expected a mapping, got {pretty!r}")
    return HexoSite(
        title=_text(data, "title") or default.title,
        url=_site_url(_text(data, "url") or HEXO_PLACEHOLDER_URL, _text(data, "root")),
        description=_text(data, "description") or _text(data, "subtitle"),
        author=_text(data, "author"),
        language=str(language) if language else None,
        timezone=_text(data, "timezone"),
        permalink=_permalink(_text(data, "permalink") or default.permalink, data),
        post_asset_folder=_flag(data, "post_asset_folder", default.post_asset_folder),
        future=_flag(data, "future", default.future),
        category_map=_names(data, "category_map"),
        tag_map=_names(data, "tag_map"),
        default_category=_text(data, "default_category") or default.default_category,
        trailing_index=_flag(pretty, "trailing_index", default.trailing_index),
        trailing_html=_flag(pretty, "trailing_html", default.trailing_html),
        ignore=_globs(data.get("ignore")),
        post_extension=posixpath.splitext(_text(data, "new_post_name") or ":title.md")[1] or ".md",
    )


def _site_url(url: str, root: str | None) -> str:
    """Hexo's url, ending in "/"; an older config keeps the subfolder in ``root`` instead."""
    url = url.rstrip("/") + "/"
    path = urlsplit(url if "://" in url else "//" + url).path  # a url written without scheme
    if root and root.strip("/") and path in ("", "/"):
        url += root.strip("/") + "/"
    return url


def _permalink(pattern: str, data: dict[Any, Any]) -> str:
    """Hexo's ``permalink_defaults`` filled in: a ``:lang`` with a default is a fixed part."""
    defaults = data.get("permalink_defaults") or {}
    if not isinstance(defaults, dict):
        raise ValueError(f"permalink_defaults: expected a mapping, got {defaults!r}")
    for name, value in defaults.items():
        pattern = pattern.replace(f":{name}", str(value))
    return pattern


def _globs(value: object) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(str(item) for item in items if item)


def _text(data: dict[Any, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{key}: expected text, got {value!r}")
    return str(value).strip() or None


def _flag(data: dict[Any, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def _names(data: dict[Any, Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected name: slug pairs, got {value!r}")
    return {str(name): str(slug) for name, slug in value.items() if slug not in (None, "")}
