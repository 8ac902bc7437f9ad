"""The commit pipeline's pure step, as a table: submissions in, entries and outcomes out."""

import json
from dataclasses import dataclass

import pytest

from schemas.auth import Role
from schemas.board import Node
from schemas.ops import BoardOp, Create, Delete, Update
from server.board import BoardState, Limits, Rejected
from server.sync.log import LogEntry
from server.sync.pipeline import stage


@dataclass
class Sub:
    ops: list[BoardOp]
    user: str = "ana"
    role: Role = "editor"
    client_key: str = "ana/c"
    client_op_id: int = 0
    via: str = "ws"


NEW = [Create(element=Node(id="n"))]
EDIT = [Update(id="n", set={"label": "x"})]
GONE = [Delete(id="ghost")]

# (submissions, role of each, what each comes to: a seq or a rejection code)
TABLE = [
    ([NEW], "editor", [11]),
    ([NEW, EDIT], "editor", [11, 12]),
    ([EDIT], "editor", ["unknown_element"]),
    ([GONE, NEW, EDIT], "editor", ["unknown_element", 11, 12]),
    ([NEW, NEW, EDIT], "editor", [11, "duplicate_id", 12]),
    ([NEW], "viewer", ["forbidden"]),
]


@pytest.mark.parametrize(("batches", "role", "expected"), TABLE)
def test_a_group_takes_consecutive_seqs_and_refused_submissions_take_none(
    batches: list[list[BoardOp]], role: Role, expected: list[int | str]
) -> None:
    subs = [Sub(ops, role=role, client_op_id=i) for i, ops in enumerate(batches)]
    staged = stage(BoardState(title="t"), 10, subs, 1_000, Limits())
    came = [o.seq if isinstance(o, LogEntry) else o.code for o in staged.outcomes]
    assert came == expected
    assert [e.seq for e in staged.entries] == [x for x in expected if isinstance(x, int)]


def test_an_entry_carries_its_submission_time_and_effects() -> None:
    staged = stage(BoardState(title="t"), 0, [Sub(NEW, client_op_id=7)], 1_000, Limits())
    (entry,) = staged.entries
    assert (entry.client_id, entry.client_op_id, entry.at, entry.via) == ("ana/c", 7, 1_000, "ws")
    assert entry.effects is not None and [e.id for e in entry.effects.put] == ["n"]
    assert "n" in staged.state.elements


def test_a_refused_submission_leaves_the_state_as_it_was() -> None:
    before = BoardState(title="t")
    staged = stage(before, 0, [Sub(GONE)], 0, Limits())
    assert staged.state is before and isinstance(staged.outcomes[0], Rejected)


def test_a_batch_too_large_for_clients_is_refused_and_the_next_is_staged_without_it() -> None:
    """The limit is on the message clients receive: effects repeat each changed element."""
    big = [Create(element=Node(id="big", data={"blob": "x" * 2_000}))]
    subs = [Sub(big), Sub(NEW, client_op_id=1)]
    staged = stage(BoardState(title="t"), 0, subs, 0, Limits(), max_message=1_000)
    refused, accepted = staged.outcomes
    assert isinstance(refused, Rejected) and refused.code == "too_large"
    assert refused.details["limit"] == 1_000 and refused.details["size"] > 1_000
    assert isinstance(accepted, LogEntry) and accepted.seq == 1
    assert list(staged.state.elements) == ["n"]
    (message,) = staged.messages
    assert json.loads(message)["seq"] == 1, "each entry comes with the message clients receive"


def test_a_group_stops_taking_submissions_once_its_entries_fill_the_budget() -> None:
    """A group is one log document: what comes after the budget is left for the next one."""
    subs = [
        Sub([Create(element=Node(id=f"n{i}", text="x" * 500))], client_op_id=i) for i in range(5)
    ]
    staged = stage(BoardState(title="t"), 0, subs, 0, Limits(), budget=2_000)
    taken = len(staged.outcomes)
    assert 1 < taken < 5
    assert [e.seq for e in staged.entries] == list(range(1, taken + 1))
    assert sum(map(len, staged.messages[:-1])) < 2_000 <= sum(map(len, staged.messages))
    assert list(staged.state.elements) == [f"n{i}" for i in range(taken)]
