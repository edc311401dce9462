"""`refeed serve` end to end: a real process, a real HTTP server on 127.0.0.1, real requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import feedparser
import httpx
import pytest
import yaml

from conftest import BASE_CONFIG, GOOD, article, run_cli
from refeed.config import load_config
from refeed.preview import PreviewAddress, preview_config
from test_service import DEADLINE, wait_for


class Recorder(BaseHTTPRequestHandler):
    """A hub (or anything) that counts what reaches it."""

    requests: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.requests.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Preview:
    """``refeed serve --port 0`` in a temporary site, its printed URLs read from stdout."""

    def __init__(self, root: Path, *flags: str, **sections: dict[str, Any]) -> None:
        self.root = root
        self.articles = root / "articles"
        self.articles.mkdir(exist_ok=True)
        (self.articles / "good.md").write_text(GOOD, encoding="utf-8")
        for path in self.articles.iterdir():  # written long ago: the first build publishes them
            os.utime(path, (time.time() - 60, time.time() - 60))
        data = {key: dict(value) for key, value in BASE_CONFIG.items()}
        data["watch"] = {"interval": 1, "settle": 1}
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value}
        (root / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        self.out = (root / "serve.out").open("w+")
        self.err = (root / "serve.err").open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "refeed", "serve", "--port", "0", *flags],
            cwd=root,
            stdout=self.out,
            stderr=self.err,
        )
        wait_for(lambda: "index.html" in self.printed(), "the URLs")
        self.index_url = next(w for w in self.printed().split() if w.endswith("index.html"))
        self.base = self.index_url.removesuffix("index.html")

    def printed(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return (self.root / "serve.out").read_text(encoding="utf-8")

    def logged(self) -> str:
        if not self.err.closed:
            self.err.flush()
        return (self.root / "serve.err").read_text(encoding="utf-8")

    def get(self, rel: str) -> httpx.Response:
        return httpx.get(self.base + rel, timeout=DEADLINE)

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.out.close()
            self.err.close()


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[Preview]:
    running = Preview(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_serve_prints_the_index_and_site_feed_urls_on_loopback(preview: Preview) -> None:
    assert preview.index_url.startswith("http://127.0.0.1:")
    assert f"site feed: {preview.base}atom.xml" in preview.printed()
    assert f"site feed: {preview.base}rss.xml" in preview.printed()
    assert preview.get("index.html").status_code == 200
    assert preview.get("").text == preview.get("index.html").text


@pytest.mark.parametrize(
    ("rel", "content_type"),
    [
        ("atom.xml", "application/atom+xml; charset=utf-8"),
        ("rss.xml", "application/rss+xml; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
        ("feed.html", "text/html; charset=utf-8"),
        ("feed.css", "text/css; charset=utf-8"),
        ("categories/good/atom.xml", "application/atom+xml; charset=utf-8"),
    ],
)
def test_each_file_is_served_with_the_type_nginx_gives_it_and_never_cached(
    preview: Preview, rel: str, content_type: str
) -> None:
    response = preview.get(rel)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-store"


def test_the_preview_feeds_point_at_the_server_and_parse(preview: Preview) -> None:
    parsed = feedparser.parse(preview.get("atom.xml").content)
    assert parsed.bozo == 0
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [preview.base + "atom.xml"]
    assert preview.base + "categories/good/atom.xml" in preview.get("index.html").text


def test_production_output_and_state_are_never_touched(preview: Preview) -> None:
    assert preview.get("atom.xml").status_code == 200
    assert not (preview.root / "feeds").exists()
    assert not (preview.root / ".refeed").exists()
    assert (preview.root / ".refeed-preview" / "feeds" / "atom.xml").is_file()
    assert (preview.root / ".refeed-preview" / "state").is_dir()


def test_an_edit_is_served_after_the_rebuild(preview: Preview) -> None:
    (preview.articles / "new.md").write_text(article("Fresh off the press", categories=["Good"]))
    wait_for(lambda: "Fresh off the press" in preview.get("atom.xml").text, "the new article")
    wait_for(lambda: "Fresh off the press" in preview.get("index.html").text, "the index")


def test_ctrl_c_stops_it_with_exit_0_and_no_traceback(preview: Preview) -> None:
    assert preview.stop(signal.SIGINT) == 0
    assert "Traceback" not in preview.logged()
    with pytest.raises(httpx.ConnectError):
        preview.get("index.html")


def test_drafts_only_with_the_flag(tmp_path: Path) -> None:
    draft = article("Work in progress", categories=["Good"], draft=True)
    for flags, shown in (((), False), (("--drafts",), True)):
        root = tmp_path / str(shown)
        (root / "articles").mkdir(parents=True)
        (root / "articles" / "wip.md").write_text(draft, encoding="utf-8")
        running = Preview(root, *flags)
        try:
            assert ("Work in progress" in running.get("atom.xml").text) is shown
        finally:
            assert running.stop() == 0


def test_nothing_is_uploaded_or_announced_to_a_hub(tmp_path: Path) -> None:
    hub = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a bucket that refuses connections
    target = {
        "url": "s3://bucket/feeds/",
        "endpoint": f"http://127.0.0.1:{closed.getsockname()[1]}",
    }
    Recorder.requests = []
    try:
        running = Preview(
            tmp_path,
            websub={"hub": f"http://127.0.0.1:{hub.server_address[1]}/hub"},
            publish={"targets": [target]},
        )
        try:
            assert "A good article" in running.get("atom.xml").text
            assert "hub" not in running.get("atom.xml").text
        finally:
            assert running.stop() == 0
        assert Recorder.requests == []
        assert "s3://" not in running.logged()  # not even tried
    finally:
        hub.shutdown()
        hub.server_close()
        closed.close()


def test_preview_config_rewrites_only_what_the_preview_needs(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    data = {
        **BASE_CONFIG,
        "websub": {"hub": "https://hub.example.org/"},
        "publish": {"targets": [{"url": "s3://bucket/feeds/"}]},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    cfg = load_config(tmp_path / "config.yaml")
    folder = tmp_path / "p"
    previewed = preview_config(cfg, folder=folder, address=PreviewAddress("::1", 8123))
    assert previewed.site.feeds_url == "http://[::1]:8123/"
    assert PreviewAddress("0.0.0.0", 8123).url == "http://127.0.0.1:8123/"
    assert previewed.site.url == cfg.site.url  # article links still go to the real site
    assert previewed.output.dir == folder / "feeds"
    assert previewed.state_dir == folder / "state"
    assert previewed.output.index and previewed.output.preview and previewed.output.stylesheet
    assert previewed.websub.hub is None and previewed.publish.targets == ()
    assert previewed.articles == cfg.articles and previewed.clean == cfg.clean


def test_a_folder_without_index_is_not_found_and_never_listed(preview: Preview) -> None:
    response = preview.get("categories/good/")
    assert response.status_code == 404 and "Directory listing" not in response.text
    assert preview.get("categories/").status_code == 404


def _loopback6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("bind", "host"), [("::1", "[::1]"), ("[::1]", "[::1]"), ("::", "127.0.0.1")]
)
def test_an_ipv6_bind_is_served(tmp_path: Path, bind: str, host: str) -> None:
    if not _loopback6():  # a machine without IPv6: said in one line, never a traceback
        (tmp_path / "articles").mkdir()
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(BASE_CONFIG), encoding="utf-8")
        result = run_cli("serve", "--bind", bind, "--port", "0", cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.startswith("refeed: --bind: ")
        return
    running = Preview(tmp_path, "--bind", bind)
    try:
        assert running.index_url.startswith(f"http://{host}:")
        assert running.get("atom.xml").status_code == 200
        assert f"http://{host}:".encode() in running.get("atom.xml").content  # feeds point here
        if bind == "::":  # every address: IPv6 loopback answers too
            port = running.base.rsplit(":", 1)[1].strip("/")
            assert httpx.get(f"http://[::1]:{port}/index.html", timeout=DEADLINE).status_code == 200
    finally:
        running.stop()


def test_a_port_in_use_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(BASE_CONFIG), encoding="utf-8")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        result = run_cli("serve", "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    finally:
        taken.close()
    assert result.returncode == 2
    assert result.stderr.startswith("refeed: --port: ") and "in use" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--port", "70000"), "--port"),
        (("--bind", "192.0.2.1"), "--bind"),  # TEST-NET-1: no machine has it
        (("--preview", "config.yaml"), "--preview"),  # a file, not a folder
    ],
)
def test_a_bad_flag_is_one_line_naming_it(
    tmp_path: Path, flags: tuple[str, ...], named: str
) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(BASE_CONFIG), encoding="utf-8")
    result = run_cli("serve", *flags, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"refeed: {named}: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / ".refeed-preview").exists() or named == "--bind"  # nothing made
