"""`journeyboard serve` as a user runs it: a real process, the embedded store, signals."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from server.store.embedded import free_port


def start(data: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {**os.environ, "JOURNEYBOARD_DATA": str(data), "PORT": str(port), **env}
    environment.pop("MONGODB_URI", None) if "MONGODB_URI" not in env else None
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    output, _ = process.communicate(timeout=20)
    return output.decode()


def store_processes(data: Path) -> list[psutil.Process]:
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(data) in " ".join(p.info["cmdline"] or [])
    ]


def test_serve_keeps_data_across_restarts_and_stops_its_store(tmp_path: Path) -> None:
    process, url = start(tmp_path)
    wait_ready(url, process)
    board = httpx.post(f"{url}/api/boards", json={"title": "Survives"}).json()
    assert store_processes(tmp_path), "the embedded store runs as a child process"
    stop(process)
    assert process.returncode == 0
    assert not store_processes(tmp_path), "SIGTERM stops the embedded store too"
    assert {p.name for p in tmp_path.iterdir()} >= {"data", "nx-27017.log"}

    process, url = start(tmp_path)
    wait_ready(url, process)
    assert httpx.get(f"{url}/api/boards/{board['id']}").json()["title"] == "Survives"
    stop(process, signal.SIGINT)
    assert not store_processes(tmp_path)


def test_unreachable_database_exits_quickly_with_a_message_naming_it(tmp_path: Path) -> None:
    uri = f"mongodb://admin:s3cret-pass@127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=1000"
    began = time.monotonic()
    process, _ = start(tmp_path, MONGODB_URI=uri)
    output, _ = process.communicate(timeout=20)
    assert time.monotonic() - began < 15
    assert process.returncode != 0
    text = output.decode()
    assert "cannot reach MongoDB at mongodb://admin:***@127.0.0.1" in text
    assert "unset it to use the embedded store" in text
    assert "s3cret-pass" not in text
