"""The side panels and views in a real browser: team, exports, stakeholders, comments."""

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx

from tests.harness import RunningServer, bearer, user_with_token
from tests.web.conftest import Browser, make_user
from tests.web.test_live import shared_board


async def downloaded(b: Browser, button: str) -> str:
    """Click an export button and return the text of the file it downloads."""
    async with b.page.expect_download() as info:
        await b.page.locator("#export button", has_text=button).click()
    download = await info.value
    path = await download.path()
    return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")


async def member_status(server: RunningServer, board: str, user: str) -> tuple[int, int]:
    """What `user` gets over REST: reading the board, and adding a node to it."""
    token = await user_with_token(server.accounts, user)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as them:
        read = await them.get(f"/api/boards/{board}")
        write = await them.post(f"/api/boards/{board}/ops", json={"ops": [
            {"op": "create", "element": {"kind": "node", "id": "probe", "label": "probe"}}]})  # fmt: skip
    return read.status_code, write.status_code


async def test_an_owner_invites_a_teammate_changes_their_role_and_removes_them(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, ben = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "owner"})
    a = await sign_in(ana)
    await a.open_board(server, board)
    assert await member_status(server, board, ben) == (404, 404)

    await a.page.click(".tab-team")
    await a.page.fill("input[aria-label='invite user']", ben)
    await a.page.select_option("select[aria-label='invite role']", "viewer")
    await a.page.click("form.invite button")
    role = a.page.locator(f"select[aria-label='role of {ben}']")
    await role.wait_for()
    assert await role.input_value() == "viewer"
    assert await server.accounts.role(board, ben) == "viewer"
    assert await member_status(server, board, ben) == (200, 403)

    await role.select_option("editor")
    async with asyncio.timeout(10):
        while await server.accounts.role(board, ben) != "editor":  # noqa: ASYNC110 - PUT on its way
            await asyncio.sleep(0.05)
    assert await member_status(server, board, ben) == (200, 200)

    await a.page.locator(f".member[data-user='{ben}'] button", has_text="Remove").click()
    await a.page.locator(f".member[data-user='{ben}']").wait_for(state="detached")
    assert await server.accounts.role(board, ben) is None
    assert await member_status(server, board, ben) == (404, 404)


async def test_exports_from_the_page_hold_the_board(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana = await make_user(server)
    board = await shared_board(http, server, {ana: "viewer"})
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "node", "id": "visit", "label": "Visit the shop", "y": 300}},
        {"op": "create", "element": {"kind": "node", "id": "sum", "label": "=1+1", "type": "decision", "x": 300, "y": 300}},
        {"op": "create", "element": {"kind": "edge", "id": "e1", "source": "visit", "target": "sum", "label": "yes"}},
    ]})  # fmt: skip
    a = await sign_in(ana)
    await a.open_board(server, board)
    await a.page.click(".tab-export")
    snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()

    exported = json.loads(await downloaded(a, "JSON"))
    by_id = lambda elements: sorted(elements, key=lambda e: e["id"])  # noqa: E731
    assert by_id(exported["elements"]) == by_id(snapshot["elements"])
    assert exported["seq"] == snapshot["seq"]
    assert exported["board"]["title"] == snapshot["board"]["title"]

    rows = list(csv.DictReader(io.StringIO(await downloaded(a, "CSV"))))
    assert {r["id"] for r in rows} == {e["id"] for e in snapshot["elements"]}
    formula = next(r for r in rows if r["id"] == "sum")
    assert formula["label"] == "'=1+1", "a spreadsheet must not evaluate board text"

    mermaid = await downloaded(a, "Mermaid")
    assert mermaid.startswith("flowchart")
    assert '"Visit the shop"' in mermaid and '"=1+1"' in mermaid
    assert '-- "yes" -->' in mermaid

    svg = await downloaded(a, "SVG")
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    labels = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Visit the shop", "=1+1"} <= labels


async def test_the_stakeholder_view_places_each_stakeholder_in_its_quadrant(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana = await make_user(server)
    board = await shared_board(http, server, {ana: "viewer"})
    people = {"regulator": (9, 2, "keep_satisfied"), "ceo": (9, 9, "manage_closely"),
              "customer": (2, 9, "keep_informed"), "supplier": (2, 2, "monitor")}  # fmt: skip
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "stakeholder", "id": who, "label": who.title(),
                                     "influence": power, "interest": interest}}
        for who, (power, interest, _) in people.items()]})  # fmt: skip
    a = await sign_in(ana)
    await a.open_board(server, board)
    await a.page.click("button.view-tab:has-text('Stakeholders')")
    assert not await a.page.locator("#canvas").is_visible()
    for who, (power, interest, quadrant) in people.items():
        entry = a.page.locator(f".quadrant.{quadrant} .stakeholder", has_text=who.title())
        await entry.wait_for()
        assert f"power {power} · interest {interest}" in (await entry.text_content() or "")
    assert await a.page.locator(".stakeholder").count() == len(people)
    await a.page.click("button.view-tab:has-text('Board')")
    assert await a.page.locator("#canvas").is_visible()


async def test_a_commenter_comments_but_gets_no_other_editing_affordance(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    carla = await make_user(server)
    board = await shared_board(http, server, {carla: "commenter"})
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "node", "id": "n1", "label": "Checkout", "y": 300}}]})  # fmt: skip
    c = await sign_in(carla)
    await c.open_board(server, board)
    for text in ("Add node", "Add stage", "Add lane"):
        assert not await c.page.locator(f"button:has-text('{text}')").is_visible()
    assert await c.page.locator(".grid-button").count() == 0
    assert await c.page.locator(".port").count() == 0

    node = c.page.locator(".node[data-id='n1']")
    await node.click()
    await c.page.locator("#details h3", has_text="Checkout").wait_for()
    for select in await c.page.locator("#details select").all():
        assert await select.is_disabled()
    assert await c.page.locator("#details button", has_text="Delete").count() == 0
    await node.dblclick()
    await c.page.keyboard.press("Enter")
    assert await c.page.locator(".label-editor").count() == 0
    box = await node.bounding_box()
    assert box is not None
    await c.page.mouse.move(box["x"] + 20, box["y"] + 20)
    await c.page.mouse.down()
    await c.page.mouse.move(box["x"] + 220, box["y"] + 120, steps=5)
    await c.page.mouse.up()
    await c.page.keyboard.press("Delete")

    await c.page.fill("#details textarea[aria-label=comment]", "Why two steps here?")
    await c.page.click("#details button:has-text('Comment')")
    await c.page.locator("#details .comment", has_text="Why two steps here?").wait_for()
    await c.until("window.jb.connection.unanswered.size === 0")
    snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()
    comments = [e for e in snapshot["elements"] if e["kind"] == "comment"]
    assert [(m["author"], m["target"], m["text"]) for m in comments] == [
        (carla, "n1", "Why two steps here?")
    ]
    node_now = next(e for e in snapshot["elements"] if e["id"] == "n1")
    assert (node_now["label"], node_now["x"], node_now["y"]) == ("Checkout", 0, 300)
    assert not await c.page.locator(".toast.error").count()


async def test_comments_thread_with_replies_mentions_and_resolve(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana, carla = await make_user(server), await make_user(server)
    board = await shared_board(http, server, {ana: "editor", carla: "commenter"})
    await http.post(f"/api/boards/{board}/ops", json={"ops": [
        {"op": "create", "element": {"kind": "node", "id": "n1", "label": "Checkout", "y": 300}}]})  # fmt: skip
    a, c = await sign_in(ana), await sign_in(carla)
    for me in (a, c):
        await me.open_board(server, board)
        await me.page.click(".node[data-id='n1']")
    await c.page.fill("#details textarea[aria-label=comment]", f"@{ana} is this step needed?")
    await c.page.click("#details button:has-text('Comment')")
    thread = a.page.locator("#details .thread")
    await thread.locator(".mention", has_text=f"@{ana}").wait_for()
    await thread.locator("button.reply").click()
    await a.page.fill("#details textarea[aria-label=reply]", "Yes, for fraud checks")
    await a.page.click("#details button:has-text('Send reply')")
    await c.page.locator("#details .replies", has_text="Yes, for fraud checks").wait_for()
    await thread.locator("button.resolve", has_text="Resolve").click()
    await c.page.locator("#details .thread.resolved .badge", has_text="resolved").wait_for()
    await a.until("window.jb.connection.unanswered.size === 0")
    comments = {e["text"]: e for e in (await http.get(f"/api/boards/{board}/snapshot")).json()[
        "elements"] if e["kind"] == "comment"}  # fmt: skip
    root, reply = comments[f"@{ana} is this step needed?"], comments["Yes, for fraud checks"]
    assert (root["author"], root["mentions"], root["resolved"]) == (carla, [ana], True)
    assert (reply["author"], reply["parent"], reply["target"]) == (ana, root["id"], "n1")
    await c.page.locator("#details button.resolve", has_text="Reopen").wait_for()  # carla wrote it


async def test_a_stage_is_reordered_by_dragging_its_header(
    http: httpx.AsyncClient, server: RunningServer, sign_in: Any
) -> None:
    ana = await make_user(server)
    board = await shared_board(http, server, {ana: "editor"})
    a = await sign_in(ana)
    await a.open_board(server, board)

    def order(snapshot: dict[str, Any]) -> list[str]:
        stages = [e for e in snapshot["elements"] if e["kind"] == "stage"]
        return [s["id"] for s in sorted(stages, key=lambda s: (s["order"], s["id"]))]

    before = order((await http.get(f"/api/boards/{board}/snapshot")).json())
    await a.js("window.jb.flowchart.fit()")  # the view settles before the boxes are read
    first = await a.page.locator(f".stage-head[data-stage='{before[0]}']").bounding_box()
    third = await a.page.locator(f".stage-head[data-stage='{before[2]}']").bounding_box()
    assert first is not None and third is not None
    middle = first["y"] + first["height"] / 2
    await a.page.mouse.move(first["x"] + first["width"] / 2, middle)
    await a.page.mouse.down()
    await a.page.mouse.move(third["x"] + third["width"] * 1.1, middle, steps=8)
    await a.page.mouse.up()
    print(
        await a.js(
            '(p) => [window.jb.sent, document.elementFromPoint(p[0], p[1])?.tagName, JSON.stringify(document.querySelector(".stage-head").getBoundingClientRect())]',
            [first["x"] + 20, first["y"] + 20],
        ),
        first,
    )
    await a.until("window.jb.connection.unanswered.size === 0")
    after = order((await http.get(f"/api/boards/{board}/snapshot")).json())
    assert after == [before[1], before[2], before[0], *before[3:]]
    await a.until(
        "(ids) => [...document.querySelectorAll('.stage-label')].map((t) => t.dataset.stage).join() === ids",
        ",".join(after),
    )
