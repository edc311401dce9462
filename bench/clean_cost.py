"""Per-body cleaning cost of each sanitizer engine, from a profile (one process, one core).

    python bench/clean_cost.py [--bodies 500] [--top 8]

Cleans the same bodies of the benchmark corpus (bench/corpus.py) with each engine and prints
the mean time per body, split into the shared browser-current parse and tree pass (lexbor) and
the engine's sanitizer, then the functions that cost the most, from cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import body  # noqa: E402

from refeed.clean import ENGINES, bleach_engine, clean_html, compile_rules, nh3_engine, tree  # noqa: E402  # noqa: E402

BASE = "https://bench.example/2024/01/01/post/"
SANITIZERS = {"bleach": bleach_engine.sanitize, "nh3": nh3_engine.sanitize}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=500)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(1)
    bodies = [body(rng, n) for n in range(args.bodies)]
    rules = compile_rules((".appendQr_wrap", ".article-editor"))
    prepared = [tree.prepare(b, BASE, rules.combined) for b in bodies]
    started = time.perf_counter()
    for html in bodies:
        tree.prepare(html, BASE, rules.combined)
    shared = (time.perf_counter() - started) / len(bodies) * 1000
    print(
        f"{len(bodies)} bodies, {sum(map(len, bodies)) / len(bodies) / 1024:.1f} KB each on average"
    )
    print(f"shared parse + tree pass (lexbor): {shared:.3f} ms per body")
    for engine in ENGINES:
        sanitize = SANITIZERS[engine]
        started = time.perf_counter()
        for html in prepared:
            sanitize(html)
        own = (time.perf_counter() - started) / len(bodies) * 1000
        started = time.perf_counter()
        for html in bodies:
            clean_html(html, BASE, rules, engine=engine)
        total = (time.perf_counter() - started) / len(bodies) * 1000
        print(f"\n{engine}: {total:.3f} ms per body in all, its sanitizer alone {own:.3f} ms")
        profile = cProfile.Profile()
        profile.enable()
        for html in bodies:
            clean_html(html, BASE, rules, engine=engine)
        profile.disable()
        stats = pstats.Stats(profile).sort_stats("tottime")
        stats.print_stats(args.top)


if __name__ == "__main__":
    main()
