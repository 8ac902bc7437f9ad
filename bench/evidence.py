"""Evidence at scale: ingest rate against the store's own, insight query times, SDK import.

1. raw: pymongo insert_many of the very documents the API would store, into the same store
   with the same index and write concern (majority, journaled), batches of 1,000: the
   store's own rate, the ceiling. Also, on a quarter of the rows, with w=1: what giving up
   the journal would buy (on nx-27017 a journaled write costs about twice as much);
2. api: the same records posted as NDJSON in large requests (20,000 rows each);
3. each insight query on the board that now holds N feedback records and N events
   (median and worst of 3);
4. sdk: N feedback rows imported from a CSV file through the SDK, in a child process
   whose peak memory is measured (twice, at N/4 and N rows, to show it stays flat).

`make bench` runs it at 200,000 rows on the embedded store; with MONGODB_URI set it runs
at 1,000,000 against that MongoDB. BENCH_ROWS overrides the size. One JSON line each.
"""

import csv
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil
from pymongo import MongoClient
from pymongo.write_concern import WriteConcern

from bench.harness import Server, machine, served
from schemas.board import Node, Stage
from schemas.evidence import Feedback, JourneyEvent
from server.evidence.records import Targets, event_document, feedback_document
from server.store.mongo import DURABLE

STAGES = [f"stage{i}" for i in range(5)]
NODES = [f"tp{i}" for i in range(20)]
PHRASES = ["", "quick and easy", "slow checkout", "great staff", "never again, awful", "ok"]
SCALES = ["nps", "csat", "ces", "rating"]
RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
YEAR_MS = 365 * 86_400_000
T0 = 1_767_225_600_000


def board_ops() -> list[dict[str, Any]]:
    ops = [{"op": "create", "element": {"kind": "stage", "id": s, "label": s}} for s in STAGES]
    ops += [
        {"op": "create", "element": {"kind": "node", "id": n, "label": n, "type": "touchpoint",
                                     "stage": STAGES[i % 5]}}
        for i, n in enumerate(NODES)
    ]  # fmt: skip
    ops += [
        {"op": "create", "element": {"kind": "edge", "id": f"e{i}", "source": a, "target": b}}
        for i, (a, b) in enumerate(itertools.pairwise(NODES))
    ]
    return ops


def feedback_rows(count: int, seed: int, prefix: str) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(count):
        scale = rng.choice(SCALES)
        yield {
            "source": "survey",
            "external_id": f"{prefix}{i}",
            "touchpoint": rng.choice(NODES),
            "scale": scale,
            "score": rng.randint(*RANGES[scale]),
            "text": rng.choice(PHRASES),
            "customer": f"c{rng.randrange(count // 10 or 1)}",
            "at": _iso(T0 + rng.randrange(YEAR_MS)),
        }


def event_rows(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Customers of ten events each, walking the flowchart, buying at the last node."""
    rng = random.Random(seed)
    for c in range(count // 10):
        at = T0 + rng.randrange(YEAR_MS)
        for step in range(10):
            at += rng.randrange(3_600_000)
            node = NODES[min(step + rng.randrange(3), len(NODES) - 1)]
            value = round(rng.uniform(5, 200), 2) if step == 9 else None
            yield {"customer": f"c{c}", "touchpoint": node, "at": _iso(at), "value": value}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def report(**fields: Any) -> None:
    print(json.dumps({**fields, "machine": machine()}), flush=True)


def raw_rate(
    server: Server, kind: str, docs: list[dict[str, Any]], concern: WriteConcern = DURABLE
) -> float:
    """pymongo straight into a fresh database on the same store, with the same index and,
    unless told otherwise, the same write concern as the server (majority, journaled)."""
    client: MongoClient[dict[str, Any]] = MongoClient(server.database_uri)
    database = client.get_database(f"bench_raw_{kind}_{os.getpid()}", write_concern=concern)
    collection = database[kind]
    if kind == "feedback":
        collection.create_index([("board", 1), ("node", 1)])
    else:
        collection.create_index([("board", 1), ("customer", 1), ("at", 1)])
    began = time.perf_counter()
    for start in range(0, len(docs), 1000):
        collection.insert_many(docs[start : start + 1000], ordered=False)
    rate = len(docs) / (time.perf_counter() - began)
    client.drop_database(database.name)
    client.close()
    return rate


def api_rate(http: httpx.Client, board: str, kind: str, rows: list[dict[str, Any]]) -> float:
    began = time.perf_counter()
    for start in range(0, len(rows), 20_000):
        body = b"".join(msgspec.json.encode(r) + b"\n" for r in rows[start : start + 20_000])
        response = http.post(
            f"/api/boards/{board}/{kind}",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
        )
        response.raise_for_status()
        assert response.json()["rejected"] == 0, response.json()["errors"][:3]
    return len(rows) / (time.perf_counter() - began)


def documents(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the API stores for these rows, on a board of its own."""
    elements = [Stage(id=s, label=s) for s in STAGES]
    elements += [Node(id=n, label=n, stage=STAGES[i % 5]) for i, n in enumerate(NODES)]
    targets = Targets(elements)
    if kind == "feedback":
        return [feedback_document("raw", msgspec.convert(r, Feedback), targets, T0) for r in rows]
    return [event_document("raw", msgspec.convert(r, JourneyEvent), targets) for r in rows]


def ingest(server: Server, http: httpx.Client, board: str, kind: str, rows: list[Any]) -> float:
    docs = documents(kind, rows)
    raw = raw_rate(server, kind, docs)
    unsafe = raw_rate(server, kind, docs[: len(docs) // 4], WriteConcern(w=1))
    api = api_rate(http, board, kind, rows)
    rss = psutil.Process(server.pid).memory_info().rss
    report(bench=f"ingest_{kind}", rows=len(rows), raw_insert_many_per_s=round(raw),
           api_per_s=round(api), api_vs_raw=round(api / raw, 2),
           raw_w1_unjournaled_per_s=round(unsafe),
           server_rss_mb=round(rss / 2**20))  # fmt: skip
    return api


def insights(http: httpx.Client, board: str, rows: int) -> None:
    for kind in ("emotion", "pain-points", "moments-of-truth", "paths", "repurchase",
                 "support", "stakeholders"):  # fmt: skip
        times = []
        for _ in range(3):
            began = time.perf_counter()
            http.get(f"/api/boards/{board}/insights/{kind}").raise_for_status()
            times.append(time.perf_counter() - began)
        report(bench="insight", query=kind, records=rows,
               median_s=round(statistics.median(times), 2), max_s=round(max(times), 2))  # fmt: skip


def sdk_import(server: Server, board: str, path: Path) -> tuple[float, float]:
    """Rows/s and peak RSS (MB) of the SDK importing `path` in a child process."""
    # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts at its parent's (this
    # process holds the benchmark's rows), while VmHWM is the child's own high-water mark.
    script = (
        "import re, sys, time\n"
        "from client_sdk import JourneyboardClient\n"
        "with JourneyboardClient(sys.argv[1], sys.argv[2]) as jb:\n"
        "    began = time.perf_counter()\n"
        "    r = jb.import_feedback(sys.argv[3], sys.argv[4], chunk_rows=20000)\n"
        "    took = time.perf_counter() - began\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(r.accepted + r.duplicates, took, peak)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, server.url, server.token, board, str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    rows, took, peak_kb = int(out[0]), float(out[1]), int(out[2])
    return rows / took, peak_kb / 1024


def write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, ["external_id", "source", "touchpoint", "scale", "score",
                                      "text", "customer", "at"])  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    uri = os.environ.get("MONGODB_URI")
    count = int(os.environ.get("BENCH_ROWS") or (1_000_000 if uri else 200_000))
    with (
        served(**({"MONGODB_URI": uri} if uri else {})) as server,
        httpx.Client(
            base_url=server.url, timeout=600, headers={"Authorization": f"Bearer {server.token}"}
        ) as http,
        tempfile.TemporaryDirectory() as folder,
    ):
        board = http.post("/api/boards", json={"title": "Evidence bench"}).json()["id"]
        http.post(f"/api/boards/{board}/ops", json={"ops": board_ops()}).raise_for_status()
        api = ingest(server, http, board, "feedback", list(feedback_rows(count, 1, "f")))
        ingest(server, http, board, "events", list(event_rows(count, 2)))
        insights(http, board, count)
        for size in (count // 4, count):
            target = http.post("/api/boards", json={"title": f"SDK {size}"}).json()["id"]
            http.post(f"/api/boards/{target}/ops", json={"ops": board_ops()}).raise_for_status()
            path = Path(folder) / f"feedback-{size}.csv"
            write_csv(path, feedback_rows(size, 3, f"s{size}-"))
            rate, peak = sdk_import(server, target, path)
            report(bench="sdk_import_csv", rows=size, file_mb=round(path.stat().st_size / 2**20),
                   sdk_per_s=round(rate), sdk_vs_api=round(rate / api, 2),
                   client_peak_rss_mb=round(peak))  # fmt: skip


if __name__ == "__main__":
    main()
