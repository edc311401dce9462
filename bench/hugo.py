"""Hugo's cold build of the same articles, for comparison (optional: needs `hugo` on the PATH).

    python bench/hugo.py --size 10000 --runs 5

The benchmark corpus of that size (`bench/.work/<size>/articles`, made by bench/run.py or
bench/corpus.py) is copied into a Hugo site under `bench/.work/hugo-<size>/` once: each article's
frontmatter becomes Hugo's (title, an ISO date, its categories as one taxonomy term each) and its
body stays HTML. Hugo then renders what refeed publishes with the bench's settings: an RSS 2.0 and
an Atom 1.0 feed of the newest 50 items with their summary and full content, for the site and for
every category at every level of its path; no pages.
Each build is timed as a whole process after `public/` and Hugo's caches are deleted, and so is
`refeed build` on the same corpus right after it (cold, the bench's config), in turns.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import CONFIG  # noqa: E402

SITE_CONFIG = {
    "baseURL": "https://bench.example/",
    "title": "Bench",
    "languageCode": "zh-CN",
    "hasCJKLanguage": True,
    "disableKinds": ["sitemap", "robotsTXT", "404", "taxonomy", "section"],
    "ignoreErrors": ["error-disable-taxonomy"],  # the list of categories: not wanted
    "taxonomies": {"category": "categories"},
    "outputs": {"home": ["RSS", "Atom"], "term": ["RSS", "Atom"]},
    "outputFormats": {
        "Atom": {"mediaType": "application/atom+xml", "baseName": "atom", "isPlainText": False},
    },
    "mediaTypes": {"application/atom+xml": {"suffixes": ["xml"]}},
    "services": {"rss": {"limit": 50}},
    # Like refeed, no page per article: the articles only feed the lists.
    "cascade": [{"_build": {"render": "never", "list": "always"}, "_target": {"kind": "page"}}],
}

ATOM = """{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
{{- $pages := .Pages }}{{ if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end }}
<feed xmlns="http://www.w3.org/2005/Atom">
<title>{{ .Site.Title }}{{ with .Title }} - {{ . }}{{ end }}</title>
<id>{{ .Permalink }}</id>
<link rel="self" href="{{ .Permalink }}"/>
<updated>{{ now.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{ range first 50 $pages.ByDate.Reverse }}<entry>
<title>{{ .Title }}</title>
<id>{{ .Site.BaseURL }}{{ .File.Path }}</id>
<link href="{{ .Site.BaseURL }}{{ .File.Path }}"/>
<updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{ range .Params.categories }}<category term="{{ . }}"/>{{ end }}
<summary>{{ .Summary | plainify }}</summary>
<content type="html">{{ .Content | html }}</content>
</entry>
{{ end }}</feed>
"""


RSS = """{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
{{- $pages := .Pages }}{{ if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end }}
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>{{ .Site.Title }}{{ with .Title }} - {{ . }}{{ end }}</title>
<link>{{ .Permalink }}</link>
<description>{{ .Site.Title }}</description>
{{ range first 50 $pages.ByDate.Reverse }}<item>
<title>{{ .Title }}</title>
<link>{{ .Site.BaseURL }}{{ .File.Path }}</link>
<guid>{{ .Site.BaseURL }}{{ .File.Path }}</guid>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
{{ range .Params.categories }}<category>{{ . }}</category>{{ end }}
<description>{{ .Summary | plainify }}</description>
<content:encoded>{{ .Content | html }}</content:encoded>
</item>
{{ end }}</channel></rss>
"""


def hugo_date(value: object) -> str:
    """The corpus's dates (epoch, RFC 822, ISO) as ISO 8601, which Hugo reads."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value[:1].isalpha():
        moment = parsedate_to_datetime(value)
    else:
        moment = datetime.fromisoformat(str(value))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.isoformat()


def make_site(articles: Path, site: Path) -> None:
    marker = site / "site.done"
    if marker.exists():
        return
    shutil.rmtree(site, ignore_errors=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "_default" / "list.atom.xml").write_text(ATOM, encoding="utf-8")
    (site / "layouts" / "_default" / "rss.xml").write_text(RSS, encoding="utf-8")
    (site / "config.json").write_text(json.dumps(SITE_CONFIG), encoding="utf-8")
    content = site / "content" / "posts"
    for path in sorted(articles.rglob("*.txt")):
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.safe_load(front)
        cats = meta.get("categories") or []
        # Every level of a category path is a feed of its own in refeed (a parent's holds its
        # children's articles): here each level is a term.
        # Hexo's rule: a list of names is one path (parent first); a list of lists, several.
        paths = [c for c in cats if isinstance(c, list)] or [[str(c) for c in cats]]
        names = sorted({"-".join(p[:depth]) for p in paths for depth in range(1, len(p) + 1)})
        hugo = {"title": meta["title"], "date": hugo_date(meta["date"]), "categories": names}
        target = content / path.relative_to(articles).with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"---\n{json.dumps(hugo, ensure_ascii=False)}\n---\n{body}", "utf-8")
    marker.write_text("made\n")


def timed(command: list[str], cwd: Path, clear: list[Path]) -> float:
    for folder in clear:
        shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--refeed", default=str(Path(sys.executable).parent / "refeed"))
    parser.add_argument("--engine", choices=["bleach", "nh3"], default="nh3")
    args = parser.parse_args()
    if shutil.which("hugo") is None:
        raise SystemExit("hugo is not installed (Debian: apt-get install hugo)")
    corpus = args.work / str(args.size)
    if not (corpus / "articles").is_dir():
        raise SystemExit(f"no corpus in {corpus}: run bench/run.py --sizes {args.size} first")
    site = args.work / f"hugo-{args.size}"
    make_site(corpus / "articles", site)
    # The bench's settings with the nh3 engine (the target is set for it).
    (corpus / "config.yaml").write_text(CONFIG.format(summary=200, engine=args.engine), "utf-8")
    version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
    hugo = ["hugo", "--quiet", "--noBuildLock"]
    refeed = [args.refeed, "build", "-q", "--config", "config.yaml"]
    times: dict[str, list[float]] = {"hugo": [], "refeed": []}
    for _ in range(args.runs):  # in turns, so that drift touches both alike
        times["hugo"].append(timed(hugo, site, [site / "public", site / "resources"]))
        times["refeed"].append(timed(refeed, corpus, [corpus / "feeds", corpus / ".refeed"]))
    print(
        f"{args.size:,} articles, cold builds, {args.runs} runs each, in turns; refeed with {args.engine}"
    )
    print(version)
    for name, values in times.items():
        print(f"{name:7} median {statistics.median(values):6.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip
    ratio = statistics.median(times["refeed"]) / statistics.median(times["hugo"])
    print(f"refeed / hugo: {ratio:.2f}")


if __name__ == "__main__":
    main()
