"""Insight from generated evidence whose answer is planted, checked against Python references."""

import itertools
import random
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.harness import RunningServer, bearer, user_with_token

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01
STAGES = ["aware", "buy", "help", "loyal"]
NODES = {  # id: (stage, type)
    "ad": ("aware", "touchpoint"),
    "site": ("aware", "touchpoint"),
    "cart": ("buy", "touchpoint"),
    "pay": ("buy", "touchpoint"),
    "ticket": ("help", "touchpoint"),
    "call": ("help", "moment_of_truth"),
    "reorder": ("loyal", "touchpoint"),
}
EDGES = [
    ("ad", "site"),
    ("site", "cart"),
    ("cart", "pay"),
    ("pay", "ticket"),
    ("ticket", "reorder"),
]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def board_with(http: httpx.AsyncClient, ops: list[dict[str, Any]]) -> str:
    board = (await http.post("/api/boards", json={"title": "Insight"})).json()["id"]
    for start in range(0, len(ops), 500):
        response = await http.post(
            f"/api/boards/{board}/ops", json={"ops": ops[start : start + 500]}
        )
        assert response.status_code == 200, response.text
    return str(board)


def journey_ops() -> list[dict[str, Any]]:
    ops = [
        {"op": "create", "element": {"kind": "stage", "id": s, "label": s.title()}} for s in STAGES
    ]
    ops += [
        {
            "op": "create",
            "element": {"kind": "node", "id": n, "label": n.title(), "stage": s, "type": t},
        }
        for n, (s, t) in NODES.items()
    ]
    ops += [
        {"op": "create", "element": {"kind": "edge", "id": f"{a}-{b}", "source": a, "target": b}}
        for a, b in EDGES
    ]
    return ops


async def send(
    http: httpx.AsyncClient, board: str, kind: str, records: list[dict[str, Any]]
) -> None:
    response = await http.post(f"/api/boards/{board}/{kind}", json=records)
    report = response.json()
    assert report["rejected"] == 0, report["errors"][:3]


async def insight(http: httpx.AsyncClient, board: str, kind: str, **params: Any) -> Any:
    response = await http.get(f"/api/boards/{board}/insights/{kind}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def surveyed(http: httpx.AsyncClient) -> tuple[str, list[dict[str, Any]]]:
    """A journey with 1,500 survey answers; `call` is made bad on purpose."""
    rng = random.Random(7)
    board = await board_with(http, journey_ops())
    records = []
    for i in range(1500):
        node = rng.choice(list(NODES))
        bad = node == "call"
        scale = rng.choice(["csat", "nps", "rating"])
        score = (
            {"csat": (1, 2), "rating": (1, 2), "nps": (0, 4)}[scale]
            if bad
            else {"csat": (4, 5), "rating": (3, 5), "nps": (7, 10)}[scale]
        )
        records.append({
            "source": "survey", "external_id": str(i), "touchpoint": node, "scale": scale,
            "score": rng.randint(*score), "customer": f"c{i % 300}",
            "text": "awful, rude and useless" if bad else rng.choice(["", "great, quick", "fine"]),
        })  # fmt: skip
    records += [
        {"source": "review", "external_id": f"s{i}", "stage": "loyal", "scale": "nps", "score": 10}
        for i in range(20)
    ]
    await send(http, board, "feedback", records)
    return board, records


def normalised(record: dict[str, Any]) -> float:
    low, high = {"nps": (0, 10), "csat": (1, 5), "rating": (1, 5), "ces": (1, 7)}[record["scale"]]
    return float((record["score"] - low) / (high - low) * 100)


async def test_the_emotion_curve_matches_a_python_reference(
    http: httpx.AsyncClient, surveyed: tuple[str, list[dict[str, Any]]]
) -> None:
    board, records = surveyed
    curve = await insight(http, board, "emotion")
    stage_of = {r["external_id"]: r.get("stage") or NODES[r["touchpoint"]][0] for r in records}
    for stage in curve["stages"]:
        mine = [r for r in records if stage_of[r["external_id"]] == stage["id"]]
        assert stage["feedback"] == len(mine)
        assert stage["mean"] == pytest.approx(statistics.fmean(map(normalised, mine)))
        nps = [r["score"] for r in mine if r["scale"] == "nps"]
        expected = (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) * 100 / len(nps)
        assert stage["nps"] == pytest.approx(expected) and stage["nps_answers"] == len(nps)
    assert [s["id"] for s in curve["stages"]] == STAGES, "stages in board order"
    call = next(t for t in curve["touchpoints"] if t["id"] == "call")
    scores = [normalised(r) for r in records if r.get("touchpoint") == "call"]
    assert call["ci95"] == pytest.approx(1.96 * statistics.stdev(scores) / len(scores) ** 0.5)
    assert call["sentiment"] < -0.5
    assert curve["overall"]["feedback"] == len(records)


async def test_a_touchpoint_made_bad_on_purpose_tops_the_pain_points(
    http: httpx.AsyncClient, surveyed: tuple[str, list[dict[str, Any]]]
) -> None:
    board, _ = surveyed
    pains = (await insight(http, board, "pain-points", limit=3))["items"]
    assert pains[0]["touchpoint"]["id"] == "call"
    assert len(pains) == 3 and pains[0]["bad_share"] == 1.0
    assert pains[0]["quotes"] and all("awful" in q["text"] for q in pains[0]["quotes"])


Shopped = tuple[str, dict[str, float], dict[str, list[str]]]


@pytest.fixture
async def shopped(http: httpx.AsyncClient) -> Shopped:
    """400 customers: most take the planted path; each repeat buyer has a planted interval;
    a bad `ticket` experience stops re-purchase, a good one does not."""
    rng = random.Random(11)
    board = await board_with(http, journey_ops())
    events, feedback, intervals, paths = [], [], {}, {}
    for c in range(400):
        customer, at = f"c{c}", T0 + c * 1000
        path = (
            ["ad", "site", "cart", "pay"]
            if c % 10 < 6
            else rng.choice([["site", "pay"], ["ad", "cart"], ["site", "cart", "pay"]])
        )
        for step, node in enumerate(path):
            value = 20.0 if node == "pay" else None
            events.append(
                {
                    "customer": customer,
                    "touchpoint": node,
                    "at": iso(at + step * 60_000),
                    "value": value,
                }
            )
        bad_ticket = c % 3 == 0
        feedback.append(
            {
                "source": "support",
                "external_id": customer,
                "customer": customer,
                "touchpoint": "ticket",
                "scale": "csat",
                "score": 1 if bad_ticket else 5,
                "at": iso(at + DAY),
            }
        )
        if not bad_ticket:
            intervals[customer] = gap = (10 + c % 7 * 5) * DAY
            for k in range(1, 4):
                events.append(
                    {
                        "customer": customer,
                        "touchpoint": "reorder",
                        "at": iso(at + k * gap),
                        "value": 30.0,
                    }
                )
        paths[customer] = path if bad_ticket else [*path, "reorder"]
    await send(http, board, "events", events)
    await send(http, board, "feedback", feedback)
    return board, intervals, paths


async def test_the_planted_path_is_the_most_frequent_and_missing_edges_are_found(
    http: httpx.AsyncClient, shopped: Shopped
) -> None:
    board, _, paths = shopped
    found = await insight(http, board, "paths", limit=5)
    assert found["customers"] == 400
    reference = Counter(tuple(p) for p in paths.values())
    planted = ("ad", "site", "cart", "pay", "reorder")
    assert reference.most_common(1)[0][0] == planted
    assert [(tuple(p["nodes"]), p["customers"]) for p in found["paths"]] == reference.most_common(5)
    missing = {(m["source"], m["target"]) for m in found["missing_edges"]}
    moves = {move for p in paths.values() for move in itertools.pairwise(p)}
    assert missing == moves - set(EDGES)
    assert {("site", "pay"), ("ad", "cart"), ("pay", "reorder")} <= missing
    flows = {f["node"]: f for f in found["nodes"]}
    reached_cart = [p for p in paths.values() if "cart" in p]
    assert flows["cart"]["reached"] == len(reached_cart)
    assert flows["cart"]["drop_off"] == pytest.approx(
        sum(p[-1] == "cart" for p in reached_cart) / len(reached_cart)
    )
    assert flows["pay"]["conversion"] == 1.0


async def test_planted_purchase_intervals_are_recovered_within_ten_percent(
    http: httpx.AsyncClient, shopped: Shopped
) -> None:
    board, intervals, paths = shopped
    as_of = T0 + 400 * DAY
    found = await insight(http, board, "repurchase", as_of=as_of, limit=200)
    assert found["repeat_customers"] == len(intervals)
    expected_median = statistics.median(intervals.values()) / DAY
    assert found["median_interval_days"] == pytest.approx(expected_median, rel=0.1)
    assert len(found["overdue"]) == min(200, len(intervals))
    for timing in found["overdue"]:
        assert timing["interval_days"] == pytest.approx(
            intervals[timing["customer"]] / DAY, rel=0.1
        )
        assert timing["overdue_days"] > 0
    assert found["overdue_count"] == len(intervals), "every planted buyer stopped long ago"
    after_pay = next(
        f for f in (await insight(http, board, "paths"))["nodes"] if f["node"] == "pay"
    )
    through_pay = [c for c, p in paths.items() if "pay" in p]
    share = sum(c in intervals for c in through_pay) / len(through_pay)
    assert after_pay["repurchase_after"] == pytest.approx(share), "bought again after paying"


async def test_a_planted_moment_of_truth_is_suggested_and_the_marked_one_questioned(
    http: httpx.AsyncClient, shopped: Shopped
) -> None:
    board, _, _ = shopped
    found = await insight(http, board, "moments-of-truth", min_customers=20)
    top = found["suggested"][0]
    assert top["touchpoint"] == "ticket"
    assert (top["bought_again_good"], top["bought_again_bad"]) == (1.0, 0.0)
    assert top["impact"] == 100.0 and not top["marked"]
    assert found["marked_without_evidence"] == ["call"]


async def test_support_kpis_per_decision_branch(http: httpx.AsyncClient) -> None:
    nodes = [
        ("open", "start"),
        ("triage", "decision"),
        ("fix", "step"),
        ("escalate", "step"),
        ("done", "end"),
    ]
    ops = [
        {"op": "create", "element": {"kind": "node", "id": n, "label": n, "type": t}}
        for n, t in nodes
    ]
    ops += [
        {
            "op": "create",
            "element": {"kind": "edge", "id": f"{a}-{b}", "source": a, "target": b, "label": label},
        }
        for a, b, label in [
            ("open", "triage", ""),
            ("triage", "fix", "simple"),
            ("triage", "escalate", "complex"),
            ("fix", "done", ""),
            ("escalate", "done", ""),
        ]
    ]
    board = await board_with(http, ops)
    events, feedback = [], []
    for t in range(40):
        ticket, at = f"t{t}", T0 + t * DAY
        simple = t % 4 != 0
        route = ["open", "triage", "fix", "done"] if simple else ["open", "triage", "escalate"]
        minutes = [0, 10, 30, 60] if simple else [0, 20, 300]
        if not simple and t % 8 == 0:
            route, minutes = [*route, "done"], [*minutes, 600]
        events += [
            {"customer": ticket, "touchpoint": n, "at": iso(at + m * 60_000)}
            for n, m in zip(route, minutes, strict=True)
        ]
        feedback.append(
            {
                "source": "support",
                "external_id": ticket,
                "customer": ticket,
                "scale": "csat",
                "score": 5 if simple else 2,
            }
        )
    await send(http, board, "events", events)
    await send(http, board, "feedback", feedback)
    kpis = await insight(http, board, "support")
    assert kpis["tickets"] == 40
    assert kpis["resolved_share"] == pytest.approx((30 + 5) / 40)
    assert kpis["median_response_minutes"] == 10
    branches = {b["label"]: b for b in kpis["branches"]}
    assert (branches["simple"]["tickets"], branches["complex"]["tickets"]) == (30, 10)
    assert branches["simple"]["median_resolution_minutes"] == 60
    assert branches["complex"]["resolved_share"] == 0.5
    assert branches["simple"]["satisfaction"] == 100 and branches["complex"]["satisfaction"] == 25


async def test_stakeholders_land_in_their_power_interest_quadrant(http: httpx.AsyncClient) -> None:
    people = {"ceo": (9, 9), "regulator": (9, 2), "users": (2, 9), "press": (2, 2)}
    ops = [{"op": "create", "element": {"kind": "node", "id": "pay", "label": "Payment"}}]
    ops += [
        {"op": "create", "element": {"kind": "stakeholder", "id": k, "label": k, "influence": p,
                                     "interest": i, "touchpoints": ["pay"], "risks": ["churn"]}}
        for k, (p, i) in people.items()
    ]  # fmt: skip
    grid = await insight(http, await board_with(http, ops), "stakeholders")
    assert {q: [s["id"] for s in grid[q]] for q in grid} == {
        "manage_closely": ["ceo"], "keep_satisfied": ["regulator"],
        "keep_informed": ["users"], "monitor": ["press"],
    }  # fmt: skip
    assert grid["manage_closely"][0]["touchpoints"] == ["Payment"]


async def test_insights_need_board_access(http: httpx.AsyncClient, server: RunningServer) -> None:
    board = await board_with(http, journey_ops())
    stranger = bearer(await user_with_token(server.accounts, "insight-stranger"))
    response = await http.get(f"/api/boards/{board}/insights/emotion", headers=stranger)
    assert response.status_code == 404
    bad = await http.get(f"/api/boards/{board}/insights/paths", params={"limit": "$gt"})
    assert bad.status_code == 422
