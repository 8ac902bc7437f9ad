"""Signing in and out, the board list, and what a stranger's board looks like."""

from typing import Any

import httpx

from tests.harness import RunningServer, bearer, user_with_token
from tests.web.conftest import make_user


async def test_sign_in_lists_my_boards_with_role_and_sign_out_returns_to_login(
    server: RunningServer, sign_in: Any
) -> None:
    user = await make_user(server)
    me = await sign_in(user)
    await me.page.fill("input[aria-label='board title']", "Onboarding journey")
    await me.page.select_option("select[aria-label=template]", "customer-journey")
    await me.page.click("text=Create board")
    await me.page.wait_for_url(f"{server.url}/boards/*")
    await me.until("window.jb && window.jb.snapshots > 0")
    assert await me.page.locator(".stage-label").count() == 8
    await me.page.goto(f"{server.url}/")
    row = me.page.locator(".board-row", has_text="Onboarding journey")
    await row.locator(".role", has_text="owner").wait_for()
    await me.page.click("#sign-out")
    await me.page.wait_for_url(f"{server.url}/login")
    await me.page.goto(f"{server.url}/")
    assert me.page.url == f"{server.url}/login"


async def test_a_board_that_is_not_mine_is_a_404_page(server: RunningServer, sign_in: Any) -> None:
    token = await user_with_token(server.accounts, "stranger")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as other:
        theirs = (await other.post("/api/boards", json={"title": "Private"})).json()["id"]
    me = await sign_in(await make_user(server))
    response = await me.page.goto(f"{server.url}/boards/{theirs}")
    assert response.status == 404
    assert "Not found" in await me.page.inner_text("h1")
    assert "Private" not in await me.page.content()


async def test_pages_carry_a_strict_content_security_policy(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        page = await anonymous.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text and "style=" not in page.text
