"""`journeyboard` as a user runs it: real processes, the embedded store, signals."""

import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from server.store.embedded import free_port
from tests.harness import TOKEN
from tests.processes import Served, cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for process in started:
        process.kill()


def store_processes(data: Path) -> list[psutil.Process]:
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(data) in " ".join(p.info["cmdline"] or [])
    ]


def test_first_start_writes_the_admin_token_to_a_private_file_and_data_survives_restarts(
    tmp_path: Path, served: list[Served]
) -> None:
    first = Served(tmp_path)
    served.append(first)
    banner = first.welcome()
    token = TOKEN.search(banner)
    assert token and f"{first.url}/login" in banner
    assert stat.S_IMODE(first.credentials.stat().st_mode) == 0o600
    first.wait_ready()
    assert not TOKEN.search(first.output()), "the token is in the file, not in the logs"
    assert str(first.credentials) in first.output(), "the log says where to find it"
    auth = {"Authorization": f"Bearer {token.group(0)}"}
    board = httpx.post(f"{first.url}/api/boards", json={"title": "Survives"}, headers=auth).json()
    assert httpx.get(f"{first.url}/api/me", headers=auth).json() == {"name": "admin", "admin": True}
    assert store_processes(tmp_path), "the embedded store runs as a child process"
    first.stop()
    assert first.process.returncode == 0
    assert not store_processes(tmp_path), "SIGTERM stops the embedded store too"

    second = Served(tmp_path)
    served.append(second)
    second.wait_ready()
    assert (
        httpx.get(f"{second.url}/api/boards/{board['id']}", headers=auth).json()["title"]
        == "Survives"
    )
    output = second.stop(signal.SIGINT)
    assert not TOKEN.search(output), "the admin token is shown only on the first start"
    assert not store_processes(tmp_path)


def test_user_and_token_commands_work_with_and_without_a_running_server(
    tmp_path: Path, served: list[Served]
) -> None:
    added = cli(tmp_path, "user", "add", "ana")
    assert added.returncode == 0 and TOKEN.fullmatch(added.stdout.strip()), added.stderr
    assert cli(tmp_path, "user", "add", "ana").returncode == 1

    server = Served(tmp_path)
    served.append(server)
    server.wait_ready()
    second = cli(tmp_path, "token", "create", "ana", "--label", "ci").stdout.strip()
    for token in (added.stdout.strip(), second):
        me = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"name": "ana", "admin": False}
    revoked = cli(tmp_path, "token", "revoke", second)
    assert revoked.returncode == 0 and second not in revoked.stdout
    gone = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {second}"})
    assert gone.status_code == 401, server.stop()
    assert cli(tmp_path, "user", "passwd", "ana", stdin="correct horse\n").returncode == 0
    login = httpx.post(f"{server.url}/api/login", json={"name": "ana", "password": "correct horse"})
    assert login.status_code == 200 and login.cookies.get("jb_session")


def test_unreachable_database_exits_quickly_with_a_message_naming_it(tmp_path: Path) -> None:
    uri = f"mongodb://admin:s3cret-pass@127.0.0.1:{free_port()}/"
    began = time.monotonic()
    # The default store timeout is 10 s; 2 s leaves room for a loaded machine's start-up.
    served = Served(tmp_path, MONGODB_URI=uri, JOURNEYBOARD_STORE_TIMEOUT_MS="2000")
    served.process.wait(timeout=20)
    output, process = served.output(), served.process
    assert time.monotonic() - began < 15
    assert process.returncode != 0
    assert "cannot reach MongoDB at mongodb://admin:***@127.0.0.1" in output
    assert "unset it to use the embedded store" in output
    assert "s3cret-pass" not in output
