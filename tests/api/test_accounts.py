"""Signing in with a browser session, CSRF, API tokens over REST, and board members."""

from collections.abc import AsyncIterator

import httpx
import pytest

from server.auth import hash_password
from tests.harness import RunningServer, bearer, user_with_token

PASSWORD = "a long enough passphrase"


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A cookie-carrying client signed in as `walker`, and its CSRF token."""
    await user_with_token(server.accounts, "walker")
    await server.accounts.set_password("walker", hash_password(PASSWORD))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post("/api/login", json={"name": "walker", "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client, response.json()["csrf_token"]


async def test_sign_in_sets_an_httponly_strict_cookie(server: RunningServer) -> None:
    await user_with_token(server.accounts, "walker")
    await server.accounts.set_password("walker", hash_password(PASSWORD))
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/login", json={"name": "walker", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "jb_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert response.json()["user"] == {"name": "walker", "admin": False}


@pytest.mark.parametrize(("name", "password"), [("walker", "wrong password"), ("nobody", PASSWORD)])
async def test_wrong_credentials_get_one_vague_answer(
    http: httpx.AsyncClient, name: str, password: str
) -> None:
    response = await http.post("/api/login", json={"name": name, "password": password})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "unknown user name or wrong password"


async def test_cookie_reads_work_but_writes_need_the_csrf_header(
    browser: tuple[httpx.AsyncClient, str],
) -> None:
    client, csrf = browser
    assert (await client.get("/api/me")).json()["name"] == "walker"
    refused = await client.post("/api/boards", json={"title": "Forged"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]["message"]
    wrong = await client.post(
        "/api/boards", json={"title": "Forged"}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    made = await client.post("/api/boards", json={"title": "Mine"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


async def test_sign_out_ends_the_session(browser: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = browser
    cookie = client.cookies.get("jb_session")
    assert (await client.post("/api/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    client.cookies.set("jb_session", cookie or "")
    assert (await client.get("/api/me")).status_code == 401


async def test_tokens_are_shown_once_listed_without_secrets_and_revocable(
    server: RunningServer,
) -> None:
    token = await user_with_token(server.accounts, "scripter")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as client:
        created = (
            await client.post("/api/tokens", json={"label": "nightly", "expires_in_days": 30})
        ).json()
        listed = (await client.get("/api/tokens")).json()
        assert created["info"] in listed
        assert created["token"] not in str(listed) and "digest" not in str(listed)
        assert created["info"]["expires_at"] > created["info"]["created_at"]
        second = {"Authorization": f"Bearer {created['token']}"}
        assert (await client.get("/api/me", headers=second)).status_code == 200
        assert (await client.delete(f"/api/tokens/{created['info']['id']}")).status_code == 204
        assert (await client.get("/api/me", headers=second)).status_code == 401
        assert (await client.get("/api/me")).status_code == 200


async def test_you_cannot_revoke_someone_elses_token(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    victim = await user_with_token(server.accounts, "victim")
    response = await http.delete(f"/api/tokens/{victim.split('_')[1]}")
    assert response.status_code == 404
    assert (await http.get("/api/me", headers=bearer(victim))).status_code == 200


async def test_expired_tokens_are_refused(server: RunningServer) -> None:
    token = await user_with_token(server.accounts, "shortlived")
    await server.accounts.tokens.update_one(
        {"_id": token.split("_")[1]}, {"$set": {"expires_at": 1}}
    )
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


async def test_the_last_owner_cannot_leave_or_be_demoted(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    board = (await http.post("/api/boards", json={"title": "Owned"})).json()["id"]
    members = f"/api/boards/{board}/members"
    assert (await http.delete(f"{members}/tester")).status_code == 409
    assert (await http.put(f"{members}/tester", json={"role": "editor"})).status_code == 409
    await user_with_token(server.accounts, "heir")
    assert (await http.put(f"{members}/heir", json={"role": "owner"})).status_code == 200
    assert (await http.put(f"{members}/tester", json={"role": "editor"})).status_code == 200
    listed = (await http.get(members)).json()["items"]
    assert listed == [{"user": "heir", "role": "owner"}, {"user": "tester", "role": "editor"}]


async def test_inviting_an_unknown_user_is_not_found(
    http: httpx.AsyncClient, board: dict[str, str]
) -> None:
    response = await http.put(f"/api/boards/{board['id']}/members/ghost", json={"role": "viewer"})
    assert response.status_code == 404


async def test_a_member_may_leave_on_their_own(
    server: RunningServer, http: httpx.AsyncClient, board: dict[str, str]
) -> None:
    token = await user_with_token(server.accounts, "leaver")
    await http.put(f"/api/boards/{board['id']}/members/leaver", json={"role": "viewer"})
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as client:
        assert (await client.delete(f"/api/boards/{board['id']}/members/leaver")).status_code == 204
        assert (await client.get(f"/api/boards/{board['id']}")).status_code == 404
