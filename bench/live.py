"""Live sync under load: the server in one process, websocket clients in another.

Each scenario runs against bench.relay (a Starlette relay with no persistence) and then
Journeyboard, in the same run; it prints one JSON object per server with its CPU and RSS,
then one with Journeyboard's figures as ratios to the relay's.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
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
            for first in range(0, nodes, 1000):  # a request carries at most 1,000 ops
                ops = [
                    {"op": "create", "element": {"kind": "node", "id": f"n{n}"}}
                    for n in range(first, min(nodes, first + 1000))
                ]
                http.post(f"/api/boards/{board}/ops", json={"ops": ops}).raise_for_status()
            boards.append(board)
    return boards


def children(pid: int) -> list[psutil.Process]:
    """The embedded store: the server runs it as its child."""
    return psutil.Process(pid).children()


def group_fill(url: str) -> dict[str, float]:
    """How full commit groups were: submissions per board group, board groups per insert."""
    lines = httpx.get(f"{url}/metrics").text.splitlines()
    values = dict(line.rsplit(" ", 1) for line in lines if line.startswith("jb_"))
    fill = {}
    for name, metric in (
        ("submissions_per_group", "jb_commit_group_size"),
        ("groups_per_insert", "jb_insert_groups"),
    ):
        if float(values.get(f"{metric}_count", 0)):
            fill[name] = round(float(values[f"{metric}_sum"]) / float(values[f"{metric}_count"]), 2)
    if float(values.get("jb_commit_seconds_count", 0)):
        mean = float(values["jb_commit_seconds_sum"]) / float(values["jb_commit_seconds_count"])
        fill["insert_mean_ms"] = round(mean * 1000, 2)
    buckets = [
        (float(line.split('le="')[1].split('"')[0]), float(line.rsplit(" ", 1)[1]))
        for line in lines
        if line.startswith("jb_commit_seconds_bucket")
    ]
    if buckets and buckets[-1][1]:
        # The log write's share of the latency: the bucket bound 99% of inserts stayed under.
        fill["insert_p99_ms_at_most"] = next(
            bound * 1000 for bound, count in buckets if count >= 0.99 * buckets[-1][1]
        )
    return fill


def start_load(
    server: Server, scenario: str, boards: list[str]
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """bench.load running `scenario` against `server`, once it says every client is connected
    (with the mean time a connection took)."""
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.load", server.url, server.token, scenario],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert load.stdin is not None and load.stdout is not None
    load.stdin.write(",".join(boards) + "\n")
    load.stdin.flush()
    return load, json.loads(load.stdout.readline())


def run(server: Server, scenario: str, boards: list[str]) -> dict[str, Any]:
    """CPU is measured (and profiled) from the moment every client is connected, so it is the
    cost of the scenario's edits; the handshakes are `connect_ms`."""
    process = psutil.Process(server.pid)
    store = children(server.pid)
    load, result = start_load(server, LOAD.get(scenario, scenario), boards)
    assert load.stdout is not None
    for each in (process, *store):
        each.cpu_percent()
    peak_rss = 0
    began = time.perf_counter()
    with profiled(server, scenario):
        while load.poll() is None:
            peak_rss = max(peak_rss, process.memory_info().rss)
            time.sleep(0.2)
    result |= json.loads(load.stdout.read().strip().splitlines()[-1])
    result |= {
        "scenario": scenario,
        "server_cpu_percent": round(process.cpu_percent(), 1),
        "store_cpu_percent": round(sum(child.cpu_percent() for child in store), 1),
        "server_peak_rss_mb": round(peak_rss / 2**20, 1),
        "wall_s": round(time.perf_counter() - began, 1),
        "machine": machine(),
    }
    return result | (group_fill(server.url) if server.token != "relay" else {})


def idle_memory(server: Server, boards: list[str]) -> dict[str, Any]:
    process = psutil.Process(server.pid)
    before = process.memory_info().rss
    load, connected = start_load(server, "idle", boards)
    assert load.stdin is not None
    time.sleep(1)
    after = process.memory_info().rss
    load.stdin.write("\n")
    load.stdin.flush()
    load.wait(timeout=60)
    count = connected["connected"]  # as many as bench.load opened
    return {
        "scenario": "idle_connections",
        "connections": count,
        "connect_ms": connected["connect_ms"],
        "kb_per_connection": round((after - before) / count / 1024, 1),
        "machine": machine(),
    }


# Per scenario: the figures compared with the relay's, and whether more is better.
RATIOS = {
    "closed_loop": [("ops_per_s", True), ("server_cpu_percent", False)],
    "closed_loop_5000": [("ops_per_s", True), ("server_cpu_percent", False)],
    "one_board_200": [("p99_ms", False), ("server_cpu_percent", False)],
    "many_boards": [("p99_ms", False), ("server_cpu_percent", False), ("connect_ms", False)],
    "idle": [("kb_per_connection", False)],
}


def measure(server: Server, scenario: str, boards: list[str]) -> dict[str, Any]:
    if scenario == "idle":
        return idle_memory(server, boards)
    return run(server, scenario, boards)


@contextlib.contextmanager
def profiled(server: Server, scenario: str) -> Iterator[None]:
    """With BENCH_PROFILE=DIR, sample the server, and the embedded store it runs as its child,
    with py-spy into DIR/<process>-<scenario>.txt (collapsed stacks; `python -m bench.flame`
    ranks them)."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    name = "relay" if server.token == "relay" else "journeyboard"
    pids = {name: server.pid, **{f"store{i}": c.pid for i, c in enumerate(children(server.pid))}}
    spies = [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "-p",
                str(pid),
                "-f",
                "raw",
                "-r",
                "200",
                "-o",
                str(Path(folder) / f"{process}-{scenario}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for process, pid in pids.items()
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)


# Scenarios that run another's load on a different board: the 5,000-node closed loop is
# the 50-node one on a big board, so their ratio shows what board size costs an op.
LOAD = {"closed_loop_5000": "closed_loop"}
NODES = {"closed_loop_5000": 5000}


def main() -> None:
    """Each scenario on fresh servers, so one's memory and backlog never colour the next."""
    rates: dict[str, float] = {}
    for scenario in sys.argv[1:] or list(RATIOS):
        count = 100 if scenario == "many_boards" else 1
        with relayed() as relay:
            yardstick = measure(relay, scenario, [f"relay{i}" for i in range(count)])
        print(json.dumps({"server": "relay", **yardstick}), flush=True)
        with served() as server:
            boards = make_boards(server.url, server.token, count, NODES.get(scenario, 50))
            result = measure(server, scenario, boards)
        print(json.dumps({"server": "journeyboard", **result}), flush=True)
        ratios = {
            f"{name}_vs_relay": round(result[name] / yardstick[name], 2)
            for name, _ in RATIOS[scenario]
            if yardstick.get(name)
        }
        rates[scenario] = result.get("ops_per_s", 0)
        if scenario == "closed_loop_5000" and rates.get("closed_loop"):
            ratios["ops_per_s_vs_50_nodes"] = round(rates[scenario] / rates["closed_loop"], 2)
        print(json.dumps({"scenario": scenario, **ratios}), flush=True)


if __name__ == "__main__":
    main()
