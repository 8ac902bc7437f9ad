"""One connected client: its outbox, heartbeat, rates and presence; no board rules live here.

The session talks to its transport through a two-method Channel, so the same code serves
any websocket server; server/ws.py adapts Starlette's.
"""

import asyncio
import contextlib
import hashlib
import time
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

import msgspec

from schemas.auth import Role
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
    Submit,
)
from schemas.ops import BoardOp
from server.board import Rejected
from server.board.apply import invalid
from server.ratelimit import Buckets
from server.settings import Settings
from server.store.mongo import StoreError
from server.sync.results import BoardBusy, Committed, OutcomeUnknown, RetryCheck

encode = msgspec.json.Encoder().encode
decode_message = msgspec.json.Decoder(AnyClientMessage).decode


class _SubmitId(msgspec.Struct):
    """Just enough of a submission to answer it when the rest of it is invalid."""

    type: str
    client_op_id: int


decode_submit_id = msgspec.json.Decoder(_SubmitId).decode
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#469990")


class Channel(Protocol):
    """What a session needs from a websocket."""

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Board(Protocol):
    """What a session needs of its room (server/sync/room.py), which it does not import."""

    def submit(
        self,
        ops: Sequence[BoardOp],
        user: str,
        client_id: str,
        client_op_id: int,
        role: Role,
        check: RetryCheck,
        via: str,
    ) -> "asyncio.Future[Committed]": ...

    def share(self, text: str, skip: "Session | None" = None) -> None: ...


def color_of(user: str) -> str:
    return COLORS[hashlib.sha256(user.encode()).digest()[0] % len(COLORS)]


class Session:
    """A client on a board: it queues what the room broadcasts and answers what the client sends."""

    def __init__(
        self,
        channel: Channel,
        room: Board,
        user: str,
        role: Role,
        client_id: str,
        settings: Settings,
        admin: bool = False,
    ) -> None:
        self.channel = channel
        self.room = room
        self.user = user
        self.role = role
        self.admin = admin  # admins act as owners without being members
        self.client_id = client_id
        self.settings = settings
        self.presence: Presence | None = None
        self.closing: tuple[int, str] | None = None
        self.last_heard = time.monotonic()
        self._outbox: deque[str] = deque()
        self._catch_up: AsyncGenerator[str, None] | None = None
        self._outbox_bytes = 0
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._rate = Buckets(settings.ws_ops_per_second, settings.ws_ops_burst)
        self._limited_since: float | None = None
        self._last_limited = 0.0
        self._last_presence = 0.0
        self._presence_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, text: str) -> None:
        """Queue an encoded message; a client too far behind is dropped, never buffered."""
        if self.closing is not None:
            return
        if (
            len(self._outbox) >= self.settings.ws_max_queued_messages
            or self._outbox_bytes + len(text) > self.settings.ws_max_queued_bytes
        ):
            self.close_soon(
                CloseCode.SLOW_CONSUMER, "too far behind; reconnect and resume from your seq"
            )
            return
        self._outbox.append(text)
        self._outbox_bytes += len(text)
        self._wakeup.set()

    def start(self, catch_up: AsyncGenerator[str, None]) -> None:
        """What to send before anything queued: welcome and catch-up, pulled as the socket
        drains, so only live traffic counts against the slow-consumer limit."""
        self._catch_up = catch_up

    def send_message(self, message: ServerMessage) -> None:
        self.send(encode(message).decode())

    def close_soon(self, code: int, reason: str) -> None:
        """Close after nothing more is sent; the writer does it."""
        if self.closing is None:
            self.closing = (code, reason)
            self._outbox.clear()
            self._wakeup.set()
            # A client that reads nothing cannot take our close frame: give up on it after 2 s.
            asyncio.get_running_loop().call_later(2, self._abandon)

    def _abandon(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    async def run_writer(self) -> None:
        """Send the catch-up, then queued messages in order, and the close frame once closing."""
        self._writer = asyncio.current_task()
        await self._send_catch_up()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outbox and self.closing is None:
                text = self._outbox.popleft()
                self._outbox_bytes -= len(text)
                await self.channel.send(text)
            if self.closing is not None:
                with contextlib.suppress(Exception):
                    await self.channel.close(*self.closing)
                return

    async def _send_catch_up(self) -> None:
        if self._catch_up is None:
            return
        catch_up, self._catch_up = self._catch_up, None
        try:
            async with contextlib.aclosing(catch_up):
                async for text in catch_up:
                    if self.closing is not None:
                        return
                    await self.channel.send(text)
        except StoreError:
            self.close_soon(CloseCode.TRY_AGAIN, "the database is unavailable; reconnect later")

    def beat(self, now: float) -> None:
        """Ping the client; close it if it has said nothing for interval + timeout."""
        interval, timeout = self.settings.heartbeat_interval, self.settings.heartbeat_timeout
        if now - self.last_heard > interval + timeout:
            self.close_soon(CloseCode.TIMEOUT, "no message within the heartbeat timeout")
        else:
            self.send_message(ServerPing())

    def receive(self, text: str) -> None:
        """Handle one frame from the client."""
        self.last_heard = time.monotonic()
        if len(text) > self.settings.ws_max_message_bytes:
            limit = self.settings.ws_max_message_bytes
            self.send_message(
                Error(
                    code="too_large",
                    message=f"messages are limited to {limit} bytes",
                    details={"limit": limit},
                )
            )
            return
        try:
            message = decode_message(text)
        except msgspec.ValidationError as error:
            self._refuse_invalid(text, invalid(error, "$"))
            return
        except (msgspec.DecodeError, RecursionError) as error:
            self.send_message(Error(code="bad_request", message=f"not valid JSON: {error}"))
            return
        match message:
            case Submit():
                self._submit(message)
            case SetPresence():
                self._set_presence(message)
            case Ping():
                self.send_message(ServerPong())
            case Pong():
                pass
            case Auth():
                self.send_message(Error(code="bad_request", message="already authenticated"))

    def _refuse_invalid(self, text: str, rejected: Rejected) -> None:
        """A wrong shape: a `reject` when it is a submission whose id we can read (so the
        client can drop it), else an `error`."""
        with contextlib.suppress(msgspec.MsgspecError):
            submitted = decode_submit_id(text)
            if submitted.type == "submit" and 0 <= submitted.client_op_id <= 2**53:
                self.send_message(
                    Reject(
                        client_op_id=submitted.client_op_id,
                        code="invalid",
                        message=rejected.message,
                        details=rejected.details,
                    )
                )
                return
        self.send_message(Error(code="invalid", message=rejected.message, details=rejected.details))

    def _submit(self, message: Submit) -> None:
        wait = self._rate.take("ops", time.monotonic())
        if wait:
            self._refuse_flood(message.client_op_id, wait)
            return
        future = self.room.submit(
            message.ops, self.user, self.client_id, message.client_op_id, self.role, "session", "ws"
        )
        task = asyncio.create_task(self._answer(message.client_op_id, future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refuse_flood(self, client_op_id: int, wait: float) -> None:
        """Reject over-rate submissions; close a client that keeps flooding for too long.

        The flood lasts as long as rejections keep coming less than a second apart.
        """
        now = time.monotonic()
        if self._limited_since is None or now - self._last_limited > 1.0:
            self._limited_since = now
        self._last_limited = now
        if now - self._limited_since > self.settings.ws_flood_seconds:
            self.close_soon(CloseCode.RATE_LIMITED, "over the op rate for too long")
            return
        details = {"retry_after_ms": max(1, round(wait * 1000))}
        self.send_message(
            Reject(
                client_op_id=client_op_id,
                code="rate_limited",
                message="too many submissions; slow down",
                details=details,
            )
        )

    async def _answer(self, client_op_id: int, future: asyncio.Future[Committed]) -> None:
        try:
            committed = await asyncio.shield(future)  # closing this session must not cancel it
        except Rejected as rejected:
            self.send_message(
                Reject(
                    client_op_id=client_op_id,
                    code=rejected.code,
                    message=rejected.message,
                    details=rejected.details,
                )
            )
        except BoardBusy as busy:
            self.send_message(Reject(client_op_id=client_op_id, code="busy", message=str(busy)))
        except OutcomeUnknown as unknown:
            self.send_message(
                Reject(client_op_id=client_op_id, code="outcome_unknown", message=str(unknown))
            )
        except Exception:
            self.send_message(
                Reject(
                    client_op_id=client_op_id,
                    code="unavailable",
                    message="the database did not answer; nothing was changed: resend later",
                )
            )
        else:
            self.send_message(
                Ack(client_op_id=client_op_id, seq=committed.seq, duplicate=committed.duplicate)
            )

    def _set_presence(self, message: SetPresence) -> None:
        self.presence = Presence(
            client_id=self.client_id,
            user=self.user,
            color=color_of(self.user),
            cursor=message.cursor,
            selection=message.selection,
        )
        if self._presence_timer is not None:
            return
        delay = self._last_presence + 1 / self.settings.presence_hz - time.monotonic()
        if delay <= 0:
            self._flush_presence()
        else:
            self._presence_timer = asyncio.get_running_loop().call_later(
                delay, self._flush_presence
            )

    def _flush_presence(self) -> None:
        """Send the latest presence: updates faster than presence_hz coalesce into one."""
        self._presence_timer = None
        self._last_presence = time.monotonic()
        if self.presence is not None and self.closing is None:
            self.room.share(encode(self.presence).decode(), skip=self)

    def stop(self) -> None:
        if self._presence_timer is not None:
            self._presence_timer.cancel()
        for task in self._tasks:
            task.cancel()
