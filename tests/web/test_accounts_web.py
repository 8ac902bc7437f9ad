"""Admins add accounts over REST; cookie writes from a foreign Origin are refused."""

import os
from pathlib import Path
from typing import Any

import httpx

from tests.harness import RunningServer, bearer, user_with_token
from tests.web.conftest import PASSWORD, make_user

SCREENSHOT = Path(__file__).parents[2] / "docs" / "screenshot.png"


async def test_an_admin_adds_a_user_who_can_then_sign_in(server: RunningServer) -> None:
    admin = await user_with_token(server.accounts, "root", admin=True)
    plain = await user_with_token(server.accounts, "plain")
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = {"name": "newbie", "password": PASSWORD}
        refused = await client.post("/api/users", json=body, headers=bearer(plain))
        assert refused.status_code == 403
        made = await client.post("/api/users", json=body, headers=bearer(admin))
        assert made.status_code == 201 and made.json()["token"].startswith("jb_")
        again = await client.post("/api/users", json=body, headers=bearer(admin))
        assert again.status_code == 409
        short = await client.post(
            "/api/users", json={"name": "x2", "password": "short"}, headers=bearer(admin)
        )
        assert short.status_code == 422
        login = await client.post("/api/login", json={"name": "newbie", "password": PASSWORD})
        assert login.status_code == 200


async def test_cookie_writes_from_a_foreign_origin_are_refused(server: RunningServer) -> None:
    user = await make_user(server)
    async with httpx.AsyncClient(base_url=server.url) as client:
        login = await client.post("/api/login", json={"name": user, "password": PASSWORD})
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        foreign = await client.post(
            "/api/boards", json={"title": "x"}, headers=headers | {"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        own = await client.post(
            "/api/boards", json={"title": "x"}, headers=headers | {"Origin": server.url}
        )
        assert own.status_code == 201


async def test_screenshot_of_a_seeded_journey_board(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any, tmp_path: Path
) -> None:
    """Writes docs/screenshot.png when JB_SCREENSHOT=1 (the README shows it)."""
    user = await make_user(server)
    board = (
        await http.post(
            "/api/boards", json={"title": "Onboarding journey", "template": "customer-journey"}
        )
    ).json()["id"]
    await server.accounts.set_role(board, user, "editor")
    stages = [
        "awareness",
        "interest-research",
        "consideration",
        "decision-purchase",
        "post-purchase",
        "support-engagement",
    ]
    kinds = [("ad", "touchpoint", "social", "Sees an ad"), ("site", "touchpoint", "web", "Reads reviews"),
             ("compare", "decision", None, "Worth it?"), ("buy", "moment_of_truth", "web", "Checkout"),
             ("mail", "touchpoint", "email", "Welcome email"), ("help", "pain_point", "phone", "Waits on hold")]  # fmt: skip
    ops: list[dict[str, Any]] = []
    for i, (node, kind, channel, label) in enumerate(kinds):
        element = {"kind": "node", "id": node, "type": kind, "label": label, "stage": f"stage-{stages[i]}",
                   "lane": "lane-touchpoints", "x": 300 * i + 70, "y": 118 + (120 if kind == "decision" else 0)}  # fmt: skip
        ops.append({"op": "create", "element": element | ({"channel": channel} if channel else {})})
    for a, b, label in [("ad", "site", ""), ("site", "compare", ""), ("compare", "buy", "yes"),
                        ("compare", "site", "no"), ("buy", "mail", ""), ("mail", "help", "")]:  # fmt: skip
        ops.append(
            {
                "op": "create",
                "element": {
                    "kind": "edge",
                    "id": f"{a}-{b}",
                    "source": a,
                    "target": b,
                    "label": label,
                },
            }
        )
    await http.post(f"/api/boards/{board}/ops", json={"ops": ops})
    feedback = [{"source": "survey", "external_id": f"f{i}", "touchpoint": t, "scale": "csat", "score": s}
                for i, (t, s) in enumerate([("ad", 4), ("site", 4), ("buy", 5), ("mail", 3), ("help", 1)] * 20)]  # fmt: skip
    await http.post(f"/api/boards/{board}/feedback", json=feedback)
    me = await sign_in(user)
    await me.open_board(server, board)
    await me.page.locator(".emotion-point").first.wait_for()
    target = SCREENSHOT if os.environ.get("JB_SCREENSHOT") == "1" else tmp_path / "board.png"
    await me.page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
