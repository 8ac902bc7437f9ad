# ruff: noqa: E501, ASYNC110, ASYNC212 - a benchmark driver: long literals, polling a page, a blocking seeding client
"""The board page in headless Chromium: time to interactive, remote edit to screen, drag fps.

Run: `python -m bench.web` (needs /usr/bin/chromium and playwright). Prints JSON.
"""

import asyncio
import json
import statistics
from typing import Any

import httpx
from playwright.async_api import async_playwright

from bench.harness import machine, served

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PASSWORD = "bench-password-1"


def seed(client: httpx.Client, elements: int) -> str:
    """A customer-journey board with `elements` nodes and edges (about two nodes per edge)."""
    board = client.post(
        "/api/boards", json={"title": f"{elements}", "template": "customer-journey"}
    ).json()["id"]
    ops: list[dict[str, Any]] = []
    nodes = elements * 2 // 3
    for i in range(nodes):
        ops.append({"op": "create", "element": {"kind": "node", "id": f"n{i}", "label": f"Node {i}",
                    "type": "touchpoint", "channel": "web", "x": (i % 40) * 200, "y": 300 + (i // 40) * 90}})  # fmt: skip
    for i in range(elements - nodes):
        ops.append(
            {
                "op": "create",
                "element": {
                    "kind": "edge",
                    "id": f"e{i}",
                    "source": f"n{i}",
                    "target": f"n{i + 1}",
                },
            }
        )
    for start in range(0, len(ops), 1000):
        client.post(
            f"/api/boards/{board}/ops", json={"ops": ops[start : start + 1000]}
        ).raise_for_status()
    client.put(f"/api/boards/{board}/members/bench", json={"role": "editor"}).raise_for_status()
    return str(board)


async def measure(url: str, client: httpx.Client, board: str, page: Any) -> dict[str, float]:
    await page.goto(f"{url}/boards/{board}")
    interactive = await until(page, "window.jb && window.jb.interactiveMs")
    edits = []
    for i in range(5):
        before = await page.evaluate("window.jb.lastRender ? window.jb.lastRender.at : 0")
        client.patch(f"/api/boards/{board}/elements/n{i}", json={"set": {"label": f"edited {i}"}})
        await until(
            page,
            f"window.jb.lastRender && window.jb.lastRender.at > {before} && document.querySelector(\"[data-id='n{i}'] .label\").textContent === 'edited {i}'",
        )
        edits.append(await page.evaluate("window.jb.lastRender.at - window.jb.lastOpAt"))
    return {"interactive_ms": interactive, "remote_edit_ms_median": statistics.median(edits),
            **await drag_fps(page)}  # fmt: skip


async def drag_fps(page: Any) -> dict[str, float]:
    """Frames per second while a node follows the pointer: 120 moves, one per animation frame,
    dispatched in the page (CDP round trips per move would measure the driver, not the page).
    Also where the time went, per frame, from Chrome's own counters (CDP Performance)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    box = await page.locator(".node[data-id='n1']").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    before = await metrics(cdp)
    fps = await page.evaluate(
        """([x, y]) => new Promise((done) => {
          const svg = document.getElementById("canvas");
          let step = 0, started = performance.now();
          (function frame() {
            svg.dispatchEvent(new PointerEvent("pointermove", {clientX: x + step * 2, clientY: y + step,
              pointerId: 1, bubbles: true}));
            if (++step < 120) requestAnimationFrame(frame);
            else done(120 / ((performance.now() - started) / 1000));
          })();
        })""",
        [x, y],
    )
    after = await metrics(cdp)
    await page.mouse.up()
    await cdp.detach()
    per_frame = {
        f"drag_{name}_ms_per_frame": round(1000 * (after[key] - before[key]) / 120, 2)
        for name, key in (("script", "ScriptDuration"), ("style", "RecalcStyleDuration"),
                          ("layout", "LayoutDuration"), ("task", "TaskDuration"))
    }  # fmt: skip
    return {"drag_fps": round(fps, 1), **per_frame}


async def metrics(cdp: Any) -> dict[str, float]:
    answer = await cdp.send("Performance.getMetrics")
    return {m["name"]: m["value"] for m in answer["metrics"]}


async def until(page: Any, expression: str, within: float = 60) -> Any:
    async with asyncio.timeout(within):
        while not (value := await page.evaluate(expression)):
            await asyncio.sleep(0.02)
    return value


async def main() -> None:
    results: dict[str, Any] = {"machine": machine()}
    with served() as server:
        admin = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=120
        )
        admin.post("/api/users", json={"name": "bench", "password": PASSWORD}).raise_for_status()
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            await page.goto(f"{server.url}/login")
            await page.fill("input[name=name]", "bench")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button")
            await page.wait_for_url(f"{server.url}/")
            for size in (2000, 5000):
                results[f"{size}_elements"] = await measure(
                    server.url, admin, seed(admin, size), page
                )
            await browser.close()
        print(json.dumps(results, indent=2), flush=True)  # before the server's shutdown


if __name__ == "__main__":
    asyncio.run(main())
