"""What operators see: metrics at /metrics, one JSON event per log line, no secret anywhere."""

import json
import logging

import httpx

from server.logs import JsonFormatter, TextFormatter
from tests.harness import (
    LogRecorder,
    RunningServer,
    bearer,
    running_server,
    settings_for_tests,
    user_with_token,
)


async def test_metrics_show_commits_requests_and_live_levels(
    server: RunningServer, http: httpx.AsyncClient, board: dict[str, object]
) -> None:
    node = {"op": "create", "element": {"kind": "node", "id": "m1"}}
    assert (await http.post(f"/api/boards/{board['id']}/ops", json={"ops": [node]})).is_success
    await http.get("/api/boards/no-such-board")
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        text = (await anonymous.get("/metrics")).text
    for name in (
        "jb_commit_seconds_count",
        "jb_commit_group_size_bucket",
        "jb_http_requests_total",
        'jb_errors_total{code="not_found"}',
        "jb_queue_depth",
        "jb_sessions",
        "jb_rooms_open",
        "jb_imports_in_flight",
        "jb_change_stream_lag_seconds_bucket",
    ):
        assert name in text, name


async def test_metrics_with_a_token_answer_only_its_bearer(mongodb_uri: str) -> None:
    settings = settings_for_tests(metrics_token="scrape-secret")
    async with (
        running_server(settings, mongodb_uri) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/metrics", headers=bearer("wrong"))).status_code == 404
        assert (await http.get("/metrics", headers=bearer("scrape-secret"))).status_code == 200


async def test_access_log_names_path_user_and_board_but_never_the_query_string(
    server: RunningServer, no_secret_is_ever_logged: LogRecorder, board: dict[str, object]
) -> None:
    token = await user_with_token(server.accounts, "tester")
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get(f"/api/boards/{board['id']}?ticket=s3cr3t-in-query", headers=bearer(token))
    server_lines = [
        line
        for line in no_secret_is_ever_logged.lines
        if not line.startswith("HTTP Request:")  # the test's own httpx client
    ]
    assert any(f"GET /api/boards/{board['id']} 200" in line for line in server_lines)
    assert not any("s3cr3t" in line for line in server_lines)


def record(**fields: object) -> logging.LogRecord:
    made = logging.LogRecord(
        "journeyboard.sync", logging.INFO, __file__, 1, "commit %s", (7,), None
    )
    made.__dict__.update(fields)
    return made


def test_json_lines_carry_the_event_fields_and_redact_token_shapes() -> None:
    line = JsonFormatter().format(record(board="b1", user="ana", client_id="c1", seq=7))
    event = json.loads(line)
    assert event["msg"] == "commit 7" and event["level"] == "info"
    assert (event["board"], event["user"], event["client_id"], event["seq"]) == (
        "b1",
        "ana",
        "c1",
        7,
    )
    leaked = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "bad %s", ("/ws?token=abc jb_0123456789abcdef_xyz",), None
    )
    for formatter in (JsonFormatter(), TextFormatter()):
        text = formatter.format(leaked)
        assert "abc" not in text and "jb_0123456789abcdef_" not in text, text
