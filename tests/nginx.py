"""The real nginx serving deploy/nginx.conf on 127.0.0.1, for the deploy, browser and reader
tests: a folder that contains feeds/ is served as it would be at site.feeds_url."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(site: Path, run: Path) -> Iterator[str]:
    """nginx with deploy/nginx.conf's server block, ``root`` set to ``site``; yields its base URL.
    ``run`` holds its config, pid file and logs."""
    if NGINX is None:
        pytest.skip(
            "nginx is not installed (make test installs it where apt-get and root are available)"
        )
    port = free_port()
    server = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    server = re.sub(r"listen\s+80;", f"listen 127.0.0.1:{port};", server)
    server = re.sub(r"root\s+/srv/refeed;", f"root {site};", server)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {run}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (run / "nginx.conf").write_text(
        f"""
user root;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
{temp_paths}
{server}
}}
""",
        encoding="utf-8",
    )
    errors = (run / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [NGINX, "-c", str(run / "nginx.conf"), "-g", "daemon off;"], stderr=errors
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (run / "stderr.log").read_text() + (run / "error.log").read_text()
                    raise AssertionError(f"nginx did not start: {log}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        errors.close()
