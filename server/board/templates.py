"""Starter boards: each template is a batch of ops, so it goes through the same rules."""

import re
from typing import Any

from schemas.api import Template
from schemas.board import Edge, Lane, Node, Stage
from schemas.ops import BoardOp, Create

JOURNEY_STAGES = (
    "Awareness",
    "Interest & research",
    "Consideration",
    "Decision & purchase",
    "Post-purchase",
    "Support & engagement",
    "Retention & loyalty",
    "Advocacy & referral",
)
JOURNEY_LANES = (
    ("Touchpoints", "touchpoints"),
    ("Emotions", "emotions"),
    ("Pain points", "pain_points"),
    ("Opportunities", "opportunities"),
    ("Moments of truth", "moments_of_truth"),
)


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _stages(labels: tuple[str, ...]) -> list[BoardOp]:
    return [
        Create(element=Stage(id=f"stage-{_slug(label)}", label=label, x=300.0 * i))
        for i, label in enumerate(labels)
    ]


def _lanes(lanes: tuple[tuple[str, Any], ...]) -> list[BoardOp]:
    return [
        Create(
            element=Lane(id=f"lane-{role.replace('_', '-')}", label=label, role=role, y=200.0 * i)
        )
        for i, (label, role) in enumerate(lanes)
    ]


def _flow(
    nodes: list[tuple[str, str, str, dict[str, Any]]], edges: list[tuple[str, str, str]]
) -> list[BoardOp]:
    """Nodes as (id, type, label, extra properties) laid out left to right, then edges."""
    ops: list[BoardOp] = [
        Create(element=Node(id=node_id, type=kind, label=label, x=220.0 * i, y=400.0, **extra))  # type: ignore[arg-type]
        for i, (node_id, kind, label, extra) in enumerate(nodes)
    ]
    ops += [
        Create(element=Edge(id=f"{source}--{target}", source=source, target=target, label=label))
        for source, target, label in edges
    ]
    return ops


def customer_journey() -> list[BoardOp]:
    return _stages(JOURNEY_STAGES) + _lanes(JOURNEY_LANES)


def support_flowchart() -> list[BoardOp]:
    stage = {"stage": "stage-support-engagement"}
    kpi = {"lane": "lane-kpis"}
    return [
        *_stages(("Support & engagement", "Follow-up")),
        *_lanes((("Customer", "actions"), ("Support team", "backstage"), ("KPIs", "kpis"))),
        *_flow(
            [
                ("problem", "start", "Customer has a problem", stage),
                ("contact", "touchpoint", "Contacts support", {"channel": "chat", **stage}),
                ("self-service", "decision", "Answered by help centre?", stage),
                ("triage", "step", "Agent triages the query", stage),
                ("first-contact", "decision", "Resolved on first contact?", stage),
                ("escalate", "step", "Escalate to a specialist", stage),
                ("resolution", "moment_of_truth", "Resolution confirmed", stage),
                ("survey", "touchpoint", "Satisfaction survey", {"channel": "email"}),
                ("done", "end", "Query closed", {}),
                (
                    "kpi-response",
                    "note",
                    "First response time",
                    {"data": {"kpi": "first_response_minutes", "target": 60}, **kpi},
                ),
                (
                    "kpi-resolution",
                    "note",
                    "Resolution time",
                    {"data": {"kpi": "resolution_hours", "target": 24}, **kpi},
                ),
                (
                    "kpi-csat",
                    "note",
                    "Satisfaction (CSAT)",
                    {"data": {"kpi": "csat", "target": 4.5}, **kpi},
                ),
                (
                    "kpi-resolved",
                    "note",
                    "Queries resolved",
                    {"data": {"kpi": "resolved_share", "target": 0.9}, **kpi},
                ),
            ],
            [
                ("problem", "contact", ""),
                ("contact", "self-service", ""),
                ("self-service", "done", "yes"),
                ("self-service", "triage", "no"),
                ("triage", "first-contact", ""),
                ("first-contact", "resolution", "yes"),
                ("first-contact", "escalate", "no"),
                ("escalate", "resolution", ""),
                ("resolution", "survey", ""),
                ("survey", "done", ""),
            ],
        ),
    ]


def repurchase_flowchart() -> list[BoardOp]:
    return [
        *_stages(("Decision & purchase", "Post-purchase", "Retention & loyalty")),
        *_lanes((("Touchpoints", "touchpoints"), ("Opportunities", "opportunities"))),
        *_flow(
            [
                ("purchase", "touchpoint", "Purchase", {"channel": "web"}),
                ("delivered", "step", "Order delivered", {}),
                ("follow-up", "touchpoint", "Follow-up email", {"channel": "email"}),
                ("satisfied", "moment_of_truth", "Satisfied with the purchase?", {}),
                ("issue", "pain_point", "Issue raised", {}),
                ("support", "touchpoint", "Support resolves the issue", {"channel": "phone"}),
                ("rewards", "opportunity", "Loyalty rewards", {}),
                ("offer", "opportunity", "Personalised offer", {"channel": "email"}),
            ],
            [
                ("purchase", "delivered", ""),
                ("delivered", "follow-up", ""),
                ("follow-up", "satisfied", ""),
                ("satisfied", "rewards", "yes"),
                ("satisfied", "issue", "no"),
                ("issue", "support", ""),
                ("support", "rewards", ""),
                ("rewards", "offer", ""),
                ("offer", "purchase", "re-purchase"),
            ],
        ),
    ]


TEMPLATES = {
    "customer-journey": customer_journey,
    "support-flowchart": support_flowchart,
    "repurchase-flowchart": repurchase_flowchart,
}


def template_ops(template: Template | None) -> list[BoardOp]:
    """The ops that seed a new board (none for an empty one)."""
    return TEMPLATES[template]() if template else []
