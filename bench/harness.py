"""A real `journeyboard serve` process on a throwaway embedded store, for benchmarks."""

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.cli import CREDENTIALS_FILE
from server.store.embedded import EmbeddedStore, free_port

TOKEN = re.compile(r"jb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")
UNLIMITED = {
    "JOURNEYBOARD_RATE_PER_IP": "1000000",
    "JOURNEYBOARD_RATE_PER_TOKEN": "1000000",
    "JOURNEYBOARD_AUTH_FAILURES_PER_MINUTE": "1000000",
    "JOURNEYBOARD_WS_OPS_PER_SECOND": "1000000",
    "JOURNEYBOARD_WS_OPS_BURST": "1000000",
    "JOURNEYBOARD_WS_CONNECTIONS_PER_USER": "100000",
}


@dataclass
class Server:
    url: str
    pid: int
    token: str
    database_uri: str  # the store the server uses: MONGODB_URI or its embedded nx-27017


@contextlib.contextmanager
def served(**env: str) -> Iterator[Server]:
    """A server in its own process with its first-start admin token; stopped afterwards."""
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        log = Path(data) / "serve.log"
        environment = {
            **os.environ,
            "JOURNEYBOARD_DATA": data,
            "PORT": str(port),
            **UNLIMITED,
            **env,
        }
        environment.pop("MONGODB_URI", None) if "MONGODB_URI" not in env else None
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "journeyboard", "serve"],
                env=environment,
                stdout=out,
                stderr=out,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url)
            token = TOKEN.search((Path(data) / CREDENTIALS_FILE).read_text())
            assert token, "the server wrote no admin token"
            uri = env.get("MONGODB_URI") or EmbeddedStore(Path(data)).running_uri()
            assert uri, "the server's store is not running"
            yield Server(url, process.pid, token.group(0), uri)
        finally:
            process.terminate()
            process.wait(timeout=20)


@contextlib.contextmanager
def relayed() -> Iterator[Server]:
    """bench.relay in its own process: the no-persistence yardstick."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.relay", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield Server(url, process.pid, "relay", "")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        time.sleep(0.1)


def machine() -> str:
    return f"{os.cpu_count()} cores, {os.uname().machine}, Python {sys.version.split()[0]}"
