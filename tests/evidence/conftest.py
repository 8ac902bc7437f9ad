"""A small journey with named touchpoints, for records to point at."""

from typing import Any

import httpx
import pytest

STAGES = [("buy", "Purchase"), ("help", "Support")]
NODES = [
    # id, label, stage, channel, aliases
    ("checkout", "Checkout", "buy", "web", ["pay page"]),
    ("store", "Store visit", "buy", "store", []),
    ("ticket", "Support ticket", "help", "email", ["helpdesk"]),
    ("call", "Phone call", "help", "phone", []),
    ("reorder", "Reorder", "buy", None, []),
]


def journey_ops() -> list[dict[str, Any]]:
    stages = [
        {"op": "create", "element": {"kind": "stage", "id": i, "label": label}}
        for i, label in STAGES
    ]
    nodes = [
        {
            "op": "create",
            "element": {
                "kind": "node",
                "id": i,
                "label": label,
                "type": "touchpoint",
                "stage": stage,
                "channel": channel,
                "data": {"aliases": aliases},
            },
        }
        for i, label, stage, channel, aliases in NODES
    ]
    return stages + nodes


@pytest.fixture
async def journey(http: httpx.AsyncClient) -> str:
    """A fresh board owned by `tester` with two stages and five touchpoints."""
    created = await http.post("/api/boards", json={"title": "Journey"})
    board_id = str(created.json()["id"])
    response = await http.post(f"/api/boards/{board_id}/ops", json={"ops": journey_ops()})
    assert response.status_code == 200, response.text
    return board_id
