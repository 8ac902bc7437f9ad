"""Two browsers on one board, offline edits, rejections, roles, XSS and live insight."""

import asyncio
from typing import Any

import httpx

from client_sdk import AsyncJourneyboardClient
from tests.harness import RunningServer
from tests.web.conftest import Browser, make_user

XSS = "<img src=x onerror=alert(1)>"


async def shared_board(
    http: httpx.AsyncClient, server: RunningServer, roles: dict[str, str]
) -> str:
    made = await http.post("/api/boards", json={"title": "Live", "template": "customer-journey"})
    board = str(made.json()["id"])
    for user, role in roles.items():
        await server.accounts.set_role(board, user, role)
    return board


async def together(server: RunningServer, sign_in: Any, board: str, *users: str) -> list[Browser]:
    """Each user signed in on a page of their own, with `board` open."""
    pages = [await sign_in(user) for user in users]
    for page in pages:
        await page.open_board(server, board)
    return pages


async def node_box(b: Browser, node_id: str) -> dict[str, float]:
    box = await b.page.locator(f".node[data-id='{node_id}']").bounding_box()
    assert box is not None
    return dict(box)


async def test_a_node_created_dragged_relabelled_and_deleted_in_one_browser_shows_in_the_other(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, ben = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "editor", ben: "editor"})
    a, b = await together(server, sign_in, board, ana, ben)

    await a.page.click("text=Add node")
    node = await a.until("[...window.jb.flowchart.selection][0]")
    await b.page.locator(f".node[data-id='{node}']").wait_for()

    box = await node_box(a, node)
    before = await b.js(f"window.jb.replica.get('{node}').x")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await a.page.mouse.move(cx, cy)
    await a.page.mouse.down()
    for step in range(1, 11):
        await a.page.mouse.move(cx + 15 * step, cy + 5 * step)
    await a.page.mouse.up()
    await b.until(f"window.jb.replica.get('{node}').x !== {before}")

    await a.page.keyboard.press("Enter")
    await a.page.keyboard.type("Welcome email")
    await a.page.keyboard.press("Enter")
    label = b.page.locator(f".node[data-id='{node}'] .label")
    await label.filter(has_text="Welcome email").wait_for()

    await a.page.click(f".node[data-id='{node}']")
    await a.page.keyboard.press("Delete")
    await b.page.locator(f".node[data-id='{node}']").wait_for(state="detached")


async def test_each_browser_sees_the_others_cursor_and_roster_entry(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, ben = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "editor", ben: "viewer"})
    a, b = await together(server, sign_in, board, ana, ben)
    for me in (a, b):
        await me.page.mouse.move(500, 400)
        await me.page.mouse.move(520, 410)
    for me, other in ((a, ben), (b, ana)):
        await me.page.locator(f".roster-entry[data-user='{other}']").wait_for()
        await me.page.locator(f".cursor[data-user='{other}']").wait_for()


async def test_a_label_with_markup_is_shown_as_text(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, ben = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "editor", ben: "viewer"})
    a, b = await sign_in(ana), await sign_in(ben)
    dialogs: list[str] = []
    for page in (a.page, b.page):
        page.on("dialog", lambda d: dialogs.append(d.message))
    await a.open_board(server, board)
    await b.open_board(server, board)
    create = {
        "op": "create",
        "element": {"kind": "node", "id": "x1", "label": XSS, "x": 10, "y": 300},
    }
    await a.js("(op) => window.jb.intents.submit([op])", create)
    await b.page.locator(".node[data-id='x1']").wait_for()
    await b.page.click(".node[data-id='x1']")
    for page in (a.page, b.page):
        assert await page.locator("img").count() == 0
    text = await b.page.locator(".node[data-id='x1'] .label").text_content()
    assert text is not None and text.startswith("<img src=x")
    assert await b.page.locator("#details h3").text_content() == XSS
    await asyncio.sleep(0.3)
    assert dialogs == []


async def test_a_viewer_gets_no_editing_affordances_and_a_forced_edit_is_refused(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    viewer = await make_user(server)
    board = await shared_board(http, server, {viewer: "viewer"})
    v = await sign_in(viewer)
    await v.open_board(server, board)
    assert not await v.page.locator("text=Add node").is_visible()
    assert await v.page.locator(".grid-button").count() == 0
    assert await v.page.locator(".port").count() == 0
    create = {"op": "create", "element": {"kind": "node", "id": "forced", "label": "sneaky"}}
    await v.js("(op) => window.jb.intents.submit([op])", create)
    await v.page.locator(".toast.error", has_text="forbidden").wait_for()
    await v.until("!window.jb.replica.get('forced')")
    snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()
    assert "forced" not in {e["id"] for e in snapshot["elements"]}


async def test_a_rejected_edit_is_rolled_back_with_the_reason(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana = await make_user(server)
    board = await shared_board(http, server, {ana: "editor"})
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "node", "id": "n1", "label": "Checkout", "y": 300}}]})  # fmt: skip
    a = await sign_in(ana)
    await a.open_board(server, board)
    shown = await a.js(
        "() => { window.jb.intents.submit([{op: 'update', id: 'n1', set: {label: 'x'.repeat(300)}}]);"
        " return window.jb.replica.get('n1').label.length; }"
    )
    assert shown == 300, "applied optimistically at once"
    await a.page.locator(".toast.error", has_text="invalid").wait_for()
    await a.until("window.jb.replica.get('n1').label === 'Checkout'")
    await a.page.locator(".node[data-id='n1'] .label", has_text="Checkout").wait_for()


async def test_edits_made_offline_are_sent_on_reconnect_and_applied_once(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, ben = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "editor", ben: "viewer"})
    a, b = await together(server, sign_in, board, ana, ben)
    seq_before = (await http.get(f"/api/boards/{board}/snapshot")).json()["seq"]
    await a.context.set_offline(True)
    await a.page.locator("#connection.offline").wait_for()
    for i in range(3):
        create = {
            "op": "create",
            "element": {
                "kind": "node",
                "id": f"off{i}",
                "label": f"Offline {i}",
                "x": 200 * i,
                "y": 300,
            },
        }
        await a.js("(op) => window.jb.intents.submit([op])", create)
    await a.page.locator("#connection", has_text="3 queued").wait_for()
    assert await a.page.locator(".node[data-id^='off']").count() == 3, "shown while offline"
    await a.context.set_offline(False)
    for i in range(3):
        await b.page.locator(f".node[data-id='off{i}']").wait_for()
    await a.until("window.jb.connection.unanswered.size === 0")
    snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()
    assert snapshot["seq"] == seq_before + 3, "each queued edit committed exactly once"
    ids = [e["id"] for e in snapshot["elements"]]
    assert sorted(i for i in ids if i.startswith("off")) == ["off0", "off1", "off2"]
    await a.page.reload()
    await a.until("window.jb && window.jb.snapshots > 0")
    assert await a.page.locator(".node[data-id^='off']").count() == 3


async def test_the_emotion_lane_changes_while_a_script_imports_feedback(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana = await make_user(server)
    board = await shared_board(http, server, {ana: "viewer"})
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "node", "id": "ticket", "type": "touchpoint", "channel": "email",
                                     "label": "Support ticket", "stage": "stage-support-engagement"}}]})  # fmt: skip
    a = await sign_in(ana)
    await a.open_board(server, board)
    point = a.page.locator(".emotion-point[data-stage='stage-support-engagement']")
    assert await point.count() == 0
    token = http.headers["authorization"].split()[1]
    rows = [{"source": "survey", "external_id": f"r{i}", "touchpoint": "ticket", "scale": "csat",
             "score": 1 + i % 2} for i in range(40)]  # fmt: skip
    async with AsyncJourneyboardClient(server.url, token) as client:
        await client.import_feedback(board, rows)
    await point.wait_for()
    first = await point.get_attribute("data-mean")
    more = [{"source": "survey", "external_id": f"s{i}", "touchpoint": "ticket", "scale": "csat", "score": 5}
            for i in range(200)]  # fmt: skip
    async with AsyncJourneyboardClient(server.url, token) as client:
        await client.import_feedback(board, more)
    await a.until(
        "(m) => document.querySelector(\".emotion-point[data-stage='stage-support-engagement']\")"
        ".dataset.mean !== m",
        first,
    )
