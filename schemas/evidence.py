"""Evidence a board is judged by: what customers said (feedback) and what they did (events).

Records arrive in bulk (surveys, review exports, ticket dumps, clickstreams), so each one is
checked on its own: a bad record is reported with its line and does not stop the rest.
"""

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from schemas.board import Channel, Text

EvidenceKind = Literal["feedback", "events"]
MAX_LISTED_REJECTIONS = 100  # an IngestReport lists this many; it counts all
FeedbackSource = Literal["survey", "review", "social", "support", "other"]
Scale = Literal["nps", "csat", "ces", "rating"]
ExternalId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="The record's id in its source system; re-importing it adds nothing.",
    ),
]
CustomerId = Annotated[str, Meta(min_length=1, max_length=200)]
Reference = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="An element id, or a label or alias (node data.aliases) resolved to one.",
    ),
]

# The range each scale's answers live in; every score is normalised onto 0-100.
SCALE_RANGES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "rating": (1, 5),
}


class Feedback(Struct, kw_only=True, forbid_unknown_fields=True):
    """One thing a customer said: a survey answer, a review, a post, a support ticket.

    What it is about is a `touchpoint` (a node), a `stage`, or a `channel` that the board
    has exactly one node for. Without `external_id` the record's content is its identity.
    """

    source: FeedbackSource = "other"
    external_id: ExternalId | None = None
    text: Text = ""
    score: Annotated[float, Meta(ge=0, le=10)] | None = None
    scale: Scale | None = None
    customer: CustomerId | None = None
    at: datetime | None = None
    stage: Reference | None = None
    touchpoint: Reference | None = None
    channel: Channel | None = None

    def __post_init__(self) -> None:
        if self.score is None:
            if not self.text:
                raise ValueError("feedback needs a text or a score")
            return
        if self.scale is None:
            raise ValueError("a score needs its scale (nps, csat, ces or rating)")
        low, high = SCALE_RANGES[self.scale]
        if not low <= self.score <= high:
            raise ValueError(f"a {self.scale} score must be between {low} and {high}")


class JourneyEvent(Struct, kw_only=True, forbid_unknown_fields=True):
    """One step a customer took: they passed a node; a `value` makes it a purchase."""

    customer: CustomerId
    touchpoint: Reference
    at: datetime
    value: Annotated[float, Meta(ge=0, le=1e12)] | None = None
    external_id: ExternalId | None = None

    def __post_init__(self) -> None:
        if self.at.year < 1970:
            raise ValueError("journey events happen after 1970")


# The fields a record of each kind may have: CSV headers and import mappings name these.
RECORD_FIELDS: dict[EvidenceKind, tuple[str, ...]] = {
    "feedback": Feedback.__struct_fields__,
    "events": JourneyEvent.__struct_fields__,
}


class Rejection(Struct, kw_only=True):
    """A record that was not stored: its line (item number in a JSON array) and why."""

    line: int
    reason: str


class IngestReport(Struct, kw_only=True):
    """What an upload did. `errors` lists the first 100 rejections; `rejected` counts all."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[Rejection] = []
