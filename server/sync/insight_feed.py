"""Insight pushed to everyone on a board while evidence arrives, at most once a second.

An import of a million rows lands in a thousand batches; recomputing after each would
keep the database busy with insight instead of the import. So each board collects what
its batches touched for a second, then sends one `insight` message for all of it.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from schemas.board import Node
from schemas.evidence import EvidenceKind
from schemas.messages import InsightMessage
from server.evidence import insights
from server.evidence.records import Document
from server.store.evidence import Evidence
from server.sync.room import Room, Rooms

log = logging.getLogger("journeyboard")


@dataclass
class _Touched:
    nodes: set[str] = field(default_factory=set)
    stages: set[str] = field(default_factory=set)
    events: bool = False


class InsightFeed:
    """Collects what stored evidence touched, per board, and publishes insight for it."""

    def __init__(self, evidence: Evidence, rooms: Rooms, interval: float = 1.0) -> None:
        self.evidence = evidence
        self.rooms = rooms
        self.interval = interval
        self._touched: dict[str, _Touched] = {}
        self._publishers: dict[str, asyncio.Task[None]] = {}

    def stored(self, board_id: str, kind: EvidenceKind, docs: Sequence[Document]) -> None:
        touched = self._touched.setdefault(board_id, _Touched())
        if kind == "events":
            touched.events = True
        else:
            touched.nodes.update(d["node"] for d in docs if d["node"])
            touched.stages.update(d["stage"] for d in docs if d["stage"])
        if board_id not in self._publishers:
            task = asyncio.create_task(self._publish(board_id), name=f"insight {board_id}")
            self._publishers[board_id] = task

    async def _publish(self, board_id: str) -> None:
        """Publish what was touched, a second at a time, until nothing new arrives.

        The task leaves `_publishers` in the same step that it sees nothing new, so a
        `stored()` after that starts a new one and no touch is left unpublished.
        """
        try:
            while board_id in self._touched:
                await asyncio.sleep(self.interval)
                touched = self._touched.pop(board_id)
                room = self.rooms.get(board_id)
                if room is None:  # its sockets may be on other instances: compute and share
                    continue
                try:
                    message = await self._insight(room, touched)
                except Exception:  # insight is a courtesy: never let it take anything down
                    log.exception("insight for board %s skipped", board_id)
                    continue
                room.share(msgspec.json.encode(message).decode())
        finally:
            self._publishers.pop(board_id, None)

    async def _insight(self, room: Room, touched: _Touched) -> InsightMessage:
        """Scores for what was touched; a stage's score needs every node now in it."""
        elements = list(room.state.elements.values())
        message = InsightMessage()
        nodes_now = {e.id: e for e in elements if isinstance(e, Node)}
        touched.stages |= {n.stage for i in touched.nodes if (n := nodes_now.get(i)) and n.stage}
        if touched.nodes or touched.stages:
            in_stages = {i for i, n in nodes_now.items() if n.stage in touched.stages}
            nodes = sorted(touched.nodes | in_stages)
            by_node, by_stage = await asyncio.gather(
                self.evidence.scores(room.board_id, "node", {"node": {"$in": nodes}}),
                self.evidence.scores(
                    room.board_id, "stage", {"node": None, "stage": {"$in": sorted(touched.stages)}}
                ),
            )
            curve = insights.emotion_curve(elements, by_node, by_stage)
            message.stages = [s for s in curve.stages if s.id in touched.stages]
            message.touchpoints = [t for t in curve.touchpoints if t.id in touched.nodes]
        if touched.events:
            message.paths = insights.paths(
                elements, await self.evidence.journeys(room.board_id), 10
            )
        return message

    async def close(self) -> None:
        tasks = list(self._publishers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
