"""The SDK's optimistic approximation of each op agrees with the server's core in the common
case (comments aside, whose time only the server knows), and refuses the plainly impossible."""

import msgspec
import pytest

from client_sdk.errors import JourneyboardError
from client_sdk.intents import overlay
from client_sdk.replica import BoardView
from schemas.board import Comment, Edge, Lane, Node, Stage, Stakeholder
from schemas.ops import BoardOp, Create, Delete, Move, Reorder, Update, UpdateBoard
from server.board import BoardState, Context, apply_batch

CTX = Context(user="ana", now_ms=0)
SEED: list[BoardOp] = [
    Create(element=Stage(id="s1")),
    Create(element=Stage(id="s2")),
    Create(element=Lane(id="l1")),
    Create(element=Node(id="a", stage="s1", lane="l1", data={"k": 1, "j": 2})),
    Create(element=Node(id="b")),
    Create(element=Edge(id="ab", source="a", target="b")),
    Create(element=Comment(id="c", text="hi", target="a")),
    Create(element=Comment(id="r", text="re", parent="c")),
    Create(element=Stakeholder(id="p", touchpoints=("a", "b"))),
]
BATCHES: list[list[BoardOp]] = [
    [Create(element=Stage(id="s3")), Create(element=Lane(id="l2"))],
    [Update(id="a", set={"label": "A", "data": {"k": None, "z": 3}}, unset=("tags",))],
    [Move(id="b", x=3, y=4, stage="s2")],
    [Reorder(id="s2", after=None)],
    [Reorder(id="s1", after="s2")],
    [Delete(id="a")],
    [Delete(id="s1"), Delete(id="l1")],
    [Delete(id="c")],
    [UpdateBoard(title="New", tags=("x",))],
]


def server_view(ops: list[BoardOp]) -> BoardView:
    state = apply_batch(BoardState(title="t"), ops, CTX)
    return BoardView(state.title, state.description, state.tags, dict(state.elements))


@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: type(b[0]).__name__)
def test_the_optimistic_view_matches_what_the_server_commits(batch: list[BoardOp]) -> None:
    expected = server_view([*SEED, *batch])
    shown = overlay(server_view(SEED), batch, "ana")
    assert msgspec.json.encode(shown.elements) == msgspec.json.encode(expected.elements)
    assert (shown.title, shown.tags) == (expected.title, expected.tags)


@pytest.mark.parametrize(
    ("op", "code"),
    [
        (Create(element=Node(id="a")), "duplicate_id"),
        (Delete(id="ghost"), "unknown_element"),
        (Update(id="ghost", set={"label": "x"}), "unknown_element"),
        (Reorder(id="s1", after="ghost"), "unknown_element"),
    ],
)
def test_a_plainly_impossible_edit_fails_at_once(op: BoardOp, code: str) -> None:
    with pytest.raises(JourneyboardError) as raised:
        overlay(server_view(SEED), [Create(element=Node(id="new")), op], "ana")
    assert (raised.value.code, raised.value.details["op_index"]) == (code, 1)
