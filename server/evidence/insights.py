"""Insight from aggregated evidence: pure functions of the board and the store's totals.

The store hands over one row per node, stage, customer or distinct path (never one per
record); everything here is arithmetic on those rows and the board's elements.
"""

import itertools
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from schemas.board import AnyElement, Edge, Node, Stage, Stakeholder
from schemas.insights import (
    Branch,
    CustomerTiming,
    EmotionCurve,
    MissingEdge,
    MomentOfTruth,
    MomentsOfTruth,
    NodeFlow,
    PainPoint,
    PainPoints,
    PathCount,
    Paths,
    Quote,
    Repurchase,
    Score,
    StakeholderGrid,
    StakeholderPlace,
    SupportKpis,
)
from server.evidence.records import PURCHASE_MARK, SCORE_FIELDS, TICK_DIGITS

Row = Mapping[str, Any]
DAY_MS = 86_400_000


def _labels(elements: Iterable[AnyElement]) -> dict[str, str]:
    return {e.id: e.label for e in elements}


def _merge(rows: Iterable[Row]) -> dict[str, float]:
    total = dict.fromkeys(SCORE_FIELDS, 0.0)
    for row in rows:
        for name in SCORE_FIELDS:
            total[name] += row.get(name) or 0
    return total


def score(element_id: str, label: str, totals: Mapping[str, float]) -> Score:
    """Means and a 95% confidence interval from sums (of x and x²) the store computed."""
    n, scored, answers = int(totals["feedback"]), int(totals["scored"]), int(totals["nps"])
    mean = ci = None
    if scored:
        mean = totals["norm"] / scored
        if scored > 1:
            variance = max(0.0, totals["norm2"] / scored - mean**2) * scored / (scored - 1)
            ci = 1.96 * math.sqrt(variance / scored)
    opinions = totals["opinion"]
    return Score(
        id=element_id,
        label=label,
        feedback=n,
        scored=scored,
        mean=mean,
        ci95=ci,
        sentiment=totals["sentiment"] / opinions if opinions else None,
        nps=(totals["promoter"] - totals["detractor"]) * 100 / answers if answers else None,
        nps_answers=answers,
        bad=int(totals["bad"]),
    )


def emotion_curve(
    elements: Sequence[AnyElement], by_node: Sequence[Row], by_stage_only: Sequence[Row]
) -> EmotionCurve:
    """Stages in board order, rolled up from their touchpoints' feedback plus feedback
    about the stage itself; a node belongs to the stage it is in now."""
    labels = _labels(elements)
    nodes = {e.id: e for e in elements if isinstance(e, Node)}
    stages = sorted((e for e in elements if isinstance(e, Stage)), key=lambda s: (s.order, s.id))
    in_stage: dict[str, list[Row]] = defaultdict(list)
    for row in by_node:
        node = nodes.get(row["_id"]) if row["_id"] else None
        if node is not None and node.stage:
            in_stage[node.stage].append(row)
    for row in by_stage_only:
        if row["_id"]:
            in_stage[row["_id"]].append(row)
    touchpoints = [
        score(row["_id"], labels.get(row["_id"], ""), _merge([row]))
        for row in by_node
        if row["_id"] in nodes
    ]
    place = {s.id: i for i, s in enumerate(stages)}

    def stage_then_volume(t: Score) -> tuple[int, int, str]:
        return place.get(nodes[t.id].stage or "", len(place)), -t.feedback, t.id

    return EmotionCurve(
        overall=score("*", "", _merge(by_node)),  # its null group holds the rest
        stages=[score(s.id, s.label, _merge(in_stage.get(s.id, []))) for s in stages],
        touchpoints=sorted(touchpoints, key=stage_then_volume),
    )


def ranked_pains(elements: Sequence[AnyElement], by_node: Sequence[Row]) -> list[Row]:
    """Node rows by summed badness, worst first: negativity times frequency."""
    nodes = {e.id for e in elements if isinstance(e, Node)}
    rows = [r for r in by_node if r["_id"] in nodes and r.get("pain")]
    return sorted(rows, key=lambda r: (-r["pain"], r["_id"]))


def pain_points(
    elements: Sequence[AnyElement], ranked: Sequence[Row], quotes: Mapping[str, Sequence[Row]]
) -> PainPoints:
    labels = _labels(elements)
    return PainPoints(
        items=[
            PainPoint(
                touchpoint=score(row["_id"], labels.get(row["_id"], ""), _merge([row])),
                pain=row["pain"],
                bad_share=row["bad"] / row["feedback"] if row["feedback"] else 0.0,
                quotes=[
                    Quote(
                        text=q["text"],
                        source=q["source"],
                        sentiment=q["sentiment"],
                        score=q.get("score"),
                        scale=q.get("scale"),
                    )
                    for q in sorted(quotes.get(row["_id"], []), key=lambda q: -q["pain"])[:3]
                ],
            )
            for row in ranked
        ]
    )


def moments_of_truth(
    elements: Sequence[AnyElement],
    experiences: Sequence[Row],
    purchases: Sequence[Row],
    min_customers: int,
) -> MomentsOfTruth:
    """For each touchpoint: do customers who had a good experience there become repeat
    buyers more often than those who had a bad one? The bigger the gap, the more it matters.

    A customer who had both counts on both sides.
    """
    labels = _labels(elements)
    marked = {e.id for e in elements if isinstance(e, Node) and e.type == "moment_of_truth"}
    repeat = {row["_id"] for row in purchases if row["_id"] and row["purchases"] >= 2}
    sides: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for row in experiences:
        if row["_id"]:
            node, outcome = row["_id"][:-1], row["_id"][-1]
            sides[node]["bad" if outcome == "-" else "good"] = list(set(row["customers"]) - {None})
    found = []
    for node, side in sides.items():
        good, bad = side.get("good", []), side.get("bad", [])
        if node not in labels or min(len(good), len(bad)) < min_customers:
            continue
        again_good = sum(c in repeat for c in good) / len(good)
        again_bad = sum(c in repeat for c in bad) / len(bad)
        found.append(
            MomentOfTruth(
                touchpoint=node,
                label=labels[node],
                marked=node in marked,
                customers_good=len(good),
                customers_bad=len(bad),
                bought_again_good=again_good,
                bought_again_bad=again_bad,
                impact=(again_good - again_bad) * 100,
            )
        )
    found.sort(key=lambda m: (-m.impact, m.touchpoint))
    confirmed = {m.touchpoint for m in found[:5] if m.impact >= 10}
    return MomentsOfTruth(
        suggested=found,
        marked_and_confirmed=sorted(marked & confirmed),
        marked_without_evidence=sorted(marked - confirmed),
        min_customers=min_customers,
    )


def _steps(row: Row) -> list[str]:
    """A grouped path: a list on MongoDB, a JSON string on the embedded store."""
    steps = row["_id"]
    return list(json.loads(steps) if isinstance(steps, str) else steps or [])


def paths(elements: Sequence[AnyElement], journeys: Sequence[Row], limit: int) -> Paths:
    """Frequent paths, what happens after each node, and moves the flowchart lacks."""
    labels = _labels(elements)
    edges = {(e.source, e.target) for e in elements if isinstance(e, Edge)}
    flows: dict[str, Counter[str]] = defaultdict(Counter)
    by_path: Counter[tuple[str, ...]] = Counter()
    bought_by_path: Counter[tuple[str, ...]] = Counter()
    moves: Counter[tuple[str, str]] = Counter()
    customers = 0
    for row in journeys:
        steps, n = _steps(row), row["customers"]
        customers += n
        nodes = [s.removesuffix(PURCHASE_MARK) for s in steps]
        bought_at = [i for i, s in enumerate(steps) if s.endswith(PURCHASE_MARK)]
        path = tuple(n for i, n in enumerate(nodes) if i == 0 or nodes[i - 1] != n)
        by_path[path] += n
        bought_by_path[path] += n if bought_at else 0
        for move in set(itertools.pairwise(path)):
            if move not in edges:
                moves[move] += n
        first_seen: dict[str, int] = {}
        for i, node in enumerate(nodes):
            first_seen.setdefault(node, i)
        for node, i in first_seen.items():
            flow = flows[node]
            flow["reached"] += n
            flow["converted"] += n if any(b >= i for b in bought_at) else 0
            flow["repurchased"] += n if any(b > i for b in bought_at) else 0
        if path and not bought_at:
            flows[path[-1]]["ended"] += n
    return Paths(
        customers=customers,
        paths=[
            PathCount(nodes=list(p), customers=n, purchased=bought_by_path[p])
            for p, n in sorted(by_path.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ],
        nodes=sorted(
            (_flow(node, labels.get(node, ""), flow) for node, flow in flows.items()),
            key=lambda f: (-f.reached, f.node),
        ),
        missing_edges=[
            MissingEdge(source=a, target=b, customers=n)
            for (a, b), n in sorted(moves.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ],
    )


def _flow(node: str, label: str, flow: Counter[str]) -> NodeFlow:
    reached = flow["reached"]
    return NodeFlow(
        node=node,
        label=label,
        reached=reached,
        ended_here=flow["ended"],
        drop_off=flow["ended"] / reached,
        conversion=flow["converted"] / reached,
        repurchase_after=flow["repurchased"] / reached,
    )


def repurchase(purchases: Sequence[Row], as_of: int, limit: int) -> Repurchase:
    """Each repeat customer's mean interval between purchases projects their next one."""
    timings = []
    for row in purchases:
        if row["_id"] is None or row["purchases"] < 2:
            continue
        interval = (row["last"] - row["first"]) / (row["purchases"] - 1)
        expected = int(row["last"] + interval)
        timings.append(
            CustomerTiming(
                customer=row["_id"],
                purchases=row["purchases"],
                interval_days=interval / DAY_MS,
                last_purchase=int(row["last"]),
                next_expected=expected,
                overdue_days=max(0.0, (as_of - expected) / DAY_MS),
            )
        )
    intervals = [t.interval_days for t in timings]
    overdue = sorted((t for t in timings if t.overdue_days > 0), key=lambda t: -t.overdue_days)
    return Repurchase(
        as_of=as_of,
        customers=sum(1 for row in purchases if row["_id"] is not None),
        repeat_customers=len(timings),
        median_interval_days=statistics.median(intervals) if intervals else None,
        mean_interval_days=statistics.fmean(intervals) if intervals else None,
        overdue=overdue[:limit],
        overdue_count=len(overdue),
    )


def support_kpis(
    elements: Sequence[AnyElement], timelines: Sequence[Row], satisfaction: Sequence[Row]
) -> SupportKpis:
    """Each customer's events are a ticket: first event opens it, the next one is the first
    response, reaching an `end` node resolves it; decisions branch along labelled edges."""
    nodes = {e.id: e for e in elements if isinstance(e, Node)}
    ends = {i for i, n in nodes.items() if n.type == "end"}
    labels = {(e.source, e.target): e.label for e in elements if isinstance(e, Edge)}
    happy = {row["_id"]: row["sum"] / row["n"] for row in satisfaction if row["n"]}
    responses, resolutions, scores = [], [], []
    resolved = 0
    branches: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, [], []])
    for row in timelines:
        ticks = sorted(row["ticks"])
        times, steps = [int(t[:TICK_DIGITS]) for t in ticks], [t[TICK_DIGITS:] for t in ticks]
        done = next((times[i] for i, n in enumerate(steps) if n in ends), None)
        if len(times) > 1:
            responses.append((times[1] - times[0]) / 60_000)
        if done is not None:
            resolved += 1
            resolutions.append((done - times[0]) / 60_000)
        mood = happy.get(row["_id"])
        if mood is not None:
            scores.append(mood)
        for here, there in set(itertools.pairwise(steps)):
            if nodes.get(here) is not None and nodes[here].type == "decision":
                tally = branches[here, there]
                tally[0] += 1
                tally[1] += done is not None
                if done is not None:
                    tally[2].append((done - times[0]) / 60_000)
                if mood is not None:
                    tally[3].append(mood)
    tickets = len(timelines)
    return SupportKpis(
        tickets=tickets,
        resolved_share=resolved / tickets if tickets else 0.0,
        median_response_minutes=_median(responses),
        median_resolution_minutes=_median(resolutions),
        satisfaction=statistics.fmean(scores) if scores else None,
        branches=[
            Branch(
                decision=here,
                label=labels.get((here, there), ""),
                target=there,
                tickets=count,
                resolved_share=done / count,
                median_resolution_minutes=_median(minutes),
                satisfaction=statistics.fmean(moods) if moods else None,
            )
            for (here, there), (count, done, minutes, moods) in sorted(branches.items())
        ],
    )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def stakeholder_grid(elements: Sequence[AnyElement], high: int = 6) -> StakeholderGrid:
    """Power (influence) against interest; `high` and above is the upper half."""
    labels = _labels(elements)
    quadrants: dict[str, list[StakeholderPlace]] = defaultdict(list)
    for e in elements:
        if not isinstance(e, Stakeholder):
            continue
        power, interest = e.influence >= high, e.interest >= high
        quadrant = (
            ("manage_closely" if interest else "keep_satisfied")
            if power
            else ("keep_informed" if interest else "monitor")
        )
        quadrants[quadrant].append(
            StakeholderPlace(
                id=e.id,
                label=e.label,
                influence=e.influence,
                interest=e.interest,
                touchpoints=[labels.get(t, t) for t in e.touchpoints],
                risks=list(e.risks),
            )
        )
    return StakeholderGrid(**{q: quadrants.get(q, []) for q in StakeholderGrid.__struct_fields__})
