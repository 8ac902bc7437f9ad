"""Script a board in the journey's own words, then send it as one all-or-nothing batch.

    journey = Journey()
    buy = journey.stage("Purchase")
    web = journey.lane("Touchpoints")
    cart = journey.touchpoint("Cart", stage=buy, lane=web, channel="web")
    pay = journey.touchpoint("Payment", stage=buy, lane=web, channel="web")
    journey.connect(cart, pay, "checkout")
    journey.moment_of_truth(pay)
    journey.stakeholder("Payments team", category="employee", influence=8, interest=9)
    await client.apply_ops(board_id, journey.ops)

Each method returns the new element's id, derived from its label unless you pass `id=`.
"""

import re
from collections import Counter
from typing import Any

from schemas.board import (
    Channel,
    Edge,
    Lane,
    LaneRole,
    Node,
    NodeType,
    Stage,
    Stakeholder,
    StakeholderCategory,
)
from schemas.ops import BoardOp, Create, Update


class Journey:
    """Collects the ops that build a journey; `ops` is ready for `apply_ops`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.ops: list[BoardOp] = []
        self._used: Counter[str] = Counter()

    def _id(self, label: str, given: str | None) -> str:
        if given is not None:
            return given
        slug = re.sub(r"[^A-Za-z0-9]+", "-", label.lower()).strip("-")[:40] or "element"
        base = f"{self.prefix}{slug}"
        self._used[base] += 1
        count = self._used[base]
        return base if count == 1 else f"{base}-{count}"

    def stage(self, label: str, *, id: str | None = None, description: str = "") -> str:
        """A column of the journey, appended after the stages already there."""
        stage = Stage(id=self._id(label, id), label=label, description=description)
        self.ops.append(Create(element=stage))
        return stage.id

    def lane(self, label: str, *, role: LaneRole = "touchpoints", id: str | None = None) -> str:
        lane = Lane(id=self._id(label, id), label=label, role=role)
        self.ops.append(Create(element=lane))
        return lane.id

    def node(
        self,
        label: str,
        *,
        type: NodeType = "step",
        stage: str | None = None,
        lane: str | None = None,
        channel: Channel | None = None,
        id: str | None = None,
        **props: Any,
    ) -> str:
        """Any flowchart node: start, end, step, decision, touchpoint, pain point..."""
        node = Node(
            id=self._id(label, id),
            label=label,
            type=type,
            stage=stage,
            lane=lane,
            channel=channel,
            **props,
        )
        self.ops.append(Create(element=node))
        return node.id

    def touchpoint(
        self,
        label: str,
        *,
        stage: str | None = None,
        lane: str | None = None,
        channel: Channel | None = None,
        id: str | None = None,
        **props: Any,
    ) -> str:
        """Where the customer meets the business, in a stage and lane."""
        return self.node(
            label, type="touchpoint", stage=stage, lane=lane, channel=channel, id=id, **props
        )

    def connect(self, source: str, target: str, label: str = "", *, id: str | None = None) -> str:
        """An edge; edges out of a decision need a label (the branch taken)."""
        edge = Edge(
            id=self._id(f"{source}-to-{target}", id), source=source, target=target, label=label
        )
        self.ops.append(Create(element=edge))
        return edge.id

    def moment_of_truth(self, node_id: str) -> str:
        """Mark a node as a moment of truth: where the customer decides to stay or go."""
        self.ops.append(Update(id=node_id, set={"type": "moment_of_truth"}))
        return node_id

    def stakeholder(
        self,
        label: str,
        *,
        category: StakeholderCategory = "employee",
        influence: int = 5,
        interest: int = 5,
        touchpoints: tuple[str, ...] = (),
        risks: tuple[str, ...] = (),
        id: str | None = None,
    ) -> str:
        """Someone with a stake, placed on the power-interest grid (0-10 each)."""
        stakeholder = Stakeholder(
            id=self._id(label, id),
            label=label,
            category=category,
            influence=influence,
            interest=interest,
            touchpoints=touchpoints,
            risks=risks,
        )
        self.ops.append(Create(element=stakeholder))
        return stakeholder.id
