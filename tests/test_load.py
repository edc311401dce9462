from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable
from datetime import date
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE
from refeed import load
from refeed.config import ArticlesConfig
from refeed.errors import ArticleError
from refeed.load import (
    SourceFile,
    body_of,
    decode_text,
    parse_article,
    read_bytes,
    read_text,
    scan,
    scan_shared,
    split_frontmatter,
)
from refeed.models import Article, Problem

CFG = ArticlesConfig(dir=Path())
INCLUDE = CFG.include


def parse(text: str, flat: bool = False) -> Article:
    return parse_article(text, "a.md", CFG, flat=flat)


def test_the_sample_parses() -> None:
    article = parse_article(SAMPLE.read_text(encoding="utf-8"), "000.txt", CFG)
    assert article.title == "国家移民管理局强化口岸边境管控 精准做好今冬明春疫情防控工作"
    assert article.published.isoformat() == "2021-11-04T02:08:44+00:00"
    assert article.categories == (("金融", "新浪财经", "新浪财经－国內"),)
    assert article.thumbnail is not None and article.thumbnail.endswith(
        "d93018cfaa9bc4e45370e437af8bb531.jpg"
    )
    assert article.author == "新浪财经" and article.body_format == "html"


@pytest.mark.parametrize(
    "title", ["yes", "no", "2021-11-04", "1e3", "0x10", "null-ish", "~tilde", "3.14"]
)
def test_text_scalars_are_taken_as_written(title: str) -> None:
    text = f"---\ntitle: {title}\ndate: 2021-11-04\n---\nbody"
    assert parse_article(text, "a.md", CFG).title == title


def test_blank_lines_bom_and_crlf_before_the_frontmatter() -> None:
    text = "\ufeff\r\n\r\n---\r\ntitle: T\r\ndate: 2021-11-04\r\n---\r\nline one\r\nline two\r\n"
    article = parse_article(text, "a.md", CFG)
    assert (
        article.title == "T" and "\r" not in article.body and "line one\nline two" in article.body
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no frontmatter here", "no frontmatter"),
        ("", "no frontmatter"),
        ("---\ntitle: T\n", "not closed"),
        ("---\ntitle: [unclosed\n---\n", "not valid YAML"),
        ("---\n- a\n- b\n---\n", "expected key: value pairs"),
        ("---\ndate: 2021-11-04\n---\n", "'title' is required"),
        ("---\ntitle: '  '\ndate: 2021-11-04\n---\n", "'title' is required"),
        ("---\ntitle: T\n---\n", "'date' is required"),
        ("---\ntitle: T\ndate: someday\n---\n", "'someday'"),
        ("---\ntitle: T\ndate: 2021-11-04\nupdated: later\n---\n", "'updated'"),
        ("---\ntitle: [a, b]\ndate: 2021-11-04\n---\n", "'title': expected text"),
        ("---\ntitle: T\ndate: 2021-11-04\ncategories: {a: b}\n---\n", "'categories'"),
        (
            "---\ntitle: !!python/object/apply:os.system [ls]\ndate: 2021-11-04\n---\n",
            "not valid YAML",
        ),
        ("---\ntitle: !custom T\ndate: 2021-11-04\n---\n", "not valid YAML"),
    ],
)
def test_bad_frontmatter_is_an_article_error_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason.replace("[", r"\[")) as caught:
        parse(text)
    assert caught.value.path == "a.md"


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    text = "---\ntitle: T\ndate: 2021-11-04\n" + "\n".join(lines) + "\n---\n"

    def too_slow(*_: object) -> None:
        raise TimeoutError("not refused within 10 s: the bomb is being expanded")

    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(10)  # without the size check it runs for minutes and gigabytes
    try:
        with pytest.raises(ArticleError, match="alias bomb"):
            parse(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_self_referencing_alias_is_refused() -> None:
    with pytest.raises(ArticleError, match="too large or too deeply nested"):
        split_frontmatter("---\na: &a [*a]\n---\n", "a.md")


# Frontmatter values: text, null, lists and mappings, nested (what real posts hold). (Line
# breaks YAML knows besides "\n" are read as line breaks: not in a one-line value here.)
_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029\ufeff")
_VALUES = st.recursive(
    st.none() | st.text(_CHARS, max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(_CHARS, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    meta=st.dictionaries(st.text(_CHARS, min_size=1, max_size=10), _VALUES, max_size=6),
    flow=st.booleans(),
)
def test_frontmatter_values_come_back_as_written(meta: dict[str, object], flow: bool) -> None:
    # Text stays text whatever it looks like (dump quotes "null", "yes", "1e3"); a value used
    # twice is written once with an anchor and read back through its alias.
    shared = {"first": meta, "again": meta}
    text = yaml.safe_dump(shared, allow_unicode=True, default_flow_style=flow)
    found, _ = split_frontmatter(f"---\n{text}---\nbody", "a.md")
    assert found == {"first": meta, "again": meta}


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("a: !!int 3\nb: !!timestamp 2020-01-01", {"a": 3, "b": date(2020, 1, 1)}),
        ("a: !!set {x, y}", {"a": {"x", "y"}}),
        ("<<: {a: 1}\nb: 2", {"<<": {"a": "1"}, "b": "2"}),  # no merge rule: "<<" is a key
        ("~: 1\nb: ~\nc: null\nd:", {None: "1", "b": None, "c": None, "d": None}),
        ("a: 1\na: 2", {"a": "2"}),
        ("a: !!str [x]", None),  # a list cannot be text: refused as PyYAML refuses it
    ],
)
def test_explicit_yaml_tags_keep_their_meaning(yaml_text: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(ArticleError, match="frontmatter: not valid YAML"):
            split_frontmatter(f"---\n{yaml_text}\n---\n", "a.md")
    else:
        assert split_frontmatter(f"---\n{yaml_text}\n---\n", "a.md")[0] == expected


def test_a_list_as_a_mapping_key_is_refused_with_pyyamls_reason() -> None:
    with pytest.raises(ArticleError, match="found unhashable key"):
        split_frontmatter("---\n? [a]\n: b\n---\n", "a.md")


def test_an_alias_bomb_behind_an_explicit_tag_is_refused_too() -> None:
    lines = ["a: &a !!set {lol, lul}"]
    for i, name in enumerate("bcdefghi"):
        lines.append(f"{name}: &{name} [{','.join(['*' + 'abcdefghi'[i]] * 9)}]")
    with pytest.raises(ArticleError, match="alias bomb"):
        split_frontmatter("---\n" + "\n".join(lines) + "\n---\n", "a.md")


def test_categories_follow_hexo_semantics() -> None:
    def cats(value: str, flat: bool = False) -> object:
        return parse(
            f"---\ntitle: T\ndate: 2021-11-04\ncategories: {value}\n---\n", flat=flat
        ).categories

    assert cats("[A, B]") == (("A", "B"),)
    assert cats("A") == (("A",),)
    assert cats("[[A, B], [C]]") == (("A", "B"), ("C",))
    assert cats("[A, B]", flat=True) == (("A",), ("B",))
    assert cats("[]") == ()


def test_thumbnail_fields_first_present_wins_and_link_id_summary_aliases() -> None:
    article = parse(
        "---\ntitle: T\ndate: 2021-11-04\nheadimg: h.jpg\ncover: c.jpg\npermalink: /p/\nguid: g1\nexcerpt: E\n---\n"
    )
    assert (article.thumbnail, article.link, article.id, article.summary) == (
        "h.jpg",
        "p/",  # Hexo: a permalink is below the site's root, leading slash or not
        "g1",
        "E",
    )


@pytest.mark.parametrize(
    ("field", "kept"),
    [
        ("link: /abs/", "/abs/"),  # a link is a URL reference: site-root-absolute stays so
        ("permalink: /custom/path/", "custom/path/"),
        ("permalink: rel/", "rel/"),
        ("permalink: //cdn.example.org/x/", "//cdn.example.org/x/"),
        ("permalink: https://x.org/a/", "https://x.org/a/"),
        ("url: /u/", "/u/"),
    ],
)
def test_a_hexo_permalink_is_below_the_site_root(field: str, kept: str) -> None:
    assert parse(f"---\ntitle: T\ndate: 2021-11-04\n{field}\n---\n").link == kept


def test_missing_date_can_fall_back_to_mtime() -> None:
    cfg = ArticlesConfig(dir=Path(), missing_date="mtime")
    article = parse_article("---\ntitle: T\n---\n", "a.md", cfg, mtime=1636000000)
    assert article.published.isoformat() == "2021-11-04T04:26:40+00:00"


@pytest.mark.parametrize(
    ("extra", "source", "reason"),
    [
        ("published: false", "a.md", "published: false"),
        ("published: No", "a.md", "published: false"),
        ("published: !!bool false", "a.md", "published: false"),
        ("draft: true", "a.md", "draft: true"),
        ("draft: yes", "a.md", "draft: true"),
        ("draft: false\npublished: true", "_drafts/a.md", "in _drafts/"),
        ("draft: false", "blog/_drafts/a.md", "in _drafts/"),
        ("published: true", "a.md", None),
        ("draft: ''", "a_drafts/a.md", None),
    ],
)
def test_drafts_and_unpublished_posts_are_private_with_the_reason(
    extra: str, source: str, reason: str | None
) -> None:
    text = f"---\ntitle: T\ndate: 2021-11-04\n{extra}\n---\nBody"
    assert parse_article(text, source, CFG).private == reason


def test_a_draft_without_title_or_date_takes_the_file_name_and_mtime() -> None:
    article = parse_article("---\ndraft: true\n---\n", "wip-post.md", CFG, mtime=1636000000)
    assert (article.title, article.published.year) == ("wip-post", 2021)
    with pytest.raises(ArticleError, match="'date' is required"):
        parse_article("---\ntitle: T\n---\n", "a.md", CFG, mtime=1636000000)


def test_body_format_auto_and_by_extension() -> None:
    text = "---\ntitle: T\ndate: 2021-11-04\n---\n\n  <div>x</div>"
    assert parse_article(text, "a.md", CFG).body_format == "html"
    assert (
        parse_article("---\ntitle: T\ndate: 2021-11-04\n---\n# H", "a.txt", CFG).body_format
        == "markdown"
    )
    assert (
        parse_article("---\ntitle: T\ndate: 2021-11-04\n---\n# H", "a.html", CFG).body_format
        == "html"
    )


# ------------------------------------------------------------------ reading files


def test_read_text_falls_back_to_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("---\ntitle: 人民币\n---\n".encode("gb18030"))
    assert "人民币" in read_text(SourceFile("a.txt", path.parent), ("gb18030",), 1000)


def test_read_text_refuses_undecodable_binary_and_huge_files(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "latin").write_bytes(b"caf\xe9 \xff\xfe\xfd")
    (tmp_path / "big").write_bytes(b"x" * 2000)
    with pytest.raises(ArticleError, match="binary"):
        read_text(SourceFile("bin", tmp_path), (), 1000)
    with pytest.raises(ArticleError, match="none of the encodings"):
        read_text(SourceFile("latin", tmp_path), (), 1000)
    with pytest.raises(ArticleError, match="over the limit"):
        read_text(SourceFile("big", tmp_path), (), 1000)


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, Path, dict[str, SourceFile]]:
    """An article folder (with a file link inside it) scanned, and a secret file outside it."""
    root = tmp_path / "articles"
    (root / ".drafts").mkdir(parents=True)
    for rel in ("a.md", ".drafts/b.md", "target.md"):
        (root / rel).write_text(f"article {rel}")
    (root / "link.md").symlink_to(root / ".drafts" / "b.md")  # inside: followed by the scan
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "b.md").write_text("SECRET")
    (secret / "a.md").write_text("SECRET")
    found, problems = scan(root, INCLUDE, ())
    assert problems == []
    return root, secret, {f.rel: f for f in found}


def test_reads_after_the_scan_get_the_scanned_files(
    scanned: tuple[Path, Path, dict[str, SourceFile]],
) -> None:
    _, _, files = scanned
    assert sorted(files) == ["a.md", "link.md", "target.md"]  # .drafts/ is hidden
    assert read_bytes(files["a.md"], 1000) == b"article a.md"
    assert read_bytes(files["link.md"], 1000) == b"article .drafts/b.md"  # the link's target


@pytest.mark.parametrize(
    ("seen", "size", "limit"),
    [
        (12, 13, 1012), (12, 1012, 1012), (12, 1013, 1012), (12, 70_012, 70_012),
        (12, 70_013, 70_012), (12, 14, 13), (999, 1001, 1000), (0, 5, 1000), (0, 1002, 1000),
    ],
    ids=["a byte", "to the limit", "past it", "to a limit steps away", "past it, steps away",
         "two bytes, one past", "one under to one past", "from empty", "from empty, past it"],
)  # fmt: skip
def test_a_file_that_grows_while_it_is_read_is_read_to_its_end_or_refused(
    scanned: tuple[Path, Path, dict[str, SourceFile]],
    monkeypatch: pytest.MonkeyPatch,
    seen: int,
    size: int,
    limit: int,
) -> None:
    # fstat tells ``seen`` bytes; by the read the file has ``size``; the limit is ``limit``.
    root, _, files = scanned
    data = bytes(ord("a") + n % 26 for n in range(size))
    (root / "a.md").write_bytes(data)
    real_fstat = os.fstat

    def stat_before_it_grew(fd: int) -> os.stat_result:
        found = list(real_fstat(fd))
        found[6] = seen  # st_size
        return os.stat_result(found)

    monkeypatch.setattr(os, "fstat", stat_before_it_grew)
    if size <= limit:
        assert read_bytes(files["a.md"], limit) == data
    else:
        with pytest.raises(ArticleError, match="over the limit"):
            read_bytes(files["a.md"], limit)


def test_the_scan_keeps_each_files_own_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder mounted from another file system: a later read checks (device, inode).
    for name in ("a.md", "b.md", "c.md"):
        (tmp_path / name).write_text(name)
    real_scandir = os.scandir
    stats = {"b.md": {"st_dev": 7}}
    monkeypatch.setattr(
        os, "scandir", lambda path: [Restated(e, stats) for e in real_scandir(path)]
    )
    found, _ = scan(tmp_path, INCLUDE, ())
    real = (tmp_path / "a.md").stat().st_dev
    assert [(f.rel, f.device) for f in found] == [("a.md", real), ("b.md", 7), ("c.md", real)]


def test_a_file_swapped_for_a_link_after_the_scan_is_not_read(
    scanned: tuple[Path, Path, dict[str, SourceFile]],
) -> None:
    root, secret, files = scanned
    (root / "a.md").unlink()
    (root / "a.md").symlink_to(secret / "a.md")
    with pytest.raises(ArticleError, match="became a link after the scan"):
        read_bytes(files["a.md"], 1000)


def test_a_folder_swapped_for_a_link_after_the_scan_is_not_read(
    scanned: tuple[Path, Path, dict[str, SourceFile]],
) -> None:
    root, secret, files = scanned
    (root / ".drafts").rename(root / ".old")
    (root / ".drafts").symlink_to(secret)  # .drafts/b.md, the link's target, now leads outside
    with pytest.raises(ArticleError, match="replaced by another file after the scan"):
        read_bytes(files["link.md"], 1000)


def test_a_file_replaced_by_another_after_the_scan_waits_for_the_next_build(
    scanned: tuple[Path, Path, dict[str, SourceFile]],
) -> None:
    root, _, files = scanned
    (root / "new.md").write_text("another file")
    (root / "new.md").replace(root / "target.md")
    with pytest.raises(ArticleError, match="replaced by another file"):
        read_bytes(files["target.md"], 1000)
    (root / "target.md").unlink()
    os.mkfifo(root / "target.md")  # would block a plain open() forever
    with pytest.raises(ArticleError, match="replaced by another file"):
        read_bytes(files["target.md"], 1000)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"---\ntitle: t\n---\n" + b"\x00\x01" * 200,  # mostly NUL: UTF-16 without a BOM, a dump
    ],
    ids=["pdf", "jpeg", "mostly-nul"],
)
def test_real_binaries_are_refused_as_binary(data: bytes) -> None:
    with pytest.raises(ArticleError, match="binary file"):
        decode_text(data, "x.md", ())


def test_stray_control_characters_are_removed_with_one_warning_naming_the_file() -> None:
    text, warning = decode_text(b"---\ntitle: A\x00B\n---\n<p>x\x00\x01\x1fy</p>\n", "a.md", ())
    assert text == "---\ntitle: AB\n---\n<p>xy</p>\n"
    assert warning == "a.md: removed 4 stray control characters (NUL or other C0)"
    assert decode_text(b"---\ntitle: A\n---\n\tok\r\n", "b.md", ()) == (
        "---\ntitle: A\n---\n\tok\r\n",
        None,
    )


# ------------------------------------------------------------------ scanning


def test_scan_finds_files_recursively_skipping_hidden_and_unmatched(tmp_path: Path) -> None:
    for rel in [
        "a.md",
        "sub/b.txt",
        "sub/deep/c.html",
        ".hidden.md",
        ".git/d.md",
        "sub/.e.md",
        "f.png",
        "g.markdown",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found, problems = scan(tmp_path, INCLUDE, ("sub/deep/*",))
    assert [f.rel for f in found] == ["a.md", "g.markdown", "sub/b.txt"]
    assert problems == []


def test_scan_handles_links_outside_dangling_and_looping(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    root.mkdir()
    outside = tmp_path / "secret.md"
    outside.write_text("x")
    (root / "real.md").write_text("x")
    (root / "out.md").symlink_to(outside)
    (root / "outdir").symlink_to(tmp_path)
    (root / "dangling.md").symlink_to(root / "missing.md")
    (root / "loop1.md").symlink_to(root / "loop2.md")
    (root / "loop2.md").symlink_to(root / "loop1.md")
    (root / "alias.md").symlink_to(root / "real.md")
    (root / "self").symlink_to(root)
    found, problems = scan(root, INCLUDE, ())
    assert [f.rel for f in found] == ["real.md"]  # the alias of a scanned file is not read twice
    reasons = {p.path: p.reason for p in problems}
    assert "outside" in reasons["out.md"] and "outside" in reasons["outdir"]
    assert "dangling" in reasons["dangling.md"]
    assert "loop" in reasons["loop1.md"] and "loop" in reasons["loop2.md"]
    assert "self" not in reasons  # a link to a folder inside is simply not descended


def test_a_fifo_with_an_article_name_is_said_and_not_read(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("x")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "pipe.md")
    os.mkfifo(tmp_path / "sub" / "pipe.md")
    os.mkfifo(tmp_path / "pipe.log")  # not an article name: nothing to say
    shared = scan_shared(tmp_path, INCLUDE, (), spread=in_turn, summarize=len)[:2]
    reason = "not read: not a regular file (a fifo, socket or device)"
    for found, problems in (scan(tmp_path, INCLUDE, ()), shared):
        assert [f.rel for f in found] == ["real.md"]
        assert problems == [Problem("pipe.md", reason), Problem("sub/pipe.md", reason)]


def test_body_of_gives_the_body_split_frontmatter_gives_without_reading_the_yaml() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert body_of(text, "s.txt") == split_frontmatter(text, "s.txt")[1]
    assert body_of("\n---\ntitle: [unclosed\n---\n<p>x</p>\n", "b.md").strip() == "<p>x</p>"
    with pytest.raises(ArticleError, match="no frontmatter"):
        body_of("<p>no frontmatter</p>", "c.md")


def test_a_name_that_is_not_utf8_is_reported_and_not_read(tmp_path: Path) -> None:
    # The store and the feeds hold text: such a name once stopped the whole build.
    root = tmp_path / "articles"
    root.mkdir()
    (root / "ok.md").write_text("---\ntitle: T\n---\n")

    def named(*parts: bytes) -> Path:  # a Path holds undecodable bytes as lone surrogates
        return root.joinpath(*map(os.fsdecode, parts))

    named(b"b\xff.md").write_text("---\ntitle: T\n---\n")
    named(b"d\xfe").mkdir()
    named(b"d\xfe", b"x.md").write_text("---\ntitle: T\n---\n")
    named(b"i\xff.png").write_bytes(b"")
    found, problems = scan(root, INCLUDE, ())
    assert [f.rel for f in found] == ["ok.md"]
    assert [(p.path, p.reason) for p in problems] == [
        ("b\ufffd.md", "not read: its name is not UTF-8; rename it"),
        ("d\ufffd", "not read: its name is not UTF-8; rename it"),
    ]  # the image is no article: not reported


def in_turn(work: Callable[[int], Any], count: int) -> list[Any]:
    """A spread that runs each share here, one after another."""
    return [work(index) for index in range(count)]


YEARS = [(y, m, d) for y in (2024, 2025) for m in range(1, 13) for d in (1, 15)]


def untidy_tree(root: Path, shape: str) -> None:
    """Article folders of several shapes, with every kind of entry a scan must handle."""
    names = {
        "flat": [f"{n:02d}.md" for n in range(30)],
        "one folder": [f"_posts/{n:02d}.md" for n in range(30)],
        "deep": ["a/b/c/d/e/f.md", "a/b/c/g.md", "a/h.md", "i.md"],
        "wide": [f"{n:02d}/{m}.md" for n in range(40) for m in range(3)] + ["0.md", "zz.md"],
        "years": [
            f"{y}/{m:02d}/{d}.txt" for y in (2024, 2025) for m in range(1, 13) for d in (1, 15)
        ]
        + [f"2026/{d}.md" for d in range(5)]
        + ["2024/0.md"],
    }[shape]
    for rel in [*names, ".hidden/x.md", "a.md.png", "sub/.x.md", "sub/ok.html"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "sub" / "alias.md").symlink_to(root / "sub" / "ok.html")
    (root / "sub" / "dangling.md").symlink_to(root / "missing.md")
    (root / "sub" / "out").symlink_to(root.parent)
    (root / "sub" / os.fsdecode(b"bad\xff.md")).write_text("x")
    os.mkfifo(root / "sub" / "pipe.md")


@pytest.mark.parametrize("shape", ["flat", "one folder", "deep", "wide", "years"])
def test_a_scan_spread_over_workers_finds_what_one_scan_finds(tmp_path: Path, shape: str) -> None:
    root = tmp_path / "articles"
    root.mkdir()
    untidy_tree(root, shape)
    alone = scan(root, INCLUDE, ())
    assert alone[0] and alone[1]  # files, and problems to report
    shares: list[int] = []

    def spread(work: Callable[[int], Any], count: int) -> list[Any]:
        shares.append(count)
        return in_turn(work, count)

    found, problems, runs = scan_shared(root, INCLUDE, (), spread=spread, summarize=rels_of)
    assert (found, problems) == alone
    assert len({id(f.device) for f in found}) == 1  # one int object for the device
    assert len(shares) == 1 and 2 <= shares[0] <= 16
    # Each share is a run of the sorted scan, summarized by the worker that scanned it.
    assert runs is not None and len(runs) == shares[0]
    assert [start for start, _ in runs] == [0, *accumulate(len(rels) for _, rels in runs[:-1])]
    assert [rel for _, rels in runs for rel in rels] == [f.rel for f in found]


def rels_of(files: list[SourceFile]) -> list[str]:
    return [f.rel for f in files]


def test_a_shared_scan_that_follows_a_link_has_no_runs_to_summarize(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    root.mkdir()
    untidy_tree(root, "wide")
    (root / "07" / "link.md").symlink_to(root / ".hidden" / "x.md")  # a file not scanned
    found, problems, runs = scan_shared(root, INCLUDE, (), spread=in_turn, summarize=rels_of)
    assert (found, problems) == scan(root, INCLUDE, ())
    assert "07/link.md" in [f.rel for f in found] and runs is None


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: work is never sent to workers")
def test_a_scan_spread_over_worker_processes_finds_what_one_scan_finds(tmp_path: Path) -> None:
    from refeed.pipeline import run

    root = tmp_path / "articles"
    root.mkdir()
    untidy_tree(root, "wide")
    os.utime(root / "07" / "1.md", ns=(-1_000_000_123, -1_000_000_123))  # before 1970
    spread_found = scan_shared(root, INCLUDE, (), spread=run._spread_scan, summarize=rels_of)
    alone = scan(root, INCLUDE, ())
    assert spread_found[:2] == alone and spread_found[2] is not None
    assert {f.inode for f in spread_found[0]} == {f.inode for f in alone[0]}
    assert [f.mtime_ns for f in alone[0] if f.rel == "07/1.md"] == [-1_000_000_123]


class Restated:
    """A scandir entry whose stat says what a test wants (``stats``: name -> the stat fields
    to change, or an OSError to raise)."""

    def __init__(self, entry: os.DirEntry[str], stats: dict[str, Any]) -> None:
        self.entry, self.stats = entry, stats

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entry, name)

    def stat(self, *, follow_symlinks: bool = True) -> Any:
        change = self.stats.get(self.entry.name, {})
        if isinstance(change, OSError):
            raise change
        real = self.entry.stat(follow_symlinks=follow_symlinks)
        fields = {name: getattr(real, name) for name in dir(real) if name.startswith("st_")}
        return SimpleNamespace(**{**fields, **change})


@pytest.mark.parametrize("shared", [False, True], ids=["scan", "shared scan"])
def test_extreme_stats_and_a_failed_stat_come_through_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    for name in ("big.md", "far.md", "old.md", "gone.md", "ok.md"):
        (tmp_path / name).write_text(name)
    huge = {"st_ino": 2**64 - 1, "st_dev": 2**40 + 1, "st_size": 2**40 + 3}
    stats = {
        "big.md": huge,
        "far.md": {"st_mtime_ns": 2**64 + 5},  # after 2262: beyond the store's 64 bits
        "old.md": {"st_mtime_ns": -(10**15)},  # before 1970
        "gone.md": PermissionError(13, "Permission denied"),  # listed, then its stat failed
    }
    real_scandir = os.scandir
    monkeypatch.setattr(
        os, "scandir", lambda path: [Restated(e, stats) for e in real_scandir(path)]
    )
    if shared:
        found, problems, runs = scan_shared(
            tmp_path, INCLUDE, (), spread=in_turn, summarize=rels_of
        )
        assert runs is not None
    else:
        found, problems = scan(tmp_path, INCLUDE, ())
    by_rel = {f.rel: f for f in found}
    assert sorted(by_rel) == ["big.md", "far.md", "ok.md", "old.md"]
    assert (by_rel["big.md"].inode, by_rel["big.md"].device, by_rel["big.md"].size) == (
        2**64 - 1, 2**40 + 1, 2**40 + 3
    )  # fmt: skip
    assert by_rel["far.md"].mtime_ns == 2**63 - 1  # kept as the store can hold it
    assert by_rel["old.md"].mtime_ns == -(10**15)
    assert [(p.path, p.reason) for p in problems] == [("gone.md", "cannot read: Permission denied")]


def test_prefetch_asks_for_every_file_it_can_open_and_follows_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(tmp_path / "a.md")
    os.mkfifo(tmp_path / "fifo.md")
    root = str(tmp_path)
    asked: list[tuple[str, int, int, int]] = []

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        asked.append((str(Path(f"/proc/self/fd/{fd}").readlink()), offset, length, advice))

    monkeypatch.setattr(load, "_advise", advise)
    load.prefetch(
        [
            SourceFile("a.md", root),
            SourceFile("gone.md", root),  # deleted since the scan: the read will say so
            SourceFile("link.md", root),  # a link that was not followed: not opened
            SourceFile("followed.md", root, target=str(tmp_path / "b.md")),
        ]
    )
    whole = (0, 0, os.POSIX_FADV_WILLNEED)
    assert asked == [(str(tmp_path / "a.md"), *whole), (str(tmp_path / "b.md"), *whole)]
    monkeypatch.undo()  # the real call: a fifo cannot be advised, and that is no error
    signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(10)  # opened without O_NONBLOCK, a fifo would block until a writer comes
    try:
        load.prefetch([SourceFile("fifo.md", root), SourceFile("a.md", root)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _too_slow(signum: int, frame: object) -> None:
    raise AssertionError("blocked")


@pytest.mark.parametrize("failing", ["open", "advise"])
@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO, errno.ENOENT, errno.EINVAL])
def test_prefetch_goes_on_past_any_file_it_cannot_open_or_advise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, code: int
) -> None:
    """Best effort: the read that follows says what is wrong with the file, once."""
    for name in ("a.md", "bad.md", "c.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    root, asked = str(tmp_path), []
    real_open = os.open

    def opening(path: str, flags: int, *args: int) -> int:
        if failing == "open" and path.endswith("bad.md"):
            raise OSError(code, os.strerror(code), path)
        return real_open(path, flags, *args)

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        name = Path(f"/proc/self/fd/{fd}").readlink().name
        if failing == "advise" and name == "bad.md":
            raise OSError(code, os.strerror(code))
        asked.append(name)

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(load, "_advise", advise)
    load.prefetch([SourceFile(name, root) for name in ("a.md", "bad.md", "c.md")])
    assert asked == ["a.md", "c.md"]
