"""publish/: what each file is as an object, and the plans that bring a bucket in line (pure);
the publish: config section. The real server is in test_uploads.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from refeed.config import CacheControl, config_from_dict
from refeed.errors import ConfigError
from refeed.models import StoredObject
from refeed.publish import LocalFile, files, plan, verify_plan
from refeed.publish.objects import content_type, headers_for, is_published, kind_of

CACHE = CacheControl()


def test_content_types_are_the_ones_deploy_nginx_conf_serves() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    utf8 = set(re.search(r"charset_types ([^;]+);", conf).group(1).split())  # type: ignore[union-attr]
    examples = {r"/atom\.xml$": "categories/a/atom.xml", r"/rss\.xml$": "rss.xml",
                r"\.json$": "feed.json", r"\.xsl$": "feed.xsl", r"\.opml$": "feeds.opml"}  # fmt: skip
    served = re.findall(r"location ~ (\S+)\s+\{ types \{ \} default_type ([^;]+); \}", conf)
    assert len(served) == len(examples)
    for pattern, kind in served:
        expected = f"{kind}; charset=utf-8" if kind in utf8 else kind
        assert content_type(examples[pattern]) == expected, pattern
    assert "text/html" in utf8 and content_type("index.html") == "text/html; charset=utf-8"
    assert content_type("tags/x/feed.html") == "text/html; charset=utf-8"
    assert "text/css" in utf8 and content_type("feed.css") == "text/css; charset=utf-8"


def test_media_get_image_types_without_a_charset_and_unknown_files_octet_stream() -> None:
    assert content_type("media/ab12.png") == "image/png"
    assert content_type("media/ab12.svg") == "image/svg+xml"
    assert content_type("media/ab12") == "application/octet-stream"


def test_cache_control_follows_the_kind_of_object() -> None:
    cache = CacheControl(feeds="max-age=60", pages="max-age=600", media="max-age=9, immutable")
    assert headers_for("categories/a/rss.xml", cache).cache_control == "max-age=60"
    assert headers_for("index.html", cache).cache_control == "max-age=600"
    assert headers_for("media/x.jpg", cache).cache_control == "max-age=9, immutable"


def test_only_refeeds_own_files_are_published() -> None:
    ours = ["atom.xml", "categories/金融/rss.xml", "tags/x/feed.json", "index.html",
            "feeds.opml", "feed.css", "feed.html", "categories/金融/feed.html", "media/0a1b.png"]  # fmt: skip
    theirs = ["README.md", "categories/a/index.html", "notes/feed.css", "feed.xsl", "media/x/y.png",
              "a.xml", "media/old.svg", "media/x.html", "media/ab12", "media/a.bmp"]  # fmt: skip
    assert [rel for rel in ours + theirs if is_published(rel)] == ours
    assert [kind_of(rel) for rel in ours] == ["feeds"] * 3 + ["pages"] * 5 + ["media"]


def _stored(rel: str, md5: str, stat: LocalFile, headers: str | None = None) -> StoredObject:
    """As refeed records an object it put (moto's ETag is the MD5, as S3's)."""
    headers = headers_for(rel, CACHE).key if headers is None else headers
    return StoredObject(md5, md5, headers, stat.size, stat.mtime_ns)


def _digests(table: dict[str, str]) -> tuple[Callable[[str], str], list[str]]:
    asked: list[str] = []

    def digest(rel: str) -> str:
        asked.append(rel)
        return table[rel]

    return digest, asked


def test_a_first_publish_sends_everything_in_waves_media_feeds_pages() -> None:
    local = {rel: LocalFile(1, 1) for rel in ("index.html", "atom.xml", "media/a.png", "c/rss.xml")}
    digest, asked = _digests({})
    result = plan(local, {}, CACHE, digest=digest)
    assert [[u.file for u in wave] for wave in result.waves] == [
        ["media/a.png"],
        ["atom.xml", "c/rss.xml"],
        ["index.html"],
    ]
    assert result.deletes == [] and asked == []  # nothing to compare with: nothing read


def test_unchanged_stat_is_not_read_and_same_bytes_only_refresh_the_record() -> None:
    before, after = LocalFile(10, 1), LocalFile(10, 2)
    stored = {
        "atom.xml": _stored("atom.xml", "m1", before),
        "rss.xml": _stored("rss.xml", "m2", before),
    }
    digest, asked = _digests({"rss.xml": "m2"})
    result = plan({"atom.xml": before, "rss.xml": after}, stored, CACHE, digest=digest)
    assert result.idle and asked == ["rss.xml"]
    assert result.refreshed == {"rss.xml": _stored("rss.xml", "m2", after)}


def test_changed_bytes_or_headers_upload_again_and_only_recorded_objects_are_deleted() -> None:
    stat = LocalFile(10, 1)
    stored = {
        "atom.xml": _stored("atom.xml", "old", stat),
        "index.html": _stored("index.html", "m", stat, "text/html; charset=utf-8\nmax-age=1"),
        "categories/gone/atom.xml": _stored("categories/gone/atom.xml", "g", stat),
    }
    digest, _ = _digests({"atom.xml": "new"})
    local = {"atom.xml": LocalFile(11, 2), "index.html": stat}
    result = plan(local, stored, CACHE, digest=digest)
    assert [u.file for u in result.uploads] == ["atom.xml", "index.html"]
    assert result.deletes == ["categories/gone/atom.xml"]


def test_verify_vouches_only_for_objects_with_the_etag_refeed_got() -> None:
    stat = LocalFile(10, 1)
    names = ["atom.xml", "rss.xml", "feed.json", "index.html"]
    gone = ["categories/old/atom.xml", "categories/lost/atom.xml"]  # ours, gone from the folder
    stored = {rel: _stored(rel, f"md5-{rel}", stat) for rel in names + gone}
    remote = {rel: stored[rel].etag for rel in names}
    remote["atom.xml"] = "tampered"
    del remote["rss.xml"]
    remote |= {gone[0]: "o", "theirs.txt": "x", "marked/atom.xml": "y"}  # lost: gone from both
    digest, _ = _digests({rel: f"md5-{rel}" for rel in names})
    local = dict.fromkeys(names, stat)
    result = verify_plan(
        local, stored, CACHE, remote=remote, marked={"marked/atom.xml"}, digest=digest
    )
    assert sorted(u.file for u in result.uploads) == ["atom.xml", "rss.xml"]
    assert result.deletes == ["categories/old/atom.xml", "marked/atom.xml"]  # never theirs.txt
    assert result.forgotten == ["categories/lost/atom.xml"]


def test_files_scan_lists_refeeds_files_with_their_stat(tmp_path: Path) -> None:
    for rel in ("atom.xml", "media/a.png", "README.md", ".hidden/atom.xml", ".atom.xml.x.tmp",
                "media/.a.png.tmp", "media/.b.png"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"abc")
    found = files.scan(tmp_path)
    assert sorted(found) == ["atom.xml", "media/a.png"] and found["atom.xml"].size == 3
    assert files.md5(tmp_path, "atom.xml") == "900150983cd24fb0d6963f7d28e17f72"


# --------------------------------------------------------------------------- config


def _config(publish: object) -> Any:
    data = {
        "site": {"title": "T", "url": "https://x.org", "feeds_url": "https://x.org/feeds/"},
        "articles": {"dir": "articles"},
        "publish": publish,
    }
    return config_from_dict(data, Path("/srv"), "config.yaml")


def _problems(publish: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _config(publish)
    return caught.value.problems


def test_a_list_of_targets_is_enough_and_defaults_fit_the_kind_of_endpoint() -> None:
    cfg = _config([{"url": "s3://feeds-bucket/site/feeds"}, {"url": "s3://r2-bucket",
                   "endpoint": "https://acc.r2.cloudflarestorage.com", "region": "auto"}])  # fmt: skip
    aws, r2 = cfg.publish.targets
    assert (aws.bucket, aws.prefix, aws.url, aws.addressing) == (
        "feeds-bucket", "site/feeds/", "s3://feeds-bucket/site/feeds/", "virtual",
    )  # fmt: skip
    assert (r2.prefix, r2.addressing, r2.region) == ("", "path", "auto")
    assert cfg.publish.cache_control == CacheControl() and cfg.publish.concurrency == 8
    assert _config(None).publish.targets == ()


def test_credentials_in_the_config_are_refused_without_repeating_them() -> None:
    problems = _problems([{"url": "s3://b-1/", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}])
    assert problems == [
        "publish.targets[0].secret_access_key: credentials are never read from config.yaml; use "
        "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), a shared profile (profile: "
        "or AWS_PROFILE) or an instance role"
    ]
    [endpoint] = _problems([{"url": "s3://b-1/", "endpoint": "https://AKID:SECRET@h.example/"}])
    assert endpoint.startswith("publish.targets[0].endpoint:") and "SECRET" not in endpoint


def test_every_publish_problem_is_named_by_its_key() -> None:
    problems = _problems(
        {
            "targets": [{"url": "s3://UPPER/x", "addressing": "dns"}, {"url": "s3://ok-b/../x"}],
            "cache_control": {"feeds": "max-age=1\r\nX-Evil: 1", "pictures": "x"},
            "concurrency": 0,
            "retries": -1,
        }
    )
    assert problems == [
        "publish.targets[0].url: expected s3://bucket/prefix/ (a bucket name of 3-63 a-z, 0-9, "
        "'.', '-'), got 's3://UPPER/x'",
        "publish.targets[0].addressing: expected one of path, virtual, got 'dns'",
        "publish.targets[1].url: expected a key prefix without empty, '.' or '..' parts, "
        "got 's3://ok-b/../x'",
        "publish.cache_control.feeds: expected a Cache-Control value such as "
        "'public, max-age=300', got 'max-age=1\\r\\nX-Evil: 1'",
        "publish.cache_control.pictures: unknown key",
        "publish.concurrency: expected a positive integer, got 0",
        "publish.retries: expected an integer >= 0, got -1",
    ]
    assert _problems({"targets": []}) == [
        "publish.targets: expected a list of one or more targets such as "
        "{url: 's3://bucket/feeds/'}"
    ]
    assert _problems([{"url": "s3://b-1"}, {"url": "s3://b-1/"}]) == [
        "publish.targets: the same target is named twice, got 's3://b-1/'"
    ]


def test_the_commented_publish_section_of_config_yaml_is_valid_and_names_every_key() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    block = text[text.index("# publish:") :].split("\n\n")[0]
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") else "" for line in block.splitlines()
    )
    uncommented = uncommented.replace("# profile:", "profile:")
    publish = _config(yaml.safe_load(uncommented)["publish"]).publish
    [target] = publish.targets
    assert (target.bucket, target.region, target.profile) == ("my-bucket", "auto", "feeds")
    assert publish.cache_control == CacheControl()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in ("url:", "endpoint:", "region:", "addressing:", "profile:", "cache_control:",
                "feeds:", "pages:", "media:", "concurrency:", "retries:", "timeout:"):  # fmt: skip
        assert key in block and key in readme, key
