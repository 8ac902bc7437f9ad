"""`journeyboard insights KIND --board ID`: each insight as tables people read at a glance."""

from collections.abc import Callable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from client_sdk.sync import JourneyboardClient
from schemas.insights import (
    EmotionCurve,
    MomentsOfTruth,
    PainPoints,
    Paths,
    Repurchase,
    Score,
    StakeholderGrid,
    SupportKpis,
)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """Cells are text, never markup: labels and quotes come from users and customers."""
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(Text("-" if cell is None else str(cell)) for cell in row))
    return table


def _num(value: float | None, digits: int = 0, suffix: str = "") -> str | None:
    return None if value is None else f"{value:.{digits}f}{suffix}"


def _pct(share: float | None) -> str | None:
    return _num(None if share is None else share * 100, 0, "%")


def _scores(title: str, scores: list[Score]) -> Table:
    return _table(
        title,
        ["", "feedback", "mean /100", "± 95%", "sentiment", "NPS", "bad"],
        [
            [s.label or s.id, s.feedback, _num(s.mean), _num(s.ci95, 1), _num(s.sentiment, 2),
             _num(s.nps), s.bad]
            for s in scores
        ],
    )  # fmt: skip


def emotion(found: EmotionCurve) -> RenderableType:
    return Group(
        _scores("Stages", [*found.stages, found.overall]),
        _scores("Touchpoints", found.touchpoints),
    )


def pains(found: PainPoints) -> RenderableType:
    return _table(
        "Pain points, worst first",
        ["touchpoint", "pain", "bad", "mean /100", "a customer said"],
        [
            [p.touchpoint.label or p.touchpoint.id, _num(p.pain, 1), _pct(p.bad_share),
             _num(p.touchpoint.mean), p.quotes[0].text if p.quotes else None]
            for p in found.items
        ],
    )  # fmt: skip


def moments(found: MomentsOfTruth) -> RenderableType:
    table = _table(
        f"Moments of truth (at least {found.min_customers} customers each way)",
        ["touchpoint", "marked", "buy again after good", "after bad", "impact (points)"],
        [
            [m.label or m.touchpoint, "yes" if m.marked else "", _pct(m.bought_again_good),
             _pct(m.bought_again_bad), _num(m.impact)]
            for m in found.suggested
        ],
    )  # fmt: skip
    notes = Text(
        f"marked and confirmed: {', '.join(found.marked_and_confirmed) or '-'}\n"
        f"marked without evidence: {', '.join(found.marked_without_evidence) or '-'}"
    )
    return Group(table, notes)


def paths(found: Paths) -> RenderableType:
    return Group(
        _table(
            f"Most frequent paths ({found.customers} customers)",
            ["customers", "bought", "path"],
            [[p.customers, p.purchased, " → ".join(p.nodes)] for p in found.paths],
        ),
        _table(
            "After each node",
            ["node", "reached", "ended here", "drop-off", "conversion", "bought again after"],
            [
                [
                    f.label or f.node,
                    f.reached,
                    f.ended_here,
                    _pct(f.drop_off),
                    _pct(f.conversion),
                    _pct(f.repurchase_after),
                ]
                for f in found.nodes
            ],
        ),
        _table(
            "Moves with no edge on the board",
            ["from", "to", "customers"],
            [[m.source, m.target, m.customers] for m in found.missing_edges],
        ),
    )


def repurchase(found: Repurchase) -> RenderableType:
    summary = Text(
        f"{found.customers} buyers, {found.repeat_customers} bought again; typical interval "
        f"{_num(found.median_interval_days, 1) or '-'} days (median), "
        f"{found.overdue_count} overdue"
    )
    overdue = _table(
        "Most overdue",
        ["customer", "purchases", "every (days)", "overdue (days)"],
        [
            [t.customer, t.purchases, _num(t.interval_days, 1), _num(t.overdue_days, 1)]
            for t in found.overdue
        ],
    )
    return Group(summary, overdue)


def support(found: SupportKpis) -> RenderableType:
    summary = Text(
        f"{found.tickets} tickets, {_pct(found.resolved_share)} resolved; median first "
        f"response {_num(found.median_response_minutes) or '-'} min, resolution "
        f"{_num(found.median_resolution_minutes) or '-'} min; satisfaction "
        f"{_num(found.satisfaction) or '-'}/100"
    )
    branches = _table(
        "Per decision branch",
        ["decision", "branch", "to", "tickets", "resolved", "resolution (min)", "satisfaction"],
        [
            [b.decision, b.label, b.target, b.tickets, _pct(b.resolved_share),
             _num(b.median_resolution_minutes), _num(b.satisfaction)]
            for b in found.branches
        ],
    )  # fmt: skip
    return Group(summary, branches)


def stakeholders(found: StakeholderGrid) -> RenderableType:
    return _table(
        "Power-interest grid",
        ["quadrant", "stakeholder", "influence", "interest", "touchpoints", "risks"],
        [
            [quadrant.replace("_", " "), s.label or s.id, s.influence, s.interest,
             ", ".join(s.touchpoints), ", ".join(s.risks)]
            for quadrant in StakeholderGrid.__struct_fields__
            for s in getattr(found, quadrant)
        ],
    )  # fmt: skip


# Each kind: how to fetch it (with --limit) and how to show it.
KINDS: dict[str, tuple[Callable[[JourneyboardClient, str, int], Any], Callable[[Any], Any]]] = {
    "emotion": (lambda jb, board, _: jb.emotion_curve(board), emotion),
    "pain-points": (lambda jb, board, limit: jb.pain_points(board, limit), pains),
    "moments-of-truth": (lambda jb, board, _: jb.moments_of_truth(board), moments),
    "paths": (lambda jb, board, limit: jb.paths(board, limit), paths),
    "repurchase": (lambda jb, board, limit: jb.repurchase(board, limit=limit), repurchase),
    "support": (lambda jb, board, _: jb.support_kpis(board), support),
    "stakeholders": (lambda jb, board, _: jb.stakeholder_grid(board), stakeholders),
}
