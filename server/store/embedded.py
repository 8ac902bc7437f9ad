"""The embedded store: nx-27017 (MongoDB wire protocol over SQLite) as a child process.

It lets `journeyboard serve` and the tests run on a fresh machine with the same pymongo
code path as a real MongoDB. Data, pid and log files live in one folder per instance.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


class EmbeddedStoreError(RuntimeError):
    """The embedded store did not come up; the message says what to look at."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedStore:
    """Start nx-27017 on a free loopback port with its files under `folder`; stop it on exit."""

    def __init__(self, folder: Path, start_timeout: float = 15.0) -> None:
        self.folder = folder
        self.start_timeout = start_timeout
        self.pid_file = folder / "nx-27017.pid"
        self.log_file = folder / "nx-27017.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        self.port = free_port()
        command = [
            sys.executable, "-m", "nx_27017.nx_27017",
            "--data-dir", str(self.folder / "data"),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--pid-file", str(self.pid_file),
            "--log-file", str(self.log_file),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self._wait_until_listening()
        return self.uri

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.pid_file.unlink(missing_ok=True)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal to the store process (tests use it to crash or pause the database)."""
        if self.process is not None:
            self.process.send_signal(sig)

    def __enter__(self) -> "EmbeddedStore":
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedStoreError(
                    f"the embedded store (nx-27017) exited with code {self.process.returncode}; "
                    f"see {self.log_file}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedStoreError(
            f"the embedded store (nx-27017) did not answer within {self.start_timeout:.0f} s; "
            f"see {self.log_file}"
        )

    def _stop_leftover(self) -> None:
        """Stop a store left running by a server that was killed, so two never share one folder."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"nx_27017" in cmdline:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)
