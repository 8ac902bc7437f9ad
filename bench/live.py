"""Live sync under load: the server in one process, websocket clients in another.

Each scenario runs against bench.relay (a Starlette relay with no persistence) and then
Journeyboard, in the same run; it prints one JSON object per server with its CPU and RSS,
then one with Journeyboard's figures as ratios to the relay's.
"""

import json
import subprocess
import sys
import time
from typing import Any

import httpx
import psutil

from bench.harness import Server, machine, relayed, served


def make_boards(url: str, token: str, count: int, nodes: int) -> list[str]:
    auth = {"Authorization": f"Bearer {token}"}
    boards = []
    with httpx.Client(base_url=url, headers=auth, timeout=60) as http:
        for i in range(count):
            board = http.post("/api/boards", json={"title": f"bench {i}"}).json()["id"]
            ops = [
                {"op": "create", "element": {"kind": "node", "id": f"n{n}"}} for n in range(nodes)
            ]
            http.post(f"/api/boards/{board}/ops", json={"ops": ops}).raise_for_status()
            boards.append(board)
    return boards


def run(server_pid: int, url: str, token: str, scenario: str, boards: list[str]) -> dict[str, Any]:
    process = psutil.Process(server_pid)
    process.cpu_percent()
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.load", url, token, scenario],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert load.stdin is not None and load.stdout is not None
    load.stdin.write(",".join(boards) + "\n")
    load.stdin.flush()
    peak_rss = 0
    began = time.perf_counter()
    while load.poll() is None:
        peak_rss = max(peak_rss, process.memory_info().rss)
        time.sleep(0.2)
    result: dict[str, Any] = json.loads(load.stdout.read().strip().splitlines()[-1])
    result |= {
        "scenario": scenario,
        "server_cpu_percent": round(process.cpu_percent(), 1),
        "server_peak_rss_mb": round(peak_rss / 2**20, 1),
        "wall_s": round(time.perf_counter() - began, 1),
        "machine": machine(),
    }
    return result


def idle_memory(
    server_pid: int, url: str, token: str, boards: list[str], count: int = 500
) -> dict[str, Any]:
    process = psutil.Process(server_pid)
    before = process.memory_info().rss
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.load", url, token, "idle"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert load.stdin is not None and load.stdout is not None
    load.stdin.write(",".join(boards) + "\n")
    load.stdin.flush()
    load.stdout.readline()  # all connected
    time.sleep(1)
    after = process.memory_info().rss
    load.stdin.write("\n")
    load.stdin.flush()
    load.wait(timeout=60)
    return {
        "scenario": "idle_connections",
        "connections": count,
        "kb_per_connection": round((after - before) / count / 1024, 1),
        "machine": machine(),
    }


# Per scenario: the figures compared with the relay's, and whether more is better.
RATIOS = {
    "closed_loop": [("ops_per_s", True), ("server_cpu_percent", False)],
    "one_board_200": [("p99_ms", False), ("server_cpu_percent", False)],
    "many_boards": [("p99_ms", False), ("server_cpu_percent", False)],
    "idle": [("kb_per_connection", False)],
}


def measure(server: Server, scenario: str, boards: list[str]) -> dict[str, Any]:
    if scenario == "idle":
        return idle_memory(server.pid, server.url, server.token, boards)
    return run(server.pid, server.url, server.token, scenario, boards)


def main() -> None:
    """Each scenario on fresh servers, so one's memory and backlog never colour the next."""
    for scenario in sys.argv[1:] or list(RATIOS):
        count = 100 if scenario == "many_boards" else 1
        with relayed() as relay:
            yardstick = measure(relay, scenario, [f"relay{i}" for i in range(count)])
        print(json.dumps({"server": "relay", **yardstick}), flush=True)
        with served() as server:
            boards = make_boards(server.url, server.token, count, 10)
            result = measure(server, scenario, boards)
        print(json.dumps({"server": "journeyboard", **result}), flush=True)
        ratios = {
            f"{name}_vs_relay": round(result[name] / yardstick[name], 2)
            for name, _ in RATIOS[scenario]
            if yardstick.get(name)
        }
        print(json.dumps({"scenario": scenario, **ratios}), flush=True)


if __name__ == "__main__":
    main()
