"""`journeyboard` commands and servers as separate processes, as a user runs them."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.cli import CREDENTIALS_FILE
from server.store.embedded import free_port
from tests.harness import MINTED, TOKEN

LOGS: list[Path] = []  # every served process's output, checked for secrets after the run


def environment(data: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    return {**base, "JOURNEYBOARD_DATA": str(data), **env}


def cli(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeyboard", *args],
        env=environment(data),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Served:
    """A `journeyboard serve` process; its output goes to a file, so it never blocks on a pipe."""

    def __init__(self, data: Path, **env: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        data.mkdir(parents=True, exist_ok=True)
        self.credentials = data / CREDENTIALS_FILE
        self.log = data / f"serve-{port}.log"
        LOGS.append(self.log)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "journeyboard", "serve"],
                env=environment(data, PORT=str(port), **env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text()

    def welcome(self) -> str:
        """The first-start credentials file, once written ("" if it serves without one)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.credentials.exists() and "Sign in at" in (text := self.credentials.read_text()):
                MINTED.update(TOKEN.findall(text), re.findall(r"admin / (\S+)", text))
                return text
            if "Uvicorn running" in self.output():
                return ""
            time.sleep(0.05)
        return ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"server exited: {self.output()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Signal it, wait for it to exit, and return everything it printed."""
        self.process.send_signal(sig)
        self.process.wait(timeout=20)
        return self.output()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=20)
