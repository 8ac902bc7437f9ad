"""Who may open a board's socket, from where, and what happens when their rights change."""

import asyncio
from typing import Any

import httpx
import pytest

from server.auth import hash_password
from tests.harness import RunningServer, user_with_token
from tests.sync.conftest import invite, new_board
from tests.wsclient import Client, joined


async def test_a_token_works_from_any_origin_because_it_is_not_ambient(
    quick: RunningServer,
) -> None:
    owner = await user_with_token(quick.accounts, "origin-owner")
    board = await new_board(quick, owner)
    for origin in ("https://app.example", "null", None):
        headers = {"Origin": origin} if origin else {}
        client = await Client.open(quick.url, board, owner, headers=headers)
        assert (await client.next())["type"] == "welcome", origin
        await client.close()
        first_frame = await Client.open(quick.url, board, headers=headers)
        await first_frame.send({"type": "auth", "token": owner})
        assert (await first_frame.next())["type"] == "welcome", origin
        await first_frame.close()


async def test_a_session_cookie_needs_an_allowed_origin(quick: RunningServer) -> None:
    await user_with_token(quick.accounts, "cookie-user")
    await quick.accounts.set_password("cookie-user", hash_password("long enough password"))
    async with httpx.AsyncClient(base_url=quick.url) as http:
        login = await http.post(
            "/api/login", json={"name": "cookie-user", "password": "long enough password"}
        )
        cookie = f"jb_session={login.cookies['jb_session']}"
        board = (
            await http.post(
                "/api/boards",
                json={"title": "c"},
                headers={"X-CSRF-Token": login.json()["csrf_token"]},
            )
        ).json()["id"]
    own = "http://" + quick.url.replace("http://", "")
    with_origin = await Client.open(quick.url, board, headers={"Cookie": cookie, "Origin": own})
    assert (await with_origin.next())["user"] == "cookie-user"
    await with_origin.close()
    without_origin = await Client.open(quick.url, board, headers={"Cookie": cookie})
    assert await without_origin.closed() == 4401, (
        "no Origin: the cookie is not used; auth times out"
    )
    foreign = {"Cookie": cookie, "Origin": "https://evil.example"}
    hijack = await Client.open(quick.url, board, headers=foreign)
    assert await hijack.closed() == 4401, "a foreign Origin's cookie is ignored (CSWSH)"


@pytest.mark.parametrize("token", [None, "jb_0000000000000000_" + "x" * 43, "nonsense"])
async def test_missing_or_bad_credentials_close_with_4401(
    quick: RunningServer, token: str | None
) -> None:
    owner = await user_with_token(quick.accounts, "cred-owner")
    board = await new_board(quick, owner)
    client = await Client.open(quick.url, board, token)
    assert await client.closed(5) == 4401
    assert client.inbox.empty()


async def test_a_token_in_the_first_message_authenticates(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "first-msg")
    board = await new_board(quick, owner)
    client = await Client.open(quick.url, board)
    await client.send({"type": "auth", "token": owner})
    assert (await client.next())["user"] == "first-msg"
    await client.close()


async def test_non_members_and_unknown_boards_look_the_same(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "nm-owner")
    stranger = await user_with_token(quick.accounts, "nm-stranger")
    board = await new_board(quick, owner)
    codes = [
        await (await Client.open(quick.url, b, stranger)).closed() for b in (board, "nosuchboard")
    ]
    assert codes == [4404, 4404]


async def member_on_board(
    server: RunningServer, name: str, role: str
) -> tuple[str, str, Client, dict[str, Any]]:
    """`{name}-owner`'s token and new board, and `name` invited as `role` and joined."""
    owner = await user_with_token(server.accounts, f"{name}-owner")
    member = await user_with_token(server.accounts, name)
    board = await new_board(server, owner)
    await invite(server, owner, board, name, role)
    client, welcome, _ = await joined(server, board, member)
    return owner, board, client, welcome


async def test_viewers_cannot_edit_over_the_socket(quick: RunningServer) -> None:
    _, _, client, welcome = await member_on_board(quick, "v-viewer", "viewer")
    assert welcome["role"] == "viewer"
    reject = await client.submit(1, {"op": "create", "element": {"kind": "node", "id": "n"}})
    assert (reject["code"], reject["details"]["required_role"]) == ("forbidden", "editor")
    await client.close()


async def test_a_removed_member_is_disconnected_within_a_second(quick: RunningServer) -> None:
    owner, board, client, _ = await member_on_board(quick, "r-editor", "editor")
    await invite(quick, owner, board, "r-editor", None)
    assert await client.closed(1.0) == 4403


async def test_demotion_applies_to_the_next_op(quick: RunningServer) -> None:
    owner, board, client, _ = await member_on_board(quick, "d-editor", "editor")
    assert (await client.submit(1, {"op": "create", "element": {"kind": "node", "id": "a"}}))[
        "type"
    ] == "ack"
    await invite(quick, owner, board, "d-editor", "viewer")
    assert (await client.submit(2, {"op": "create", "element": {"kind": "node", "id": "b"}}))[
        "code"
    ] == "forbidden"
    await client.close()


async def test_each_user_has_a_connection_cap(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "cap-owner")
    board = await new_board(quick, owner)
    clients = [(await joined(quick, board, owner))[0] for _ in range(3)]
    extra = await Client.open(quick.url, board, owner)
    assert await extra.closed() == 1008
    assert (await clients[0].submit(1, {"op": "create", "element": {"kind": "node", "id": "n"}}))[
        "type"
    ] == "ack"
    for client in clients:
        await client.close()


async def test_a_silent_client_is_closed_after_the_heartbeat_timeout(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "hb-owner")
    board = await new_board(quick, owner)
    silent, hello, _ = await joined(quick, board, owner)
    watcher, _, _ = await joined(quick, board, owner)

    async def answer_pings_until_someone_leaves() -> dict[str, object]:
        while True:
            message = await watcher.next("ping", "left")
            if message["type"] == "left":
                return message
            await watcher.send({"type": "pong"})

    left = await asyncio.wait_for(answer_pings_until_someone_leaves(), 4)
    assert left["client_id"] == hello["client_id"]
    assert await silent.closed(1) == 4408
    assert watcher.close_code is None, "a client that answers pings stays"
    await watcher.close()


async def test_compression_is_never_negotiated_so_no_frame_can_inflate(
    quick: RunningServer,
) -> None:
    owner = await user_with_token(quick.accounts, "deflate")
    board = await new_board(quick, owner)
    client = await Client.open(quick.url, board, owner)  # the client offers permessage-deflate
    assert client.connection.response is not None
    assert "Sec-WebSocket-Extensions" not in client.connection.response.headers
    await client.close()


async def test_a_removal_made_elsewhere_disconnects_at_the_next_heartbeat(
    quick: RunningServer,
) -> None:
    """Another instance removed the member (only the database knows): the socket still closes."""
    owner = await user_with_token(quick.accounts, "x-owner")
    editor = await user_with_token(quick.accounts, "x-editor")
    board = await new_board(quick, owner)
    await invite(quick, owner, board, "x-editor", "editor")
    client, _, _ = await joined(quick, board, editor)
    await quick.accounts.remove_member(board, "x-editor")  # behind this instance's back
    assert await client.closed(2.0) == 4403
