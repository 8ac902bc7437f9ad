"""A real `journeyboard serve` process on a throwaway embedded store, for benchmarks."""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

from server.store.embedded import free_port


@contextlib.contextmanager
def served(**env: str) -> Iterator[tuple[str, int]]:
    """Yield (base URL, server pid) of a server in its own process; stop it afterwards."""
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        environment = {**os.environ, "JOURNEYBOARD_DATA": data, "PORT": str(port), **env}
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            env=environment,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                time.sleep(0.1)
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)
