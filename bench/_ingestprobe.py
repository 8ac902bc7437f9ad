import subprocess, sys, time
import httpx, msgspec
from bench.harness import served
from bench.evidence import board_ops, feedback_rows

with served() as server:
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=600
    )
    b = http.post("/api/boards", json={"title": "m"}).json()["id"]
    http.post(f"/api/boards/{b}/ops", json={"ops": board_ops()}).raise_for_status()
    rows = list(feedback_rows(40000, 5, "p"))
    spy = subprocess.Popen(
        [
            ".venv/bin/py-spy",
            "record",
            "-p",
            str(server.pid),
            "-o",
            "/tmp/ingest.txt",
            "-f",
            "raw",
            "-d",
            "12",
            "-r",
            "50",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    began = time.perf_counter()
    for s in range(0, len(rows), 20000):
        body = b"".join(msgspec.json.encode(r) + b"\n" for r in rows[s : s + 20000])
        http.post(
            f"/api/boards/{b}/feedback",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
        ).raise_for_status()
    print("rate", len(rows) / (time.perf_counter() - began))
    spy.wait()
