"""What the evidence says about a journey: the answers of /api/boards/{id}/insights/...

Scores are normalised to 0-100 whatever scale they were asked on (NPS 0-10, CSAT and
ratings 1-5, CES 1-7), so touchpoints surveyed differently compare directly.
"""

from typing import Literal

from msgspec import Struct

Quadrant = Literal["manage_closely", "keep_satisfied", "keep_informed", "monitor"]


class Score(Struct, kw_only=True):
    """The feedback about one stage or touchpoint (or the whole board: `id` "*")."""

    id: str
    label: str = ""
    feedback: int = 0  # records about it
    scored: int = 0  # records with a score
    mean: float | None = None  # mean normalised score, 0-100
    ci95: float | None = None  # half-width of the 95% confidence interval of `mean`
    sentiment: float | None = None  # mean VADER compound of the texts, -1 to 1
    nps: float | None = None  # promoters% - detractors%, where NPS answers exist
    nps_answers: int = 0
    bad: int = 0  # records that were a bad experience (low score or negative text)


class EmotionCurve(Struct, kw_only=True):
    """The journey's emotional line: stages in board order; touchpoints by their stage's
    order, then most feedback first (those in no stage come last)."""

    overall: Score
    stages: list[Score]
    touchpoints: list[Score]


class Quote(Struct, kw_only=True):
    text: str
    source: str
    sentiment: float
    score: float | None = None
    scale: str | None = None


class PainPoint(Struct, kw_only=True):
    """A touchpoint ranked by pain: how bad its feedback is, times how much there is."""

    touchpoint: Score
    pain: float  # summed badness (0-1 per record) of its feedback
    bad_share: float
    quotes: list[Quote]


class PainPoints(Struct, kw_only=True):
    items: list[PainPoint]


class MomentOfTruth(Struct, kw_only=True):
    """How a touchpoint's experience changes what customers do next: buy again or not."""

    touchpoint: str
    label: str
    marked: bool  # already a moment_of_truth node on the board
    customers_good: int
    customers_bad: int
    bought_again_good: float  # share of repeat buyers (2+ purchases) among the good side
    bought_again_bad: float
    impact: float  # the difference, in percentage points; larger = matters more


class MomentsOfTruth(Struct, kw_only=True):
    """Suggestions ranked by impact, and how they compare with what the board marks."""

    suggested: list[MomentOfTruth]
    marked_and_confirmed: list[str]
    marked_without_evidence: list[str]
    min_customers: int


class PathCount(Struct, kw_only=True):
    nodes: list[str]
    customers: int
    purchased: int


class NodeFlow(Struct, kw_only=True):
    """What customers who reached a node did next."""

    node: str
    label: str
    reached: int
    ended_here: int
    drop_off: float  # share whose journey ended here without a purchase
    conversion: float  # share who purchased at or after this node
    repurchase_after: float  # share who bought (again) after passing this node


class MissingEdge(Struct, kw_only=True):
    """Customers went from `source` to `target`, but the board has no such edge."""

    source: str
    target: str
    customers: int


class Paths(Struct, kw_only=True):
    customers: int
    paths: list[PathCount]
    nodes: list[NodeFlow]
    missing_edges: list[MissingEdge]


class CustomerTiming(Struct, kw_only=True):
    customer: str
    purchases: int
    interval_days: float
    last_purchase: int  # ms since the epoch
    next_expected: int
    overdue_days: float


class Repurchase(Struct, kw_only=True):
    """Re-purchase timing: typical intervals, who is overdue, as of `as_of`.

    The share who buy again after each touchpoint is in Paths (`nodes[].repurchase_after`):
    it needs each customer's path, which this answer does without to stay fast.
    """

    as_of: int
    customers: int  # customers with a purchase
    repeat_customers: int  # with two or more
    median_interval_days: float | None
    mean_interval_days: float | None
    overdue: list[CustomerTiming]  # most overdue first
    overdue_count: int


class Branch(Struct, kw_only=True):
    """One way out of a decision node in a support flowchart."""

    decision: str
    label: str
    target: str
    tickets: int
    resolved_share: float
    median_resolution_minutes: float | None
    satisfaction: float | None  # mean normalised score of support feedback, 0-100


class SupportKpis(Struct, kw_only=True):
    """Support flowchart KPIs: each customer's events are one ticket's way through it."""

    tickets: int
    resolved_share: float
    median_response_minutes: float | None
    median_resolution_minutes: float | None
    satisfaction: float | None
    branches: list[Branch]


class StakeholderPlace(Struct, kw_only=True):
    id: str
    label: str
    influence: int
    interest: int
    touchpoints: list[str]
    risks: list[str]


class StakeholderGrid(Struct, kw_only=True):
    """Stakeholders on the power-interest grid (6 or more counts as high)."""

    manage_closely: list[StakeholderPlace]
    keep_satisfied: list[StakeholderPlace]
    keep_informed: list[StakeholderPlace]
    monitor: list[StakeholderPlace]
