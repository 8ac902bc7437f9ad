"""Boards that commit at the same moment have their log inserts in flight together
(server/store/mongo.py, WRITES_IN_FLIGHT); each board's ops still reach its own clients and
its own log once and in order, and no other board's."""

import asyncio
import secrets

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import RunningServer, against_a_live_server, bearer, user_with_token
from tests.sync.conftest import new_board
from tests.wsclient import Client, joined

BOARDS = 6

# Each round: how many ops the editor of each of some boards sends at once, all together.
rounds = st.lists(
    st.dictionaries(st.integers(0, BOARDS - 1), st.integers(1, 5), min_size=1),
    min_size=1,
    max_size=6,
)


async def burst(editor: Client, board: int, first: int, count: int) -> list[int]:
    """Send `count` creates without waiting, then their seqs from the acks, in order."""
    for op_id in range(first, first + count):
        node = {"kind": "node", "id": f"b{board}-{op_id}"}
        await editor.send(
            {"type": "submit", "client_op_id": op_id, "ops": [{"op": "create", "element": node}]}
        )
    answers = [await editor.next("ack", "reject") for _ in range(count)]
    assert [a["type"] for a in answers] == ["ack"] * count, answers
    assert [a["client_op_id"] for a in answers] == list(range(first, first + count))
    return [a["seq"] for a in answers]


@against_a_live_server(examples=10)
@given(script=rounds)
async def test_edits_on_many_boards_at_once_reach_each_board_once_and_in_order(
    server: RunningServer, script: list[dict[int, int]]
) -> None:
    token = await user_with_token(server.accounts, f"many-{secrets.token_hex(4)}")
    boards = [await new_board(server, token) for _ in range(BOARDS)]
    editors = [(await joined(server, board, token))[0] for board in boards]
    watchers = [await joined(server, board, token) for board in boards]
    sent = [0] * BOARDS
    acked: list[list[int]] = [[] for _ in range(BOARDS)]
    for step in script:
        seqs = await asyncio.gather(
            *(burst(editors[b], b, sent[b], count) for b, count in step.items())
        )
        for (b, count), board_seqs in zip(step.items(), seqs, strict=True):
            acked[b] += board_seqs
            sent[b] += count
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        for b, (watcher, welcome, _) in enumerate(watchers):
            ops = [await watcher.next("op") for _ in range(sent[b])]
            first = welcome["seq"] + 1
            assert [op["seq"] for op in ops] == list(range(first, first + sent[b])), "in order"
            assert [op["seq"] for op in ops] == acked[b], "the seqs the editor was given"
            ids = [op["ops"][0]["element"]["id"] for op in ops]
            assert ids == [f"b{b}-{i}" for i in range(sent[b])], "each once, this board's only"
            logged = await server.services.store.entries_after(boards[b], welcome["seq"])
            assert [(e.seq, e.ops[0].element.id) for e in logged] == [  # type: ignore[union-attr]
                (op["seq"], op["ops"][0]["element"]["id"]) for op in ops
            ], "the log holds what was acked, under this board"
            snapshot = (await http.get(f"/api/boards/{boards[b]}/snapshot")).json()
            assert sorted(e["id"] for e in snapshot["elements"]) == sorted(ids)
    for client in editors + [w for w, _, _ in watchers]:
        await client.close()
