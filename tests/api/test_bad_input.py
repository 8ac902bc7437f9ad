"""Malformed, oversized and hostile requests get a typed error and change nothing."""

from typing import Any

import httpx
import pytest

from tests.api.test_boards import snapshot

HOSTILE: list[Any] = [
    {"$gt": ""},
    {"$where": "sleep(2000)||true"},
    {"$ne": None},
    {"$regex": ".*"},
    "[$ne]",
]


async def test_malformed_json_is_a_bad_request(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    deep = b'{"ops":[{"op":"create","element":{"kind":"node","id":"n","data":' + b'{"a":' * 100_000
    for body in (b"{", b"\xff\xfe", b"", deep + b"1" + b"}" * 100_000):
        response = await http.post(f"/api/boards/{board['id']}/ops", content=body)
        assert response.status_code == 400, body[:10]
        assert response.json()["error"]["code"] == "bad_request"


async def test_wrong_field_type_is_unprocessable_with_its_path(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    body = {
        "ops": [
            {"op": "create", "element": {"kind": "node", "id": "n"}},
            {"op": "move", "id": "n", "x": "left", "y": 0},
        ]
    }
    response = await http.post(f"/api/boards/{board['id']}/ops", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["path"] == "$.ops[1].x"


@pytest.mark.parametrize("bad_id", ["a.b", "$x", "..", "x" * 65, ""])
async def test_ids_outside_the_safe_alphabet_are_refused(
    http: httpx.AsyncClient, board: dict[str, Any], bad_id: str
) -> None:
    response = await http.post(
        f"/api/boards/{board['id']}/elements", json={"kind": "node", "id": bad_id}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["path"] == "$.id"


async def test_huge_numbers_are_refused(http: httpx.AsyncClient, board: dict[str, Any]) -> None:
    for x in ("1e400", "123456789012345678901234567890", "1e308"):
        body = (
            b'{"ops":[{"op":"create","element":{"kind":"node","id":"n","x":' + x.encode() + b"}}]}"
        )
        response = await http.post(f"/api/boards/{board['id']}/ops", content=body)
        assert response.status_code == 422, x


async def test_an_oversized_body_is_refused_before_it_is_read(
    http: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    before = await snapshot(http, board["id"])
    response = await http.post(
        f"/api/boards/{board['id']}/ops", content=b" " * (4 * 1024 * 1024 + 1)
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"

    async def chunks() -> Any:
        for _ in range(5):
            yield b" " * (1024 * 1024)

    streamed = await http.post(f"/api/boards/{board['id']}/ops", content=chunks())
    assert streamed.status_code == 413
    assert await snapshot(http, board["id"]) == before


async def test_unknown_board_and_unknown_route_are_not_found(http: httpx.AsyncClient) -> None:
    for path in ("/api/boards/nope", "/api/boards/a.b", "/api/nothing"):
        response = await http.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("value", HOSTILE)
async def test_operators_in_every_body_field_are_refused_or_stored_literally(
    http: httpx.AsyncClient, board: dict[str, Any], value: Any
) -> None:
    """Typed fields refuse an object; free text keeps the literal string; data keeps the object."""
    before = await snapshot(http, board["id"])
    for field in ("id", "label", "stage", "lane", "tags", "type", "channel"):
        element = {"kind": "node", "id": "n", field: value}
        response = await http.post(f"/api/boards/{board['id']}/elements", json=element)
        if isinstance(value, str) and field == "label":
            assert response.status_code == 201
            assert response.json()["label"] == value
            await http.delete(f"/api/boards/{board['id']}/elements/n")
        else:
            assert response.status_code == 422, (field, response.text)
    for body in ({"title": value}, {"title": "ok", "tags": [value]}):
        created = await http.post("/api/boards", json=body)
        if isinstance(value, str):
            assert value in (created.json()["title"], *created.json()["tags"])
        else:
            assert created.status_code == 422
    assert (
        await http.post("/api/boards", json={"title": "ok", "template": value})
    ).status_code == 422
    stored = await http.post(
        f"/api/boards/{board['id']}/elements",
        json={"kind": "node", "id": "d", "data": {"v": value, "$set": value, "a.b": value}},
    )
    assert stored.json()["data"] == {"v": value, "$set": value, "a.b": value}
    after = await snapshot(http, board["id"])
    assert [e for e in after["elements"] if e["id"] != "d"] == before["elements"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": '{"$ne": ""}'},
        {"tag": "[$ne]"},
        {"q[$ne]": ""},
        {"cursor": '{"$gt": ""}'},
        {"q": "(a+)+$"},
    ],
)
async def test_operators_in_query_strings_find_nothing_or_are_refused(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    """A 200 lists only boards that literally carry that text, never everything."""
    response = await http.get("/api/boards", params=params)
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        for item in response.json()["items"]:
            assert (
                params.get("tag", "") in item["tags"]
                or params.get("q", "").lower() in item["title"].lower()
            )
