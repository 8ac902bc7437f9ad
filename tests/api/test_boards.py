"""The board REST API over a real uvicorn and database."""

import secrets
from typing import Any

import httpx
import pytest

from server.board.templates import JOURNEY_STAGES
from tests.harness import RunningServer, bearer, user_with_token


async def create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/api/boards", json={"title": "Board", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def snapshot(http: httpx.AsyncClient, board_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/boards/{board_id}/snapshot")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ops(
    http: httpx.AsyncClient, board_id: str, *batch: dict[str, Any], **extra: Any
) -> httpx.Response:
    return await http.post(f"/api/boards/{board_id}/ops", json={"ops": list(batch), **extra})


def node(node_id: str, **props: Any) -> dict[str, Any]:
    return {"op": "create", "element": {"kind": "node", "id": node_id, **props}}


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).json() == {"status": "ok"}


async def test_created_board_reads_back_with_its_fields(http: httpx.AsyncClient) -> None:
    board = await create(http, title="Onboarding", description="New users", tags=["q3", "web"])
    fetched = (await http.get(f"/api/boards/{board['id']}")).json()
    assert fetched == board
    assert (fetched["title"], fetched["description"], fetched["tags"]) == (
        "Onboarding",
        "New users",
        ["q3", "web"],
    )


async def test_customer_journey_template_seeds_eight_stages_in_order_and_lanes(
    http: httpx.AsyncClient,
) -> None:
    board = await create(http, template="customer-journey")
    elements = (await snapshot(http, board["id"]))["elements"]
    stages = sorted((e for e in elements if e["kind"] == "stage"), key=lambda e: e["order"])
    assert [s["label"] for s in stages] == list(JOURNEY_STAGES)
    roles = {e["role"] for e in elements if e["kind"] == "lane"}
    assert {"touchpoints", "emotions", "pain_points", "opportunities", "moments_of_truth"} <= roles


async def test_support_flowchart_has_labelled_decision_branches_and_kpis(
    http: httpx.AsyncClient,
) -> None:
    elements = (await snapshot(http, (await create(http, template="support-flowchart"))["id"]))[
        "elements"
    ]
    decisions = {e["id"] for e in elements if e.get("type") == "decision"}
    branches = [e for e in elements if e["kind"] == "edge" and e["source"] in decisions]
    assert len(decisions) >= 2 and all(e["label"] for e in branches)
    assert {e["data"]["kpi"] for e in elements if "kpi" in e["data"]} >= {
        "csat",
        "resolution_hours",
    }


async def test_repurchase_flowchart_loops_back_to_purchase(http: httpx.AsyncClient) -> None:
    elements = (await snapshot(http, (await create(http, template="repurchase-flowchart"))["id"]))[
        "elements"
    ]
    labels = {e["id"]: e["label"] for e in elements}
    loop = [e for e in elements if e["kind"] == "edge" and e["target"] == "purchase"]
    assert loop and labels[loop[0]["source"]] == "Personalised offer"
    assert {"Loyalty rewards", "Follow-up email"} <= set(labels.values())


async def test_ops_batch_returns_the_new_seq_and_the_snapshot_shows_it(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    before = (await snapshot(http, board["id"]))["seq"]
    response = await ops(
        http,
        board["id"],
        node("a", label="Ad"),
        node("b"),
        {"op": "create", "element": {"kind": "edge", "id": "ab", "source": "a", "target": "b"}},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["seq"], result["applied"], result["duplicate"], result["replay"]) == (
        before + 1, 3, False, False,
    )  # fmt: skip
    after = await snapshot(http, board["id"])
    assert after["seq"] == before + 1
    assert {e["id"] for e in after["elements"]} == {"a", "b", "ab"}
    stored = {e["id"]: e for e in after["elements"]}
    assert result["effects"] == {
        "put": [stored["a"], stored["b"], stored["ab"]],
        "removed": [],
        "board": None,
    }


async def test_a_rejected_batch_changes_nothing_and_names_the_op(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    before = await snapshot(http, board["id"])
    response = await ops(http, board["id"], node("x"), {"op": "delete", "id": "ghost"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_element"
    assert response.json()["error"]["details"]["op_index"] == 1
    assert await snapshot(http, board["id"]) == before


async def test_a_retried_batch_is_applied_once(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    first = await ops(
        http, board["id"], node("once"), idempotency={"client_id": "script-1", "client_op_id": 1}
    )
    again = await ops(
        http, board["id"], node("once"), idempotency={"client_id": "script-1", "client_op_id": 1}
    )
    assert again.json() == {**first.json(), "duplicate": True, "replay": True}
    assert [e["id"] for e in (await snapshot(http, board["id"]))["elements"]] == ["once"]


async def test_an_idempotency_key_needs_both_parts(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    response = await ops(http, board["id"], node("x"), idempotency={"client_id": "script-1"})
    assert response.status_code == 422


async def test_patch_changes_title_and_lists_show_it(http: httpx.AsyncClient) -> None:
    board = await create(http, title="Before", tags=["patched"])
    response = await http.patch(f"/api/boards/{board['id']}", json={"title": "After"})
    assert response.status_code == 200 and response.json()["title"] == "After"
    listed = (await http.get("/api/boards", params={"tag": "patched"})).json()["items"]
    assert [b["title"] for b in listed] == ["After"]


async def test_patch_cannot_change_owner_or_id(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    response = await http.patch(f"/api/boards/{board['id']}", json={"owner": "mallory"})
    assert response.status_code == 422
    assert (await http.get(f"/api/boards/{board['id']}")).json()["owner"] == board["owner"]


async def test_delete_makes_the_board_unknown(http: httpx.AsyncClient) -> None:
    board = await create(http)
    assert (await http.delete(f"/api/boards/{board['id']}")).status_code == 204
    for path in ("", "/snapshot"):
        response = await http.get(f"/api/boards/{board['id']}{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_list_pages_newest_first_without_overlap(http: httpx.AsyncClient) -> None:
    ids = [(await create(http, tags=["paging"]))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": "paging", "limit": 2} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (await http.get("/api/boards", params=params)).json()
        seen += [b["id"] for b in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids[::-1]


async def test_search_finds_titles_case_insensitively_and_literally(
    http: httpx.AsyncClient,
) -> None:
    wanted = await create(http, title="Returns (EU) journey+", tags=["search"])
    await create(http, title="Something else", tags=["search"])
    for q in ("returns (eu", "JOURNEY+"):
        items = (await http.get("/api/boards", params={"q": q, "tag": "search"})).json()["items"]
        assert [b["id"] for b in items] == [wanted["id"]]


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
async def test_page_size_is_bounded(http: httpx.AsyncClient, limit: str) -> None:
    response = await http.get("/api/boards", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["path"] == "$.limit"


async def test_element_routes_create_read_patch_and_delete(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    base = f"/api/boards/{board['id']}/elements"
    created = await http.post(
        base, json={"kind": "node", "id": "n1", "type": "touchpoint", "channel": "email"}
    )
    assert created.status_code == 201 and created.json()["channel"] == "email"
    patched = await http.patch(
        f"{base}/n1", json={"set": {"label": "Welcome mail"}, "unset": ["channel"]}
    )
    assert (patched.json()["label"], patched.json()["channel"]) == ("Welcome mail", None)
    assert (await http.get(f"{base}/n1")).json() == patched.json()
    assert (await http.delete(f"{base}/n1")).status_code == 204
    missing = await http.get(f"{base}/n1")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_element"


async def test_duplicate_element_id_is_a_conflict(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    base = f"/api/boards/{board['id']}/elements"
    assert (await http.post(base, json={"kind": "stage", "id": "s"})).status_code == 201
    response = await http.post(base, json={"kind": "node", "id": "s"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "duplicate_id"


async def test_edge_to_a_missing_node_is_unprocessable(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    response = await ops(
        http,
        board["id"],
        {"op": "create", "element": {"kind": "edge", "id": "e", "source": "a", "target": "b"}},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "missing_reference"


async def test_the_list_gives_my_role_on_each_board(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    mine, shared, hidden = [await create(http, tags=["roles"]) for _ in range(3)]
    me = f"r{secrets.token_hex(3)}"
    token = await user_with_token(server.accounts, me)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as member:
        await server.accounts.set_role(shared["id"], me, "commenter")
        await server.accounts.set_role(hidden["id"], me, "viewer")
        await server.accounts.remove_member(hidden["id"], me)
        theirs = (
            await member.post("/api/boards", json={"title": "Theirs", "tags": ["roles"]})
        ).json()
        listed = (await member.get("/api/boards", params={"tag": "roles"})).json()["items"]
    assert {b["id"]: b["role"] for b in listed} == {
        shared["id"]: "commenter",
        theirs["id"]: "owner",
    }
    mine_listed = (await http.get("/api/boards", params={"tag": "roles"})).json()["items"]
    assert {b["id"]: b["role"] for b in mine_listed} == {
        board["id"]: "owner" for board in (mine, shared, hidden)
    }
    admin = await user_with_token(server.accounts, f"a{secrets.token_hex(3)}", admin=True)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(admin)) as anyone:
        listed = (await anyone.get("/api/boards", params={"tag": "roles"})).json()["items"]
    assert {b["id"] for b in listed} >= {mine["id"], shared["id"], theirs["id"]}
    assert {b["role"] for b in listed} == {"owner"}, "an admin is owner of every board"
