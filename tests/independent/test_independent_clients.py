"""Five clients built from the docs alone converge on the REST snapshot, byte for byte.

Hypothesis writes the script: which client sends a random valid or invalid batch (every op
kind, cascading deletes, reorders, comments), drops its connection or resumes. At
quiescence every replica equals `GET …/snapshot`, and every frame matched the schemas.
"""

import ast
import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import RunningServer, against_a_live_server, bearer, user_with_token
from tests.independent.client import Replica, validator

CLIENTS = 5
ACTIONS = ["submit"] * 6 + ["invalid", "malformed", "drop", "resume"]
SNAPSHOT = validator("Snapshot")
steps = st.lists(
    st.tuples(st.integers(0, CLIENTS - 1), st.sampled_from(ACTIONS), st.integers(0, 2**32)),
    min_size=30,
    max_size=90,
)


def pick(rng: random.Random, replica: Replica, *kinds: str) -> str | None:
    ids = sorted(i for i, e in replica.elements.items() if e["kind"] in kinds)
    return rng.choice(ids) if ids else None


def random_op(rng: random.Random, replica: Replica, new_id: str) -> dict[str, Any]:
    """One op of a random kind, aimed at what this replica sees (it may be stale: fine)."""
    node, stage = pick(rng, replica, "node"), pick(rng, replica, "stage")
    anything = pick(rng, replica, "node", "stage", "lane", "edge", "comment", "stakeholder")
    kind = rng.choice(
        ["node", "node", "stage", "lane", "edge", "comment", "stakeholder", "update", "data",
         "unset", "delete", "move", "reorder", "board"]
    )  # fmt: skip
    element: dict[str, Any] = {"kind": kind, "id": new_id}
    if kind == "node":
        element |= {
            "label": f"step {new_id}",
            "stage": stage,
            "type": rng.choice(["step", "touchpoint"]),
        }
    elif kind == "edge" and node:
        element |= {"source": node, "target": pick(rng, replica, "node") or node}
    elif kind == "comment":
        element |= {"text": "hm", "target": anything, "author": "spoofed", "created_at": 1}
    elif kind == "stakeholder":
        element |= {"touchpoints": [node] if node else []}
    elif kind in ("update", "data", "unset") and anything:
        changes = {
            "update": {"set": {"label": f"renamed {new_id}"}},
            "data": {"set": {"data": {rng.choice("abc"): rng.choice([1, "x", None])}}},
            "unset": {"unset": ["label"]},
        }[kind]
        return {"op": "update", "id": anything, **changes}
    elif kind == "delete" and anything:
        return {"op": "delete", "id": anything}
    elif kind == "move" and node:
        return {"op": "move", "id": node, "x": rng.uniform(-50, 50), "y": 1.5, "stage": stage}
    elif kind == "reorder" and (ordered := pick(rng, replica, "stage", "lane")):
        sibling = pick(rng, replica, replica.elements[ordered]["kind"])
        return {"op": "reorder", "id": ordered, "after": None if sibling == ordered else sibling}
    elif kind == "board":
        return {"op": "board.update", "title": f"Board {new_id}", "tags": [new_id[:10]]}
    if kind not in ("node", "stage", "lane", "edge", "comment", "stakeholder") or (
        kind == "edge" and not node
    ):
        element = {"kind": "lane", "id": new_id}
    return {"op": "create", "element": element}


def invalid_op(rng: random.Random, replica: Replica) -> dict[str, Any]:
    existing = pick(rng, replica, "node", "stage", "lane", "edge", "comment", "stakeholder")
    return rng.choice(
        [
            {"op": "delete", "id": "ghost"},
            {"op": "move", "id": "ghost", "x": 0, "y": 0},
            {"op": "create", "element": {"kind": "node", "id": existing or "x", "label": "dup"}},
            {"op": "update", "id": existing or "ghost", "set": {"author": "me"}},
        ]
    )


async def act(replica: Replica, action: str, seed: int, counter: list[int]) -> None:
    rng = random.Random(seed)
    counter[0] += 1
    new_id = f"{replica.client_id}-{counter[0]}"
    if action == "submit":
        ops = [random_op(rng, replica, f"{new_id}-{i}") for i in range(rng.randint(1, 3))]
        await replica.submit(ops)
    elif action == "invalid":
        await replica.submit([random_op(rng, replica, new_id), invalid_op(rng, replica)])
    elif action == "malformed":  # schema-invalid: answered by a reject with its client_op_id
        bad = {"op": "create", "element": {"kind": "node", "id": "not an id!"}}
        await replica.send_raw(
            {"type": "submit", "client_op_id": replica.next_op_id(), "ops": [bad]}
        )
    elif action == "drop":
        await replica.drop()
    elif action == "resume" and replica._socket is None:
        await replica.connect()


@against_a_live_server(examples=10)
@given(script=steps)
async def test_clients_from_the_docs_alone_converge_byte_for_byte(
    server: RunningServer, script: list[tuple[int, str, int]]
) -> None:
    token = await user_with_token(server.accounts, "independent")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        body = {"title": "Docs only", "template": "customer-journey"}
        board = (await http.post("/api/boards", json=body)).json()["id"]
        replicas = [Replica(server.url, board, token, f"c{i}") for i in range(CLIENTS)]
        await asyncio.gather(*(r.connect() for r in replicas))
        counter = [0]
        for index, action, seed in script:
            await act(replicas[index], action, seed, counter)
            await asyncio.sleep(0.005)
        for replica in replicas:
            if replica._socket is None:
                await replica.connect()
        await asyncio.sleep(0.2)
        snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()
        while True:  # quiescence: nothing in flight and everyone at the snapshot's seq
            await asyncio.gather(*(r.settle(snapshot["seq"]) for r in replicas))
            latest = (await http.get(f"/api/boards/{board}/snapshot")).json()
            if latest["seq"] == snapshot["seq"] and all(r.seq == latest["seq"] for r in replicas):
                break
            snapshot = latest
    assert SNAPSHOT.is_valid(snapshot)
    expected = json.dumps(
        [snapshot["elements"], {k: snapshot["board"][k] for k in ("title", "description", "tags")}]
    )
    for replica in replicas:
        assert json.dumps([list(replica.elements.values()), replica.board]) == expected
        assert replica.invalid_frames == [], "every frame validates against schemas/json"
        assert replica.gaps == 0
        assert replica.closes == [], "the server never closes a well-behaved client"
        assert all(
            a["type"] != "reject" or a["code"] != "outcome_unknown"
            for a in replica.answers.values()
        )
    comments = [e for e in snapshot["elements"] if e["kind"] == "comment"]
    assert all(c["author"] == "independent" and c["created_at"] > 1 for c in comments), "stamped"
    await asyncio.gather(*(r.close() for r in replicas))


def test_the_independent_client_imports_only_the_standard_library_websockets_and_jsonschema() -> (
    None
):
    tree = ast.parse((Path(__file__).parent / "client.py").read_text())
    imported = {
        (node.module or "").split(".")[0]
        if isinstance(node, ast.ImportFrom)
        else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "asyncio",
        "contextlib",
        "itertools",
        "json",
        "pathlib",
        "typing",
        "jsonschema_rs",
        "websockets",
    }
