"""The refeed benchmark: whole `refeed build` processes on a generated corpus.

    python bench/run.py [--sizes 1000 10000] [--runs 5] [--engines bleach nh3] [--json bench/results.json]

For each size and each sanitizer engine (clean.sanitizer, same corpus, same run), times these scenarios as whole processes (interpreter start-up included) and
reports the median, min and max wall time and the median peak RSS of the build process:
cold (no state, no output), noop (nothing changed), edit / add / delete one article, and a
config change that forces every feed member to be cleaned again. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import generate  # noqa: E402

CONFIG = """\
site: {{title: "Bench", url: "https://bench.example/", feeds_url: "https://bench.example/feeds/", language: zh-CN}}
articles: {{dir: articles, timezone: Asia/Shanghai}}
clean:
  remove: [".appendQr_wrap", ".article-editor"]
  summary_length: {summary}
  sanitizer: {engine}
output: {{dir: feeds, items_per_feed: 50}}
state: {{dir: .refeed}}
thumbnails: {{offline: true}}
"""


# As installed for cron: bytecode cached. (An environment that forbids writing .pyc files would
# make every timed process recompile refeed's own modules, which no installed copy does.)
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


MARKER = "{size} articles; scenarios undone by Bench.restore"


class Bench:
    def __init__(self, root: Path, size: int, refeed: str) -> None:
        self.root = root / str(size)
        self.size = size
        self.refeed = refeed
        self.articles = self.root / "articles"
        self.held = self.root / "deleted"  # what `delete` took away, put back by restore()
        self.counter = 0
        self.engine = "bleach"
        self.generated_s: float | None = None  # None: the corpus of an earlier run, reused
        marker = self.root / "corpus.done"
        # (Corpora of older versions of this script lost their deleted files: made again.)
        if not marker.exists() or marker.read_text() != MARKER.format(size=size):
            shutil.rmtree(self.root, ignore_errors=True)
            started = time.perf_counter()
            generate(self.articles, size)  # one file at a time: nothing is held in memory
            self.generated_s = time.perf_counter() - started
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(MARKER.format(size=size))
            print(f"{size:,} articles generated in {self.generated_s:.0f} s (kept for later runs)",
                  file=sys.stderr, flush=True)  # fmt: skip
        self.restore()  # an interrupted run may have left its changes
        self.write_config(200)

    def restore(self) -> None:
        """Undo what the scenarios did, so that every run starts from the generated corpus
        (an `add` that found its file already there would time nothing but a stat change)."""
        for extra in self.articles.rglob("bench-*.txt"):
            extra.unlink()
        if self.held.is_dir():
            for kept in self.held.iterdir():
                kept.replace(self.articles / kept.name.replace("__", "/"))

    def write_config(self, summary: int) -> None:
        text = CONFIG.format(summary=summary, engine=self.engine)
        (self.root / "config.yaml").write_text(text, encoding="utf-8")

    def build(self) -> tuple[float, float]:
        """One `refeed build`: (wall seconds, peak RSS in MB) of that process alone."""
        started = time.perf_counter()
        proc = subprocess.Popen(
            [self.refeed, "build", "-q", "--config", "config.yaml"], cwd=self.root, env=ENV
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"refeed build failed with exit code {proc.returncode} in {self.root}")
        return wall, usage.ru_maxrss / 1024

    # ----------------------------------------------------------------- scenario set-ups

    def cold(self) -> None:
        shutil.rmtree(self.root / "feeds", ignore_errors=True)
        shutil.rmtree(self.root / ".refeed", ignore_errors=True)

    def noop(self) -> None:
        pass

    def _newest_article(self, name: str) -> str:
        self.counter += 1
        # After every generated date (the corpus ends at 2023-12-31T23:59Z), so that the
        # article lands in the site feed and its category's at every size.
        stamp = f"2024-01-02T00:{self.counter // 60 % 60:02d}:{self.counter % 60:02d}+08:00"
        return (
            f"---\ntitle: 'Bench {name} {self.counter}'\ncategories: [金融, 新浪财经]\n"
            f"date: {stamp}\nthumbnail: https://img.example.com/bench/{self.counter}.jpg\n---\n\n"
            f"<p>Run {self.counter}: {'内容 ' * 400}</p>\n"
        )

    def edit(self) -> None:
        (self.articles / "000" / "bench-edit.txt").write_text(
            self._newest_article("edit"), encoding="utf-8"
        )

    def add(self) -> None:
        (self.articles / "000" / f"bench-add-{self.counter}.txt").write_text(
            self._newest_article("add"), encoding="utf-8"
        )

    def delete(self) -> None:
        victims = sorted(p for p in self.articles.rglob("*.txt") if not p.name.startswith("bench-"))
        victim = victims[self.counter * 37 % len(victims)]
        self.held.mkdir(exist_ok=True)
        victim.replace(self.held / victim.relative_to(self.articles).as_posix().replace("/", "__"))
        self.counter += 1

    def config(self) -> None:
        self.counter += 1
        self.write_config(200 + self.counter % 2)


def measure(bench: Bench, setup: Callable[[], None], runs: int) -> dict[str, float]:
    setup()
    bench.build()  # warm-up (and, for edit/add/delete, the state the next run starts from)
    walls, rss = [], []
    for _ in range(runs):
        setup()
        wall, peak = bench.build()
        walls.append(wall)
        rss.append(peak)
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "peak_rss_mb": round(statistics.median(rss), 1),
        "runs": runs,
    }


WATCH_SETTLE = 1  # seconds: watch.settle for the watch scenario (the figure includes it)


def measure_watch(bench: Bench, runs: int) -> dict[str, float]:
    """``refeed watch`` running (file events on): seconds from writing one article with the
    newest date to the site feed on disk carrying it, ``watch.settle`` included; peak RSS of
    the watch process over all the runs."""
    config = bench.root / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + f"watch: {{interval: 3600, settle: {WATCH_SETTLE}, events: true}}\n",
        encoding="utf-8",
    )
    feed = bench.root / "feeds" / "atom.xml"
    proc = subprocess.Popen(
        [bench.refeed, "watch", "--config", "config.yaml"], cwd=bench.root, env=ENV,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    walls: list[float] = []
    try:
        time.sleep(3 + bench.size / 20_000)  # its first build (a no-op: the state is current)
        for run in range(runs + 1):  # the first is the warm-up
            bench.edit()
            title = f"Bench edit {bench.counter}".encode()
            written = time.perf_counter()
            deadline = written + 120
            while title not in feed.read_bytes():
                if time.perf_counter() > deadline:
                    raise SystemExit(f"refeed watch did not publish the edit in {bench.root}")
                time.sleep(0.005)
            if run:
                walls.append(time.perf_counter() - written)
            time.sleep(WATCH_SETTLE + 0.5)  # nothing left pending before the next edit
    finally:
        proc.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(proc.pid, 0)
        config.write_text(text, encoding="utf-8")
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark refeed build on a generated corpus.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    parser.add_argument("--refeed", default=str(Path(sys.executable).parent / "refeed"))
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["cold", "noop", "edit", "add", "delete", "config", "watch"],
    )
    parser.add_argument("--engines", nargs="+", default=["bleach", "nh3"])
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    generation: dict[str, float] = {}  # seconds, for the sizes generated by this run
    print(
        f"{'articles':>9} {'engine':<7} {'scenario':<8} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}"
    )
    for size in args.sizes:
        bench = Bench(args.work, size, args.refeed)
        results[str(size)] = {}
        if bench.generated_s is not None:
            generation[str(size)] = round(bench.generated_s, 1)
        try:
            for engine in args.engines:
                bench.engine = engine
                bench.write_config(200)
                bench.cold()
                bench.build()
                results[str(size)][engine] = {}
                for name in args.scenarios:
                    if name == "watch":
                        row = measure_watch(bench, args.runs)
                    else:
                        row = measure(bench, getattr(bench, name), args.runs)
                    results[str(size)][engine][name] = row
                    print(
                        f"{size:>9} {engine:<7} {name:<8} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {row['max_s']:>7.3f} {row['peak_rss_mb']:>12.1f}",
                        flush=True,
                    )
                bench.restore()
        finally:
            bench.restore()
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "results": results,
        "corpus_generated_s": generation,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
