"""Everything refeed does on the network (the only httpx import): thumbnail probes, mirroring
downloads and WebSub pings. Functions take an ``httpx.Client``, so tests inject a transport.

Article content decides which URLs are fetched, so every request passes the address guard:
http(s) only, and no loopback, private, link-local, multicast or reserved address (checked on
the resolved addresses, again after every redirect) unless ``thumbnails.allow`` names it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from . import addresses
from .__about__ import __version__
from .config import ThumbnailsConfig
from .errors import FetchError
from .thumbs import guess_type, raster, sniff_type

log = logging.getLogger("refeed")
Resolver = Callable[[str], list[str]]
_RETRY_STATUS = frozenset([500, 502, 503, 504])
_SNIFF_BYTES = 32


@dataclass(frozen=True, slots=True)
class Probe:
    """What a probe learned: byte length (0 unknown) and MIME type, or why it failed."""

    length: int
    type: str
    error: str | None = None
    body: bytes | None = None  # the whole image, in mirror mode


def user_agent(site_url: str) -> str:
    return f"refeed/{__version__} (+{site_url})"


def make_client(
    site_url: str,
    timeout: float,
    guard: Guard | None = None,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """A client; with a ``guard``, one that connects only to addresses the guard allowed."""
    return httpx.Client(
        headers={"User-Agent": user_agent(site_url)},
        timeout=timeout,
        follow_redirects=False,  # followed by hand, so that every hop passes the guard
        transport=GuardedTransport(guard, verify) if guard is not None else None,
        verify=verify,
        trust_env=False,
    )


# --------------------------------------------------------------------- the address guard


def system_resolver(host: str) -> list[str]:
    return sorted(
        {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    )


class Guard:
    """Refuses hosts that resolve to an address the public internet cannot reach.

    :meth:`addresses` resolves a host once and judges every address it gets; the transport
    connects only to those (see :class:`GuardedTransport`), so a resolver that answers
    differently the second time (DNS rebinding) is never asked a second time.
    """

    def __init__(self, allow: Iterable[str], resolver: Resolver = system_resolver) -> None:
        self.hosts = {a.lower() for a in allow if addresses.network(a) is None}
        self.networks = [n for a in allow if (n := addresses.network(a)) is not None]
        self.resolver = resolver

    def check(self, url: str) -> None:
        """Before any request: http(s) only, and an address written in the URL must be public."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http and https URLs are fetched")
        if _literal(parts.hostname) is not None:
            self.addresses(parts.hostname)

    def addresses(self, host: str) -> list[str]:
        """Every address ``host`` resolves to, each one allowed, in the resolver's order."""
        host = host.lower()
        if host in self.hosts:
            return [host]  # exempt by name: connected to as any client would
        if _literal(host) is not None:
            found = [host]
        else:
            try:
                found = list(self.resolver(host))
            except (OSError, UnicodeError) as exc:
                raise FetchError(host, f"cannot resolve {host}: {exc}") from None
        if not found:
            raise FetchError(host, f"cannot resolve {host}: no address")
        for text in found:
            address = _literal(text)
            if address is None or not addresses.is_public(address, self.networks):
                where = f"{host} is" if text == host else f"{host} resolves to {text},"
                inside = address and [str(v4) for v4 in addresses.carried_ipv4(address)]
                carried = f" (it carries {', '.join(inside)})" if inside else ""
                raise FetchError(
                    host,
                    f"refused: {where} not a public address{carried} (thumbnails.allow opens it)",
                )
        return found


def _literal(host: str) -> addresses.Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the addresses the guard allowed for the host, never to a fresh lookup."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in self.guard.addresses(host):  # an address literal: no second lookup
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # refused: try the next allowed address
                failure = exc
        assert failure is not None  # addresses() never returns an empty list
        raise failure

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.BaseTransport):
    """httpx's HTTP transport with every connection pinned to an address the guard allowed.

    The URL, so the Host header, TLS SNI and certificate check, keep the name; only the socket
    goes to the checked address. httpx has no public switch for an httpcore network backend
    (encode/httpx discussion 3180), so this wraps httpcore's pool as httpx's transport does.
    """

    def __init__(self, guard: Guard, verify: ssl.SSLContext | bool = True) -> None:
        self.pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(guard),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self.pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.pool.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self.stream

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's (which mirror them name for name)."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        kind = getattr(httpx, type(exc).__name__, httpx.TimeoutException)
        raise kind(str(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        kind = getattr(httpx, type(exc).__name__, httpx.TransportError)
        raise kind(str(exc)) from exc


# --------------------------------------------------------------------- probing and mirroring


class Prober:
    """Learns enclosure facts for many URLs at once, within a time budget (use it with ``with``:
    it owns a guarded client, so no request can bypass the guard)."""

    def __init__(
        self,
        cfg: ThumbnailsConfig,
        guard: Guard,
        *,
        site_url: str,
        clock: Callable[[], float] = time.monotonic,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.cfg = cfg
        self.guard = guard
        self.clock = clock
        self.client = make_client(site_url, cfg.timeout, guard, verify=verify)

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def probe_all(self, urls: list[str], mirror: bool = False) -> dict[str, Probe]:
        """A Probe per URL; URLs the budget left no time for are missing from the result."""
        deadline = self.clock() + self.cfg.budget
        results: dict[str, Probe] = {}

        def one(url: str) -> None:
            if self.clock() >= deadline:
                return
            try:
                results[url] = self.download(url, deadline) if mirror else self.probe(url, deadline)
            except FetchError as exc:
                results[url] = Probe(0, guess_type(url), exc.reason)

        with ThreadPoolExecutor(max_workers=self.cfg.concurrency) as pool:
            list(pool.map(one, urls))
        return results

    def probe(self, url: str, deadline: float) -> Probe:
        """HEAD; where that is refused or says too little, a ranged GET of the first bytes."""
        response = self._request("HEAD", url, deadline)
        head_type = _image_type(response)
        length = (
            _int(response.headers.get("content-length")) if response.status_code == 200 else None
        )
        if response.status_code == 200 and length and head_type:
            return Probe(length, head_type)
        # One ranged GET serves both needs: the total size (Content-Range) and magic bytes.
        with self._stream(url, deadline, {"Range": f"bytes=0-{_SNIFF_BYTES - 1}"}) as got:
            if got.status_code not in (200, 206):
                raise FetchError(url, f"HTTP {got.status_code}")
            first = _read_some(got, _SNIFF_BYTES)
            total = _content_range_total(got.headers.get("content-range"))
            if total is None and got.status_code == 200:
                total = _int(got.headers.get("content-length"))
            kind = _image_type(got) or sniff_type(first) or head_type or guess_type(url)
        return Probe(total or length or 0, kind)

    def download(self, url: str, deadline: float) -> Probe:
        """The whole image (mirror mode): capped in size, and only if its bytes are an image."""
        with self._stream(url, deadline, {}) as got:
            if got.status_code != 200:
                raise FetchError(url, f"HTTP {got.status_code}")
            declared = _int(got.headers.get("content-length"))
            if declared is not None and declared > self.cfg.mirror_max_bytes:
                raise FetchError(url, f"{declared:,} bytes, over thumbnails.mirror_max_size")
            data = _read_some(got, self.cfg.mirror_max_bytes + 1)
        if len(data) > self.cfg.mirror_max_bytes:
            raise FetchError(url, "over thumbnails.mirror_max_size")
        try:
            kind, _, _ = raster(data)  # by magic bytes and the dimensions in its header
        except ValueError as exc:
            raise FetchError(url, f"not mirrored: {exc}") from None
        return Probe(len(data), kind, body=data)

    # ----------------------------------------------------------------- requests

    def _request(self, method: str, url: str, deadline: float) -> httpx.Response:
        with self._stream(url, deadline, {}, method) as response:
            return response

    def _stream(
        self, url: str, deadline: float, headers: dict[str, str], method: str = "GET"
    ) -> _Stream:
        return _Stream(self, method, url, headers, deadline)

    def _send(
        self, method: str, url: str, headers: dict[str, str], deadline: float
    ) -> httpx.Response:
        """Follow redirects by hand (each hop guarded), retrying 5xx and timeouts with backoff."""
        for _hop in range(self.cfg.max_redirects + 1):
            self.guard.check(url)
            response = self._with_retries(method, url, headers, deadline)
            if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                response.close()
                url = urljoin(url, response.headers["location"])
                continue
            return response
        raise FetchError(url, f"more than {self.cfg.max_redirects} redirects")

    def _with_retries(
        self, method: str, url: str, headers: dict[str, str], deadline: float
    ) -> httpx.Response:
        for attempt in range(self.cfg.retries + 1):
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise FetchError(url, "time budget for thumbnails used up (thumbnails.budget)")
            timeout = httpx.Timeout(min(self.cfg.timeout, remaining))
            try:
                request = self.client.build_request(method, url, headers=headers, timeout=timeout)
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException:
                error = "timed out"
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
            else:
                if response.status_code not in _RETRY_STATUS or attempt == self.cfg.retries:
                    return response
                response.close()
                error = f"HTTP {response.status_code}"
            if attempt < self.cfg.retries:
                time.sleep(min(0.25 * 2**attempt, max(0.0, deadline - self.clock())))
        raise FetchError(url, error)


class _Stream:
    """``with`` a guarded, redirected, retried request; the response is closed on exit."""

    def __init__(
        self, prober: Prober, method: str, url: str, headers: dict[str, str], deadline: float
    ) -> None:
        self.args = (method, url, headers, deadline)
        self.prober = prober
        self.response: httpx.Response | None = None

    def __enter__(self) -> httpx.Response:
        self.response = self.prober._send(*self.args)
        return self.response

    def __exit__(self, *exc: object) -> None:
        if self.response is not None:
            self.response.close()


def _read_some(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; the rest is never downloaded."""
    data = bytearray()
    try:
        for chunk in response.iter_raw():
            data += chunk
            if len(data) >= limit:
                break
    except httpx.HTTPError as exc:
        raise FetchError(str(response.url), f"{type(exc).__name__}: {exc}") from None
    return bytes(data[:limit])


def _image_type(response: httpx.Response) -> str | None:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind if kind.startswith("image/") and "/" in kind and " " not in kind else None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _content_range_total(value: str | None) -> int | None:
    # "bytes 0-31/123456" → 123456 ("*" when the server does not know it)
    if value and "/" in value:
        return _int(value.rsplit("/", 1)[1])
    return None


# --------------------------------------------------------------------- WebSub


def ping_hub(client: httpx.Client, hub: str, feed_urls: list[str], retries: int = 2) -> list[str]:
    """Tell the hub each feed changed (one publish request per feed); returns the failures.

    Never raises: a hub that is down must not stop publishing.
    """
    failures = []
    for url in feed_urls:
        for attempt in range(retries + 1):
            try:
                response = client.post(
                    hub, data={"hub.mode": "publish", "hub.url": url}, timeout=10
                )
                if response.status_code < 300:
                    break
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < retries:
                time.sleep(0.2 * 2**attempt)
        else:
            failures.append(f"{url}: {error}")
    return failures
