"""The core against a naive reference model, driven by hypothesis through random op sequences."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from schemas.board import Edge, Node, Stage
from schemas.ops import BoardOp, Create, Delete, Move, Reorder, Update
from server.board import (
    BoardState,
    Context,
    Limits,
    Rejected,
    apply_batch,
    apply_effects,
    canonical,
    commit_batch,
)
from server.board.apply import element_size

IDS = st.sampled_from([f"e{i}" for i in range(6)])
CTX = Context(user="u", now_ms=0, limits=Limits(max_elements=10))


class BoardModel(RuleBasedStateMachine):
    """Reference: node ids, edges as (source, target), stages in a plain list."""

    def __init__(self) -> None:
        super().__init__()
        self.state = BoardState(title="t")
        self.nodes: set[str] = set()
        self.edges: dict[str, tuple[str, str]] = {}
        self.stages: list[str] = []

    def taken(self, element_id: str) -> bool:
        return element_id in self.nodes or element_id in self.edges or element_id in self.stages

    def count(self) -> int:
        return len(self.nodes) + len(self.edges) + len(self.stages)

    def apply(self, op: BoardOp, expect_ok: bool) -> None:
        before = canonical(self.state)
        try:
            after = apply_batch(self.state, [op], CTX)
        except Rejected:
            assert not expect_ok, f"model accepts {op}"
            assert canonical(self.state) == before
            return
        assert expect_ok, f"model rejects {op}"
        assert canonical(apply_batch(self.state, [op], CTX)) == canonical(after)
        _, effects = commit_batch(self.state, [op], CTX)
        assert not {e.id for e in effects.put} & set(effects.removed), (
            "put and removed are disjoint"
        )
        followed = apply_effects(self.state, effects)
        assert canonical(followed) == canonical(after), "effects alone converge"
        self.state = after

    @rule(node_id=IDS)
    def add_node(self, node_id: str) -> None:
        ok = not self.taken(node_id) and self.count() < 10
        self.apply(Create(element=Node(id=node_id)), ok)
        if ok:
            self.nodes.add(node_id)

    @rule(edge_id=IDS, source=IDS, end=IDS)
    def add_edge(self, edge_id: str, source: str, end: str) -> None:
        ok = not self.taken(edge_id) and {source, end} <= self.nodes and self.count() < 10
        self.apply(Create(element=Edge(id=edge_id, source=source, target=end, label="x")), ok)
        if ok:
            self.edges[edge_id] = (source, end)

    @rule(stage_id=IDS)
    def add_stage(self, stage_id: str) -> None:
        ok = not self.taken(stage_id) and self.count() < 10
        self.apply(Create(element=Stage(id=stage_id)), ok)
        if ok:
            self.stages.append(stage_id)

    @rule(element_id=IDS, after=st.none() | IDS)
    def reorder(self, element_id: str, after: str | None) -> None:
        ok = element_id in self.stages and (
            after is None or (after in self.stages and after != element_id)
        )
        self.apply(Reorder(id=element_id, after=after), ok)
        if ok:
            self.stages.remove(element_id)
            self.stages.insert(self.stages.index(after) + 1 if after else 0, element_id)

    @rule(element_id=IDS)
    def delete(self, element_id: str) -> None:
        ok = self.taken(element_id)
        self.apply(Delete(id=element_id), ok)
        self.nodes.discard(element_id)
        if element_id in self.stages:
            self.stages.remove(element_id)
        self.edges = {
            e: ends for e, ends in self.edges.items() if e != element_id and element_id not in ends
        }

    @rule(element_id=IDS, label=st.text(max_size=5), x=st.floats(-1e6, 1e6))
    def edit(self, element_id: str, label: str, x: float) -> None:
        self.apply(Update(id=element_id, set={"label": label}), self.taken(element_id))
        self.apply(Move(id=element_id, x=x, y=x), self.taken(element_id))

    @invariant()
    def matches_the_model(self) -> None:
        elements = self.state.elements
        assert {k for k, e in elements.items() if isinstance(e, Node)} == self.nodes
        assert {
            k: (e.source, e.target) for k, e in elements.items() if isinstance(e, Edge)
        } == self.edges
        stages = sorted(
            (e for e in elements.values() if isinstance(e, Stage)), key=lambda e: e.order
        )
        assert [s.id for s in stages] == self.stages
        assert len({s.order for s in stages}) == len(stages), "order keys are unique"

    @invariant()
    def no_dangling_edges_and_size_is_exact(self) -> None:
        for e in self.state.elements.values():
            if isinstance(e, Edge):
                assert isinstance(self.state.elements.get(e.source), Node)
                assert isinstance(self.state.elements.get(e.target), Node)
        assert self.state.size == sum(map(element_size, self.state.elements.values()))
        assert len(self.state.elements) <= 10


TestBoardModel = BoardModel.TestCase
TestBoardModel.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
