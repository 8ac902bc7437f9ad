"""Board sizes over REST: snapshot load time at 1k/10k/20k elements, and ops/s in batches.

Run with `make bench`; prints one JSON object per measurement.
"""

import json
import statistics
import time
from typing import Any

import httpx

from bench.harness import machine, served


def nodes(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "op": "create",
            "element": {"kind": "node", "id": f"n{i}", "label": f"Step {i}", "x": i, "y": i % 300},
        }
        for i in range(start, start + count)
    ]


def fill(http: httpx.Client, size: int) -> str:
    board = http.post("/api/boards", json={"title": f"{size} elements"}).json()["id"]
    for start in range(0, size, 1000):
        response = http.post(
            f"/api/boards/{board}/ops", json={"ops": nodes(start, min(1000, size - start))}
        )
        response.raise_for_status()
    return str(board)


def snapshot_seconds(http: httpx.Client, board: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        http.get(f"/api/boards/{board}/snapshot").raise_for_status()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def ops_per_second(http: httpx.Client, board: str, total: int = 10_000, batch: int = 100) -> float:
    began = time.perf_counter()
    for start in range(0, total, batch):
        moves = [
            {"op": "move", "id": f"n{(start + i) % 1000}", "x": start + i, "y": i}
            for i in range(batch)
        ]
        http.post(f"/api/boards/{board}/ops", json={"ops": moves}).raise_for_status()
    return total / (time.perf_counter() - began)


def main() -> None:
    with (
        served() as server,
        httpx.Client(
            base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {server.token}"}
        ) as http,
    ):
        boards = {size: fill(http, size) for size in (1_000, 10_000, 20_000)}
        for size, board in boards.items():
            print(
                json.dumps(
                    {
                        "bench": "snapshot",
                        "elements": size,
                        "median_s": round(snapshot_seconds(http, board), 4),
                        "machine": machine(),
                    }
                )
            )
        rate = ops_per_second(http, boards[1_000])
        print(
            json.dumps(
                {
                    "bench": "ops_batches_of_100",
                    "ops": 10_000,
                    "ops_per_s": round(rate),
                    "machine": machine(),
                }
            )
        )


if __name__ == "__main__":
    main()
