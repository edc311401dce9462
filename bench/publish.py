"""Publishing the bench corpus's feeds to a local S3 API server (moto's, started here on 127.0.0.1).

    python bench/publish.py [--size 10000] [--runs 3]      # make bench-publish

Builds the corpus once without publishing, then times whole `refeed publish` processes: the first
publish to an empty bucket (a new bucket each run), and the publish after one article is edited
(`refeed build --no-publish` first, untimed). Also times `refeed build` with publishing on, after
one edit and with nothing changed, and a no-op build that does not publish, for comparison. Prints objects, bytes and seconds; needs the test extra
(moto[server], boto3). A local server measures refeed's own cost, not a network's.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import ENV, Bench  # noqa: E402

AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


def start_moto(logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (logs / "moto.log").open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"moto server did not start; see {logs / 'moto.log'}") from None
            time.sleep(0.2)


class PublishBench(Bench):
    def __init__(self, root: Path, size: int, refeed: str, endpoint: str) -> None:
        self.endpoint = endpoint
        self.bucket = "bench-0"
        super().__init__(root, size, refeed)

    def write_config(self, summary: int) -> None:
        super().write_config(summary)
        with (self.root / "config.yaml").open("a", encoding="utf-8") as config:
            config.write(
                f"publish: {{targets: [{{url: 's3://{self.bucket}/feeds/', "
                f"endpoint: '{self.endpoint}'}}]}}\n"
            )

    def new_bucket(self, number: int) -> None:
        import boto3

        self.bucket = f"bench-{number}"
        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=self.bucket)
        self.write_config(200)

    def run(self, *args: str) -> tuple[float, list[str]]:
        """One whole refeed process: (wall seconds, the objects it uploaded)."""
        started = time.perf_counter()
        result = subprocess.run(
            [self.refeed, *args, "-v", "--config", "config.yaml"],
            cwd=self.root,
            env={**ENV, **AWS},
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"refeed {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        prefix = f"uploaded s3://{self.bucket}/feeds/"
        return wall, [
            line.removeprefix(prefix)
            for line in result.stdout.splitlines()
            if line.startswith(prefix)
        ]

    def size_of(self, files: list[str]) -> int:
        return sum((self.root / "feeds" / rel).stat().st_size for rel in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--refeed", default=str(Path(sys.executable).parent / "refeed"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    server, endpoint = start_moto(args.work)
    os.environ.update(AWS)
    ENV.update(AWS)  # every timed process: dummy credentials, no instance-metadata lookup
    try:
        bench = PublishBench(args.work, args.size, args.refeed, endpoint)
        bench.cold()
        bench.new_bucket(0)
        bench.build()  # publishes too (warm-up); the scenarios below start from it
        rows: dict[str, tuple[list[float], int, int]] = {}  # walls, objects, bytes

        def record(name: str, wall: float, files: list[str]) -> None:
            walls = rows.get(name, ([], 0, 0))[0]
            rows[name] = ([*walls, wall], len(files), bench.size_of(files))

        for number in range(1, args.runs + 1):
            bench.new_bucket(number)
            record("first publish", *bench.run("publish"))
            bench.edit()
            bench.run("build", "--no-publish")
            record("publish one edit", *bench.run("publish"))
            bench.edit()
            record("build+publish one edit", *bench.run("build"))
            record("build+publish noop", *bench.run("build"))
            record("build noop --no-publish", *bench.run("build", "--no-publish"))
        print(
            f"{args.size} articles; moto server on 127.0.0.1; {args.runs} runs (median, min, max)"
        )
        print(
            f"{'scenario':<24} {'objects':>8} {'MB':>8} {'median s':>9} {'min s':>7} {'max s':>7}"
        )
        for name, (walls, count, size) in rows.items():
            print(
                f"{name:<24} {count:>8} {size / 1e6:>8.2f} "
                f"{statistics.median(walls):>9.2f} {min(walls):>7.2f} {max(walls):>7.2f}"
            )
    finally:
        bench.restore()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
