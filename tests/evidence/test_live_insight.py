"""Insight reaches everyone on the board while evidence arrives, coalesced per second."""

import json
import time

import httpx

from tests.evidence.conftest import NODES
from tests.harness import RunningServer, user_with_token
from tests.wsclient import joined


async def test_feedback_and_events_push_coalesced_insight_to_the_board(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    token = await user_with_token(server.accounts, "tester")
    watcher, _, _ = await joined(server, journey, token)
    started = time.monotonic()
    for batch in range(10):  # ten uploads within about a second
        body = "".join(
            json.dumps({"source": "survey", "external_id": f"{batch}-{i}", "touchpoint": "ticket",
                        "scale": "csat", "score": 1 + i % 5})
            + "\n"
            for i in range(50)
        )  # fmt: skip
        response = await http.post(
            f"/api/boards/{journey}/feedback",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert response.json()["accepted"] == 50
    insights = [await watcher.next("insight", within=5)]
    while insights[-1]["touchpoints"][0]["feedback"] < 500:
        insights.append(await watcher.next("insight", within=5))
    elapsed = time.monotonic() - started
    assert len(insights) <= elapsed + 1, "at most about one insight message a second"
    last = insights[-1]
    assert [t["id"] for t in last["touchpoints"]] == ["ticket"]
    assert last["touchpoints"][0]["feedback"] == 500 and last["touchpoints"][0]["mean"] == 50
    ticket_stage = next(stage for node, _, stage, _, _ in NODES if node == "ticket")
    assert [s["id"] for s in last["stages"]] == [ticket_stage]

    events = [{"customer": "c1", "touchpoint": t, "at": f"2026-01-01T00:00:0{i}Z"}
              for i, t in enumerate(["store", "checkout"])]  # fmt: skip
    await http.post(f"/api/boards/{journey}/events", json=events)
    paths = await watcher.next("insight", within=5)
    assert paths["paths"]["paths"][0]["nodes"] == ["store", "checkout"]
    await watcher.close()
