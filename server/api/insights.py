"""Insight routes: what the board's feedback and events say, computed in the database."""

import asyncio
from typing import Annotated

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from schemas.board import AnyElement
from schemas.insights import (
    EmotionCurve,
    MomentsOfTruth,
    PainPoints,
    Paths,
    Repurchase,
    StakeholderGrid,
    SupportKpis,
)
from server.api.boards import open_board
from server.api.errors import convert
from server.api.routing import Endpoint, json_response
from server.api.services import services
from server.clock import now_ms
from server.evidence import insights
from server.store.evidence import Evidence


class InsightQuery(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Options shared by the insight routes; each uses the ones that apply to it."""

    limit: Annotated[int, Meta(ge=1, le=200)] = 10
    min_customers: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    as_of: Annotated[int, Meta(ge=0, le=2**53)] | None = None


async def _open(request: Request) -> tuple[str, list[AnyElement], Evidence, InsightQuery]:
    """The board (viewer or above), its elements now, the evidence store and the options."""
    board = await open_board(request)
    state, _ = await board.handle.read()
    query = convert(dict(request.query_params), InsightQuery)
    elements = list(state.elements.values())
    return board.record.id, elements, services(request).evidence, query


async def emotion_curve(request: Request) -> Response:
    board, elements, evidence, _ = await _open(request)
    by_node, by_stage = await asyncio.gather(
        evidence.scores(board, "node"), evidence.scores(board, "stage", {"node": None})
    )
    return json_response(insights.emotion_curve(elements, by_node, by_stage))


async def pain_points(request: Request) -> Response:
    board, elements, evidence, query = await _open(request)
    ranked = insights.ranked_pains(elements, await evidence.scores(board, "node"))[: query.limit]
    quotes = await asyncio.gather(*(evidence.quotes(board, row["_id"]) for row in ranked))
    by_node = {row["_id"]: found for row, found in zip(ranked, quotes, strict=True)}
    return json_response(insights.pain_points(elements, ranked, by_node))


async def moments_of_truth(request: Request) -> Response:
    board, elements, evidence, query = await _open(request)
    experiences, purchases = await asyncio.gather(
        evidence.experiences(board), evidence.purchases(board)
    )
    found = insights.moments_of_truth(elements, experiences, purchases, query.min_customers)
    return json_response(found)


async def paths(request: Request) -> Response:
    board, elements, evidence, query = await _open(request)
    return json_response(insights.paths(elements, await evidence.journeys(board), query.limit))


async def repurchase(request: Request) -> Response:
    board, _, evidence, query = await _open(request)
    as_of = query.as_of if query.as_of is not None else now_ms()
    return json_response(insights.repurchase(await evidence.purchases(board), as_of, query.limit))


async def support(request: Request) -> Response:
    board, elements, evidence, _ = await _open(request)
    timelines, satisfaction = await asyncio.gather(
        evidence.timelines(board), evidence.satisfaction(board, "support")
    )
    return json_response(insights.support_kpis(elements, timelines, satisfaction))


async def stakeholders(request: Request) -> Response:
    _, elements, _, _ = await _open(request)
    return json_response(insights.stakeholder_grid(elements))


INSIGHTS = "/api/boards/{board_id}/insights"
ENDPOINTS = [
    Endpoint(
        "GET",
        f"{INSIGHTS}/emotion",
        emotion_curve,
        "Emotion curve: mean score, sentiment and NPS per stage and touchpoint",
        response=EmotionCurve,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/pain-points",
        pain_points,
        "Touchpoints ranked by how bad and how frequent their feedback is, with quotes",
        response=PainPoints,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/moments-of-truth",
        moments_of_truth,
        "Touchpoints whose experience most changes whether customers buy again",
        response=MomentsOfTruth,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/paths",
        paths,
        "The paths customers take, drop-off and conversion per node, missing edges",
        response=Paths,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/repurchase",
        repurchase,
        "Re-purchase intervals and overdue customers (after each touchpoint: see paths)",
        response=Repurchase,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/support",
        support,
        "Support flowchart KPIs: response, resolution, satisfaction, per decision branch",
        response=SupportKpis,
        query=InsightQuery,
    ),
    Endpoint(
        "GET",
        f"{INSIGHTS}/stakeholders",
        stakeholders,
        "Stakeholders on the power-interest grid with their touchpoints and risks",
        response=StakeholderGrid,
        query=InsightQuery,
    ),
]
