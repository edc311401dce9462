"""``refeed serve``: a local preview for the person writing posts (stdlib http.server).

The preview is a separate build, never the production one: its own output and state folders
under the preview folder, ``site.feeds_url`` pointing at this server, nothing uploaded, no hub
told. The watch service keeps it current; the server hands out the files with the types
deploy/nginx.conf gives them, and tells browsers not to cache them, so a reload shows the edit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .config import Config, PublishConfig, StateConfig, WebSubConfig
from .errors import UsageError
from .models import FEED_FILES, INDEX_FILE, RunReport
from .pipeline import served_type
from .service import Loader, Service

log = logging.getLogger("refeed")
PREVIEW_FOLDER = ".refeed-preview"  # beside the config, like .refeed/
_EVERY_ADDRESS = frozenset(("", "0.0.0.0", "::"))


@dataclass(frozen=True)
class PreviewAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in _EVERY_ADDRESS else self.host  # a link needs one
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"


def preview_config(cfg: Config, *, folder: Path, address: PreviewAddress) -> Config:
    """``cfg`` turned into the preview's: built into ``folder`` (feeds/ and state/), feeds at the
    server's URL, every page a writer wants on (index, previews, stylesheet), nothing published
    to a bucket or announced to a hub."""
    site = dataclasses.replace(cfg.site, feeds_url=address.url)
    output = dataclasses.replace(
        cfg.output, dir=folder / "feeds", index=True, preview=True, stylesheet=True
    )
    return dataclasses.replace(
        cfg,
        site=site,
        output=output,
        state=StateConfig(folder / "state"),
        publish=PublishConfig(),
        websub=WebSubConfig(),
    )


class _Handler(SimpleHTTPRequestHandler):
    """Files of the preview's output folder, typed as nginx types them, never cached."""

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return served_type(Path(path).relative_to(self.directory).as_posix())

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """A folder without index.html is not found, as nginx (no autoindex) has it: no listing
        of the preview's files."""
        self.send_error(HTTPStatus.NOT_FOUND)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("serve: %s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    """IPv4, or IPv6 for an IPv6 address: ``::`` takes IPv4 too (the URLs say 127.0.0.1)."""

    def __init__(self, address: tuple[str, int], handler: Callable[..., _Handler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:  # both families where the system allows
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class PreviewServer:
    """The HTTP server on its own thread, with the watch service in front (``run()`` blocks
    until SIGTERM or SIGINT, like ``refeed watch``)."""

    def __init__(self, *, host: str, port: int, folder: Path) -> None:
        self.folder = folder
        self.output = folder / "feeds"
        if not 0 <= port <= 65535:  # before anything is created
            raise UsageError("--port", f"{port}: not a port (0 to 65535; 0 picks a free one)")
        try:
            self.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError("--preview", f"{folder}: {exc.strerror or exc}") from None
        handler = partial(_Handler, directory=str(self.output))
        try:  # bound first: port 0 picks a free one, and the feeds must carry the real port
            self.http = _Server((host, port), handler)
        except OSError as exc:  # in use, an address this machine does not have, a name unknown
            if exc.errno == errno.EADDRINUSE:
                raise UsageError("--port", f"{port}: in use on {host}; choose another") from None
            raise UsageError("--bind", f"{host}: {exc.strerror or exc}") from None
        self.address = PreviewAddress(host, self.http.server_address[1])

    def run(
        self,
        config_path: Path,
        loader: Loader,
        *,
        announce: Callable[[str], None] = print,
    ) -> None:
        def load(path: Path) -> Config:
            return preview_config(loader(path), folder=self.folder, address=self.address)

        service = Service(config_path, load, after_build=self._announcer(announce))
        thread = threading.Thread(target=self.http.serve_forever, name="serve", daemon=True)
        thread.start()
        try:
            service.run()
        finally:
            self.http.shutdown()
            self.http.server_close()

    def _announcer(self, announce: Callable[[str], None]) -> Callable[[Config, RunReport], None]:
        """Says where to look once, after the first build put the pages there."""
        said = threading.Event()

        def after_build(cfg: Config, report: RunReport) -> None:
            if said.is_set():
                return
            said.set()
            announce(f"refeed serve: {self.address.url}{INDEX_FILE}")
            for fmt in cfg.output.formats:
                announce(f"  site feed: {self.address.url}{FEED_FILES[fmt]}")
            announce("  Ctrl-C stops; the preview rebuilds when an article changes")

        return after_build
