"""Every REST route for every kind of caller: the exact status for each cell.

Callers: anonymous, a malformed token, a revoked token, a user who is not a member, the
four board roles, and an admin. The board's existence is never confirmed to outsiders.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from schemas.auth import Role
from server.board.roles import at_least
from tests.harness import CALLERS, RunningServer, bearer, user_with_token


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    path: str
    required: Role
    ok: int
    body: Any = None


def comment(comment_id: str) -> dict[str, Any]:
    return {
        "ops": [{"op": "create", "element": {"kind": "comment", "id": comment_id, "text": "hi"}}]
    }


# Ordered so that destructive actions come last on each caller's own board.
ACTIONS = [
    Action("read board", "GET", "", "viewer", 200),
    Action("snapshot", "GET", "/snapshot", "viewer", 200),
    Action("read element", "GET", "/elements/n1", "viewer", 200),
    Action("list members", "GET", "/members", "viewer", 200),
    Action("comment via ops", "POST", "/ops", "commenter", 200, comment("c-new")),
    Action(
        "edit via ops",
        "POST",
        "/ops",
        "editor",
        200,
        {"ops": [{"op": "move", "id": "n1", "x": 1, "y": 2}]},
    ),
    Action("create element", "POST", "/elements", "editor", 201, {"kind": "node", "id": "n-new"}),
    Action("patch element", "PATCH", "/elements/n1", "editor", 200, {"set": {"label": "x"}}),
    Action("patch board", "PATCH", "", "editor", 200, {"title": "Renamed"}),
    Action("delete element", "DELETE", "/elements/d1", "editor", 204),
    Action("invite member", "PUT", "/members/m-extra", "owner", 200, {"role": "viewer"}),
    Action("remove member", "DELETE", "/members/m-extra", "owner", 204),
    Action("delete board", "DELETE", "", "owner", 204),
]


@pytest.fixture(scope="module")
async def tokens(server: RunningServer) -> dict[str, str]:
    names = ["outsider", "viewer", "commenter", "editor", "owner", "extra"]
    found = {name: await user_with_token(server.accounts, f"m-{name}") for name in names}
    found["admin"] = await user_with_token(server.accounts, "m-admin", admin=True)
    revoked = await user_with_token(server.accounts, "m-revoked")
    await server.accounts.revoke_token(revoked.split("_")[1])
    found["revoked"] = revoked
    found["malformed"] = "jb_not-a-token"
    return found


async def board_for(http: httpx.AsyncClient, tokens: dict[str, str]) -> str:
    owner = bearer(tokens["owner"])
    board = (await http.post("/api/boards", json={"title": "Matrix"}, headers=owner)).json()["id"]
    for role in ("viewer", "commenter", "editor"):
        response = await http.put(
            f"/api/boards/{board}/members/m-{role}", json={"role": role}, headers=owner
        )
        assert response.status_code == 200
    if (
        await http.put(
            f"/api/boards/{board}/members/m-extra", json={"role": "viewer"}, headers=owner
        )
    ).status_code != 200:
        raise AssertionError("could not invite m-extra")
    nodes = [{"op": "create", "element": {"kind": "node", "id": i}} for i in ("n1", "d1")]
    assert (
        await http.post(f"/api/boards/{board}/ops", json={"ops": nodes}, headers=owner)
    ).status_code == 200
    return str(board)


def expected(caller: str, action: Action) -> int:
    if caller in ("anonymous", "malformed", "revoked"):
        return 401
    if caller == "outsider":
        return 404
    role: Role = "owner" if caller == "admin" else caller  # type: ignore[assignment]
    return action.ok if at_least(role, action.required) else 403


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_route_answers_each_caller_exactly(
    server: RunningServer, tokens: dict[str, str], caller: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        board = await board_for(http, tokens)
        headers = bearer(tokens[caller]) if caller in tokens else {}
        mismatches = []
        for action in ACTIONS:
            response = await http.request(
                action.method,
                f"/api/boards/{board}{action.path}",
                json=action.body,
                headers=headers,
            )
            want = expected(caller, action)
            if response.status_code != want:
                mismatches.append((action.name, want, response.status_code, response.text[:120]))
            elif want == 403:
                assert response.json()["error"]["details"]["required_role"] == action.required
            elif want == 404:
                assert response.json()["error"]["code"] == "not_found"
        assert not mismatches


async def test_lists_show_only_boards_you_belong_to(
    server: RunningServer, tokens: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        board = await board_for(http, tokens)

        async def listed(caller: str) -> bool:
            response = await http.get(
                "/api/boards", params={"limit": 100}, headers=bearer(tokens[caller])
            )
            return board in {b["id"] for b in response.json()["items"]}

        assert await listed("viewer") and await listed("admin")
        assert not await listed("outsider")
        assert (await http.get("/api/boards")).status_code == 401


async def test_an_outsider_cannot_tell_a_board_exists(
    server: RunningServer, tokens: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, headers=bearer(tokens["outsider"])
    ) as http:
        board = await board_for(http, tokens)
        real = await http.get(f"/api/boards/{board}")
        fake = await http.get(f"/api/boards/{board[:-4]}zzzz")
        assert real.status_code == fake.status_code == 404
        assert real.json()["error"]["code"] == fake.json()["error"]["code"]


async def test_client_ids_are_scoped_to_their_user(
    server: RunningServer, tokens: dict[str, str]
) -> None:
    """Reusing someone else's client_id + client_op_id neither replays nor blocks their op."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        board = await board_for(http, tokens)
        ids = {"idempotency": {"client_id": "shared", "client_op_id": 1}}
        mine = await http.post(
            f"/api/boards/{board}/ops",
            json={**comment("c-ed"), **ids},
            headers=bearer(tokens["editor"]),
        )
        theirs = await http.post(
            f"/api/boards/{board}/ops",
            json={**comment("c-ow"), **ids},
            headers=bearer(tokens["owner"]),
        )
        assert mine.json()["duplicate"] is False and theirs.json()["duplicate"] is False
        assert theirs.json()["seq"] == mine.json()["seq"] + 1
