"""The embedded store: nx-27017 (MongoDB wire protocol over SQLite) as a child process.

It lets `journeyboard serve` and the tests run on a fresh machine with the same pymongo
code path as a real MongoDB. Data, pid and log files live in one folder per instance.
"""

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

PR_SET_PDEATHSIG = 1
log = logging.getLogger("journeyboard.store")


class EmbeddedStoreError(RuntimeError):
    """The embedded store did not come up; the message says what to look at."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Have Linux stop the store when the process that started it dies, even by SIGKILL."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedStore:
    """Start nx-27017 on a free loopback port with its files under `folder`; stop it on exit."""

    def __init__(self, folder: Path, start_timeout: float = 15.0) -> None:
        self.folder = folder
        self.start_timeout = start_timeout
        self.pid_file = folder / "nx-27017.pid"
        self.uri_file = folder / "nx-27017.uri"
        self.log_file = folder / "nx-27017.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._stopping.clear()
        self._spawn()
        self.uri_file.write_text(self.uri)
        return self.uri

    def _spawn(self) -> None:
        """Start nx-27017 on `self.port` and wait until it listens."""
        command = [
            sys.executable, "-m", "nx_27017.nx_27017",
            "--data-dir", str(self.folder / "data"),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--pid-file", str(self.pid_file),
            "--log-file", str(self.log_file),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._wait_until_listening()

    def supervise(self, first_wait: float = 0.25, max_wait: float = 10.0) -> None:
        """Restart the store on the same port whenever it dies, backing off to `max_wait`.

        The URI stays the same, so the server's MongoDB client reconnects by itself and
        writes resume with no operator; meanwhile they answer `unavailable` and /readyz 503.
        """
        threading.Thread(
            target=self._watch, args=(first_wait, max_wait), name="store supervisor", daemon=True
        ).start()

    def _watch(self, first_wait: float, max_wait: float) -> None:
        wait = first_wait
        while not self._stopping.wait(0.1):
            process = self.process
            if process is None or process.poll() is None:
                continue
            log.error("embedded store exited with code %s; restarting", process.returncode)
            if self._stopping.wait(wait):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self._spawn()
                except EmbeddedStoreError as error:
                    log.error("%s; retrying", error)
                    wait = min(max_wait, wait * 2)
                    continue
            self.restarts += 1
            wait = first_wait
            log.info("embedded store restarted on port %d", self.port)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._stop_process()
        self.pid_file.unlink(missing_ok=True)
        self.uri_file.unlink(missing_ok=True)

    def _stop_process(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

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
            if (code := self.process.poll()) is not None:
                raise EmbeddedStoreError(
                    f"the embedded store (nx-27017) exited with code {code}; see {self.log_file}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        raise EmbeddedStoreError(
            f"the embedded store (nx-27017) did not answer within {self.start_timeout:.0f} s; "
            f"see {self.log_file}"
        )

    def running_uri(self) -> str | None:
        """The URI of a store already serving this folder (a running server's), if any."""
        if self._running_pid() is None:
            return None
        try:
            return self.uri_file.read_text().strip() or None
        except OSError:
            return None

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"nx_27017" in cmdline else None
