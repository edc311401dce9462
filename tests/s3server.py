"""A real S3 API server for the publish tests: moto's standalone server, started as its own
process on 127.0.0.1, behind a small recording proxy.

The proxy is what the tests point refeed at. It records every request in arrival order (to count
them and to prove their order), can answer 503 to the next N requests, can play dead (every
connection closed unanswered: a server stopped mid-publish, while moto keeps the objects that
did arrive), and serves two routes of its own: ``POST /hub`` (a WebSub hub) and
``GET /img/<name>.png`` (an image host for mirrored thumbnails, a picture per name), recorded in the same log.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import images

PNG = images.png(size=308)  # a real header: mirror mode copies raster images only


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Moto:
    """``python -m moto.server`` on a free port of 127.0.0.1 (moto[server] is in the test extra)."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / "moto.log"
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/moto-api/")
            connection.getresponse().read()
            connection.close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_moto(logs: Path) -> Moto:
    """The server, or a clear failure in CI (CI=true): a missing server must not pass as a skip."""
    try:
        import moto  # noqa: F401  (only to know that `python -m moto.server` can run)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("moto[server] is not installed: make test installs it from the test extra")
        pytest.skip("moto[server] is not installed (make test installs it)")
    return Moto(logs)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # unquoted, without the query
    query: str

    @property
    def key(self) -> str:
        """The object key of a path-style S3 request (/bucket/key)."""
        return self.path.split("/", 2)[2] if self.path.count("/") >= 2 else ""


class Proxy:
    """A recording HTTP proxy in front of moto (see the module docstring)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[Request] = []
        self.answered: list[Request] = []  # forwarded, and moto's answer passed on
        self.lock = threading.Lock()
        self.answer_503 = 0  # answer 503 to this many of the next requests
        self.dead = False  # close every connection unanswered
        self.die_after_puts: int | None = None  # play dead once this many PUTs were forwarded
        self.delay = 0.0  # seconds each forwarded request takes longer
        self.in_flight = 0
        self.most_in_flight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.handle(self)

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.answered.clear()

    def of(self, *methods: str) -> list[Request]:
        """The S3 requests recorded (not the hub's or the image host's), of these methods."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method in methods and not r.path.startswith(("/hub", "/img/"))
            ]

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        parts = urlsplit(h.path)
        request = Request(h.command, unquote(parts.path), parts.query)
        with self.lock:
            self.requests.append(request)
            dead = self.dead
            fail = self.answer_503 > 0 and not parts.path.startswith(("/hub", "/img/"))
            if fail:
                self.answer_503 -= 1
        if dead:
            h.close_connection = True  # a stopped server: no answer at all
        elif parts.path == "/hub":
            self.reply(h, 204, b"", {})
        elif parts.path.startswith("/img/"):
            image = PNG + parts.path.encode()  # one picture per name
            self.reply(h, 200, image, {"Content-Type": "image/png"}, head=h.command == "HEAD")
        elif fail:
            self.reply(h, 503, b"<Error><Code>SlowDown</Code></Error>", {})
        else:
            self.forward(h, body)

    def forward(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
            headers = {k: v for k, v in h.headers.items() if k.lower() != "connection"}
            upstream.request(h.command, h.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            dropped = {"transfer-encoding", "connection", "server", "date"}
            if h.command != "HEAD":  # a HEAD keeps the object's length; others get the body's
                dropped.add("content-length")
            kept = {k: v for k, v in response.getheaders() if k.lower() not in dropped}
            upstream.close()
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            if h.command == "PUT" and self.die_after_puts is not None:
                self.die_after_puts -= 1
                if self.die_after_puts < 0:
                    self.dead = True
                    h.close_connection = True  # this one arrived, but its answer never does
                    return
        self.reply(h, response.status, data, kept, head=h.command == "HEAD")
        with self.lock:
            self.answered.append(Request(h.command, unquote(urlsplit(h.path).path), ""))

    def reply(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        headers: dict[str, str],
        head: bool = False,
    ) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        if not head or "content-length" not in {k.lower() for k in headers}:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if not head:
            h.wfile.write(data)
