"""Feedback and events as stored: resolved to the board, scored and categorised at ingest.

Everything an insight query would otherwise compute per document (normalised score, its
square, promoter/detractor, bad experience, sentiment) is computed once here, so the
database only has to `$sum` plain numbers: on the embedded store a `$group` summing a
`$cond` is more than ten times slower than one summing a field.
"""

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from schemas.board import AnyElement, Node, Stage
from schemas.evidence import SCALE_RANGES, Feedback, JourneyEvent

Document = dict[str, Any]  # a record as stored
_sentiment = SentimentIntensityAnalyzer()
_encode = msgspec.json.encode
NEGATIVE = -0.05  # VADER's own threshold for a negative compound score
BAD_BELOW = 50.0  # a normalised score under the scale's midpoint is a bad experience
# What insight sums per node or stage: the record count, then fields of each document.
SCORE_FIELDS: tuple[str, ...] = ("feedback", "scored", "norm", "norm2", "sentiment", "opinion")
SCORE_FIELDS += ("nps", "promoter", "detractor", "bad", "pain")
TICK_DIGITS = 15  # milliseconds until the year 33658, zero-padded so ticks sort by time
PURCHASE_MARK = "+"  # never in an element id, so "checkout+" is a purchase at checkout


class Unresolved(ValueError):
    """The record names something the board does not have."""


class Targets:
    """What records may name on one board: nodes and stages by id, label or alias."""

    def __init__(self, elements: Iterable[AnyElement]) -> None:
        self.nodes: dict[str, Node] = {}
        self._stage_ids: set[str] = set()
        self._stage_names: dict[str, str | None] = {}
        self._node_names: dict[str, str | None] = {}
        self._channels: dict[str, str | None] = {}
        for e in elements:
            if isinstance(e, Node):
                self.nodes[e.id] = e
                aliases = e.data.get("aliases")
                names = [e.label, *(aliases if isinstance(aliases, list) else [])]
                for name in names:
                    _claim(self._node_names, _fold(name), e.id)
                if e.channel is not None:
                    _claim(self._channels, e.channel, e.id)
            elif isinstance(e, Stage):
                self._stage_ids.add(e.id)
                _claim(self._stage_names, _fold(e.label), e.id)

    def node(self, name: str) -> Node:
        found = name if name in self.nodes else self._node_names.get(_fold(name))
        if found is None:
            raise Unresolved(f"no touchpoint {name!r} on this board (use its id, label or alias)")
        return self.nodes[found]

    def stage(self, name: str) -> str:
        found = name if name in self._stage_ids else self._stage_names.get(_fold(name))
        if found is None:
            raise Unresolved(f"no stage {name!r} on this board (use its id or label)")
        return found

    def channel(self, channel: str) -> Node | None:
        """The board's one node on this channel; None when there are none or several."""
        found = self._channels.get(channel)
        return self.nodes[found] if found else None


def _fold(name: object) -> str:
    return str(name).strip().casefold()


def _claim(names: dict[str, str | None], name: str, element_id: str) -> None:
    """A name two elements share resolves to neither, so a record never lands on a guess."""
    if name:
        names[name] = element_id if names.get(name, element_id) == element_id else None


def feedback_document(board_id: str, record: Feedback, targets: Targets, now_ms: int) -> Document:
    node = targets.node(record.touchpoint) if record.touchpoint else None
    if node is None and record.channel is not None:
        node = targets.channel(record.channel)
    stage = targets.stage(record.stage) if record.stage else (node.stage if node else None)
    sentiment = _sentiment.polarity_scores(record.text)["compound"] if record.text else 0.0
    norm = _normalised(record)
    nps = record.scale == "nps" and record.score is not None
    promoter = nps and (record.score or 0) >= 9
    detractor = nps and (record.score or 0) <= 6
    said = (1 - sentiment) / 2  # how bad the words are, 0 (glowing) to 1 (furious)
    said_something = norm is not None or bool(record.text)
    if norm is not None:
        scored = (100 - norm) / 100
        pain = (scored + said) / 2 if record.text else scored
        bad = detractor if nps else norm < BAD_BELOW
    else:
        pain = said if record.text else 0.0
        bad = bool(record.text) and sentiment <= NEGATIVE
    return {
        "_id": f"{board_id}|{record.source}|{record.external_id or _digest(record)}",
        "board": board_id,
        "source": record.source,
        "node": node.id if node else None,
        "stage": stage,
        "channel": record.channel or (node.channel if node else None),
        "customer": record.customer,
        "at": _ms(record.at) if record.at else now_ms,
        "text": record.text,
        "scale": record.scale,
        "score": record.score,
        "scored": int(norm is not None),
        "norm": norm or 0.0,
        "norm2": (norm or 0.0) ** 2,
        "nps": int(nps),
        "promoter": int(promoter),
        "detractor": int(detractor),
        "sentiment": sentiment,
        "opinion": int(bool(record.text)),
        "bad": int(bad),
        "pain": pain,
        # Where it went well ("tp+") or badly ("tp-"), for moments of truth: grouping by
        # one plain field keeps the pipeline on the embedded store's fast path.
        "xp": node.id + ("-" if bad else "+") if node and said_something else None,
    }


def event_document(board_id: str, record: JourneyEvent, targets: Targets) -> Document:
    node = targets.node(record.touchpoint)
    at = _ms(record.at)
    return {
        "_id": f"{board_id}|{record.external_id or _digest(record)}",
        "board": board_id,
        "customer": record.customer,
        "node": node.id,
        "stage": node.stage,
        "at": at,
        "value": record.value or 0.0,
        "purchase": int(bool(record.value)),
        "step": node.id + PURCHASE_MARK if record.value else node.id,  # one field per path step
        "tick": f"{at:0{TICK_DIGITS}d}{node.id}",  # time and node in one field, sortable
    }


def _normalised(record: Feedback) -> float | None:
    """The score on 0-100, so answers on different scales can be averaged together."""
    if record.score is None or record.scale is None:
        return None
    low, high = SCALE_RANGES[record.scale]
    return (record.score - low) / (high - low) * 100


def _ms(at: datetime) -> int:
    """Milliseconds since the epoch; a time without a zone is taken as UTC."""
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)


def _digest(record: msgspec.Struct) -> str:
    """A record without an external id is identified by its content."""
    return hashlib.sha256(_encode(record)).hexdigest()[:32]
