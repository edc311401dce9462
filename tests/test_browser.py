"""The index page and a feed, opened in a real headless Chromium over a 127.0.0.1 server."""

from __future__ import annotations

import functools
import html
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from conftest import ROOT, build_examples

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"
# Flags that keep Chromium off the network and quiet, as root, with a throwaway profile.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (make test installs it as root with apt-get; a failure in CI)"
        )
    root = tmp_path_factory.mktemp("site")
    build_examples(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root / "feeds"
    finally:
        server.shutdown()
        server.server_close()


def chromium(url: str, profile: Path, *extra: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return result.stdout


def test_the_index_page_renders_every_feed_with_autodiscovery(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, feeds = served
    dom = chromium(f"{base}/feeds/index.html", tmp_path / "profile", "--dump-dom")
    for atom in sorted(feeds.rglob("atom.xml")):  # every feed on disk, by the title it carries
        title = etree.fromstring(atom.read_bytes()).findtext("{http://www.w3.org/2005/Atom}title")
        label = (title or "").split(" — ", 1)[-1]
        assert f">{html.escape(label, quote=False)}</h2>" in dom, label
    atom_files = sorted(feeds.rglob("atom.xml"))
    assert dom.count('rel="alternate"') == 3 * len(atom_files)
    ARTIFACTS.mkdir(exist_ok=True)
    chromium(
        f"{base}/feeds/index.html",
        tmp_path / "profile",
        f"--screenshot={ARTIFACTS / 'index.png'}",
        "--window-size=420,1200",
    )
    assert (ARTIFACTS / "index.png").stat().st_size > 1000


def test_a_feed_opened_in_the_browser_is_a_readable_page(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = served
    dom = chromium(f"{base}/feeds/categories/finance/rss.xml", tmp_path / "profile", "--dump-dom")
    assert "This is a web feed" in dom and "<ol>" in dom
    for title in ("A股三大指数集体高开 半导体板块领涨", "人民币汇率小幅走高", "yes"):
        assert title in dom
    chromium(
        f"{base}/feeds/atom.xml",
        tmp_path / "profile",
        f"--screenshot={ARTIFACTS / 'feed.png'}",
        "--window-size=800,1000",
    )
    assert (ARTIFACTS / "feed.png").stat().st_size > 1000


def test_a_hexo_site_after_init_and_build_reads_in_the_browser(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    site = tmp_path / "blog"
    shutil.copytree(ROOT / "tests/data/hexo-site", site)
    for command in (["init"], ["build", "-q"]):
        result = subprocess.run(
            [sys.executable, "-m", "refeed", *command], cwd=site, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    # feed.xsl is linked from the site's root path (/blog/feeds/feed.xsl): serve it there too.
    (site / "blog").symlink_to(site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/blog/feeds"
        index = chromium(f"{base}/index.html", tmp_path / "profile", "--dump-dom")
        assert "Hexo Fixture Blog" in index and ">Tech Notes › Python</h2>" in index
        page = chromium(f"{base}/categories/tech/rss.xml", tmp_path / "profile", "--dump-dom")
        assert "This is a web feed" in page
        assert "Every tag plugin, once" in page and "Links between posts" in page
        assert "Secret" not in index + page
    finally:
        server.shutdown()
        server.server_close()
