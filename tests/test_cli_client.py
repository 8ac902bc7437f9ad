"""`journeyboard boards|import-*|export` against the session's server, as a shell runs them."""

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from journeyboard.cli import main
from tests.harness import RunningServer, user_with_token

FEEDBACK_CSV = """\
Response ID,Rating,Comment,Created At,Touchpoint
r1,5,Paying was quick,2024-05-01,Checkout
r2,2,My card was declined twice,2024-05-02,checkout
r3,9,Out of the csat range,2024-05-03,Checkout
r4,4,,2024-05-04,Checkout
"""
EVENTS_NDJSON = """\
{"user": "c1", "touchpoint": "checkout", "at": "2024-05-01T10:00:00Z", "value": 30}
{"user": "c2", "touchpoint": "Checkout", "at": "2024-05-01T11:00:00Z", "value": 12.5}

{"user": "c3", "touchpoint": "nowhere", "at": "2024-05-01T12:00:00Z"}
"""


class Ran(NamedTuple):
    status: int
    out: str
    err: str


Journeyboard = Callable[..., Awaitable[Ran]]


@pytest.fixture
async def journeyboard(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Journeyboard:
    """`journeyboard ARGS...` as `tester`, in a worker thread: the server runs in this loop.

    MONGODB_URI names a port nothing listens on, so a client command that touched the
    database would fail.
    """
    monkeypatch.setenv("JOURNEYBOARD_URL", server.url)
    monkeypatch.setenv("JOURNEYBOARD_TOKEN", await user_with_token(server.accounts, "tester"))
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100")

    async def run(*argv: str | Path) -> Ran:
        capsys.readouterr()
        status = await asyncio.to_thread(main, [str(a) for a in argv])
        out, err = capsys.readouterr()
        return Ran(status, out, err)

    return run


@pytest.fixture
async def checkout_board(board: dict[str, Any], http: httpx.AsyncClient) -> str:
    """A board of tester's with one touchpoint, `checkout`, that records can name."""
    node = {"kind": "node", "id": "checkout", "label": "Checkout", "type": "touchpoint"}
    response = await http.post(
        f"/api/boards/{board['id']}/ops", json={"ops": [{"op": "create", "element": node}]}
    )
    assert response.status_code == 200, response.text
    return str(board["id"])


def assert_one_line_error(ran: Ran, *mentions: str) -> None:
    assert ran.status == 1
    assert ran.out == ""
    assert ran.err.startswith("journeyboard: ") and ran.err.count("\n") == 1, ran.err
    for mention in mentions:
        assert mention in ran.err


async def test_a_board_is_created_listed_shown_and_deleted(journeyboard: Journeyboard) -> None:
    title = f"cli-{secrets.token_hex(4)}"
    created = await journeyboard(
        "boards", "create", title, "--template", "customer-journey", "--tag", "cli", "--tag", "q3"
    )
    assert created.status == 0, created.err
    board_id = created.out.strip()

    listed = await journeyboard("boards", "list", "--json")
    boards = [json.loads(line) for line in listed.out.splitlines()]
    assert {"id": board_id, "title": title, "tags": ["cli", "q3"]}.items() <= next(
        b for b in boards if b["id"] == board_id
    ).items()
    found = await journeyboard("boards", "list", "--search", title)
    assert found.status == 0 and title in found.out and board_id in found.out

    shown = json.loads((await journeyboard("boards", "show", board_id, "--json")).out)
    assert shown["board"]["template"] == "customer-journey"
    assert shown["elements"]["stage"] == 8 and shown["elements"]["lane"] == 5
    summary = (await journeyboard("boards", "show", board_id)).out
    assert "owner     tester" in summary and "8 stage" in summary

    assert (await journeyboard("boards", "delete", board_id)).out == f"deleted {board_id}\n"
    assert_one_line_error(await journeyboard("boards", "show", board_id), board_id)


async def test_feedback_import_reports_rejected_lines_and_then_only_duplicates(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(FEEDBACK_CSV)
    argv = ("import-feedback", survey, "--board", checkout_board, "--map", "score=Rating")
    options = ("--source", "survey", "--scale", "csat", "--json")

    first = await journeyboard(*argv, *options)
    assert first.status == 0, first.err
    assert json.loads(first.out) == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": 1,
        "errors": [{"line": 4, "reason": "a csat score must be between 1 and 5"}],
    }
    again = json.loads((await journeyboard(*argv, *options)).out)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 1)


async def test_a_readable_import_report_names_each_rejected_line(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(FEEDBACK_CSV)
    ran = await journeyboard(
        "import-feedback", survey, "--board", checkout_board, "--scale", "csat"
    )
    assert ran.status == 0, ran.err
    assert ran.out.splitlines() == [
        "rows accepted       3",
        "duplicates skipped  0",
        "rows rejected       1",
        "  line 4: a csat score must be between 1 and 5",
    ]


async def test_events_import_maps_columns_and_keeps_source_lines_across_chunks(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(EVENTS_NDJSON)
    ran = await journeyboard(
        "import-events", events, "--board", checkout_board, "--map", "customer=user",
        "--chunk-rows", "1", "--json",
    )  # fmt: skip
    assert ran.status == 0, ran.err
    report = json.loads(ran.out)
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert [e["line"] for e in report["errors"]] == [4]
    assert "nowhere" in report["errors"][0]["reason"]


async def test_export_writes_a_mermaid_flowchart_to_a_file(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    chart = tmp_path / "board.mmd"
    ran = await journeyboard(
        "export", "--board", checkout_board, "--format", "mermaid", "--output", chart
    )
    assert (ran.status, ran.out) == (0, "")
    assert chart.read_text().startswith("flowchart")
    assert '"Checkout"' in chart.read_text()


async def test_a_bad_token_is_one_line_on_stderr_without_the_token(
    journeyboard: Journeyboard,
) -> None:
    ran = await journeyboard("boards", "list", "--token", "not-a-real-token")
    assert_one_line_error(ran, "--token")
    assert "not-a-real-token" not in ran.err


async def test_no_token_says_how_to_get_one(
    journeyboard: Journeyboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEYBOARD_TOKEN")
    assert_one_line_error(await journeyboard("boards", "list"), "journeyboard token create")


async def test_a_missing_file_is_one_line(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.csv"
    ran = await journeyboard("import-feedback", missing, "--board", checkout_board)
    assert_one_line_error(ran, str(missing), "No such file")


async def test_a_map_without_equals_is_one_line(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(FEEDBACK_CSV)
    ran = await journeyboard("import-feedback", survey, "--board", checkout_board, "--map", "score")
    assert_one_line_error(ran, "FIELD=COLUMN")


async def test_an_unknown_board_is_one_line_naming_it(journeyboard: Journeyboard) -> None:
    ran = await journeyboard("export", "--board", "000000000000000000000", "--format", "json")
    assert_one_line_error(ran, "000000000000000000000")


async def test_every_insight_prints_as_tables_or_json(
    journeyboard: Journeyboard, checkout_board: str, tmp_path: Path
) -> None:
    (tmp_path / "survey.csv").write_text(FEEDBACK_CSV)
    imported = await journeyboard(
        "import-feedback", tmp_path / "survey.csv", "--board", checkout_board,
        "--map", "score=Rating", "--scale", "csat", "--json",
    )  # fmt: skip
    assert json.loads(imported.out)["accepted"] == 3
    emotion = await journeyboard("insights", "emotion", "--board", checkout_board)
    assert emotion.status == 0 and "Touchpoints" in emotion.out
    checkout_row = next(line for line in emotion.out.splitlines() if "Checkout" in line)
    cells = [cell.strip() for cell in checkout_row.split("│")]
    assert cells[2:4] == ["3", "67"], "3 feedback records, mean of 100, 25 and 75 (csat 5, 2, 4)"
    pains = await journeyboard("insights", "pain-points", "--board", checkout_board, "--json")
    found = json.loads(pains.out)["items"][0]
    assert found["touchpoint"]["id"] == "checkout"
    assert found["quotes"][0]["text"] == "My card was declined twice"
    for kind in ("moments-of-truth", "paths", "repurchase", "support", "stakeholders"):
        ran = await journeyboard("insights", kind, "--board", checkout_board)
        assert ran.status == 0 and ran.err == "", (kind, ran.err)
