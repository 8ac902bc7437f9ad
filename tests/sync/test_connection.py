"""The connection state machine, as tables: frames, outcomes and the time in, actions out.

No socket, no store, no event loop: each row is a script of inputs at given times and the
actions they come to, written in a few words (`said`) so a row reads like the protocol.
"""

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from schemas.board import Node
from schemas.errors import CloseCode
from schemas.ops import Create
from server.board import Rejected
from server.settings import Settings
from server.sync.connection import Action, Close, Connection, Send, Share, Submit, Wake
from server.sync.results import BoardBusy, Committed, OutcomeUnknown

T0 = 1_000.0  # the monotonic time the connection opened at
Input = Callable[[Connection, float], list[Action]]
Script = list[tuple[float, "str | Input"]]  # (seconds after T0, a text frame or another input)

CREATE = '{"op": "create", "element": {"kind": "node", "id": "n"}}'


def submit(client_op_id: int) -> str:
    return f'{{"type": "submit", "client_op_id": {client_op_id}, "ops": [{CREATE}]}}'


def presence(x: int) -> str:
    return f'{{"type": "presence", "cursor": {{"x": {x}, "y": 0}}}}'


def answer(outcome: Committed | Exception, client_op_id: int = 7) -> Input:
    return lambda connection, now: connection.answer(client_op_id, outcome)


def blob(size: int) -> str:
    """A broadcast of `size` characters (a JSON string, to the test's eyes)."""
    return '"' + "x" * (size - 2) + '"'


def queue(size: int) -> Input:
    return lambda connection, now: connection.send(blob(size))


def written(size: int) -> Input:
    def take(connection: Connection, now: float) -> list[Action]:
        connection.sent(blob(size))
        return []

    return take


def close(connection: Connection, now: float) -> list[Action]:
    return connection.close(CloseCode.GOING_AWAY, "the server is shutting down")


wake, beat = Connection.wake, Connection.beat


def said(action: Action) -> str:
    """An action in a few words: what to do, and the gist of the message it carries."""
    match action:
        case Send(text=text) | Share(text=text):
            verb, message = type(action).__name__.lower(), msgspec.json.decode(text)
            return f"{verb} {gist(message)}" if isinstance(message, dict) else verb
        case Submit(ops=ops, client_op_id=client_op_id):
            return f"submit #{client_op_id} with {len(ops)} op"
        case Close(code=code):
            return f"close {code}"
        case Wake(at=at):
            return f"wake at {at - T0:g}"


def gist(message: dict[str, Any]) -> str:
    words = [message["type"], message.get("code")]
    if "client_op_id" in message:
        words.append(f"#{message['client_op_id']}")
    if "seq" in message:
        words.append(f"seq {message['seq']}")
    if message.get("duplicate"):
        words.append("duplicate")
    if "retry_after_ms" in message.get("details", {}):
        words.append(f"retry in {message['details']['retry_after_ms']} ms")
    if message.get("cursor"):
        words.append(f"at x={message['cursor']['x']:g}")
    return " ".join(str(word) for word in words if word is not None)


def opened(**settings: Any) -> Connection:
    return Connection("ana", "c1", Settings(**settings), T0)


def run(script: Script, **settings: Any) -> list[str]:
    """Feed the script to a fresh connection; everything it said, in order."""
    connection = opened(**settings)
    actions = []
    for at, step in script:
        now = T0 + at
        actions += connection.receive(step, now) if isinstance(step, str) else step(connection, now)
    return [said(action) for action in actions]


FRAMES = [
    (submit(7), ["submit #7 with 1 op"]),
    ('{"type": "submit", "client_op_id": 7, "ops": [{"op": "fly"}]}', ["send reject invalid #7"]),
    ('{"type": "submit", "client_op_id": 7, "ops": []}', ["send reject invalid #7"]),
    ('{"type": "submit", "client_op_id": -1, "ops": []}', ["send error invalid"]),
    ('{"type": "submit", "client_op_id": 9007199254740993}', ["send error invalid"]),
    ('{"type": "presence", "cursor": "left"}', ["send error invalid"]),
    ('{"type": "dance"}', ["send error invalid"]),
    ('{"type": "ping", "extra": 1}', ["send error invalid"]),
    ("not json", ["send error bad_request"]),
    ('{"type": "ping"', ["send error bad_request"]),
    ("[" * 100_000, ["send error too_large"]),
    ('{"type": "ping"}', ["send pong"]),
    ('{"type": "pong"}', []),
    ('{"type": "auth", "token": "t"}', ["send error bad_request"]),
]


@pytest.mark.parametrize(("frame", "expected"), FRAMES, ids=[f[:40] for f, _ in FRAMES])
def test_each_frame_gets_the_answer_its_kind_calls_for(frame: str, expected: list[str]) -> None:
    assert run([(0, frame)]) == expected


def test_a_frame_over_the_size_limit_is_refused_with_the_limit() -> None:
    connection = opened(ws_max_message_bytes=10)
    (action,) = connection.receive('{"type": "ping"}', T0)
    assert isinstance(action, Send)
    assert msgspec.json.decode(action.text)["details"] == {"limit": 10}


def test_a_submission_carries_its_ops_to_the_room() -> None:
    connection = opened()
    (action,) = connection.receive(submit(3), T0)
    assert isinstance(action, Submit)
    assert action.ops == [Create(element=Node(id="n"))]


RATES = [  # ops per second 2, burst 2: two at once, then one every half second
    ([0, 0], ["submit #0 with 1 op", "submit #1 with 1 op"]),
    ([0, 0, 0], ["submit #0 with 1 op", "submit #1 with 1 op", "send reject rate_limited #2 retry in 500 ms"]),
    ([0, 0, 0.4], ["submit #0 with 1 op", "submit #1 with 1 op", "send reject rate_limited #2 retry in 100 ms"]),
    ([0, 0, 0.5], ["submit #0 with 1 op", "submit #1 with 1 op", "submit #2 with 1 op"]),
]  # fmt: skip


@pytest.mark.parametrize(("times", "expected"), RATES)
def test_a_submission_over_the_rate_is_rejected_with_when_to_retry(
    times: list[float], expected: list[str]
) -> None:
    script: Script = [(at, submit(i)) for i, at in enumerate(times)]
    assert run(script, ws_ops_per_second=2, ws_ops_burst=2) == expected


FLOODS = [  # ops per second 1, burst 1, flood seconds 3
    (0.125, 2.0, None),  # rejected most of the time, but not yet for long enough
    (0.125, 5.0, 3.25),  # rejections less than a second apart for over 3 s: closed
    (0.5, 5.0, 4.5),  # rejections exactly a second apart still make one flood
    (0.9, 20.0, None),  # every other one passes: each rejection is 1.8 s after the last
]


@pytest.mark.parametrize(("gap", "seconds", "closed_at"), FLOODS)
def test_a_client_flooding_past_the_flood_seconds_is_closed_and_then_told_nothing(
    gap: float, seconds: float, closed_at: float | None
) -> None:
    connection = opened(ws_ops_per_second=1, ws_ops_burst=1, ws_flood_seconds=3)
    times = [i * gap for i in range(round(seconds / gap) + 1)]
    told = [(at, said(a)) for at in times for a in connection.receive(submit(0), T0 + at)]
    closes = [(at, what) for at, what in told if what.startswith("close")]
    assert closes == ([] if closed_at is None else [(closed_at, f"close {CloseCode.RATE_LIMITED}")])
    assert closed_at is None or told[-1] == closes[0]


OUTCOMES = [
    (Committed(seq=12), "send ack #7 seq 12"),
    (Committed(seq=12, duplicate=True), "send ack #7 seq 12 duplicate"),
    (Rejected("unknown_element", "no element n", id="n"), "send reject unknown_element #7"),
    (BoardBusy("too many submissions are waiting"), "send reject busy #7"),
    (OutcomeUnknown("the database did not answer in time"), "send reject outcome_unknown #7"),
    (RuntimeError("the database is down"), "send reject unavailable #7"),
]


@pytest.mark.parametrize(("outcome", "expected"), OUTCOMES, ids=[e for _, e in OUTCOMES])
def test_each_outcome_is_answered_with_an_ack_or_why_it_was_refused(
    outcome: Committed | Exception, expected: str
) -> None:
    assert run([(0, submit(7)), (0.1, answer(outcome))]) == ["submit #7 with 1 op", expected]


def test_a_refusal_keeps_the_details_and_message_the_room_gave_it() -> None:
    connection = opened()
    (action,) = connection.answer(7, Rejected("unknown_element", "no element n", id="n"))
    assert isinstance(action, Send)
    reject = msgspec.json.decode(action.text)
    assert (reject["message"], reject["details"]) == ("no element n", {"id": "n"})


PRESENCES = [  # presence_hz 10: at most one share every 0.1 s
    ([(0, presence(1))], ["share presence at x=1"]),
    ([(0, presence(1)), (0.2, presence(2))], ["share presence at x=1", "share presence at x=2"]),
    (
        [(0, presence(1)), (0.02, presence(2)), (0.05, presence(3)), (0.1, wake)],
        ["share presence at x=1", "wake at 0.1", "share presence at x=3"],
    ),
    (
        [(0, presence(1)), (0.02, presence(2)), (0.1, wake), (0.15, presence(3)), (0.2, wake)],
        ["share presence at x=1", "wake at 0.1", "share presence at x=2", "wake at 0.2",
         "share presence at x=3"],
    ),
    ([(0, presence(1)), (0.05, presence(2)), (0.05, close), (0.1, wake)],
     ["share presence at x=1", "wake at 0.1", f"close {CloseCode.GOING_AWAY}"]),
    ([(0, wake)], []),
]  # fmt: skip


@pytest.mark.parametrize(("script", "expected"), PRESENCES)
def test_presence_faster_than_presence_hz_coalesces_into_the_latest_at_the_wake_time(
    script: Script, expected: list[str]
) -> None:
    assert run(script, presence_hz=10) == expected


HEARTBEATS = [  # heartbeat interval 10 s, timeout 25 s
    ([(10, beat)], ["send ping"]),
    ([(35, beat)], ["send ping"]),
    ([(35.1, beat)], [f"close {CloseCode.TIMEOUT}"]),
    ([(30, '{"type": "pong"}'), (60, beat)], ["send ping"]),
    ([(30, "not json"), (60, beat)], ["send error bad_request", "send ping"]),
    ([(40, beat), (50, beat)], [f"close {CloseCode.TIMEOUT}"]),
]


@pytest.mark.parametrize(("script", "expected"), HEARTBEATS)
def test_a_client_silent_past_interval_plus_timeout_is_closed_else_pinged(
    script: Script, expected: list[str]
) -> None:
    assert run(script, heartbeat_interval=10, heartbeat_timeout=25) == expected


AFTER_CLOSE = [
    [(1, '{"type": "ping"}')],
    [(1, submit(7))],
    [(1, answer(Committed(seq=3)))],
    [(1, presence(1))],
    [(1, beat)],
    [(1, queue(10))],
    [(1, close)],
]


@pytest.mark.parametrize("script", AFTER_CLOSE)
def test_after_close_nothing_more_is_sent(script: Script) -> None:
    assert run([(0, close), *script]) == [f"close {CloseCode.GOING_AWAY}"]


SLOW = f"close {CloseCode.SLOW_CONSUMER}"
BACKLOGS = [  # dropped once 3 messages or 100 characters are already queued
    ([queue(10), queue(10), queue(10)], ["send", "send", "send"]),
    ([queue(10), queue(10), queue(10), queue(10)], ["send", "send", "send", SLOW]),
    ([queue(10), queue(10), queue(10), written(10), queue(10)], ["send"] * 4),
    ([queue(60), queue(40)], ["send", "send"]),
    ([queue(60), queue(41)], ["send", "send"]),  # one more always fits below the limit
    ([queue(60), queue(40), queue(1)], ["send", "send", SLOW]),
    ([queue(60), written(60), queue(60)], ["send", "send"]),
    ([queue(101)], ["send"]),  # a message as large as a batch may be reaches an idle client
    ([queue(101), queue(1)], ["send", SLOW]),
    ([queue(60), queue(41), queue(1), written(60), queue(1)], ["send", "send", SLOW]),
]


@pytest.mark.parametrize(("steps", "expected"), BACKLOGS)
def test_a_client_too_far_behind_is_closed_as_a_slow_consumer(
    steps: list[Input], expected: list[str]
) -> None:
    script: Script = [(0, step) for step in steps]
    assert run(script, ws_max_queued_messages=3, ws_max_queued_bytes=100) == expected
