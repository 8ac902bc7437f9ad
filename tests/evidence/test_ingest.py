"""Feedback and event uploads: every format, per-record errors, dedupe, access, hostile input."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.evidence.ingest import ingest
from tests.harness import (
    RunningServer,
    bearer,
    running_server,
    settings_for_tests,
    user_with_token,
)

NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*records: Any) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


async def upload(
    http: httpx.AsyncClient, board: str, kind: str, body: Any, media: str = "application/json"
) -> dict[str, Any]:
    content = json.dumps(body).encode() if media == "application/json" else body
    response = await http.post(
        f"/api/boards/{board}/{kind}", content=content, headers={"Content-Type": media}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def stored(server: RunningServer, kind: str, board: str) -> dict[str, dict[str, Any]]:
    collection = getattr(server.services.evidence, kind)
    return {doc["_id"].split("|")[-1]: doc async for doc in collection.find({"board": board})}


async def test_feedback_resolves_ids_labels_aliases_and_channels(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    records = [
        {"external_id": "1", "source": "survey", "touchpoint": "checkout", "score": 9, "scale": "nps"},
        {"external_id": "2", "source": "survey", "touchpoint": "Store Visit", "score": 2, "scale": "csat"},
        {"external_id": "3", "source": "support", "touchpoint": "helpdesk", "text": "Terrible, nobody answered"},
        {"external_id": "4", "source": "review", "channel": "phone", "score": 7, "scale": "ces"},
        {"external_id": "5", "source": "social", "stage": "Purchase", "text": "Love it, great and easy"},
        {"external_id": "6", "source": "review", "score": 4.5, "scale": "rating"},
    ]  # fmt: skip
    report = await upload(http, journey, "feedback", records)
    assert report == {"accepted": 6, "duplicates": 0, "rejected": 0, "errors": []}
    docs = await stored(server, "feedback", journey)
    assert {k: (d["node"], d["stage"]) for k, d in docs.items()} == {
        "1": ("checkout", "buy"),
        "2": ("store", "buy"),
        "3": ("ticket", "help"),
        "4": ("call", "help"),
        "5": (None, "buy"),
        "6": (None, None),
    }
    assert docs["1"]["norm"] == 90 and docs["1"]["promoter"] == 1
    assert docs["2"]["norm"] == 25 and docs["2"]["bad"] == 1
    assert docs["4"]["norm"] == 100 and docs["6"]["norm"] == 87.5
    assert docs["3"]["sentiment"] < -0.3 and docs["3"]["bad"] == 1
    assert docs["5"]["sentiment"] > 0.5 and docs["5"]["bad"] == 0


async def test_importing_the_same_records_twice_adds_nothing(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    with_ids = [{"source": "survey", "external_id": str(i), "text": f"note {i}"} for i in range(30)]
    without_ids = [{"source": "review", "text": f"review {i}"} for i in range(20)]
    first = await upload(http, journey, "feedback", with_ids + without_ids)
    again = await upload(http, journey, "feedback", with_ids + without_ids)
    assert (first["accepted"], first["duplicates"]) == (50, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 50)
    assert len(await stored(server, "feedback", journey)) == 50
    other_source = await upload(
        http, journey, "feedback", [{"source": "support", "external_id": "1", "text": "again"}]
    )
    assert other_source["accepted"] == 1, "the dedupe key is source + external id"


async def test_bad_records_are_reported_by_line_and_the_rest_are_stored(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    body = (
        ndjson(
            {"external_id": "ok1", "text": "fine"},
            {"external_id": "x", "score": 11, "scale": "nps"},
            {"external_id": "x", "score": 3},
            {"external_id": "x", "score": 0, "scale": "csat"},
            {"external_id": "x", "touchpoint": "nowhere", "text": "hm"},
            {"external_id": "x", "customer": {"$gt": ""}},
            {"external_id": "x", "$where": "sleep(1000)"},
            {"external_id": "x", "score": 10**400, "scale": "nps"},
        )
        + b"{broken\n"
        + ndjson({"external_id": "ok2", "text": "also fine"})
    )
    report = await upload(http, journey, "feedback", body, "application/x-ndjson")
    assert (report["accepted"], report["rejected"]) == (2, 8)
    reasons = {e["line"]: e["reason"] for e in report["errors"]}
    assert list(reasons) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "score" in reasons[2] and "needs its scale" in reasons[3]
    assert "between 1 and 5" in reasons[4] and "no touchpoint 'nowhere'" in reasons[5]
    assert "customer" in reasons[6] and "$where" in reasons[7] and "not JSON" in reasons[9]
    assert set(await stored(server, "feedback", journey)) == {"ok1", "ok2"}


async def test_csv_uploads_stream_in_small_chunks_with_spreadsheet_values(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    csv = (
        b"external_id,source,touchpoint,score,scale,text,at,customer\n"
        b'1,survey,Checkout,3,nps,"slow, and then\nit failed",2026-11-20,c1\n'
        b"2,survey,checkout,10,nps,,2026-11-20 10:30:00,c2\n"
        b"3,survey,checkout,ten,nps,,,\n"
    )

    async def trickle() -> AsyncIterator[bytes]:
        for i in range(0, len(csv), 7):
            yield csv[i : i + 7]

    response = await http.post(
        f"/api/boards/{journey}/feedback", content=trickle(), headers={"Content-Type": "text/csv"}
    )
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["errors"][0]["line"] == 5 and "score" in report["errors"][0]["reason"]
    docs = await stored(server, "feedback", journey)
    assert docs["1"]["text"] == "slow, and then\nit failed"
    assert docs["1"]["at"] == 1_795_132_800_000 and docs["1"]["detractor"] == 1
    assert docs["2"]["at"] == 1_795_170_600_000 and docs["2"]["customer"] == "c2"


async def test_events_resolve_touchpoints_mark_purchases_and_dedupe(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    events = [
        {"customer": "c1", "touchpoint": "Store visit", "at": "2026-01-01T10:00:00Z"},
        {"customer": "c1", "touchpoint": "pay page", "at": "2026-01-01T10:05:00Z", "value": 42.5},
        {"customer": "c1", "touchpoint": "nowhere", "at": "2026-01-01T10:06:00Z"},
        {"customer": "c2", "touchpoint": "checkout"},
        {"customer": "c2", "touchpoint": "checkout", "at": "2026-01-02T00:00:00Z", "value": -1},
    ]
    report = await upload(http, journey, "events", events)
    assert (report["accepted"], report["rejected"]) == (2, 3)
    again = await upload(http, journey, "events", events[:2])
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    docs = sorted((await stored(server, "events", journey)).values(), key=lambda d: d["at"])
    assert [(d["node"], d["stage"], d["purchase"], d["value"]) for d in docs] == [
        ("store", "buy", 0, 0.0),
        ("checkout", "buy", 1, 42.5),
    ]


async def test_uploads_need_the_editor_role_and_a_supported_format(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    stranger = bearer(await user_with_token(server.accounts, "stranger"))
    viewer = bearer(await user_with_token(server.accounts, "viewer-of-journey"))
    await http.put(f"/api/boards/{journey}/members/viewer-of-journey", json={"role": "viewer"})
    url = f"/api/boards/{journey}/feedback"
    body = ndjson({"text": "hi"})
    assert (await http.post(url, content=body, headers=NDJSON | stranger)).status_code == 404
    refused = await http.post(url, content=body, headers=NDJSON | viewer)
    assert (
        refused.status_code == 403
        and refused.json()["error"]["details"]["required_role"] == "editor"
    )
    assert (
        await http.post(url, content=body, headers=NDJSON | {"Authorization": ""})
    ).status_code == 401
    wrong = await http.post(url, content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert wrong.status_code == 400 and "text/csv" in wrong.json()["error"]["message"]
    single = await http.post(
        url, content=b'{"text": "hi"}', headers={"Content-Type": "application/json"}
    )
    assert single.status_code == 400 and "array" in single.json()["error"]["message"]
    export = await http.post(
        url, content=b"Rating,Comment\n5,ok\n", headers={"Content-Type": "text/csv"}
    )
    assert export.status_code == 400
    assert "['Rating', 'Comment'] are not fields" in export.json()["error"]["message"]
    empty = await http.post(url, content=b"[{}]", headers={"Content-Type": "application/json"})
    assert empty.json()["errors"][0]["reason"] == "feedback needs a text or a score"


@contextlib.asynccontextmanager
async def small_uploads(
    mongodb_uri: str, limit: int
) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient, str]]:
    """A server taking uploads of at most `limit` bytes, a client of it and a new board."""
    async with running_server(settings_for_tests(max_upload_bytes=limit), mongodb_uri) as small:
        token = await user_with_token(small.accounts, "uploader")
        async with httpx.AsyncClient(base_url=small.url, headers=bearer(token)) as client:
            board = (await client.post("/api/boards", json={"title": "b"})).json()["id"]
            yield small, client, board


async def test_an_upload_over_the_limit_stops_with_413_and_keeps_what_came_before(
    mongodb_uri: str,
) -> None:
    async with small_uploads(mongodb_uri, 20_000) as (small, client, board):
        body = ndjson(*({"external_id": str(i), "text": "x" * 30} for i in range(2000)))

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 8192):
                yield body[i : i + 8192]

        response = await client.post(
            f"/api/boards/{board}/feedback", content=chunks(), headers=NDJSON
        )
        assert response.status_code == 413
        assert "re-sent records are skipped" in response.json()["error"]["message"]
        kept = await small.services.evidence.feedback.count_documents({"board": board})
        assert 0 < kept < 2000


async def test_hostile_uploads_are_rejected_row_by_row_or_refused_whole(
    http: httpx.AsyncClient, journey: str
) -> None:
    url = f"/api/boards/{journey}/feedback"
    mixed = b'\xff\xfe{"text": "bad bytes"}\n{"text": "nul \\u0000 inside", "external_id": "n"}\n'
    report = (await http.post(url, content=mixed, headers=NDJSON)).json()
    assert (report["accepted"], report["rejected"]) == (1, 1) and report["errors"][0]["line"] == 1
    twice = [{"external_id": "same", "text": "a"}, {"external_id": "same", "text": "b"}]
    report = (await http.post(url, json=twice)).json()
    assert (report["accepted"], report["duplicates"]) == (1, 1)
    wide = ",".join(f"c{i}" for i in range(10_000)).encode() + b"\n"
    refused = await http.post(url, content=wide, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 400
    deep = b"[" + b'{"text": ' * 5000 + b'"x"' + b"}" * 5000 + b"]"
    report = (
        await http.post(url, content=deep, headers={"Content-Type": "application/json"})
    ).json()
    assert report["accepted"] == 0 and report["rejected"] == 1


async def test_an_upload_declared_over_the_limit_is_refused_before_it_is_read(
    mongodb_uri: str,
) -> None:
    async with small_uploads(mongodb_uri, 1000) as (small, client, board):
        body = ndjson(*({"text": "x" * 50, "external_id": str(i)} for i in range(100)))
        response = await client.post(f"/api/boards/{board}/feedback", content=body, headers=NDJSON)
        assert response.status_code == 413 and response.json()["error"]["details"]["limit"] == 1000
        stored = await small.services.evidence.feedback.find_one({"board": board})
        assert stored is None, "nothing was read, so nothing was stored"


async def test_deleting_a_board_deletes_its_evidence(
    http: httpx.AsyncClient, server: RunningServer, journey: str
) -> None:
    await upload(http, journey, "feedback", [{"text": "gone soon", "touchpoint": "checkout"}])
    event = {"customer": "c", "touchpoint": "checkout", "at": "2026-01-01T00:00:00Z"}
    await upload(http, journey, "events", [event])
    assert (await http.delete(f"/api/boards/{journey}")).status_code == 204
    assert await stored(server, "feedback", journey) == {}
    assert await stored(server, "events", journey) == {}


async def test_insights_of_a_board_without_evidence_are_empty_not_errors(
    http: httpx.AsyncClient, journey: str
) -> None:
    for kind in ("emotion", "pain-points", "moments-of-truth", "paths", "repurchase", "support"):
        response = await http.get(f"/api/boards/{journey}/insights/{kind}")
        assert response.status_code == 200, (kind, response.text)
    assert (await http.get(f"/api/boards/{journey}/insights/paths")).json()["customers"] == 0


async def test_a_long_ingest_gives_the_event_loop_back_while_it_scores_records() -> None:
    """Records that arrive without waiting (a buffered body) still leave other tasks turns."""

    async def lines() -> AsyncIterator[tuple[int, Any]]:
        for number in range(1, 401):
            yield number, {"n": number}

    def slow_document(raw: Any) -> Any:
        time.sleep(0.001)  # the CPU that decoding and sentiment cost a record
        return raw

    async def insert(docs: list[Any]) -> int:
        return 0

    turns = 0

    async def other_board() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    other = asyncio.create_task(other_board())
    await asyncio.sleep(0)
    before = turns
    report = await ingest(lines(), slow_document, insert)
    other.cancel()
    assert report.accepted == 400
    assert turns - before >= 20, f"other tasks ran {turns - before} times in 0.4 s of ingest"
