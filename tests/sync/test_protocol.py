"""The websocket protocol end to end: real uvicorn, real websockets clients, real database."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import RunningServer, bearer, user_with_token
from tests.wsclient import Client, joined


def node(node_id: str, **props: Any) -> dict[str, Any]:
    return {"op": "create", "element": {"kind": "node", "id": node_id, **props}}


@pytest.fixture
async def owner(server: RunningServer) -> str:
    return await user_with_token(server.accounts, "ws-owner")


@pytest.fixture
async def board_id(server: RunningServer, owner: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(owner)) as http:
        return str((await http.post("/api/boards", json={"title": "Live"})).json()["id"])


async def snapshot(server: RunningServer, token: str, board_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        return dict((await http.get(f"/api/boards/{board_id}/snapshot")).json())


async def test_join_greets_with_protocol_seq_user_then_snapshot(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, welcome, snap = await joined(server, board_id, owner, client_id="tab-1")
    assert welcome == {
        "type": "welcome", "protocol": 2, "board_id": board_id, "seq": 1,
        "user": "ws-owner", "role": "owner", "client_id": "tab-1",
    }  # fmt: skip
    assert (snap["type"], snap["seq"], snap["reason"], snap["board"]["title"]) == (
        "snapshot",
        1,
        "join",
        "Live",
    )
    await client.close()


async def test_an_edit_is_acked_after_commit_and_reaches_everyone_in_order(
    server: RunningServer, owner: str, board_id: str
) -> None:
    alice, _, _ = await joined(server, board_id, owner, client_id="a")
    bob, _, _ = await joined(server, board_id, owner, client_id="b")
    ack = await alice.submit(1, node("n1", label="Hello"))
    assert ack == {"type": "ack", "client_op_id": 1, "seq": 2, "duplicate": False}
    for client in (alice, bob):
        op = await client.next("op")
        assert (op["seq"], op["client_id"], op["client_op_id"], op["user"]) == (
            2,
            "a",
            1,
            "ws-owner",
        )
        assert op["ops"][0]["element"]["label"] == "Hello"
    stored = await snapshot(server, owner, board_id)
    assert stored["seq"] == 2 and [e["id"] for e in stored["elements"]] == ["n1"]
    await alice.close()
    await bob.close()


async def test_rest_edits_are_broadcast_too(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(owner)) as http:
        await http.post(f"/api/boards/{board_id}/ops", json={"ops": [node("via-rest")]})
    op = await client.next("op")
    assert op["seq"] == 2 and op["ops"][0]["element"]["id"] == "via-rest"
    await client.close()


async def test_a_retried_submission_is_acked_again_not_applied_twice(
    server: RunningServer, owner: str, board_id: str
) -> None:
    first, _, _ = await joined(server, board_id, owner, client_id="phone")
    assert (await first.submit(7, node("once")))["seq"] == 2
    await first.close()
    again, _, _ = await joined(server, board_id, owner, client_id="phone", since=2)
    assert await again.submit(7, node("once")) == {
        "type": "ack",
        "client_op_id": 7,
        "seq": 2,
        "duplicate": True,
    }
    assert (await snapshot(server, owner, board_id))["seq"] == 2
    await again.close()


async def test_resume_sends_exactly_the_missed_ops(
    server: RunningServer, owner: str, board_id: str
) -> None:
    writer, _, _ = await joined(server, board_id, owner)
    for i in range(5):
        await writer.submit(i, node(f"n{i}"))
    client = await Client.open(server.url, board_id, owner, since=3)
    welcome = await client.next()
    missed = [await client.next() for _ in range(3)]
    assert welcome["seq"] == 6
    assert [(m["type"], m["seq"]) for m in missed] == [("op", 4), ("op", 5), ("op", 6)]
    await writer.submit(9, node("live"))
    assert (await client.next("op"))["seq"] == 7
    await writer.close()
    await client.close()


async def test_resuming_from_the_future_gets_a_fresh_snapshot(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client = await Client.open(server.url, board_id, owner, since=999)
    await client.next("welcome")
    snap = await client.next()
    assert (snap["type"], snap["reason"], snap["seq"]) == ("snapshot", "resync", 1)
    await client.close()


async def test_a_rejected_submission_is_typed_and_the_connection_stays_usable(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner)
    reject = await client.submit(1, {"op": "delete", "id": "ghost"})
    assert (reject["type"], reject["code"], reject["details"]["op_index"]) == (
        "reject",
        "unknown_element",
        0,
    )
    assert (await client.submit(2, node("fine")))["type"] == "ack"
    await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_request"),
        ('{"type": "launch"}', "invalid"),
        ('{"type": "submit", "client_op_id": "one", "ops": []}', "invalid"),
        (
            '{"type": "submit", "client_op_id": 9, "ops": [{"op": "create", "element": {"kind": "node", "id": {"$gt": ""}}}]}',
            "reject:invalid",
        ),
        (
            '{"type": "submit", "client_op_id": 1, "ops": [{"op": "create", "element": {"kind": "node", "id": "n", "data": '
            + '{"a":' * 12_000,
            "bad_request",
        ),
    ],
)
async def test_malformed_messages_get_a_typed_error_and_change_nothing(
    server: RunningServer, owner: str, board_id: str, frame: str, code: str
) -> None:
    before = await snapshot(server, owner, board_id)
    client, _, _ = await joined(server, board_id, owner)
    await client.connection.send(frame)
    kind, _, code = code.rpartition(":")
    error = await client.next(kind or "error")
    assert error["code"] == code
    if kind == "reject":
        assert error["client_op_id"] == 9, (
            "a readable client_op_id is answered, so it can be dropped"
        )
    assert (await client.submit(1, node("after")))["type"] == "ack", "the connection stays usable"
    after = await snapshot(server, owner, board_id)
    assert after["seq"] == before["seq"] + 1
    await client.close()


async def test_a_message_over_64_kib_is_too_large_but_not_fatal(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner)
    await client.send(
        {"type": "submit", "client_op_id": 1, "ops": [node("big", text="x" * 70_000)]}
    )
    error = await client.next("error")
    assert (error["code"], error["details"]["limit"]) == ("too_large", 65536)
    assert (await client.submit(2, node("small")))["seq"] == 2
    await client.close()


async def test_binary_and_oversized_frames_close_the_connection(
    server: RunningServer, owner: str, board_id: str
) -> None:
    binary, _, _ = await joined(server, board_id, owner)
    await binary.connection.send(b"\x00\x01")
    assert await binary.closed() == 1003
    huge, _, _ = await joined(server, board_id, owner)
    await huge.connection.send("x" * (1024 * 1024 + 1))
    assert await huge.closed() == 1009
    assert (await snapshot(server, owner, board_id))["seq"] == 1


async def test_operators_in_values_are_stored_as_plain_data(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner)
    data = {"$where": "sleep(1000)", "a.b": {"$gt": ""}}
    assert (await client.submit(1, node("n", label='{"$ne": null}', data=data)))["type"] == "ack"
    (element,) = (await snapshot(server, owner, board_id))["elements"]
    assert (element["label"], element["data"]) == ('{"$ne": null}', data)
    await client.close()


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "9" * 20])
async def test_a_since_that_is_not_a_seq_is_a_typed_error_not_a_fresh_join(
    server: RunningServer, owner: str, board_id: str, since: str
) -> None:
    client = await Client.open(server.url, board_id, owner, since=since)
    error = await client.next()
    assert (error["type"], error["code"], error["details"]["path"]) == (
        "error",
        "invalid",
        "$.since",
    )
    assert await client.closed() == 4400


async def test_set_on_data_merges_key_by_key_for_everyone(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner)
    await client.submit(1, node("d", data={"a": 1, "b": 2}))
    await client.submit(2, {"op": "update", "id": "d", "set": {"data": {"b": None, "c": 3}}})
    op = await client.next("op")
    while op["client_op_id"] != 2:
        op = await client.next("op")
    assert op["effects"]["put"][0]["data"] == {"a": 1, "c": 3}
    await client.close()


async def test_a_lower_client_op_id_never_used_is_new_and_a_used_one_is_a_resend(
    server: RunningServer, owner: str, board_id: str
) -> None:
    client, _, _ = await joined(server, board_id, owner, client_id="lower")
    first = await client.submit(5, node("five"))
    lower = await client.submit(3, node("three"))
    assert (lower["type"], lower["duplicate"]) == ("ack", False), "3 was never used: new"
    again = await client.submit(5, node("five"))
    assert (again["type"], again["duplicate"], again["seq"]) == ("ack", True, first["seq"])
    await client.close()


def test_board_ids_are_documented_as_chosen_by_the_server_element_ids_by_the_client() -> None:
    folder = Path(__file__).parent.parent.parent / "schemas" / "json"
    board = json.loads((folder / "BoardInfo.json").read_text())
    info = board["$defs"]["BoardInfo"]["properties"]["id"]
    assert "server" in info["description"]
    node = json.loads((folder / "Node.json").read_text())
    assert "client" in node["$defs"]["Node"]["properties"]["id"]["description"]
    create = json.loads((folder / "CreateBoard.json").read_text())
    assert "id" not in create["$defs"]["CreateBoard"]["properties"], "no way to choose one"
