"""A real browser (Debian's chromium, driven by Playwright) against the real server."""

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.auth import hash_password
from server.store.accounts import UserExists, UserRecord
from tests.harness import RunningServer

CHROMIUM = Path(os.environ.get("JB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"

if not CHROMIUM.exists():
    pytest.skip(
        f"no chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
        "(or set JB_CHROMIUM to a Chromium binary)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def make_user(server: RunningServer, admin: bool = False) -> str:
    """A fresh user who can sign in with PASSWORD."""
    name = f"u{secrets.token_hex(4)}"
    with contextlib.suppress(UserExists):
        await server.accounts.add_user(
            UserRecord(name=name, admin=admin, password_hash=hash_password(PASSWORD))
        )
    return name


class Browser:
    """One signed-in browser context with its page; page errors fail the test."""

    def __init__(self, context: Any, page: Any, user: str) -> None:
        self.context, self.page, self.user = context, page, user
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def open_board(self, server: RunningServer, board_id: str) -> None:
        await self.page.goto(f"{server.url}/boards/{board_id}")
        await self.until("window.jb && window.jb.snapshots > 0")

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def until(self, expression: str, arg: Any = None, within: float = 10) -> Any:
        """Poll `expression` (page.evaluate bypasses the CSP; wait_for_function cannot)."""
        async with asyncio.timeout(within):
            while not (value := await self.page.evaluate(expression, arg)):  # noqa: ASYNC110 - polling a page
                await asyncio.sleep(0.05)
        return value


@pytest.fixture
async def sign_in(browser: Any, server: RunningServer) -> AsyncIterator[Any]:
    """sign_in(user) -> a Browser signed in as `user` through the /login page."""
    opened: list[Browser] = []

    async def open_as(user: str) -> Browser:
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        signed = Browser(context, page, user)
        opened.append(signed)
        await page.goto(f"{server.url}/login")
        await page.fill("input[name=name]", user)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button")
        await page.wait_for_url(f"{server.url}/")
        return signed

    yield open_as
    for signed in opened:
        # Bounded: a tab's last websocket close must not hold the whole run (seen once, in
        # parallel runs on a loaded machine); the browser reaps the context either way.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await signed.context.close()
    for signed in opened:
        assert not signed.errors, signed.errors
