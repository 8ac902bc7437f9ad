"""The load generator for bench.live: websocket clients in their own process, JSON out.

python -m bench.load URL TOKEN SCENARIO  (board ids come on stdin, one per line)
"""

import asyncio
import json
import statistics
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


def ws(url: str, board: str) -> str:
    return f"{url.replace('http', 'ws', 1)}/ws/boards/{board}"


async def open_client(url: str, token: str, board: str) -> ClientConnection:
    connection = await connect(
        ws(url, board), additional_headers={"Authorization": f"Bearer {token}"}, proxy=None,
        ping_interval=None, max_size=None, max_queue=None,
    )  # fmt: skip
    await connection.recv()  # welcome
    await connection.recv()  # snapshot
    return connection


class Meter:
    """This process's CPU from the moment every client is connected: near 100, the clients
    were the bottleneck (one process, one core), whichever server they were timing."""

    def __init__(self) -> None:
        self.cpu, self.clock = time.process_time(), time.perf_counter()

    def percent(self) -> float:
        busy = time.process_time() - self.cpu
        return round(busy / (time.perf_counter() - self.clock) * 100, 1)


async def open_all(url: str, token: str, boards: list[str]) -> tuple[list[ClientConnection], Meter]:
    """One client per board given, one after another; then say so on stdout, with the mean
    time a connection took, so bench.live measures the servers' CPU from here on: the
    edits, not the handshakes (which it reports on their own)."""
    began = time.perf_counter()
    clients = [await open_client(url, token, board) for board in boards]
    connect_ms = (time.perf_counter() - began) * 1000 / len(clients)
    print(json.dumps({"connected": len(clients), "connect_ms": round(connect_ms, 2)}), flush=True)
    return clients, Meter()


def edit(client_op_id: int, node: str) -> str:
    """An edit that carries its send time (µs since the epoch), so receivers can time it."""
    ops = [{"op": "update", "id": node, "set": {"data": {"t": time.time_ns() // 1000}}}]
    return json.dumps({"type": "submit", "client_op_id": client_op_id, "ops": ops})


def percentile(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


async def closed_loop(
    url: str, token: str, boards: list[str], editors: int = 10, ops: int = 500
) -> dict[str, Any]:
    """Each editor sends one edit and waits for its ack before the next: committed ops/s."""
    clients, meter = await open_all(url, token, [boards[0]] * editors)

    async def run(client: ClientConnection, n: int) -> int:
        acked = 0
        for i in range(ops):
            await client.send(edit(i, f"n{n}"))
            while True:
                message = json.loads(await client.recv())
                if message["type"] == "ack":
                    acked += 1
                    break
                if message["type"] == "reject":
                    raise RuntimeError(message)
        return acked

    began = time.perf_counter()
    acked = sum(await asyncio.gather(*(run(c, n) for n, c in enumerate(clients))))
    elapsed = time.perf_counter() - began
    clients_cpu = meter.percent()
    for client in clients:
        await client.close()
    return {
        "editors": editors,
        "acked_ops": acked,
        "seconds": round(elapsed, 2),
        "ops_per_s": round(acked / elapsed),
        "clients_cpu_percent": clients_cpu,
    }


async def fan_out(
    url: str,
    token: str,
    boards: list[str],
    clients_per_board: int,
    editors_per_board: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Editors send at `rate` edits/s; every client times each op from send to delivery."""
    latencies: list[float] = []
    delivered = 0
    problems = 0
    each = [b for b in boards for _ in range(clients_per_board)]
    connections, meter = await open_all(url, token, each)
    clients = list(zip(each, connections, strict=True))

    async def listen(connection: ClientConnection, expected: int) -> None:
        nonlocal delivered, problems
        last = None
        async for text in connection:
            message = json.loads(text)
            if message["type"] != "op":
                continue
            now = time.time_ns() // 1000
            latencies.append((now - message["ops"][0]["set"]["data"]["t"]) / 1000)
            delivered += 1
            if last is not None and message["seq"] != last + 1:
                problems += 1
            last = message["seq"]
            if delivered >= expected:
                pass

    async def send(connection: ClientConnection, n: int, phase: float) -> int:
        """Send at `rate`, starting `phase` of an interval late: editors spread their sends
        over the interval as independent people do, rather than all at one instant."""
        sent, interval = 0, 1 / rate
        start = began + phase * interval
        await asyncio.sleep(max(0, start - time.perf_counter()))
        while time.perf_counter() - start < seconds:
            await connection.send(edit(sent, f"n{n}"))
            sent += 1
            await asyncio.sleep(max(0, start + sent * interval - time.perf_counter()))
        return sent

    listeners = [asyncio.create_task(listen(c, 0)) for _, c in clients]
    editors = [c for i, (_, c) in enumerate(clients) if i % clients_per_board < editors_per_board]
    began = time.perf_counter()
    sent = sum(
        await asyncio.gather(
            *(send(c, n % editors_per_board, n / len(editors)) for n, c in enumerate(editors))
        )
    )
    await asyncio.sleep(2)  # let the last deliveries arrive
    elapsed = time.perf_counter() - began - 2
    clients_cpu = meter.percent()
    for task in listeners:
        task.cancel()
    for _, client in clients:
        await client.close()
    expected = sent * clients_per_board
    return {
        "boards": len(boards), "clients": len(clients), "editors": len(editors),
        "sent": sent, "committed_per_s": round(sent / elapsed),
        "delivered": delivered, "expected_deliveries": expected,
        "delivered_per_s": round(delivered / elapsed),
        "out_of_order_or_gaps": problems,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "clients_cpu_percent": clients_cpu,
    }  # fmt: skip


async def idle(url: str, token: str, boards: list[str], count: int = 500) -> dict[str, Any]:
    """Open `count` idle connections and hold them until told to stop (a line on stdin)."""
    clients, _ = await open_all(url, token, [boards[i % len(boards)] for i in range(count)])
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for client in clients:
        await client.close()
    return {"idle_connections": count}


async def main() -> None:
    url, token, scenario = sys.argv[1:4]
    boards = [line.strip() for line in sys.stdin.readline().split(",") if line.strip()]
    scenarios = {
        "closed_loop": lambda: closed_loop(url, token, boards),
        "one_board_200": lambda: fan_out(url, token, boards, 200, 10, 20, 10),
        "many_boards": lambda: fan_out(url, token, boards, 5, 1, 5, 10),
        "idle": lambda: idle(url, token, boards),
    }
    print(json.dumps(await scenarios[scenario]()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
