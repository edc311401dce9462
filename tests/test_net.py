"""Thumbnail probing, mirroring and WebSub against a real HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import trustme
from lxml import etree

import images
import refeed
from conftest import NOW, SiteFactory, article
from feedcheck import check_feed, feed_files
from refeed.config import ThumbnailsConfig
from refeed.errors import FetchError
from refeed.net import (
    Guard,
    GuardedTransport,
    Probe,
    Prober,
    Resolver,
    make_client,
    ping_hub,
    user_agent,
)

PNG = images.png(size=1234)
JPEG = images.jpeg(size=5000)
GIF = images.gif(size=100)
SCRIPTED_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
)


class Server:
    """Routes that each behave like a kind of image host; requests are recorded."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.hub_posts: list[dict[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                outer.requests.append(("HEAD", self.path, dict(self.headers)))
                outer.route(self, head=True)

            def do_GET(self) -> None:
                outer.requests.append(("GET", self.path, dict(self.headers)))
                outer.route(self, head=False)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                outer.requests.append(("POST", self.path, dict(self.headers)))
                outer.hub_posts.append(parse_qs(body))
                posts = sum(path == self.path for _, path, _ in outer.requests)
                failing = self.path == "/hub-down" or (self.path == "/hub-flaky" and posts <= 2)
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = h.path.split("?")[0]
        if path == "/img.png":
            self.send(h, 200, PNG, "image/png", head)
        elif path == "/nohead.jpg":
            if head:
                self.send(h, 405, b"", "text/plain", head)
            else:
                self.ranged(h, JPEG, "image/jpeg")
        elif path == "/nolength.gif":
            if head:
                h.send_response(200)
                h.send_header("Content-Type", "image/gif")
                h.send_header("Connection", "close")
                h.end_headers()
            else:
                self.ranged(h, GIF, "image/gif")
        elif path == "/wrongtype":
            self.send(h, 200, PNG, "text/plain", head)
        elif path == "/redirect":
            self.redirect(h, "/img.png")
        elif path == "/redirect-private":
            self.redirect(h, "http://10.0.0.1/secret.png")
        elif path == "/loop":
            self.redirect(h, "/loop")
        elif path == "/slow.png":
            time.sleep(2.5)
            self.send(h, 200, PNG, "image/png", head)
        elif path == "/error":
            self.send(h, 500, b"oops", "text/plain", head)
        elif path == "/huge.jpg":
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(50 * 1024 * 1024))
            h.end_headers()
            if not head:
                with contextlib.suppress(OSError):
                    h.wfile.write(JPEG)  # a start only: the client must stop reading
        elif path == "/norange.png":  # no HEAD, and a GET that ignores Range
            if head:
                self.send(h, 405, b"", "text/plain", head)
            else:
                self.send(h, 200, PNG, "image/png", head)
        elif path == "/params.png":
            self.send(h, 200, PNG, "IMAGE/PNG; charset=binary", head)
        elif path == "/chunked.jpg":  # no Content-Length: only the bytes read can tell the size
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            with contextlib.suppress(OSError):
                for part in [JPEG] + [b"\x00" * 65536] * 80:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                h.wfile.write(b"0\r\n\r\n")
        elif path == "/notimage.jpg":
            self.send(h, 200, b"<html>not an image</html>", "image/jpeg", head)
        elif path == "/script.svg":
            self.send(h, 200, SCRIPTED_SVG, "image/svg+xml", head)
        elif path == "/headless.png":  # PNG magic bytes, no header behind them
            self.send(h, 200, PNG[:8] + b"<script>alert(1)</script>", "image/png", head)
        elif path in ("/img.webp", "/img.avif"):
            kind = path.rsplit(".", 1)[1]
            self.send(h, 200, images.RASTERS[f"image/{kind}"](size=300), f"image/{kind}", head)
        else:
            self.send(h, 404, b"missing", "text/plain", head)

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, body: bytes, kind: str, head: bool) -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    @staticmethod
    def ranged(h: BaseHTTPRequestHandler, body: bytes, kind: str) -> None:
        spec = h.headers.get("Range", "")
        if spec.startswith("bytes=0-"):
            end = min(int(spec.split("-")[1]), len(body) - 1)
            part = body[: end + 1]
            h.send_response(206)
            h.send_header("Content-Range", f"bytes 0-{end}/{len(body)}")
        else:
            part = body
            h.send_response(200)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(part)))
        h.end_headers()
        h.wfile.write(part)

    @staticmethod
    def redirect(h: BaseHTTPRequestHandler, where: str) -> None:
        h.send_response(302)
        h.send_header("Location", where)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


@contextlib.contextmanager
def prober(
    resolver: Resolver | None = None, verify: ssl.SSLContext | bool = True, **settings: object
) -> Iterator[Prober]:
    values: dict[str, object] = {
        "allow": ("127.0.0.1",),
        "timeout": 1.0,
        "budget": 20.0,
        "retries": 1,
    }
    cfg = ThumbnailsConfig(**{**values, **settings})  # type: ignore[arg-type]
    guard = Guard(cfg.allow, resolver) if resolver else Guard(cfg.allow)
    with Prober(cfg, guard, site_url="https://site.example/", verify=verify) as p:
        yield p


def probe(server: Server, path: str, **settings: object) -> tuple[int, str, str | None]:
    with prober(None, True, **settings) as p:
        result = p.probe_all([server.base + path])[server.base + path]
    return result.length, result.type, result.error


# ------------------------------------------------------------------ probing


def test_head_gives_length_and_type_with_a_clear_user_agent(server: Server) -> None:
    assert probe(server, "/img.png") == (1234, "image/png", None)
    assert [r[0] for r in server.requests] == ["HEAD"]
    assert (
        server.requests[0][2]["User-Agent"]
        == user_agent("https://site.example/")
        == f"refeed/{refeed.__version__} (+https://site.example/)"
    )


def test_refused_head_falls_back_to_a_ranged_get(server: Server) -> None:
    assert probe(server, "/nohead.jpg") == (5000, "image/jpeg", None)
    assert [(m, h.get("Range")) for m, _, h in server.requests] == [
        ("HEAD", None),
        ("GET", "bytes=0-31"),
    ]


def test_missing_length_falls_back_to_a_ranged_get(server: Server) -> None:
    assert probe(server, "/nolength.gif") == (100, "image/gif", None)


def test_wrong_content_type_is_corrected_from_the_magic_bytes(server: Server) -> None:
    assert probe(server, "/wrongtype?x=1.jpg") == (1234, "image/png", None)


def test_redirects_are_followed_within_bounds(server: Server) -> None:
    assert probe(server, "/redirect") == (1234, "image/png", None)
    length, _, error = probe(server, "/loop", max_redirects=3)
    assert length == 0 and error is not None and "more than 3 redirects" in error


def test_a_redirect_to_a_private_address_is_refused_without_contacting_it(server: Server) -> None:
    _, _, error = probe(server, "/redirect-private")
    assert error is not None and "10.0.0.1" in error and "not a public address" in error
    assert all(path != "/secret.png" for _, path, _ in server.requests)


def test_a_slow_host_times_out_within_bounds(server: Server) -> None:
    started = time.monotonic()
    length, kind, error = probe(server, "/slow.png", retries=0)
    assert time.monotonic() - started < 2.4
    assert (length, kind) == (0, "image/png") and error == "timed out"


@pytest.mark.parametrize(("path", "status"), [("/missing.png", "HTTP 404"), ("/error", "HTTP 500")])
def test_http_errors_fail_and_5xx_is_retried(server: Server, path: str, status: str) -> None:
    length, _, error = probe(server, path, retries=2)
    assert length == 0 and error == status
    heads = [p for m, p, _ in server.requests if m == "HEAD"]
    assert len(heads) == (3 if status == "HTTP 500" else 1)


def test_the_budget_bounds_a_whole_build(server: Server) -> None:
    urls = [f"{server.base}/slow.png?{n}" for n in range(4)]
    started = time.monotonic()
    with prober(budget=1.5, concurrency=1, retries=0) as p:
        results = p.probe_all(urls)
    assert time.monotonic() - started < 6
    assert len(results) < len(urls)  # the rest were left for the next build


def test_mirror_refuses_huge_and_non_image_bodies(server: Server) -> None:
    urls = [server.base + "/huge.jpg", server.base + "/notimage.jpg", server.base + "/img.png"]
    with prober(None, True, mirror_max_bytes=1024 * 1024) as p:
        results = p.probe_all(urls, mirror=True)
    assert "over thumbnails.mirror_max_size" in (results[server.base + "/huge.jpg"].error or "")
    assert "match no image format" in (results[server.base + "/notimage.jpg"].error or "")
    assert results[server.base + "/img.png"].body == PNG


def test_mirror_bounds_a_body_of_undeclared_length_by_what_it_reads(server: Server) -> None:
    url = server.base + "/chunked.jpg"
    with prober(None, True, mirror_max_bytes=len(JPEG) + 65536) as p:
        result = p.probe_all([url], mirror=True)[url]
    assert result.error == "over thumbnails.mirror_max_size" and result.body is None
    with prober(None, True, mirror_max_bytes=len(PNG)) as p:  # exactly at the limit: accepted
        result = p.probe_all([server.base + "/img.png"], mirror=True)[server.base + "/img.png"]
    assert result.error is None and result.body == PNG


def test_probes_read_the_length_and_type_wherever_the_host_puts_them(server: Server) -> None:
    assert probe(server, "/norange.png") == (1234, "image/png", None)  # GET's Content-Length
    assert probe(server, "/params.png") == (1234, "image/png", None)  # type without parameters
    assert [m for m, p, _ in server.requests if p == "/norange.png"] == ["HEAD", "GET"]


def test_mirror_accepts_raster_images_only(server: Server) -> None:
    paths = ["/script.svg", "/headless.png", "/img.webp", "/img.avif", "/img.png"]
    with prober() as p:
        results = p.probe_all([server.base + path for path in paths], mirror=True)
    got = {path: results[server.base + path] for path in paths}
    assert "image/svg+xml is not a raster image" in (got["/script.svg"].error or "")
    assert "image/png header gives no dimensions" in (got["/headless.png"].error or "")
    assert got["/script.svg"].body is None and got["/headless.png"].body is None
    assert [got[p].type for p in paths[2:]] == ["image/webp", "image/avif", "image/png"]
    assert all(got[p].error is None and got[p].body for p in paths[2:])


# ------------------------------------------------------------------ the guard

PUBLIC = "93.184.216.34"
PUBLIC6 = "2606:2800:220:1:248:1893:25c8:1946"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "fd00::1",
        "ff02::1",
        # IPv6 forms that carry a private IPv4 address, judged as that address
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:7f00:1",  # SIIT IPv4-translated
        "64:ff9b::7f00:1",  # NAT64, well-known prefix
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254
        "64:ff9b:1::7f00:1",  # local-use NAT64, /96 layout
        "64:ff9b:1:7f00:0:100:5db8:d822",  # local-use NAT64, /48 layout: 127.0.0.1 (public at /96)
        "2002:7f00:1::",  # 6to4
        "2002:a00:1::1",  # 6to4 to 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:a247:27dd",  # Teredo, relay 10.0.0.1
    ],
)
def test_the_guard_refuses_non_public_addresses(address: str) -> None:
    guard = Guard((), resolver=lambda host: [address])
    with pytest.raises(FetchError, match="not a public address"):
        guard.check("http://images.example/a.png")
        guard.addresses("images.example")
    with pytest.raises(FetchError, match="not a public address"):  # written in the URL
        guard.check(f"http://[{address}]/a.png" if ":" in address else f"http://{address}/a.png")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "http://[2002:7f00:1::]/a.png",
            "2002:7f00:1:: is not a public address (it carries 127.0.0.1)",
        ),
        (
            "http://[::ffff:10.0.0.1]/a.png",
            "::ffff:10.0.0.1 is not a public address (it carries 10.0.0.1)",
        ),
        ("http://127.0.0.1/a.png", "127.0.0.1 is not a public address (thumbnails.allow"),
    ],
)
def test_a_refusal_names_the_private_address_an_ipv6_one_carries(url: str, said: str) -> None:
    with pytest.raises(FetchError) as refused:
        Guard((), resolver=lambda host: [host]).check(url)
    assert said in str(refused.value.reason)


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC,
        PUBLIC6,
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
        "2001:0:4136:e378:8000:63bf:a247:27dd",  # Teredo: relay and client both public
    ],
)
def test_the_guard_allows_public_addresses_in_every_form(address: str) -> None:
    assert Guard((), resolver=lambda host: [address]).addresses("images.example") == [address]


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC, "127.0.0.1"],
        ["127.0.0.1", PUBLIC],
        [PUBLIC, PUBLIC6, "10.0.0.1"],
        [PUBLIC6, "64:ff9b::a00:1"],
        [PUBLIC, "fe80::1%eth0"],
        [PUBLIC, "not an address"],
        [],
    ],
)
def test_every_resolved_address_must_be_public(answer: list[str]) -> None:
    with pytest.raises(FetchError, match=r"not a public address|no address"):
        Guard((), resolver=lambda host: answer).addresses("images.example")


def test_a_host_with_several_public_addresses_is_allowed_in_the_resolvers_order() -> None:
    guard = Guard((), resolver=lambda host: [PUBLIC6, PUBLIC])
    assert guard.addresses("images.example") == [PUBLIC6, PUBLIC]


def test_the_guard_allows_public_addresses_and_configured_exceptions() -> None:
    Guard((), resolver=lambda host: [PUBLIC]).check("https://images.example/a.png")
    assert Guard(("10.0.0.0/8",), resolver=lambda host: ["10.9.9.9"]).addresses(
        "internal.example"
    ) == ["10.9.9.9"]
    assert Guard(("10.0.0.0/8",), resolver=lambda host: ["::ffff:10.9.9.9"]).addresses(
        "internal.example"
    ) == ["::ffff:10.9.9.9"]  # judged as the IPv4 it carries, allow list included
    assert Guard(("internal.example",), resolver=lambda host: ["10.9.9.9"]).addresses(
        "Internal.Example"
    ) == ["internal.example"]  # exempt by name: connected to as any client would
    Guard(("127.0.0.1",)).check("http://127.0.0.1:8080/a.png")
    with pytest.raises(FetchError, match="only http and https"):
        Guard(()).check("ftp://files.example/a.png")

    def unresolvable(host: str) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(FetchError, match=r"cannot resolve x.example: .*not known"):
        Guard((), resolver=unresolvable).addresses("x.example")


@pytest.fixture
def twins() -> Iterator[tuple[Server, Server]]:
    """An allowed image host on 127.0.0.1 and, on the same port of 127.0.0.2 (not allowed), the
    internal service a rebinding answer points at."""
    for _ in range(20):
        public = Server()
        try:
            internal = Server("127.0.0.2", public.port)
        except OSError:  # that port is taken on 127.0.0.2: another pair
            public.close()
            continue
        yield public, internal
        public.close()
        internal.close()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


def test_a_rebinding_resolver_never_gets_a_request_to_the_address_it_swaps_in(
    twins: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system resolver answers the allowed address, then the internal one, by turns: every
    connection goes to an address the guard judged, from the one lookup it judged."""
    public, internal = twins
    answers = ["127.0.0.1", "127.0.0.2"]
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: object, port: object, *args: object, **kwargs: object) -> object:
        if host != "images.test":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        lookups.append(answers[len(lookups) % 2])
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (lookups[-1], port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    results = {}
    for client in range(4):  # a new client, so a new connection and a new lookup, each time
        urls = [f"http://images.test:{public.port}/img.png?{client}-{n}" for n in range(2)]
        with prober(concurrency=1, retries=0) as p:
            results.update(p.probe_all(urls))
    assert internal.requests == []
    assert public.requests and len(lookups) >= 4
    refused = [r.error or "" for r in results.values() if r.error]
    assert refused and all("resolves to 127.0.0.2, not a public address" in e for e in refused)


def test_a_refused_connection_falls_through_to_the_next_allowed_address(server: Server) -> None:
    answer = ["127.0.0.3", "127.0.0.1"]  # nothing listens on 127.0.0.3
    with prober(resolver=lambda host: answer, allow=("127.0.0.0/8",)) as p:
        url = f"http://images.test:{server.httpd.server_address[1]}/img.png"
        assert p.probe_all([url])[url].length == 1234
    assert server.requests[0][2]["Host"] == f"images.test:{server.httpd.server_address[1]}"


def test_the_connection_goes_to_the_checked_address_not_to_any_local_one(
    twins: tuple[Server, Server],
) -> None:
    public, internal = twins  # 127.0.0.1 and 127.0.0.2, one port
    url = f"http://images.test:{public.port}/img.png"
    with prober(resolver=lambda host: ["127.0.0.2"], allow=("127.0.0.0/8",)) as p:
        assert p.probe_all([url])[url].length == 1234
    assert [path for _, path, _ in internal.requests] == ["/img.png"] and public.requests == []


def test_when_every_allowed_address_refuses_the_probe_fails_with_the_reason() -> None:
    url = "http://images.test:9/img.png"  # nothing listens on port 9
    with prober(resolver=lambda host: ["127.0.0.3", "127.0.0.4"], allow=("127.0.0.0/8",)) as p:
        result = p.probe_all([url])[url]
    assert (result.error or "").startswith("ConnectError: ")


def test_a_connection_that_is_never_accepted_times_out() -> None:
    with socket.socket() as full:  # a listening socket whose queue is full: SYNs go unanswered
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        waiting = [socket.socket() for _ in range(4)]
        for extra in waiting:
            extra.setblocking(False)
            extra.connect_ex(full.getsockname())
        url = f"http://127.0.0.1:{full.getsockname()[1]}/img.png"
        results: dict[str, Probe] = {}
        with prober(timeout=0.5, retries=0) as p:
            worker = threading.Thread(target=lambda: results.update(p.probe_all([url])))
            worker.start()
            worker.join(10)
        for extra in waiting:
            extra.close()
    assert not worker.is_alive() and results[url].error == "timed out"


def test_certificates_are_checked_unless_told_otherwise() -> None:
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test").configure_cert(server_side)
    https = Server(tls=server_side)  # signed by a CA no default trust store holds
    url = f"https://images.test:{https.port}/img.png"
    guard = Guard(("127.0.0.1",), resolver=lambda host: ["127.0.0.1"])
    try:
        with Prober(ThumbnailsConfig(retries=0), guard, site_url="https://s.example/") as p:
            result = p.probe_all([url])[url]
        with (
            httpx.Client(transport=GuardedTransport(guard)) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(url)
    finally:
        https.close()
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "") and https.requests == []


def test_https_keeps_the_name_for_sni_the_certificate_and_the_host_header() -> None:
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test").configure_cert(server_side)
    names: list[str | None] = []
    server_side.sni_callback = lambda sock, name, ctx: names.append(name)
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)
    https = Server(tls=server_side)
    try:
        with prober(resolver=lambda host: ["127.0.0.1"], verify=client_side) as p:
            good = f"https://images.test:{https.port}/img.png"
            wrong = f"https://other.test:{https.port}/img.png"
            results = p.probe_all([good, wrong])
    finally:
        https.close()
    assert (results[good].length, results[good].error) == (1234, None)
    assert "CERTIFICATE_VERIFY_FAILED" in (results[wrong].error or "")  # checked for the name
    assert "images.test" in names and "other.test" in names
    assert [h["Host"] for _, _, h in https.requests] == [f"images.test:{https.port}"]


# ------------------------------------------------------------------ in builds


def site(
    make_site: SiteFactory, server: Server, paths: list[str], **thumbnails: object
) -> refeed.Config:
    files = {
        f"a{n}.md": article(f"Item {n}", categories=["Pics"], thumbnail=server.base + path)
        for n, path in enumerate(paths)
    }
    settings = {"offline": False, "allow": ["127.0.0.1"], "timeout": 1, "retries": 0, **thumbnails}
    return make_site(files, thumbnails=settings)


def enclosures(cfg: refeed.Config) -> dict[str, tuple[str, str, str]]:
    root = etree.fromstring((cfg.output.dir / "rss.xml").read_bytes())
    return {
        item.findtext("title") or "": (
            e.get("url") or "",
            e.get("length") or "",
            e.get("type") or "",
        )
        for item in root.iter("item")
        if (e := item.find("enclosure")) is not None
    }


def test_builds_publish_real_lengths_and_cache_them(make_site: SiteFactory, server: Server) -> None:
    cfg = site(make_site, server, ["/img.png", "/nohead.jpg", "/missing.png"])
    refeed.build(cfg, now=NOW)
    got = enclosures(cfg)
    assert got["Item 0"][1:] == ("1234", "image/png") and got["Item 1"][1:] == (
        "5000",
        "image/jpeg",
    )
    assert got["Item 2"][1:] == ("0", "image/png")  # failed: guessed, published all the same
    for path in feed_files(cfg.output.dir):
        check_feed(path.read_bytes())
    served = len(server.requests)
    (cfg.articles.dir / "new.md").write_text(
        article("Text only", categories=["Pics"]), encoding="utf-8"
    )
    refeed.build(cfg, now=NOW + timedelta(hours=1))
    assert len(server.requests) == served  # cached, failures included
    refeed.build(cfg, now=NOW + timedelta(days=8))  # past the TTL: probed again
    assert len(server.requests) > served


@pytest.mark.parametrize("how", ["config", "flag"])
def test_an_online_build_after_an_offline_one_publishes_the_real_facts(
    make_site: SiteFactory, server: Server, how: str
) -> None:
    """The feed fingerprint includes the enclosure facts, not only what the items are made of."""
    cfg = site(make_site, server, ["/img.png"], offline=how == "config")
    refeed.build(cfg, now=NOW, offline=how == "flag")
    assert enclosures(cfg)["Item 0"][1:] == ("0", "image/png") and server.requests == []
    if how == "config":
        cfg = make_site({}, thumbnails={"offline": False, "allow": ["127.0.0.1"], "timeout": 1})
    report = refeed.build(cfg, now=NOW)  # nothing else changed
    assert enclosures(cfg)["Item 0"][1:] == ("1234", "image/png")
    assert "rss.xml" in report.written


def test_offline_builds_make_no_requests(make_site: SiteFactory, server: Server) -> None:
    cfg = site(make_site, server, ["/img.png"])
    refeed.build(cfg, now=NOW, offline=True)
    assert server.requests == [] and enclosures(cfg)["Item 0"][1] == "0"


def test_mirror_mode_serves_thumbnails_from_the_feeds_folder(
    make_site: SiteFactory, server: Server
) -> None:
    cfg = site(make_site, server, ["/img.png"], mode="mirror")
    refeed.build(cfg, now=NOW)
    url, length, kind = enclosures(cfg)["Item 0"]
    media = sorted((cfg.output.dir / "media").iterdir())
    assert [p.read_bytes() for p in media] == [PNG] and media[0].suffix == ".png"
    assert url == f"https://example.org/feeds/media/{media[0].name}" and (length, kind) == (
        "1234",
        "image/png",
    )
    (cfg.articles.dir / "a0.md").unlink()
    report = refeed.build(cfg, now=NOW, prune=True)
    assert f"media/{media[0].name}" in report.pruned and not media[0].exists()


def test_mirror_mode_never_publishes_a_scripted_svg(
    make_site: SiteFactory, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = site(make_site, server, ["/script.svg", "/headless.png"], mode="mirror")
    with caplog.at_level(logging.WARNING, logger="refeed"):
        refeed.build(cfg, now=NOW)
    assert not (cfg.output.dir / "media").exists()
    urls = {url for url, _, _ in enclosures(cfg).values()}
    assert urls == {
        server.base + "/script.svg",
        server.base + "/headless.png",
    }  # linked, not copied
    assert "not mirrored: image/svg+xml is not a raster image" in caplog.text


def test_websub_hub_is_linked_and_told_once_per_changed_feed(
    make_site: SiteFactory, server: Server
) -> None:
    cfg = site(make_site, server, ["/img.png"])
    cfg = make_site({}, websub={"hub": server.base + "/hub"})
    report = refeed.build(cfg, now=NOW)
    told = sorted(url for post in server.hub_posts for url in post["hub.url"])
    assert all(post["hub.mode"] == ["publish"] for post in server.hub_posts)
    assert told == sorted(f"https://example.org/feeds/{rel}" for rel in report.written)
    assert len(told) == len(set(told))
    for fmt in ("atom", "rss"):
        root = etree.fromstring((cfg.output.dir / f"{fmt}.xml").read_bytes())
        hubs = [
            e.get("href")
            for e in root.iter("{http://www.w3.org/2005/Atom}link")
            if e.get("rel") == "hub"
        ]
        assert hubs == [server.base + "/hub"]
        check_feed((cfg.output.dir / f"{fmt}.xml").read_bytes())
    posts = len(server.hub_posts)
    refeed.build(cfg, now=NOW)
    assert len(server.hub_posts) == posts  # nothing changed: nobody is told


def test_the_hub_is_retried_and_what_it_refused_is_reported(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    feed = "https://site.example/feeds/atom.xml"
    with make_client("https://site.example/", 2.0) as client:
        assert ping_hub(client, server.base + "/hub-flaky", [feed]) == []  # third time lucky
        assert ping_hub(client, server.base + "/hub-down", [feed], retries=1) == [
            f"{feed}: HTTP 500"
        ]
        [refused] = ping_hub(client, "http://127.0.0.1:9/hub", [feed], retries=0)
    assert refused.startswith(f"{feed}: ConnectError: ")
    posts = [path for method, path, _ in server.requests if method == "POST"]
    assert posts == ["/hub-flaky"] * 3 + ["/hub-down"] * 2
    assert server.hub_posts[0] == {"hub.mode": ["publish"], "hub.url": [feed]}


def test_a_dead_hub_never_fails_a_build(make_site: SiteFactory, tmp_path: Path) -> None:
    cfg = make_site({"a.md": article("A")}, websub={"hub": "http://127.0.0.1:9/hub"})
    report = refeed.build(cfg, now=NOW)
    assert report.failed == [] and report.written


def test_client_never_follows_redirects_itself() -> None:
    with make_client("https://s.example/", 1.0) as client:
        assert isinstance(client, httpx.Client) and client.follow_redirects is False
