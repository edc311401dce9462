"""The feeds, their pages and the index, opened in a real headless Chromium with XSLT and
JavaScript turned off, over the real nginx (deploy/nginx.conf, real content types) and over a
plain static server that sends .xml as application/xml (GitHub Pages, python -m http.server…).

What a person sees is read back as text from Chromium's own print-to-PDF of the page, so a note
drawn by feed.css counts and an element feed.css hides does not. Screenshots go to
test-artifacts/ (not committed)."""

from __future__ import annotations

import functools
import html
import io
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from pypdf import PdfReader

import nginx
from conftest import ROOT, build_examples
from refeed.render import NOTE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"
# Off the network, quiet, as root, and without XSLT (Chromium's switch for the feature that
# Chrome 155 removes: the xml-stylesheet XSLT instruction and XSLTProcessor).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
         "--disable-features=XSLT"]  # fmt: skip
FINANCE = "categories/finance"  # 金融 Finance: Chinese titles


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples built with the shipped config (stylesheet, preview pages, index)."""
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (make test installs it as root with apt-get; a failure in CI)"
        )
    root = tmp_path_factory.mktemp("site")
    build_examples(root)
    return root


@pytest.fixture(scope="module")
def nginx_base(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nginx.serving(site, tmp_path_factory.mktemp("nginx")) as base:
        yield f"{base}/feeds"


def static_server(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def profile(tmp_path: Path) -> Path:
    """A throwaway profile with JavaScript off (the content setting a person flips)."""
    folder = tmp_path / "profile"
    (folder / "Default").mkdir(parents=True, exist_ok=True)
    settings = {"profile": {"default_content_setting_values": {"javascript": 2}}}
    (folder / "Default" / "Preferences").write_text(json.dumps(settings))
    return folder


def chromium(url: str, tmp_path: Path, *extra: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile(tmp_path)}", *extra, url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return result.stdout


def seen(url: str, tmp_path: Path) -> str:
    """The text a person sees on the page (Chromium prints it to PDF; pypdf reads it back)."""
    pdf = tmp_path / "page.pdf"
    pdf.unlink(missing_ok=True)
    chromium(url, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def screenshot(url: str, tmp_path: Path, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    chromium(url, tmp_path, f"--screenshot={ARTIFACTS / name}", "--window-size=900,1100")
    assert (ARTIFACTS / name).stat().st_size > 10_000, name


def titles(feed: Path) -> tuple[str, list[str]]:
    parsed = feedparser.parse(feed.read_bytes())
    return parsed.feed.title, [entry.title for entry in parsed.entries]


def as_written(text: str) -> str:
    """A title as the XML source spells it (the RSS Best Practices Profile's references)."""
    return text.replace("&", "&#x26;").replace("<", "&#x3C;")


def flat(text: str) -> str:
    """Text without its white space: PDF text keeps the words, not always the spaces."""
    return "".join(text.split())


def test_xslt_and_javascript_are_off_in_the_browser_the_tests_use(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    folder = tmp_path / "canary"
    folder.mkdir()
    (folder / "t.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><html><body><p>XSLT RAN</p></body></html></xsl:template>'
        "</xsl:stylesheet>"
    )
    (folder / "t.xml").write_text('<?xml-stylesheet type="text/xsl" href="t.xsl"?><doc>raw</doc>')
    (folder / "js.html").write_text(
        '<!DOCTYPE html><p id="x">script off</p><script>x.textContent = "SCRIPT RAN"</script>'
    )
    for base in static_server(folder):
        assert "XSLT RAN" not in chromium(f"{base}/t.xml", tmp_path, "--dump-dom")
        assert ">script off<" in chromium(f"{base}/js.html", tmp_path, "--dump-dom")


@pytest.mark.parametrize("rel", [f"{FINANCE}/atom.xml", f"{FINANCE}/rss.xml", "atom.xml"])
def test_a_feed_served_by_nginx_shows_a_subscribe_note_its_title_and_its_items(
    site: Path, nginx_base: str, tmp_path: Path, rel: str
) -> None:
    """Chromium shows application/atom+xml and application/rss+xml as plain text (XSLT or not,
    script or not): the note refeed puts first is what a person reads first."""
    url = f"{nginx_base}/{rel}"
    dom = chromium(url, tmp_path, "--dump-dom")
    assert '<pre style="word-wrap: break-word; white-space: pre-wrap;">' in dom  # the text view
    text = flat(seen(url, tmp_path))
    title, items = titles(site / "feeds" / rel)
    folder = rel.removesuffix(rel.rsplit("/", 1)[-1])
    page = f"https://news.example.com/feeds/{folder}feed.html"  # its public address
    assert flat(NOTE) in text and flat(f"Read it as a web page: {page}") in text
    assert text.index(flat(NOTE)) < text.index(flat(as_written(title)))
    assert all(flat(as_written(item)) in text for item in items), items
    if rel == f"{FINANCE}/atom.xml":
        screenshot(url, tmp_path, "feed-as-served-by-nginx-finance.png")


@pytest.mark.parametrize("rel", [FINANCE, ""])
def test_a_feeds_page_reads_with_javascript_off(
    site: Path, nginx_base: str, tmp_path: Path, rel: str
) -> None:
    folder = f"{rel}/" if rel else ""
    url = f"{nginx_base}/{folder}feed.html"
    dom = chromium(url, tmp_path, "--dump-dom")
    assert "<script" not in dom and "<h1" in dom
    text = flat(seen(url, tmp_path))
    title, items = titles(site / "feeds" / folder / "atom.xml")
    assert flat(title) in text and flat("To subscribe, copy one of these addresses") in text
    assert f"https://news.example.com/feeds/{folder}atom.xml" in text
    assert all(flat(item) in text for item in items), items
    screenshot(url, tmp_path, f"feed-page-{'finance' if rel else 'site'}.png")


@pytest.mark.parametrize("mount", ["/", "/feeds/"])
def test_the_stylesheet_link_works_wherever_the_folder_is_served(
    site: Path, tmp_path: Path, mount: str
) -> None:
    """Served as application/xml (the output folder as web root, or under site.feeds_url's
    path), a feed is a page styled by feed.css: the note it draws, the titles, no raw ids."""
    for base in static_server(site / "feeds" if mount == "/" else site):
        for rel in (f"{FINANCE}/新浪财经/rss.xml", "atom.xml"):
            url = f"{base}{mount}{rel}"
            text = flat(seen(url, tmp_path))
            title, items = titles(site / "feeds" / rel)
            assert flat(NOTE) in text and flat(title) in text, (mount, rel)
            assert all(flat(item) in text for item in items), (mount, rel)
            assert "urn:uuid:" not in text and "https://news.example.com/feeds/" not in text
        if mount == "/":
            screenshot(f"{base}/{FINANCE}/atom.xml", tmp_path, "feed-as-xml-finance.png")
            screenshot(f"{base}/atom.xml", tmp_path, "feed-as-xml-site.png")


def test_with_the_stylesheet_off_the_browser_shows_the_bare_xml(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    config = tmp_path / "config.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("  stylesheet: true", "  stylesheet: false")
    text = text.replace('dir: "examples/articles"', f'dir: "{ROOT / "examples/articles"}"')
    config.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "refeed", "build", "-q", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "feeds" / "feed.css").exists()
    for base in static_server(tmp_path / "feeds"):
        dom = chromium(f"{base}/atom.xml", tmp_path, "--dump-dom")
        assert 'id="xml-viewer-style"' in dom  # Chromium's tree of a document with no style


def test_the_index_page_lists_every_feed_with_its_page_and_autodiscovery(
    site: Path, nginx_base: str, tmp_path: Path
) -> None:
    feeds = site / "feeds"
    dom = chromium(f"{nginx_base}/index.html", tmp_path, "--dump-dom")
    atom_files = sorted(feeds.rglob("atom.xml"))
    for atom in atom_files:  # every feed on disk, by the title it carries
        label = titles(atom)[0].split(" — ", 1)[-1]
        assert f">{html.escape(label, quote=False)}</h2>" in dom, label
    assert dom.count('rel="alternate"') == 3 * len(atom_files)
    assert dom.count(">read it as a page</a>") == len(atom_files)
    text = flat(seen(f"{nginx_base}/index.html", tmp_path))
    assert flat("read it as a page") in text and flat("金融 Finance") in text
    screenshot(f"{nginx_base}/index.html", tmp_path, "index.png")


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
    for base in static_server(site / "feeds"):  # the output folder as the web root
        index = chromium(f"{base}/index.html", tmp_path, "--dump-dom")
        assert "Hexo Fixture Blog" in index and ">Tech Notes › Python</h2>" in index
        page = flat(seen(f"{base}/categories/tech/feed.html", tmp_path))
        feed = flat(seen(f"{base}/categories/tech/rss.xml", tmp_path))
        for text in (page, feed):
            assert flat("Every tag plugin, once") in text and flat("Links between posts") in text
        assert flat(NOTE) in feed and flat("To subscribe") in page
        assert "Secret" not in index + page + feed
