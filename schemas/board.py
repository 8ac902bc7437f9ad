"""The journey-board domain: what a board holds.

Every element shares the same frame (id, label, tags, a small `data` map, where it is drawn
and which stage and lane it sits in) so that one set of ops can create, update, move and
delete any of them. Elements are frozen: a change makes a new element.
"""

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

Id = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="1-64 letters, digits, '_' or '-'; chosen by the client that creates it.",
    ),
]
Label = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=10_000)]
Tag = Annotated[str, Meta(min_length=1, max_length=40)]
Tags = Annotated[tuple[Tag, ...], Meta(max_length=20)]
Coord = Annotated[float, Meta(ge=-1e7, le=1e7)]
Score = Annotated[int, Meta(ge=0, le=10)]
OrderKey = Annotated[
    str,
    Meta(pattern=r"^[0-9A-Za-z]{0,64}$", description="Fractional-index key; empty = append."),
]
Data = Annotated[
    dict[str, Any],
    Meta(description="Free-form JSON: at most 16 KiB encoded, 64 keys per map, depth 8."),
]

NodeType = Literal[
    "start",
    "end",
    "step",
    "decision",
    "touchpoint",
    "moment_of_truth",
    "pain_point",
    "opportunity",
    "note",
]
Channel = Literal[
    "web", "app", "email", "phone", "chat", "store", "social", "mail", "in_person", "other"
]
LaneRole = Literal[
    "touchpoints",
    "channels",
    "actions",
    "emotions",
    "pain_points",
    "opportunities",
    "moments_of_truth",
    "backstage",
    "stakeholders",
    "kpis",
    "other",
]
StakeholderCategory = Literal[
    "customer", "employee", "supplier", "partner", "regulator", "investor", "other"
]


# gc=False: plain values that never form a cycle, so the garbage collector need not walk
# the many thousands a server keeps (fewer, shorter pauses; see server/app.py settle_heap).
class Element(
    Struct, frozen=True, gc=False, kw_only=True, forbid_unknown_fields=True, tag_field="kind"
):
    """The frame every board element shares."""

    id: Id
    label: Label = ""
    tags: Tags = ()
    data: Data = {}
    x: Coord = 0.0
    y: Coord = 0.0
    stage: Id | None = None
    lane: Id | None = None


class Stage(Element, tag="stage", frozen=True):
    """An ordered column of the journey, e.g. Awareness or Retention & loyalty."""

    order: OrderKey = ""
    description: Text = ""


class Lane(Element, tag="lane", frozen=True):
    """An ordered row of the journey: touchpoints, emotions, pain points and so on."""

    order: OrderKey = ""
    role: LaneRole = "other"


class Node(Element, tag="node", frozen=True):
    """A flowchart node; decisions and moments of truth branch with labelled edges."""

    type: NodeType = "step"
    channel: Channel | None = None
    text: Text = ""
    emotion: Annotated[int, Meta(ge=-5, le=5)] | None = None


class Edge(Element, tag="edge", frozen=True):
    """A directed connection between two nodes; edges out of a decision carry a label."""

    source: Id
    target: Id


class Stakeholder(Element, tag="stakeholder", frozen=True):
    """Someone with a stake in the journey, placed on the power-interest grid."""

    category: StakeholderCategory = "customer"
    influence: Score = 5
    interest: Score = 5
    interests: Annotated[tuple[Label, ...], Meta(max_length=50)] = ()
    risks: Annotated[tuple[Label, ...], Meta(max_length=50)] = ()
    touchpoints: Annotated[tuple[Id, ...], Meta(max_length=200)] = ()


class Comment(Element, tag="comment", frozen=True):
    """A remark on the board or on one element; replies name their parent comment.

    `author` and `created_at` are stamped by the server, whatever the client sends.
    """

    text: Annotated[str, Meta(min_length=1, max_length=10_000)]
    target: Id | None = None
    parent: Id | None = None
    mentions: Annotated[tuple[Label, ...], Meta(max_length=50)] = ()
    resolved: bool = False
    author: str = ""
    created_at: int = 0


AnyElement = Stage | Lane | Node | Edge | Stakeholder | Comment
ELEMENT_TYPES: tuple[type[Element], ...] = (Stage, Lane, Node, Edge, Stakeholder, Comment)
