"""Faults the server handles by itself, with real `journeyboard serve` processes.

Slow or half-sent requests are cut off, connections beyond the cap are refused, SIGTERM
drains (commits finish, sockets close with 1001, exit within 5 s), and a SIGKILLed
embedded store is restarted while clients edit, losing nothing that was acked.
"""

import asyncio
import random
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from server.store.mongo import Store
from tests.harness import TOKEN, bearer, fresh_database
from tests.processes import Served
from tests.sync.replica import Replica, random_ops
from tests.sync.test_convergence import SEED, check
from tests.sync.test_two_instances import UNLIMITED
from tests.wsclient import Client


@pytest.fixture
def served() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for process in started:
        process.kill()


def start(tmp_path: Path, served: list[Served], **env: str) -> tuple[Served, str]:
    """A ready server and its admin token."""
    server = Served(tmp_path, **{**UNLIMITED, **env})
    served.append(server)
    match = TOKEN.search(server.welcome())
    assert match, server.output()[-2000:]
    server.wait_ready()
    return server, match.group(0)


def raw_connection(url: str, first_bytes: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(first_bytes)
    return connection


def closed_by_server(connection: socket.socket, within: float) -> bool:
    """True if the server closed (EOF) or reset the connection within `within` seconds."""
    connection.settimeout(within)
    try:
        while connection.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_three_hundred_half_sent_requests_are_closed_after_the_header_timeout(
    tmp_path: Path, served: list[Served]
) -> None:
    server, _ = start(tmp_path, served, JOURNEYBOARD_HEADER_TIMEOUT="1")
    partial = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
    connections = [raw_connection(server.url, partial) for _ in range(300)]
    began = time.monotonic()
    assert all(closed_by_server(c, within=30) for c in connections)
    elapsed = time.monotonic() - began
    for connection in connections:
        connection.close()
    assert elapsed < 15, f"closed after {elapsed:.1f} s; the deadline is 1 s"
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_body_that_stops_arriving_is_cut_off_after_the_body_timeout(
    tmp_path: Path, served: list[Served]
) -> None:
    server, token = start(tmp_path, served, JOURNEYBOARD_BODY_TIMEOUT="1")
    head = (
        f"POST /api/boards HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title"'
    ).encode()
    connection = raw_connection(server.url, head)
    assert closed_by_server(connection, within=30)
    connection.close()


def test_connections_beyond_the_cap_get_503_and_the_cap_frees_up(
    tmp_path: Path, served: list[Served]
) -> None:
    server, _ = start(tmp_path, served, JOURNEYBOARD_MAX_CONNECTIONS="20")
    idle = [raw_connection(server.url, b"GET /healthz HTTP/1.1\r\n") for _ in range(20)]
    time.sleep(0.5)
    refused = httpx.get(f"{server.url}/healthz")
    assert refused.status_code == 503
    for connection in idle:
        connection.close()

    def answers() -> bool:
        return httpx.get(f"{server.url}/healthz").status_code == 200

    deadline = time.monotonic() + 10
    while not answers():
        assert time.monotonic() < deadline, "the cap never freed up"
        time.sleep(0.1)


def received(client: Client) -> list[dict[str, Any]]:
    """Everything the client got and nobody took yet."""
    messages = list(client.deferred)
    while not client.inbox.empty():
        messages.append(client.inbox.get_nowait())
    return messages


async def test_sigterm_finishes_commits_closes_sockets_with_1001_and_exits_within_5_s(
    tmp_path: Path, served: list[Served], mongodb_uri: str
) -> None:
    database = fresh_database()
    server, token = start(tmp_path, served, MONGODB_URI=mongodb_uri, JOURNEYBOARD_DB=database)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        board = (await http.post("/api/boards", json={"title": "Drain"})).json()["id"]
    clients = [await Client.open(server.url, board, token, client_id=f"c{i}") for i in range(5)]
    for client in clients:
        await client.next("snapshot")
        for n in range(1, 41):
            node = {"op": "create", "element": {"kind": "node", "id": f"{id(client)}-{n}"}}
            await client.send({"type": "submit", "client_op_id": n, "ops": [node]})
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    codes = await asyncio.gather(*(c.closed(within=10) for c in clients))
    await asyncio.to_thread(server.process.wait, 10)
    elapsed = time.monotonic() - began
    assert codes == [1001] * 5, codes
    assert server.process.returncode == 0 and elapsed < 5, elapsed
    acked = {
        (f"admin/c{i}", m["client_op_id"])
        for i, c in enumerate(clients)
        for m in received(c)
        if m["type"] == "ack"
    }
    store = Store.connect(mongodb_uri, database, 5000)
    try:
        logged = {(e.client_id, e.client_op_id) for e in await store.entries_after(board, 0)}
    finally:
        await store.close()
    assert acked <= logged, "every acked op is in the log"
    assert acked, "some commits finished before the sockets closed"


async def test_sigkilled_embedded_store_is_restarted_and_edits_resume_losing_nothing_acked(
    tmp_path: Path, served: list[Served]
) -> None:
    rng = random.Random(SEED)
    print(f"JB_SEED={SEED}")
    database = fresh_database()
    server, token = start(tmp_path, served, JOURNEYBOARD_DB=database)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        board = (await http.post("/api/boards", json={"title": "Crash"})).json()["id"]
    replicas = [
        Replica(lambda: server.url, board, token, f"k{i}", random.Random(rng.random()))
        for i in range(4)
    ]
    await asyncio.gather(*(r.connect() for r in replicas))
    (store_process,) = [
        p
        for p in psutil.Process(server.process.pid).children()
        if "nx_27017" in " ".join(p.cmdline())
    ]
    halfway = asyncio.Event()

    async def edit(replica: Replica) -> None:
        for n in range(60):
            await replica.submit(random_ops(replica.rng, replica, replica.client_id))
            if n == 30:
                halfway.set()

    async def crash_store() -> None:
        await halfway.wait()
        store_process.kill()

    await asyncio.gather(crash_store(), *(edit(r) for r in replicas))
    restarted = [
        p for p in psutil.Process(server.process.pid).children() if p.pid != store_process.pid
    ]
    assert restarted, "the supervisor started a new store process"
    assert "embedded store restarted" in server.output()
    assert all(len(r.history.ok) + len(r.history.fail) == 60 for r in replicas)
    uri = (tmp_path / "nx-27017.uri").read_text()
    store = Store.connect(uri, database, 5000)
    try:
        await check(store, server.url, token, board, replicas, user="admin")
    finally:
        await store.close()
