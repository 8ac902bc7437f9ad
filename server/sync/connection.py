"""One client's protocol decisions, sans I/O: frames, outcomes and the time in, actions out.

Like python-websockets' protocol.py, nothing here touches a socket, a task, a store or a
clock: the caller passes `now` in and carries out the actions returned (server/sync/session.py
does it with asyncio). So every rule of the websocket protocol (limits, rates, heartbeats,
presence pacing, how an outcome is answered, when a client is too far behind) is tested with
tables, in tests/sync/test_connection.py.
"""

import contextlib
import hashlib
import math
from typing import Any

import msgspec

from schemas.errors import CloseCode
from schemas.messages import (
    Ack,
    AnyClientMessage,
    Auth,
    Error,
    Ping,
    Pong,
    Presence,
    Reject,
    ServerMessage,
    ServerPing,
    ServerPong,
    SetPresence,
)
from schemas.messages import Submit as SubmitMessage
from schemas.ops import BoardOp
from server.board import Rejected
from server.board.apply import invalid
from server.ratelimit import Buckets
from server.settings import Settings
from server.sync.results import BoardBusy, Committed, OutcomeUnknown

encode = msgspec.json.Encoder().encode
decode_message = msgspec.json.Decoder(AnyClientMessage).decode
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#469990")


class _SubmitId(msgspec.Struct):
    """Just enough of a submission to answer it when the rest of it is invalid."""

    type: str
    client_op_id: int


decode_submit_id = msgspec.json.Decoder(_SubmitId).decode


class Send(msgspec.Struct, frozen=True):
    """Queue `text` for the client, after everything queued before it."""

    text: str


class Submit(msgspec.Struct, frozen=True):
    """Hand a submission to the room; feed its outcome back with `Connection.answer`."""

    ops: list[BoardOp]
    client_op_id: int


class Share(msgspec.Struct, frozen=True):
    """Send `text` to everyone else on the board, on every instance."""

    text: str


class Close(msgspec.Struct, frozen=True):
    """Drop what is queued and close the socket with `code` and `reason`."""

    code: int
    reason: str


class Wake(msgspec.Struct, frozen=True):
    """Call `Connection.wake` at monotonic time `at` (a presence update is waiting for it)."""

    at: float


Action = Send | Submit | Share | Close | Wake


def color_of(user: str) -> str:
    return COLORS[hashlib.sha256(user.encode()).digest()[0] % len(COLORS)]


class Connection:
    """A client on a board, as a state machine: each input returns what to do about it."""

    __slots__ = (
        "_last_limited",
        "_last_presence",
        "_limited_since",
        "_rate",
        "_wake_at",
        "client_id",
        "closing",
        "last_heard",
        "presence",
        "queued",
        "queued_bytes",
        "settings",
        "user",
    )

    def __init__(self, user: str, client_id: str, settings: Settings, now: float) -> None:
        self.user = user
        self.client_id = client_id
        self.settings = settings
        self.presence: Presence | None = None
        self.closing: tuple[int, str] | None = None
        self.last_heard = now
        self.queued = 0  # messages sent but not yet taken by the writer, and their size
        self.queued_bytes = 0
        self._rate: Buckets | None = None  # made at the first submission: many only watch
        self._limited_since: float | None = None
        self._last_limited = 0.0
        self._last_presence = -math.inf
        self._wake_at: float | None = None

    def send(self, text: str) -> list[Action]:
        """Queue an encoded message; a client already too far behind is dropped, never
        buffered further. One more message always fits below the limits, so any batch the
        pipeline lets through (it refuses those over ws_max_queued_bytes) reaches a client
        that is not."""
        if self.closing is not None:
            return []
        settings = self.settings
        if (
            self.queued >= settings.ws_max_queued_messages
            or self.queued_bytes >= settings.ws_max_queued_bytes
        ):
            return self.close(
                CloseCode.SLOW_CONSUMER, "too far behind; reconnect and resume from your seq"
            )
        self.queued += 1
        self.queued_bytes += len(text)
        return [Send(text)]

    def sent(self, text: str) -> None:
        """The writer took `text` off the queue: it no longer counts against the limits."""
        self.queued -= 1
        self.queued_bytes -= len(text)

    def close(self, code: int, reason: str) -> list[Action]:
        """Close after nothing more is sent; only the first reason counts."""
        if self.closing is not None:
            return []
        self.closing = (code, reason)
        self.queued = self.queued_bytes = 0
        return [Close(code, reason)]

    def beat(self, now: float) -> list[Action]:
        """Ping the client; close it if it has said nothing for interval + timeout."""
        interval, timeout = self.settings.heartbeat_interval, self.settings.heartbeat_timeout
        if now - self.last_heard > interval + timeout:
            return self.close(CloseCode.TIMEOUT, "no message within the heartbeat timeout")
        return self._send(ServerPing())

    def receive(self, text: str, now: float) -> list[Action]:
        """Handle one text frame from the client; once closing, none is read."""
        if self.closing is not None:
            return []
        self.last_heard = now
        if len(text) > self.settings.ws_max_message_bytes:
            limit = self.settings.ws_max_message_bytes
            message = f"messages are limited to {limit} bytes"
            return self._send(Error(code="too_large", message=message, details={"limit": limit}))
        try:
            decoded = decode_message(text)
        except msgspec.ValidationError as error:
            return self._refuse_invalid(text, invalid(error, "$"))
        except (msgspec.DecodeError, RecursionError) as error:
            return self._send(Error(code="bad_request", message=f"not valid JSON: {error}"))
        match decoded:
            case SubmitMessage():
                return self._submit(decoded, now)
            case SetPresence():
                return self._set_presence(decoded, now)
            case Ping():
                return self._send(ServerPong())
            case Pong():
                return []
            case Auth():
                return self._send(Error(code="bad_request", message="already authenticated"))

    def answer(self, client_op_id: int, outcome: Committed | BaseException) -> list[Action]:
        """Tell the client what its submission came to: an ack once durable, else why not."""
        match outcome:
            case Committed(seq=seq, duplicate=duplicate):
                return self._send(Ack(client_op_id=client_op_id, seq=seq, duplicate=duplicate))
            case Rejected(code=code, message=message, details=details):
                return self._reject(client_op_id, code, message, details)
            case BoardBusy():
                return self._reject(client_op_id, "busy", str(outcome))
            case OutcomeUnknown():
                return self._reject(client_op_id, "outcome_unknown", str(outcome))
            case _:
                message = "the database did not answer; nothing was changed: resend later"
                return self._reject(client_op_id, "unavailable", message)

    def wake(self, now: float) -> list[Action]:
        """The time a `Wake` asked for has come: share the presence that waited for it."""
        if self._wake_at is None:
            return []
        self._wake_at = None
        return self._share_presence(now)

    def _send(self, message: ServerMessage) -> list[Action]:
        return self.send(encode(message).decode())

    def _reject(
        self, client_op_id: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> list[Action]:
        details = {} if details is None else details
        return self._send(
            Reject(client_op_id=client_op_id, code=code, message=message, details=details)
        )

    def _refuse_invalid(self, text: str, rejected: Rejected) -> list[Action]:
        """A wrong shape: a `reject` when it is a submission whose id we can read (so the
        client can drop it), else an `error`."""
        with contextlib.suppress(msgspec.MsgspecError):
            submitted = decode_submit_id(text)
            if submitted.type == "submit" and 0 <= submitted.client_op_id <= 2**53:
                return self._reject(
                    submitted.client_op_id, "invalid", rejected.message, rejected.details
                )
        return self._send(Error(code="invalid", message=rejected.message, details=rejected.details))

    def _submit(self, message: SubmitMessage, now: float) -> list[Action]:
        if self._rate is None:
            self._rate = Buckets(self.settings.ws_ops_per_second, self.settings.ws_ops_burst)
        wait = self._rate.take("ops", now)
        if wait:
            return self._refuse_flood(message.client_op_id, wait, now)
        return [Submit(message.ops, message.client_op_id)]

    def _refuse_flood(self, client_op_id: int, wait: float, now: float) -> list[Action]:
        """Reject over-rate submissions; close a client that keeps flooding for too long.

        The flood lasts as long as rejections keep coming less than a second apart.
        """
        if self._limited_since is None or now - self._last_limited > 1.0:
            self._limited_since = now
        self._last_limited = now
        if now - self._limited_since > self.settings.ws_flood_seconds:
            return self.close(CloseCode.RATE_LIMITED, "over the op rate for too long")
        details = {"retry_after_ms": max(1, round(wait * 1000))}
        return self._reject(
            client_op_id, "rate_limited", "too many submissions; slow down", details
        )

    def _set_presence(self, message: SetPresence, now: float) -> list[Action]:
        """Keep the latest presence; share it at most presence_hz times a second."""
        self.presence = Presence(
            client_id=self.client_id,
            user=self.user,
            color=color_of(self.user),
            cursor=message.cursor,
            selection=message.selection,
        )
        if self._wake_at is not None:
            return []  # already waiting: the latest presence goes out then
        due = self._last_presence + 1 / self.settings.presence_hz
        if due <= now:
            return self._share_presence(now)
        self._wake_at = due
        return [Wake(due)]

    def _share_presence(self, now: float) -> list[Action]:
        self._last_presence = now
        if self.presence is None or self.closing is not None:
            return []
        return [Share(encode(self.presence).decode())]
