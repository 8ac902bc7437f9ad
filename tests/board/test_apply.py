"""The board core, op by op: every rule and every typed rejection."""

from typing import Any

import msgspec
import pytest

from schemas.board import Comment, Edge, Lane, Node, Stage, Stakeholder
from schemas.ops import BoardOp, Create, Delete, Move, Reorder, Update, UpdateBoard
from server.board import BoardState, Context, Limits, Rejected, apply_batch, canonical, commit_batch
from server.board.apply import element_size

CTX = Context(user="ada", now_ms=1_700_000_000_000)


def run(*ops: BoardOp, state: BoardState | None = None, ctx: Context = CTX) -> BoardState:
    return apply_batch(state or BoardState(title="t"), list(ops), ctx)


def rejected(state: BoardState, *ops: BoardOp, ctx: Context = CTX) -> Rejected:
    before = canonical(state)
    with pytest.raises(Rejected) as caught:
        apply_batch(state, list(ops), ctx)
    assert canonical(state) == before, "a rejection must leave the state untouched"
    return caught.value


def flow() -> BoardState:
    """Two stages, a lane, a decision with two labelled branches."""
    return run(
        Create(element=Stage(id="s1", label="Awareness")),
        Create(element=Stage(id="s2", label="Purchase")),
        Create(element=Lane(id="l1", label="Touchpoints", role="touchpoints")),
        Create(element=Node(id="a", type="touchpoint", stage="s1", lane="l1")),
        Create(element=Node(id="d", type="decision", label="Buy?")),
        Create(element=Node(id="b", type="end")),
        Create(element=Edge(id="ad", source="a", target="d")),
        Create(element=Edge(id="db", source="d", target="b", label="yes")),
    )


def test_create_adds_the_element_and_leaves_the_input_state_alone() -> None:
    empty = BoardState(title="t")
    state = run(Create(element=Node(id="n1", label="Visit site")), state=empty)
    assert state.elements["n1"] == Node(id="n1", label="Visit site")
    assert empty.elements == {}


def test_create_with_an_existing_id_is_a_duplicate() -> None:
    error = rejected(flow(), Create(element=Stage(id="a")))
    assert error.code == "duplicate_id"
    assert error.details["element_id"] == "a"


def test_edge_to_a_missing_node_is_a_missing_reference() -> None:
    error = rejected(flow(), Create(element=Edge(id="e9", source="a", target="ghost")))
    assert (error.code, error.details["path"]) == ("missing_reference", "$.target")


def test_edge_must_connect_nodes_not_other_elements() -> None:
    error = rejected(flow(), Create(element=Edge(id="e9", source="a", target="s1")))
    assert error.code == "missing_reference"


def test_edges_out_of_a_decision_need_a_label() -> None:
    error = rejected(flow(), Create(element=Edge(id="e9", source="d", target="a")))
    assert (error.code, error.details["path"]) == ("invalid", "$.label")
    assert (
        "e9"
        in run(
            Create(element=Edge(id="e9", source="d", target="a", label="no")), state=flow()
        ).elements
    )


def test_a_node_with_unlabelled_outgoing_edges_cannot_become_a_decision() -> None:
    error = rejected(flow(), Update(id="a", set={"type": "decision"}))
    assert error.code == "invalid"
    assert "'ad'" in error.message


def test_clearing_the_label_of_a_decision_branch_is_refused() -> None:
    assert rejected(flow(), Update(id="db", unset=("label",))).code == "invalid"


def test_deleting_a_node_deletes_its_edges_and_comments_on_them() -> None:
    state = run(
        Create(element=Comment(id="c1", text="why yes?", target="db")),
        Create(element=Comment(id="c2", text="agreed", parent="c1")),
        Create(element=Comment(id="c3", text="on the board")),
        state=flow(),
    )
    state = run(Delete(id="d"), state=state)
    assert set(state.elements) == {"s1", "s2", "l1", "a", "b", "c3"}


def test_deleting_a_stage_or_lane_clears_the_references_to_it() -> None:
    state = run(Delete(id="s1"), Delete(id="l1"), state=flow())
    assert (state.elements["a"].stage, state.elements["a"].lane) == (None, None)


def test_deleting_a_touchpoint_unlinks_it_from_stakeholders() -> None:
    state = run(Create(element=Stakeholder(id="st", touchpoints=("a", "b"))), state=flow())
    state = run(Delete(id="a"), state=state)
    stakeholder = state.elements["st"]
    assert isinstance(stakeholder, Stakeholder) and stakeholder.touchpoints == ("b",)


def test_stakeholder_links_must_name_nodes() -> None:
    error = rejected(flow(), Create(element=Stakeholder(id="st", touchpoints=("a", "nope"))))
    assert (error.code, error.details["path"]) == ("missing_reference", "$.touchpoints[1]")


def test_unknown_element_is_rejected_for_every_kind_of_edit() -> None:
    for op in (
        Update(id="zz", set={"label": "x"}),
        Delete(id="zz"),
        Move(id="zz", x=1, y=2),
        Reorder(id="zz"),
    ):
        assert rejected(flow(), op).code == "unknown_element"


def test_update_sets_and_unsets_single_properties() -> None:
    state = run(Update(id="a", set={"label": "Ad", "tags": ["paid"]}), state=flow())
    state = run(Update(id="a", set={"emotion": -2}, unset=("tags",)), state=state)
    node = state.elements["a"]
    assert isinstance(node, Node)
    assert (node.label, node.tags, node.emotion, node.type) == ("Ad", (), -2, "touchpoint")


def test_update_with_a_wrong_type_names_the_field() -> None:
    error = rejected(flow(), Update(id="a", set={"emotion": "sad"}))
    assert (error.code, error.details["path"]) == ("invalid", "$.set.emotion")


def test_update_of_an_unknown_property_is_invalid() -> None:
    assert rejected(flow(), Update(id="a", set={"colour": "red"})).code == "invalid"


@pytest.mark.parametrize("name", ["id", "order", "author", "created_at"])
def test_update_cannot_touch_identity_order_or_server_stamps(name: str) -> None:
    error = rejected(flow(), Update(id="s1", set={name: "x"}))
    assert (error.code, error.details["path"]) == ("invalid", f"$.set.{name}")


def test_unsetting_a_required_property_is_invalid() -> None:
    assert rejected(flow(), Update(id="ad", unset=("source",))).code == "invalid"


def test_move_changes_position_and_may_change_stage() -> None:
    state = run(Move(id="a", x=10, y=20, stage="s2"), state=flow())
    node = state.elements["a"]
    assert (node.x, node.y, node.stage, node.lane) == (10, 20, "s2", "l1")


def test_move_into_a_missing_stage_is_refused() -> None:
    assert rejected(flow(), Move(id="a", x=1, y=1, stage="l1")).code == "missing_reference"


def test_stages_get_increasing_order_keys_and_reorder_moves_them() -> None:
    state = run(Create(element=Stage(id="s3")), state=flow())

    def order(s: BoardState) -> list[str]:
        stages = [e for e in s.elements.values() if isinstance(e, Stage)]
        return [e.id for e in sorted(stages, key=lambda e: (e.order, e.id))]

    assert order(state) == ["s1", "s2", "s3"]
    assert order(run(Reorder(id="s3"), state=state)) == ["s3", "s1", "s2"]
    assert order(run(Reorder(id="s1", after="s2"), state=state)) == ["s2", "s1", "s3"]


def test_reorder_after_a_non_sibling_is_refused() -> None:
    assert rejected(flow(), Reorder(id="s1", after="l1")).code == "unknown_element"
    assert rejected(flow(), Reorder(id="a")).code == "invalid"


def test_order_keys_stay_short_after_many_moves_to_one_place() -> None:
    state = run(Create(element=Stage(id="s3")), state=flow())
    for i in range(200):
        state = run(Reorder(id="s3" if i % 2 else "s2", after="s1"), state=state)
    assert max(len(e.order) for e in state.elements.values() if isinstance(e, Stage)) <= 64


def test_comments_are_stamped_with_the_author_and_time_whatever_the_client_sends() -> None:
    state = run(
        Create(element=Comment(id="c", text="hi", author="mallory", created_at=5)), state=flow()
    )
    comment = state.elements["c"]
    assert isinstance(comment, Comment)
    assert (comment.author, comment.created_at) == ("ada", CTX.now_ms)


def test_board_update_changes_title_tags_and_description() -> None:
    state = run(UpdateBoard(title="New", tags=("q3",)), state=flow())
    assert (state.title, state.tags, state.description) == ("New", ("q3",), "")


def test_a_batch_is_all_or_nothing_and_names_the_failing_op() -> None:
    state = flow()
    error = rejected(state, Create(element=Node(id="n1")), Create(element=Node(id="n1")))
    assert error.code == "duplicate_id"
    assert error.details["op_index"] == 1


def test_ops_in_a_batch_see_the_effects_of_earlier_ones() -> None:
    state = run(
        Create(element=Node(id="x")),
        Create(element=Edge(id="ax", source="a", target="x")),
        state=flow(),
    )
    assert "ax" in state.elements


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"blob": "x" * 17_000}, "too_large"),
        ({f"k{i}": i for i in range(65)}, "invalid"),
        ({"big": 2**60}, "invalid"),
    ],
)
def test_data_limits(data: dict[str, Any], code: str) -> None:
    assert rejected(flow(), Create(element=Node(id="n", data=data))).code == code


def test_data_nesting_is_limited_to_eight_levels() -> None:
    def nested(depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for _ in range(depth - 1):
            value = {"k": value}
        return value

    run(Create(element=Node(id="ok", data=nested(8))), state=flow())
    assert rejected(flow(), Create(element=Node(id="n", data=nested(9)))).code == "invalid"


def test_dollar_and_dot_keys_in_data_are_plain_data() -> None:
    data = {"$where": "sleep(1)", "a.b": {"$gt": ""}, "__proto__": 1, "": 2}
    assert run(Create(element=Node(id="n", data=data)), state=flow()).elements["n"].data == data


def test_element_count_limit() -> None:
    ctx = Context(user="u", now_ms=0, limits=Limits(max_elements=9))
    state = run(Create(element=Node(id="x")), state=flow(), ctx=ctx)
    error = rejected(state, Create(element=Node(id="y")), ctx=ctx)
    assert (error.code, error.details["limit"]) == ("board_limit", 9)


def test_board_size_limit_counts_every_element() -> None:
    ctx = Context(user="u", now_ms=0, limits=Limits(max_board_bytes=3200))
    state = run(*(Create(element=Node(id=f"n{i}", label="x" * 100)) for i in range(12)), ctx=ctx)
    assert state.size == sum(map(element_size, state.elements.values()))
    assert (
        rejected(state, Create(element=Node(id="last", label="x" * 200)), ctx=ctx).code
        == "board_limit"
    )


def test_twenty_thousand_elements_fit_on_a_board() -> None:
    ops = [Create(element=Node(id=f"n{i}", label=f"Step {i}", x=i, y=i)) for i in range(20_000)]
    assert len(run(*ops).elements) == 20_000


def test_apply_is_deterministic() -> None:
    ops = [
        Create(element=Stage(id="s9")),
        Create(element=Comment(id="c", text="x")),
        Delete(id="d"),
    ]
    assert canonical(run(*ops, state=flow())) == canonical(run(*ops, state=flow()))


@pytest.mark.parametrize(
    ("role", "op", "allowed"),
    [
        ("viewer", Create(element=Comment(id="c9", text="hi")), False),
        ("commenter", Create(element=Comment(id="c9", text="hi")), True),
        ("commenter", Create(element=Node(id="n9")), False),
        ("commenter", Update(id="mine", set={"text": "edited"}), True),
        ("commenter", Delete(id="mine"), True),
        ("commenter", Update(id="theirs", set={"text": "edited"}), False),
        ("commenter", Move(id="a", x=1, y=1), False),
        ("editor", Delete(id="theirs"), True),
        ("editor", UpdateBoard(title="x"), True),
        ("viewer", Move(id="a", x=1, y=1), False),
    ],
)
def test_each_op_needs_its_role(role: str, op: BoardOp, allowed: bool) -> None:
    state = run(
        Create(element=Comment(id="theirs", text="x")),
        state=flow(),
        ctx=Context(user="bob", now_ms=0),
    )
    state = run(Create(element=Comment(id="mine", text="x")), state=state)
    ctx = Context(user="ada", now_ms=0, role=role)  # type: ignore[arg-type]
    if allowed:
        run(op, state=state, ctx=ctx)
    else:
        error = rejected(state, op, ctx=ctx)
        assert error.code == "forbidden"
        assert error.details["required_role"] in ("commenter", "editor")


def test_effects_name_every_put_and_cascaded_removal_and_board_change() -> None:
    board = apply_batch(
        BoardState(title="t"),
        [
            Create(element=Stage(id="s")),
            Create(element=Node(id="a", stage="s")),
            Create(element=Node(id="b")),
            Create(element=Edge(id="ab", source="a", target="b")),
            Create(element=Comment(id="c", text="hi", target="a")),
        ],
        CTX,
    )
    ops = [Delete(id="a"), Delete(id="s"), UpdateBoard(title="New")]
    state, effects = commit_batch(board, ops, CTX)
    assert effects.removed == ["a", "ab", "c", "s"]
    assert effects.put == [], "nothing left refers to what went"
    assert effects.board is not None and effects.board.title == "New"
    _, created = commit_batch(
        state, [Create(element=Comment(id="d", text="x", author="spoof"))], CTX
    )
    assert (created.put[0].author, created.put[0].created_at) == (CTX.user, CTX.now_ms)
    assert created.board is None


def test_set_on_data_works_key_by_key_and_null_removes_a_key() -> None:
    board = apply_batch(
        BoardState(title="t"), [Create(element=Node(id="n", data={"a": 1, "b": 2}))], CTX
    )
    after = apply_batch(board, [Update(id="n", set={"data": {"b": 3, "c": 4}})], CTX)
    assert after.elements["n"].data == {"a": 1, "b": 3, "c": 4}
    after = apply_batch(after, [Update(id="n", set={"data": {"a": None}})], CTX)
    assert after.elements["n"].data == {"b": 3, "c": 4}
    cleared = apply_batch(after, [Update(id="n", unset=("data",))], CTX)
    assert cleared.elements["n"].data == {}


def test_a_change_that_compares_equal_but_encodes_differently_is_in_the_effects() -> None:
    state = apply_batch(BoardState(title="t"), [Create(element=Stage(id="s"))], CTX)
    after, effects = commit_batch(state, [Move(id="s", x=-0.0, y=0.0)], CTX)
    assert [msgspec.json.encode(e) for e in effects.put] == [
        msgspec.json.encode(after.elements["s"])
    ]
