"""Hostile input, crashes and overlap never cost a subscriber a feed (`make robustness`).

Each test adds its figures to ROBUSTNESS; the summary is printed at the end of the run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from selectolax.lexbor import LexborHTMLParser  # a browser's HTML5 parser, to read content as one

import refeed
from conftest import GOOD, NOW, ROBUSTNESS, SiteFactory, article, clean_build_of, output_bytes
from feedcheck import check_feed, feed_files
from refeed.clean import ENGINES, Engine, bleach_engine, clean_html, compile_rules, nh3_engine, tree

pytestmark = pytest.mark.robustness
VECTORS = [
    line.replace("\\n", "\n")
    for line in (Path(__file__).parent / "data" / "xss-vectors.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line and not line.startswith("#")
]
EXECUTABLE_ELEMENTS = {
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "math",
    "template",
    "isindex",
    "keygen",
    "xml",
    "plaintext",
    "xmp",
    "noembed",
    "noframes",
}
URL_ATTRIBUTES = {
    "href",
    "src",
    "srcset",
    "poster",
    "cite",
    "action",
    "formaction",
    "background",
    "dynsrc",
    "lowsrc",
    "data",
    "xlink:href",
}
URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:")  # a URL with any other start is relative
SAFE_SCHEME = re.compile(r"^(https?:|mailto:|data:image/(png|jpeg|gif|webp|avif|bmp);)")


def dangers(html: str) -> list[str]:
    """What in ``html`` a browser would execute or load as active content."""
    found = []
    for element in LexborHTMLParser(html, is_fragment=True).css("*"):
        name = (element.tag or "").lower()
        if name in EXECUTABLE_ELEMENTS:
            found.append(f"<{name}>")
        for attr, raw in element.attributes.items():
            value = raw or ""
            attr = attr.split(":")[-1].lower()
            if attr.startswith("on") or attr in ("style", "srcdoc", "formaction"):
                found.append(f"{attr}=")
            if attr in URL_ATTRIBUTES:
                for url in value.split(",") if attr == "srcset" else [value]:
                    # Browsers drop C0 and spaces around a URL and tabs and newlines inside it;
                    # dropping every one of them anywhere is stricter still.
                    compact = re.sub(r"[\x00-\x20]+", "", url).lower()
                    if URL_SCHEME.match(compact) and not SAFE_SCHEME.match(compact):
                        found.append(f"{attr}={url[:40]}")
    return found


def test_the_dangers_check_can_fail() -> None:
    assert dangers('<a href=" jav&#x09;ascript:x">x</a>') and dangers("<svg><g/></svg>")
    assert dangers("<img src=x onerror=y>") and not dangers('<img src="https://x/a.png" alt="">')


@pytest.mark.parametrize("engine", ENGINES)
def test_every_xss_vector_is_neutralised_by_the_cleaner(engine: Engine) -> None:
    rules = compile_rules(())
    survivors = {
        vector: found
        for vector in VECTORS
        if (found := dangers(clean_html(vector, "https://x.example/a/", rules, engine=engine)))
    }
    ROBUSTNESS[f"XSS vectors neutralised by the cleaner ({engine})"] = (
        f"{len(VECTORS) - len(survivors)}/{len(VECTORS)}"
    )
    assert survivors == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_each_sanitizer_alone_neutralises_every_xss_vector(engine: Engine) -> None:
    """Defence in depth: the engine's sanitizer holds even on markup the tree pass never saw."""
    sanitize = {"bleach": bleach_engine.sanitize, "nh3": nh3_engine.sanitize}[engine]
    survivors = {vector: found for vector in VECTORS if (found := dangers(sanitize(vector)))}
    assert survivors == {}


def test_the_tree_pass_alone_neutralises_every_xss_vector() -> None:
    """…and the tree pass holds without a sanitizer after it."""
    survivors = {
        vector: found
        for vector in VECTORS
        if (found := dangers(tree.prepare(vector, "https://x.example/a/", "")))
    }
    assert survivors == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_xss_vector_is_neutralised_through_the_whole_pipeline(
    make_site: SiteFactory, engine: Engine
) -> None:
    files = {
        f"x{n:03d}.html": article(vector[:120] or "empty", categories=["XSS"], body=vector)
        for n, vector in enumerate(VECTORS)
    }
    cfg = make_site(
        {"good.md": GOOD, **files}, output={"items_per_feed": 500}, clean={"sanitizer": engine}
    )
    report = refeed.build(cfg, now=NOW)
    survivors = []
    for path in feed_files(cfg.output.dir):
        root = etree.fromstring(path.read_bytes())
        for element in root.iter("{*}content", "{*}encoded", "description", "{*}summary"):
            # Atom text constructs are plain text; everything else here is HTML a reader renders.
            is_html = (
                element.tag in ("description", "{http://purl.org/rss/1.0/modules/content/}encoded")
                or element.get("type") == "html"
            )
            if is_html and element.text and (found := dangers(element.text)):
                survivors.append((path.name, element.text[:80], found))
        check_feed(path.read_bytes())
    published = len(VECTORS) - len([p for p in report.skipped if p.path.startswith("x")])
    ROBUSTNESS[f"XSS vectors through the pipeline ({engine}; published, all neutralised)"] = (
        f"{published}/{len(VECTORS)}"
    )
    assert survivors == []


# ------------------------------------------------------------------ crashes


def _site(root: Path, count: int) -> None:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    for n in range(count):
        _write_article(root, n, 0)
    (root / "config.yaml").write_text(
        "site: {title: Crash, url: 'https://c.example/', feeds_url: 'https://c.example/feeds/'}\n"
        "articles: {dir: articles}\noutput: {dir: feeds, items_per_feed: 20, formats: [atom, rss, json],"
        " opml: true, index: true, stylesheet: true, preview: true}\nthumbnails: {offline: true}\n",
        encoding="utf-8",
    )


def _write_article(root: Path, n: int, version: int) -> None:
    body = f"<p>Article {n}, version {version}. " + "Words and more words. " * 60 + "</p>"
    text = article(
        f"Article {n} v{version}",
        date=f"2021-{n % 12 + 1:02d}-{n % 28 + 1:02d}T10:00:00Z",
        categories=[f"C{n % 7}", f"S{n % 3}"],
        body=body,
    )
    (root / "articles" / f"a{n:03d}.md").write_text(text, encoding="utf-8")


def test_sigkill_at_random_moments_never_leaves_a_broken_feed(tmp_path: Path) -> None:
    rng = random.Random(7)
    _site(tmp_path, 250)
    subprocess.run(
        [sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, check=True, timeout=120
    )
    killed = completed = 0
    for run in range(50):
        for n in rng.sample(range(250), 8):
            _write_article(tmp_path, n, run + 1)
        proc = subprocess.Popen([sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path)
        time.sleep(rng.uniform(0.02, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            completed += 1
        proc.wait(60)
        for path in feed_files(tmp_path / "feeds"):  # every file is an old or a new complete one
            check_feed(path.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, check=True, timeout=120
    )
    leftovers = list((tmp_path / "feeds").rglob("*.tmp"))
    after, clean_build = (
        output_bytes(tmp_path / "feeds"),
        clean_build_of(tmp_path / "config.yaml", tmp_path / "fresh"),
    )
    ROBUSTNESS["SIGKILLed builds survived (killed mid-build / finished first)"] = (
        f"{killed + completed}/50 ({killed}/{completed})"
    )
    assert leftovers == [] and killed >= 20
    assert after == clean_build


# ------------------------------------------------------------------ resource limits


def test_a_thousand_broken_files_cost_time_in_proportion_and_never_the_good_ones(
    make_site: SiteFactory,
) -> None:
    broken_kinds = [
        "no frontmatter",
        "---\ntitle: [unclosed\n---\n",
        "---\ndate: 2021-01-01\n---\nno title",
        "\x00\x01binary",
        "---\ntitle: T\ndate: not a date\n---\n",
    ]
    files: dict[str, str | bytes] = {
        f"bad/{n:04d}.md": broken_kinds[n % len(broken_kinds)] for n in range(1000)
    }
    files.update({f"good/{n}.md": article(f"Good {n}", categories=["Good"]) for n in range(10)})
    cfg = make_site(files)
    started = time.perf_counter()
    report = refeed.build(cfg, now=NOW)
    seconds = time.perf_counter() - started
    assert len(report.skipped) == 1000 and report.published == 10
    reasons = sorted({p.reason.split(":")[0] for p in report.skipped})
    ROBUSTNESS["1,000 broken + 10 good articles"] = (
        f"10 published, 1,000 skipped ({', '.join(reasons)}) in {seconds:.2f} s"
    )
    titles = [
        e.title
        for e in check_feed((cfg.output.dir / "categories/good/atom.xml").read_bytes()).entries
    ]
    assert sorted(titles) == sorted(f"Good {n}" for n in range(10))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "huge.md",
            b"---\ntitle: Huge\ndate: 2021-01-01\n---\n" + b"x" * (50 * 1024 * 1024),
            "over the limit",
        ),
        (
            "deep.html",
            ("---\ntitle: Deep\ndate: 2021-01-01\n---\n" + "<div>" * 100_000).encode(),
            "nested deeper",
        ),
        (
            "wide.html",
            ("---\ntitle: Wide\ndate: 2021-01-01\n---\n" + "<p><b><i><u>" * 100_000).encode(),
            "more than",
        ),
    ],
)
def test_oversized_inputs_are_refused_in_bounded_time(
    make_site: SiteFactory, name: str, content: bytes, reason: str
) -> None:
    cfg = make_site({"good.md": GOOD, name: content})
    started = time.perf_counter()
    report = refeed.build(cfg, now=NOW)
    seconds = time.perf_counter() - started
    assert [p.path for p in report.skipped] == [name] and reason in report.skipped[0].reason
    ROBUSTNESS[f"refused {name} ({len(content) // 1024:,} KB)"] = (
        f"{report.skipped[0].reason[:60]} in {seconds:.2f} s"
    )
    assert b"A good article" in (cfg.output.dir / "atom.xml").read_bytes()


# ------------------------------------------------------------------ overlap


def test_builds_during_watch_while_articles_change_end_equal_to_a_clean_build(
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    _site(tmp_path, 60)
    config = tmp_path / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "watch: {interval: 1, settle: 0}\n", encoding="utf-8"
    )
    log = (tmp_path / "watch.log").open("w")
    watch = subprocess.Popen(
        [sys.executable, "-m", "refeed", "watch"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    builds = 0
    try:
        deadline = time.monotonic() + 20  # bounded: at most 20 s of stress
        version = 0
        while time.monotonic() < deadline:
            version += 1
            for n in rng.sample(range(60), 3):
                _write_article(tmp_path, n, version)
            subprocess.run(
                [sys.executable, "-m", "refeed", "build", "-q"],
                cwd=tmp_path,
                check=True,
                timeout=60,
            )
            builds += 1
            for path in feed_files(tmp_path / "feeds"):
                check_feed(path.read_bytes())
    finally:
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(60) == 0
        log.close()
    subprocess.run(
        [sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, check=True, timeout=60
    )
    after, clean_build = (
        output_bytes(tmp_path / "feeds"),
        clean_build_of(config, tmp_path / "fresh"),
    )
    ROBUSTNESS["builds overlapping a running watch"] = (
        f"{builds} builds in 20 s, feeds valid throughout, final output equal to a clean build"
    )
    assert after == clean_build


# ------------------------------------------------------------------ paths


def _tree(root: Path) -> set[Path]:
    """Every path below ``root``, links not followed (the article folder holds a loop)."""
    found: set[Path] = set()
    for folder, dirs, files in os.walk(root):
        found.update(Path(folder) / name for name in [*dirs, *files])
    return found


def test_names_built_to_escape_never_write_outside_the_output_directory(
    tmp_path: Path, make_site: SiteFactory
) -> None:
    nasty = [
        "../../escape",
        "/etc/passwd",
        "..",
        ".",
        "CON",
        "nul",
        "a\x00b",
        "x" * 400,
        "ｃｏｎ",
        "..\\..\\win",
        "~",
        "%2e%2e",
        "\u202e",
    ]
    files = {
        f"n{n}.md": article(f"Name {n}", categories=[name, name], tags=[name])
        for n, name in enumerate(nasty)
    }
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "loop").symlink_to(tmp_path / "articles")
    (tmp_path / "articles" / "out.md").symlink_to(tmp_path / "config.yaml")
    before = _tree(tmp_path.parent)
    cfg = make_site(files, tags={"feeds": True})
    report = refeed.build(cfg, now=NOW)
    created = _tree(tmp_path.parent) - before
    outside = [
        p
        for p in created
        if not any(p.is_relative_to(tmp_path / d) for d in ("feeds", ".refeed", "articles"))
        and p != tmp_path / "config.yaml"
    ]
    assert outside == [] and report.skipped == []
    assert {p.path for p in report.not_followed} == {"out.md"}
    for path in feed_files(cfg.output.dir):
        check_feed(path.read_bytes())
    ROBUSTNESS["names built to escape (categories and tags)"] = (
        f"{len(nasty)} names, {len(feed_files(cfg.output.dir))} feed files, none outside feeds/"
    )


# ------------------------------------------------------------------ metadata


HOSTILE_NAMES = [
    '<script>alert("cat")</script>',
    "<img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "<b>bold</b> & <i>co</i>",
    "Tom &amp; Jerry &#x3C;3",
    "a < b, c > d",
    "x<y then z",
    "<!-- comment -->visible",
    "<<b>script>alert(1)<</b>/script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "]]><![CDATA[<script>1</script>",
    "<style>p{}</style>styled",
]


@pytest.mark.parametrize("engine", ENGINES)
def test_hostile_names_and_titles_reach_no_reader_as_markup(
    make_site: SiteFactory, engine: Engine
) -> None:
    files = {
        f"h{n:02d}.md": article(
            name, categories=[name, f"sub {name}"], tags=[name], author=name, description=name
        )
        for n, name in enumerate(HOSTILE_NAMES)
    }
    cfg = make_site(
        {"good.md": GOOD, **files},
        site={
            "title": "<b>Site</b> & Co",
            "description": "<script>x</script>News",
            "author": "<i>Ed</i>",
        },
        tags={"feeds": True},
        clean={"sanitizer": engine},
        output={"formats": ["atom", "rss", "json"], "opml": True, "index": True},
    )
    report = refeed.build(cfg, now=NOW)
    assert report.skipped == [] and report.failed == []
    feeds = feed_files(cfg.output.dir)
    for path in feeds:  # the validator's ContainsHTML / CharacterData rules, a lax reader's parse
        check_feed(path.read_bytes())
    for path in cfg.output.dir.rglob("feed.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        texts = [document["title"], document["description"]]
        for item in document["items"]:
            texts += [item["title"], item["summary"], *item.get("tags", [])]
            texts += [a["name"] for a in item.get("authors", [])]
        assert not [t for t in texts if re.search(r"<[A-Za-z/!?]", t)]
    index = (cfg.output.dir / "index.html").read_text(encoding="utf-8")
    tags = {node.tag for node in LexborHTMLParser(index).css("*")}
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "link",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "ul",
        "li",
        "a",
        "time",
        "em",
    }
    opml = etree.fromstring((cfg.output.dir / "feeds.opml").read_bytes())
    values = [str(v) for outline in opml.iter("outline") for v in outline.attrib.values()]
    assert not [v for v in values if re.search(r"<[A-Za-z/!?]", v)]
    ROBUSTNESS[f"hostile names and titles ({engine})"] = (
        f"{len(HOSTILE_NAMES)} names in {len(feeds)} feeds: no markup, no validator text warning"
    )


def test_ctrl_c_at_random_moments_ends_every_build_in_one_line(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group, the worker pools included: the build always ends,
    with exit 130 and one line, and leaves no process behind."""
    rng = random.Random(11)
    _site(tmp_path, 1500)  # enough for the parse, clean and render pools
    # The moments are drawn within one uninterrupted cold build's time on this machine, so a
    # faster machine (or faster code) still interrupts most builds; not before 0.3 s, the
    # interpreter's own start-up, which no program can catch.
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path, check=True)
    latest = max(0.35, 0.9 * (time.monotonic() - started))
    ended = interrupted = 0
    for _ in range(12):
        shutil.rmtree(tmp_path / ".refeed", ignore_errors=True)  # a cold build every time
        proc = subprocess.Popen(
            [sys.executable, "-m", "refeed", "build", "-q"], cwd=tmp_path,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, latest))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        try:
            _, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("a build hung after Ctrl-C") from None
        # 130, or killed by SIGINT itself (Popen's -2), which a shell also shows as 130
        assert proc.returncode in (0, 130, -signal.SIGINT), stderr
        if proc.returncode != 0:
            interrupted += 1
            assert stderr == "refeed: interrupted; the feeds already written are complete\n"
        ended += 1
        deadline = time.monotonic() + 10
        while _alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(proc.pid), "a worker outlived the interrupted build"
    ROBUSTNESS["Ctrl-C'd cold builds that ended in one line (interrupted)"] = (
        f"{ended}/12 ({interrupted})"
    )
    assert interrupted >= 6


def _alive(group: int) -> bool:
    """Whether any process of the group is still running (a zombie has ended)."""
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
