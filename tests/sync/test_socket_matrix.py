"""Every websocket message type for every kind of caller: the exact outcome of each cell."""

import pytest

from server.auth import token_id
from tests.harness import CALLERS, RunningServer, user_with_token
from tests.sync.conftest import invite, new_board
from tests.wsclient import Client

EDIT = {
    "type": "submit",
    "client_op_id": 1,
    "ops": [{"op": "create", "element": {"kind": "node", "id": "n-new"}}],
}
COMMENT = {
    "type": "submit",
    "client_op_id": 2,
    "ops": [{"op": "create", "element": {"kind": "comment", "id": "c-new", "text": "hi"}}],
}
EXPECTED = {  # caller -> (close code at connect, edit answer, comment answer)
    "anonymous": (4401, None, None),
    "malformed": (4401, None, None),
    "revoked": (4401, None, None),
    "outsider": (4404, None, None),
    "viewer": (None, "forbidden", "forbidden"),
    "commenter": (None, "forbidden", "ack"),
    "editor": (None, "ack", "ack"),
    "owner": (None, "ack", "ack"),
    "admin": (None, "ack", "ack"),
}


@pytest.mark.parametrize("caller", CALLERS)
async def test_each_caller_gets_exactly_its_outcome_for_each_message(
    quick: RunningServer, caller: str
) -> None:
    owner = await user_with_token(quick.accounts, "sm-owner")
    board = await new_board(quick, owner)
    tokens = {
        "owner": owner,
        "admin": await user_with_token(quick.accounts, "sm-admin", admin=True),
        "malformed": "jb_nope",
    }
    for role in ("viewer", "commenter", "editor"):
        tokens[role] = await user_with_token(quick.accounts, f"sm-{role}")
        await invite(quick, owner, board, f"sm-{role}", role)
    tokens["outsider"] = await user_with_token(quick.accounts, "sm-outsider")
    tokens["revoked"] = await user_with_token(quick.accounts, "sm-revoked")
    await quick.accounts.revoke_token(token_id(tokens["revoked"]) or "")
    closed, edit, comment = EXPECTED[caller]
    client = await Client.open(quick.url, board, tokens.get(caller))
    if closed is not None:
        assert await client.closed(3) == closed
        return
    assert (await client.next("welcome"))["role"] == ("owner" if caller == "admin" else caller)
    await client.send({"type": "presence", "cursor": {"x": 1, "y": 2}})
    await client.send({"type": "ping"})
    assert (await client.next("pong"))["type"] == "pong"
    for message, want in ((EDIT, edit), (COMMENT, comment)):
        await client.send(message)
        answer = await client.next("ack", "reject")
        assert (answer["type"] if answer["type"] == "ack" else answer["code"]) == want, (
            caller,
            message["client_op_id"],
        )
    assert client.inbox.empty() or all(m["type"] != "error" for m in client.inbox._queue)  # type: ignore[attr-defined]
    await client.close()
