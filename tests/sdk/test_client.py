"""Every SDK method against a real server, and every error code mapped to its exception."""

import asyncio
import csv
import io
import json
import signal
import time
from pathlib import Path

import pytest

from client_sdk import (
    AsyncJourneyboardClient,
    Conflict,
    ConnectionFailed,
    Journey,
    JourneyboardClient,
    NotFound,
    PermissionDenied,
    RateLimited,
    Retries,
    Unauthorized,
    ValidationFailed,
)
from schemas.board import Node, Stage, Stakeholder
from schemas.ops import Create
from server.store.embedded import EmbeddedStore
from tests.harness import RunningServer, running_server, settings_for_tests, user_with_token


async def test_boards_are_created_paged_updated_and_deleted(jb: AsyncJourneyboardClient) -> None:
    tag = f"paging-{time.monotonic_ns()}"
    made = [await jb.create_board(f"Board {i}", tags=[tag]) for i in range(5)]
    seen = [b.id async for b in jb.iter_boards(tag=tag, page_size=2)]
    assert seen == [b.id for b in reversed(made)]
    page = await jb.list_boards(tag=tag, limit=2)
    assert len(page.items) == 2 and page.next_cursor == page.items[-1].id
    changed = await jb.update_board(made[0].id, title="Renamed", tags=[tag, "x"])
    assert (changed.title, changed.tags) == ("Renamed", [tag, "x"])
    assert (await jb.get_board(made[0].id)).description == ""
    await jb.delete_board(made[0].id)
    with pytest.raises(NotFound):
        await jb.get_board(made[0].id)


async def test_a_journey_built_with_the_builder_lands_in_one_batch(
    jb: AsyncJourneyboardClient,
) -> None:
    board = await jb.create_board("Built")
    journey = Journey()
    buy = journey.stage("Purchase")
    lane = journey.lane("Touchpoints")
    cart = journey.touchpoint("Cart", stage=buy, lane=lane, channel="web")
    pay = journey.touchpoint("Payment", stage=buy, lane=lane, channel="web")
    again = journey.touchpoint("Payment", stage=buy)
    check = journey.node("Card ok?", type="decision", stage=buy)
    journey.connect(cart, pay)
    journey.connect(pay, check)
    journey.connect(check, again, "no")
    journey.moment_of_truth(pay)
    team = journey.stakeholder("Payments team", influence=8, interest=9, touchpoints=(pay,))
    result = await jb.apply_ops(board.id, journey.ops)
    assert result.applied == len(journey.ops)
    snapshot = await jb.snapshot(board.id)
    elements = {e.id: e for e in snapshot.elements}
    assert again == "payment-2" and isinstance(elements[pay], Node)
    assert elements[pay].type == "moment_of_truth"  # type: ignore[union-attr]
    assert [s.id for s in await jb.stakeholders(board.id)] == [team]
    assert snapshot.seq == result.seq


async def test_elements_comments_and_members(
    jb: AsyncJourneyboardClient, server: RunningServer
) -> None:
    board = await jb.create_board("Elements")
    node = await jb.create_element(board.id, Node(id="n1", label="Visit"))
    assert isinstance(node, Node) and node.label == "Visit"
    updated = await jb.update_element(board.id, "n1", set={"label": "Store visit"})
    assert updated.label == "Store visit"
    assert (await jb.get_element(board.id, "n1")).label == "Store visit"
    first = await jb.add_comment(board.id, "Why here?", target="n1")
    await jb.add_comment(board.id, "Because", target="n1", parent=first.id)
    assert [c.text for c in await jb.comments(board.id, target="n1")] == ["Why here?", "Because"]
    assert first.author == "tester"
    await user_with_token(server.accounts, "colleague")
    await jb.set_member(board.id, "colleague", "viewer")
    assert {(m.user, m.role) for m in (await jb.members(board.id)).items} == {
        ("tester", "owner"),
        ("colleague", "viewer"),
    }
    await jb.remove_member(board.id, "colleague")
    assert [m.user for m in (await jb.members(board.id)).items] == ["tester"]
    await jb.delete_element(board.id, "n1")
    with pytest.raises(NotFound):
        await jb.get_element(board.id, "n1")


async def test_feedback_and_events_import_from_rows_and_report_source_lines(
    jb: AsyncJourneyboardClient, tmp_path: Path
) -> None:
    board = await jb.create_board("Evidence")
    await jb.create_element(board.id, Node(id="checkout", label="Checkout", type="touchpoint"))
    rows = [{"Response ID": str(i), "Rating": 1 + i % 5, "Comment": "ok"} for i in range(12)]
    rows[7]["Rating"] = 9  # out of range for csat
    seen: list[int] = []
    options = {
        "mapping": {"score": "Rating"},
        "defaults": {"source": "survey", "scale": "csat", "touchpoint": "checkout"},
        "chunk_rows": 5,
    }
    report = await jb.import_feedback(
        board.id,
        rows,
        progress=lambda p: seen.append(p.rows),
        **options,  # type: ignore[arg-type]
    )
    assert (report.accepted, report.rejected) == (11, 1)
    assert report.errors[0].line == 8, "row 8 of the source, though it was line 3 of its chunk"
    assert seen == [5, 10, 12]
    again = await jb.import_feedback(board.id, rows, **options)  # type: ignore[arg-type]
    assert (again.accepted, again.duplicates) == (0, 11)
    events = tmp_path / "events.ndjson"
    events.write_text(
        "\n".join(
            json.dumps({"customer": f"c{i}", "touchpoint": "Checkout", "at": "2026-01-01"})
            for i in range(3)
        )
    )
    assert (await jb.import_events(board.id, events)).accepted == 3


async def test_exports_render_the_board(jb: AsyncJourneyboardClient, tmp_path: Path) -> None:
    board = await jb.create_board("Export")
    journey = Journey()
    a, b = journey.node("Start", type="start"), journey.node("Ask?", type="decision")
    journey.connect(a, b)
    await jb.apply_ops(board.id, journey.ops)
    assert json.loads(await jb.export(board.id))["seq"] >= 1
    assert "kind,id,label" in await jb.export(board.id, "csv")
    mermaid = (await jb.export_to(board.id, tmp_path / "flow.mmd")).read_text()
    assert 'n_start(["Start"])' in mermaid and "n_start --> n_ask" in mermaid


async def test_api_errors_become_typed_exceptions(
    jb: AsyncJourneyboardClient, server: RunningServer
) -> None:
    board = await jb.create_board("Errors")
    with pytest.raises(NotFound):
        await jb.snapshot("no-such-board")
    await jb.create_element(board.id, Node(id="n1"))
    with pytest.raises(Conflict):
        await jb.create_element(board.id, Node(id="n1"))
    with pytest.raises(ValidationFailed) as invalid:
        await jb.apply_ops(board.id, [Create(element=Stage(id="s", label="x" * 300))])
    assert invalid.value.path == "$.ops[0].element.label"
    viewer = await user_with_token(server.accounts, "sdk-viewer")
    await jb.set_member(board.id, "sdk-viewer", "viewer")
    async with AsyncJourneyboardClient(server.url, viewer) as limited:
        with pytest.raises(PermissionDenied) as denied:
            await limited.create_element(board.id, Stakeholder(id="s1"))
        assert denied.value.required_role == "editor"
    async with AsyncJourneyboardClient(server.url, "jb_0000000000000000_" + "x" * 43) as bad:
        with pytest.raises(Unauthorized):
            await bad.me()


async def test_no_token_and_no_server_fail_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOURNEYBOARD_TOKEN", raising=False)
    with pytest.raises(Unauthorized, match="JOURNEYBOARD_TOKEN"):
        AsyncJourneyboardClient("http://127.0.0.1:9")
    quick = Retries(attempts=2, base=0.01)
    async with AsyncJourneyboardClient("http://127.0.0.1:9", "t", retries=quick) as nowhere:
        with pytest.raises(ConnectionFailed, match=r"127\.0\.0\.1:9"):
            await nowhere.list_boards()


async def test_429_is_retried_after_the_servers_retry_after(mongodb_uri: str) -> None:
    settings = settings_for_tests(requests_per_second_per_token=0.5, requests_burst_per_token=2)
    async with running_server(settings, mongodb_uri) as strict:
        token = await user_with_token(strict.accounts, "hasty")
        async with AsyncJourneyboardClient(strict.url, token) as client:
            started = time.monotonic()
            await asyncio.gather(*(client.me() for _ in range(3)))
            assert time.monotonic() - started >= 0.9, "the third call waited for Retry-After"
        async with AsyncJourneyboardClient(strict.url, token, retries=Retries(1)) as once:
            with pytest.raises(RateLimited) as limited:
                await asyncio.gather(*(once.me() for _ in range(3)))
            assert limited.value.retry_after >= 1


async def test_a_503_from_a_paused_database_is_retried_until_it_answers(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path) as store:
        settings = settings_for_tests(connect_timeout_ms=700)
        async with running_server(settings, store.uri) as server:
            token = await user_with_token(server.accounts, "patient")
            async with AsyncJourneyboardClient(server.url, token) as client:
                board = await client.create_board("Outage")
                store.kill(signal.SIGSTOP)
                try:
                    loop = asyncio.get_running_loop()
                    loop.call_later(2.0, store.kill, signal.SIGCONT)
                    started = time.monotonic()
                    assert (await client.get_board(board.id)).title == "Outage"
                    assert time.monotonic() - started >= 1.5, "it answered after the outage"
                finally:
                    store.kill(signal.SIGCONT)
            async with AsyncJourneyboardClient(server.url, token, retries=Retries(1)) as once:
                store.kill(signal.SIGSTOP)
                try:
                    with pytest.raises(Exception) as failed:
                        await once.get_board(board.id)
                    assert getattr(failed.value, "status", None) == 503
                finally:
                    store.kill(signal.SIGCONT)


async def test_the_blocking_client_has_the_same_methods(
    server: RunningServer, tester_token: str
) -> None:
    def script() -> tuple[str, list[str]]:
        with JourneyboardClient(server.url, tester_token) as client:
            board = client.create_board("Blocking")
            client.create_element(board.id, Node(id="n1", label="One"))
            titles = [b.title for b in client.iter_boards(search="Blocking")]
            return client.get_element(board.id, "n1").label, titles

    label, titles = await asyncio.to_thread(script)
    assert label == "One" and "Blocking" in titles
    public = {n for n in dir(AsyncJourneyboardClient) if not n.startswith("_")}
    assert public - set(dir(JourneyboardClient)) == set()


async def test_csv_exports_cannot_smuggle_formulas_into_spreadsheets(
    jb: AsyncJourneyboardClient,
) -> None:
    board = await jb.create_board("Formulas")
    labels = [
        '=HYPERLINK("http://x")',
        "+1",
        "-2+3",
        "@SUM(A1)",
        "\tTab",
        "\rCR",
        'plain, "quoted"\nline',
    ]
    await jb.apply_ops(
        board.id, [Create(element=Node(id=f"n{i}", label=label)) for i, label in enumerate(labels)]
    )
    rows = list(csv.DictReader(io.StringIO(await jb.export(board.id, "csv"), newline="")))
    by_id = {row["id"]: row["label"] for row in rows}
    for i, label in enumerate(labels):
        expected = label if label.startswith("plain") else "'" + label
        assert by_id[f"n{i}"] == expected


async def test_a_pandas_dataframe_imports_with_its_missing_values_and_timestamps(
    jb: AsyncJourneyboardClient, server: RunningServer
) -> None:
    import pandas as pd

    board = await jb.create_board("DataFrame")
    frame = pd.DataFrame(
        {
            "ID": ["a", "b", "c", "d"],
            "Rating": [5, float("nan"), 9, 1],
            "Comment": ["great", "no score, only words", None, "slow"],
            "Created At": pd.to_datetime(
                ["2026-03-01 10:00", "2026-03-02 00:00", "2026-03-03 00:00", "2026-03-04 00:00"]
            ),
        }
    )
    report = await jb.import_feedback(
        board.id, frame, defaults={"source": "survey", "scale": "csat"}
    )
    assert (report.accepted, report.rejected) == (3, 1)
    assert report.errors[0].line == 4, "DataFrame rows are numbered like CSV lines"
    stored = await server.services.evidence.feedback.find_one(
        {"board": board.id, "customer": None, "text": "great"}
    )
    assert stored is not None and stored["at"] == 1_772_359_200_000 and stored["norm"] == 100


async def test_insight_methods_return_typed_answers(jb: AsyncJourneyboardClient) -> None:
    board = await jb.create_board("Insight methods")
    journey = Journey()
    pay = journey.touchpoint("Pay", stage=journey.stage("Buy"))
    journey.stakeholder("Ops", influence=8, interest=8, touchpoints=(pay,))
    await jb.apply_ops(board.id, journey.ops)
    await jb.import_feedback(
        board.id, [{"touchpoint": "Pay", "score": 2, "scale": "csat", "customer": "c"}]
    )
    await jb.import_events(
        board.id, [{"customer": "c", "touchpoint": "Pay", "at": "2026-01-01", "value": 9}]
    )
    assert (await jb.emotion_curve(board.id)).touchpoints[0].mean == 25
    assert (await jb.pain_points(board.id)).items[0].touchpoint.id == pay
    assert (await jb.paths(board.id)).paths[0].nodes == [pay]
    assert (await jb.repurchase(board.id)).customers == 1
    assert (await jb.moments_of_truth(board.id, min_customers=1)).suggested == []
    assert (await jb.support_kpis(board.id)).tickets == 1
    assert [s.id for s in (await jb.stakeholder_grid(board.id)).manage_closely] == ["ops"]


async def test_rows_the_file_garbles_are_reported_by_line_and_the_rest_imported(
    jb: AsyncJourneyboardClient, tmp_path: Path
) -> None:
    board = await jb.create_board("Garbled")
    lines = tmp_path / "mixed.ndjson"
    lines.write_text(
        '{"text": "fine", "external_id": "1"}\nnot json\n[1, 2]\n{"text": "also fine"}\n'
    )
    report = await jb.import_feedback(board.id, lines)
    assert (report.accepted, report.rejected) == (2, 2)
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (2, "not JSON"),
        (3, "a row is an object of fields, not list"),
    ]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "one"}, {"text": "two"}, {"text": ]')
    report = await jb.import_feedback(board.id, broken)
    assert report.rejected == 1 and "breaks after item" in report.errors[0].reason
