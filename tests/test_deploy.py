"""deploy/: the nginx config served for real on 127.0.0.1, and the systemd units' essentials."""

from __future__ import annotations

import configparser
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import images
import nginx
from conftest import ROOT, build_examples
from refeed.config import CacheControl

DEPLOY = ROOT / "deploy"
SCRIPTED_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    site = tmp_path_factory.mktemp("site")
    build_examples(site)
    (site / "feeds" / "feed.json").write_text(
        '{"version": "https://jsonfeed.org/version/1.1"}' + " " * 400
    )
    (site / "feeds" / "style.xsl").write_text("<xsl:stylesheet/>")
    (site / "feeds" / "media").mkdir()
    (site / "feeds" / "media" / "0123abcd.png").write_bytes(images.png(size=500))
    (site / "feeds" / "media" / "old.svg").write_bytes(SCRIPTED_SVG)  # left by an older refeed
    (site / "feeds" / "media" / "x.json").write_bytes(b'{"a": 1}')
    with nginx.serving(site, tmp_path_factory.mktemp("nginx")) as base:
        yield base, site / "feeds"


def test_every_feed_is_served_with_its_media_type_and_charset(served: tuple[str, Path]) -> None:
    base, feeds = served
    files = sorted(p.relative_to(feeds).as_posix() for p in feeds.rglob("*.xml"))
    assert len(files) >= 20
    with httpx.Client(base_url=base, timeout=5) as client:
        for rel in files:
            url = "/feeds/" + httpx.URL("/" + rel).raw_path.decode().lstrip(
                "/"
            )  # percent-encodes CJK
            response = client.get(url)
            assert response.status_code == 200, rel
            kind = "atom" if rel.endswith("atom.xml") else "rss"
            assert response.headers["content-type"] == f"application/{kind}+xml; charset=utf-8"
            assert response.content == (feeds / rel).read_bytes()
        assert (
            client.get("/feeds/feed.json").headers["content-type"]
            == "application/feed+json; charset=utf-8"
        )
        assert client.get("/feeds/style.xsl").headers["content-type"].startswith("text/xml")


def test_a_feeds_page_is_served_as_utf8_html_with_a_policy_that_forbids_script(
    served: tuple[str, Path],
) -> None:
    base, feeds = served
    with httpx.Client(base_url=base, timeout=5) as client:
        page = client.get("/feeds/categories/finance/feed.html")
        css = client.get("/feeds/feed.css")
    assert page.content == (feeds / "categories/finance/feed.html").read_bytes()
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["x-content-type-options"] == "nosniff"
    policy = dict(
        d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["style-src"] == "'unsafe-inline'"  # its one <style>
    assert page.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert css.headers["content-type"] == "text/css; charset=utf-8"


def test_conditional_gets_answer_304(served: tuple[str, Path]) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=5) as client:
        first = client.get("/feeds/atom.xml")
        assert first.headers["cache-control"] == "public, max-age=300, must-revalidate"
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get("/feeds/atom.xml", headers={"If-None-Match": etag}).status_code == 304
        assert (
            client.get("/feeds/atom.xml", headers={"If-Modified-Since": modified}).status_code
            == 304
        )


def test_feeds_are_gzipped_for_clients_that_ask(served: tuple[str, Path]) -> None:
    base, feeds = served
    with httpx.Client(base_url=base, timeout=5) as client:
        response = client.get("/feeds/rss.xml", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == (feeds / "rss.xml").read_bytes()  # httpx decoded it
    assert gzip.compress(response.content)  # and it was worth compressing


def _csp(header: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in header.split(";") if d.strip()}


def test_mirrored_media_can_never_run_script(served: tuple[str, Path]) -> None:
    base, feeds = served
    with httpx.Client(base_url=base, timeout=5) as client:
        image = client.get("/feeds/media/0123abcd.png")
        svg = client.get("/feeds/media/old.svg")
        other = client.get("/feeds/media/x.json")
    assert image.status_code == 200 and image.content == (feeds / "media/0123abcd.png").read_bytes()
    assert image.headers["content-type"] == "image/png"
    for response in (image, svg, other):
        assert response.headers["x-content-type-options"] == "nosniff"
        policy = _csp(response.headers["content-security-policy"])
        assert policy["default-src"] == "'none'" and "sandbox" in policy
        assert "script-src" not in policy  # default-src 'none' forbids every script
        assert response.headers["cache-control"].startswith("public")
    assert svg.headers["content-type"] == "application/octet-stream"  # never image/svg+xml
    assert other.headers["content-type"] == "application/octet-stream"


def test_the_index_page_is_served_with_a_policy_that_forbids_script(
    served: tuple[str, Path],
) -> None:
    base, feeds = served
    with httpx.Client(base_url=base, timeout=5) as client:
        for path in ("/feeds/index.html", "/feeds/"):
            page = client.get(path)
            assert page.status_code == 200 and page.content == (feeds / "index.html").read_bytes()
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            assert page.headers["x-content-type-options"] == "nosniff"
            policy = _csp(page.headers["content-security-policy"])
            assert policy["default-src"] == "'none'" and "script-src" not in policy
            assert policy["frame-ancestors"] == "'none'"
            assert page.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert b"<script" not in page.content  # and it needs none


@pytest.mark.parametrize(
    "unit", ["refeed-watch.service", "refeed-build.service", "refeed-build.timer"]
)
def test_systemd_units_have_what_they_need(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / unit, encoding="utf-8")
    if unit.endswith(".timer"):
        assert parser["Timer"]["OnCalendar"] and parser["Install"]["WantedBy"] == "timers.target"
        return
    service = parser["Service"]
    assert service["User"] != "root"
    command = service["ExecStart"]
    assert ("refeed watch" in command) == (unit == "refeed-watch.service")
    if unit == "refeed-watch.service":
        assert service["Restart"] == "on-failure" and "HUP" in service["ExecReload"]


def test_crontab_example_runs_a_quiet_build() -> None:
    lines = [
        line
        for line in (DEPLOY / "crontab.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) == 1 and lines[0].split()[:5] == ["*"] * 5 and "refeed build -q" in lines[0]


def test_the_object_storage_guide_opens_only_the_prefix_and_its_ttls_match() -> None:
    guide = (DEPLOY / "object-storage.md").read_text(encoding="utf-8")
    policies = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", guide, re.S)]
    public = [s for p in policies for s in p["Statement"] if s.get("Principal") == "*"]
    assert public == [
        {
            "Sid": "PublicReadOfTheFeeds",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::news-example-feeds/feeds/*",
        }
    ]
    defaults = CacheControl()
    for value in (defaults.feeds, defaults.pages, defaults.media):
        seconds = re.search(r"max-age=(\d+)", value).group(1)  # type: ignore[union-attr]
        assert f"`{value}` | {seconds} s |" in guide
