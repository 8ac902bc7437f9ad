"""A live replica of one board over the websocket, with optimistic local edits.

    async with client.live(board_id) as board:
        board.on_change(lambda change: print(change.seq, change.ops))
        async with board.batch():
            board.create(Node(id="n1", label="Checkout"))
            board.update("n1", channel="web")
        await board.synced()

The replica holds two states: `confirmed`, the board as of the last seq the server sent,
kept by applying each committed batch's effects (client_sdk/replica.py), and `elements`,
what you see: confirmed plus your edits the server has not answered yet, approximated by
client_sdk/intents.py and laid on top again whenever another client's op arrives (the
server's order wins). An edit leaves the view's overlay when its ack or reject comes.
Edits made while disconnected wait in order and are sent on reconnect with their original
ids, so each is applied exactly once however often the connection drops.
"""

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from client_sdk import wire
from client_sdk.errors import JourneyboardError, OfflineQueueFull, TooLarge, error_for
from client_sdk.intents import overlay
from client_sdk.replica import BoardView, from_snapshot, with_effects
from client_sdk.retries import Retries
from schemas.auth import Role
from schemas.board import AnyElement
from schemas.effects import Effects
from schemas.errors import CloseCode
from schemas.messages import (
    Ack,
    AnyServerMessage,
    Cursor,
    Error,
    InsightMessage,
    Left,
    OpMessage,
    Presence,
    Reject,
    ServerPing,
    SetPresence,
    SnapshotChunk,
    SnapshotMessage,
    Submit,
    Welcome,
)
from schemas.ops import BoardOp, Create, Delete, Move, Update

F = TypeVar("F")
log = logging.getLogger("journeyboard.live")
_encode = msgspec.json.Encoder().encode
# Closes after which reconnecting cannot help: the caller must fix credentials or access.
FATAL_CLOSES = {
    CloseCode.UNAUTHORIZED: "unauthorized",
    CloseCode.FORBIDDEN: "forbidden",
    CloseCode.NOT_FOUND: "not_found",
    CloseCode.GONE: "not_found",
}
RECONNECT = Retries(attempts=2**31, base=0.2, cap=5.0)
SILENCE = 35.0  # seconds without a frame (the server pings every 10) before reconnecting
SEND_RATE, SEND_BURST = 40.0, 80.0  # submissions per second: under the server's 50, 100
# Refusals worth resending with the same id (outcome_unknown: it applies at most once).
TRANSIENT = frozenset({"busy", "unavailable", "rate_limited", "outcome_unknown"})
MAX_SUBMIT_OPS, MAX_SUBMIT_BYTES = 1000, 64 * 1024  # the protocol's limits on one submission
MAX_PENDING_OPS = 10_000  # edits waiting for the server, offline or not: the queue's bound


@dataclass(frozen=True)
class Change:
    """Something changed what `elements` shows: a committed op, or a local edit (`seq` None).

    `ops` is what was asked; `effects`, for a committed op, what it did.
    """

    ops: list[BoardOp]
    seq: int | None
    user: str
    local: bool
    effects: Effects | None = None


@dataclass(frozen=True)
class _Pending:
    """A submission the server has not committed yet, as it will be (re)sent."""

    client_op_id: int
    ops: list[BoardOp]


class Edits(Generic[F]):
    """Shorthands for the common edits, on top of `submit` (whatever its answer type)."""

    def submit(self, ops: Iterable[BoardOp]) -> F:
        raise NotImplementedError

    def create(self, element: AnyElement) -> F:
        return self.submit([Create(element=element)])

    def update(self, element_id: str, **changes: Any) -> F:
        """Set properties, e.g. `update("n1", label="Pay", channel="web")`."""
        return self.submit([Update(id=element_id, set=changes)])

    def move(self, element_id: str, x: float, y: float) -> F:
        return self.submit([Move(id=element_id, x=x, y=y)])

    def delete(self, element_id: str) -> F:
        return self.submit([Delete(id=element_id)])


class LiveBoard(Edits["asyncio.Future[int]"]):
    """One board kept current over a websocket; open it with `client.live(board_id)`."""

    def __init__(
        self,
        url: str,
        token: str,
        board_id: str,
        client_id: str,
        reconnect: Retries = RECONNECT,
        max_pending: int = MAX_PENDING_OPS,
    ) -> None:
        self.board_id = board_id
        self.client_id = client_id
        self._url = f"{url.replace('http', 'ws', 1)}/ws/boards/{board_id}"
        self._token = token
        self._reconnect = reconnect
        self.user = ""
        self.role: Role = "viewer"
        self.seq = 0
        self.confirmed = BoardView()
        self.view = self.confirmed
        self._incoming: tuple[SnapshotMessage, list[AnyElement]] | None = None
        self.others: dict[str, Presence] = {}
        self.connected = asyncio.Event()
        self._joined = False
        self._pending: list[_Pending] = []
        self._pending_ops = 0
        self.max_pending = max_pending
        self._answers: dict[int, asyncio.Future[int]] = {}
        # Random, so two replicas (or runs) that share a client id do not share op ids.
        self._op_ids = itertools.count(secrets.randbelow(2**52))
        self._outbox: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[Change], Any]] = []
        self._insight_listeners: list[Callable[[InsightMessage], Any]] = []
        self._socket: ClientConnection | None = None
        self._sends: set[asyncio.Future[None]] = set()
        self._batch: list[BoardOp] | None = None
        self._batch_answer: asyncio.Future[int] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._first_sync: asyncio.Future[None] | None = None
        self._settled = asyncio.Event()
        self._settled.set()
        self.failure: JourneyboardError | None = None

    # Lifecycle

    async def __aenter__(self) -> "LiveBoard":
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self, within: float = 30.0) -> None:
        """Connect and wait for the first snapshot; raises if the board cannot be opened."""
        self._first_sync = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(), name=f"live board {self.board_id}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first_sync), within)
        except BaseException:
            self._runner.cancel()  # no board, no access, or no server in time: stop trying
            raise

    async def close(self, flush: float = 10.0) -> None:
        """Give unanswered edits up to `flush` seconds to be answered, then disconnect."""
        if self._pending and self.failure is None:
            with contextlib.suppress(TimeoutError):
                await self.synced(within=flush)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        closed = JourneyboardError("closed", "the live board closed before the server answered")
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(closed)

    async def synced(self, within: float | None = None) -> None:
        """Wait until the server has answered every edit made so far."""
        async with asyncio.timeout(within):
            while self._pending:
                if self.failure is not None:
                    raise self.failure
                self._settled.clear()
                await self._settled.wait()

    # Reading

    @property
    def elements(self) -> dict[str, AnyElement]:
        """Every element as you see it: the server's board plus your unanswered edits."""
        return self.view.elements

    @property
    def title(self) -> str:
        return self.view.title

    def get(self, element_id: str) -> AnyElement | None:
        return self.view.elements.get(element_id)

    def on_change(self, callback: Callable[[Change], Any]) -> Callable[[], None]:
        """Call `callback(change)` after every change; returns a function that stops it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def on_insight(self, callback: Callable[[InsightMessage], Any]) -> Callable[[], None]:
        """Call `callback(insight)` when new evidence moves the board's insight (about once a
        second during an import); returns a function that stops it."""
        self._insight_listeners.append(callback)
        return lambda: self._insight_listeners.remove(callback)

    # Editing

    def submit(self, ops: Iterable[BoardOp]) -> asyncio.Future[int]:
        """Apply ops locally at once and send them; the future resolves to their seq.

        Raises the typed error at once if the ops cannot apply to what you see (a duplicate
        id, a missing node); the future fails if the server rejects them later.
        """
        batch = list(ops)
        if self.failure is not None:
            raise self.failure
        if self._batch is None and (too_large := _too_large(batch)):
            raise too_large
        if self.pending_count + len(batch) > self.max_pending:
            raise OfflineQueueFull(
                "queue_full",
                f"{self.pending_count} ops await the server (limit {self.max_pending}); "
                "wait for `synced()` or reconnect before editing more",
            )
        self.view = overlay(self.view, batch, self.user)
        self._notify(Change(batch, None, self.user, local=True))
        if self._batch is not None and self._batch_answer is not None:
            self._batch.extend(batch)
            return self._batch_answer
        return self._queue(batch, asyncio.get_running_loop().create_future())

    @property
    def pending_count(self) -> int:
        """Ops not yet committed: sent and unanswered, queued offline, or in an open batch."""
        return self._pending_ops + len(self._batch or ())

    def _queue(self, ops: list[BoardOp], answer: asyncio.Future[int]) -> asyncio.Future[int]:
        pending = _Pending(next(self._op_ids), ops)
        self._pending.append(pending)
        self._pending_ops += len(ops)
        self._answers[pending.client_op_id] = answer
        answer.add_done_callback(self._report_rejection)
        self._settled.clear()
        self._send(pending)
        return answer

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[asyncio.Future[int]]:
        """Edits inside the block show at once and go to the server as one submission.

        The block yields the future of that submission (it resolves to its seq).
        """
        if self._batch is not None and self._batch_answer is not None:
            yield self._batch_answer
            return
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._batch, self._batch_answer = [], answer
        try:
            yield answer
        except BaseException:
            answer.cancel()
            self.view = self._rebase()
            raise
        finally:
            collected, self._batch, self._batch_answer = self._batch, None, None
        if too_large := _too_large(collected):
            self.view = self._rebase()
            self._notify(Change([], None, self.user, local=True))
            answer.set_exception(too_large)
            raise too_large
        if collected:
            self._queue(collected, answer)
        else:
            answer.set_result(self.seq)

    def set_presence(
        self, cursor: tuple[float, float] | None = None, selection: Iterable[str] = ()
    ) -> None:
        """Show others where your pointer is and what you selected (dropped when offline)."""
        if self._socket is not None and self.connected.is_set():
            at = Cursor(x=cursor[0], y=cursor[1]) if cursor else None
            message = SetPresence(cursor=at, selection=tuple(selection))
            self._spawn(self._socket.send(_encode(message).decode()))

    # The connection

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
                attempt = 0
            except InvalidStatus as error:
                status = error.response.status_code
                if status in (401, 403, 404):
                    kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]
                    self._fail(error_for(kind, f"cannot open board {self.board_id}", status))
                    return
            except ConnectionClosed as error:
                code = error.rcvd.code if error.rcvd else None
                if code in FATAL_CLOSES:
                    reason = error.rcvd.reason if error.rcvd else ""
                    self._fail(error_for(FATAL_CLOSES[code], reason or "closed by the server"))
                    return
            except (OSError, InvalidHandshake) as error:  # down, silent, or gone mid-handshake
                log.info("board %s: connection failed (%s); retrying", self.board_id, error)
            except Exception:
                # Never die silently: start over from a fresh snapshot, which heals the replica.
                log.exception("board %s: replica failed; rejoining", self.board_id)
                self._joined = False
            self.connected.clear()
            self._socket = None
            await asyncio.sleep(self._reconnect.delay(min(attempt, 10)))
            attempt += 1

    async def _session(self) -> None:
        """One connection: join (or resume from our seq), then read until it ends.

        A connection that has been silent longer than the server's heartbeat allows is
        taken for dead (a sleeping laptop, a dropped NAT entry) and replaced.
        """
        since = f"&since={self.seq}" if self._joined else ""
        async with connect(
            f"{self._url}?client_id={self.client_id}{since}",
            additional_headers={"Authorization": f"Bearer {self._token}"},
            max_size=None,
            ping_interval=None,
            proxy=None,
        ) as socket:
            self._socket = socket
            sender = asyncio.create_task(self._sender(socket))
            try:
                while True:
                    async with asyncio.timeout(SILENCE):  # not wait_for: on 3.11 it can
                        frame = await socket.recv()  # swallow a cancel, and close() hangs
                    message = wire.decode(frame)
                    if message is not None:  # None: a message type from a newer server
                        self._receive(message, socket)
            finally:
                sender.cancel()

    def _receive(self, message: AnyServerMessage, socket: ClientConnection) -> None:
        if isinstance(message, Welcome):
            self.user, self.role = message.user, message.role
            if self._joined:
                self._ready()  # the missed ops follow; resend what is still unanswered
        elif isinstance(message, SnapshotMessage):
            self._incoming = (message, list(message.elements))
            if not message.more:
                self._install_snapshot()
        elif isinstance(message, SnapshotChunk):
            if self._incoming is not None and message.seq == self._incoming[0].seq:
                self._incoming[1].extend(message.elements)
                if not message.more:
                    self._install_snapshot()
        elif isinstance(message, OpMessage):
            self._committed(message)
        elif isinstance(message, Ack):
            self._settle(message.client_op_id, message.seq, None)
        elif isinstance(message, Reject):
            self._rejected(message)
        elif isinstance(message, Error):
            log.warning("board %s: the server refused a message: %s", self.board_id, message)
        elif isinstance(message, Presence):
            self.others[message.client_id] = message
        elif isinstance(message, Left):
            self.others.pop(message.client_id, None)
        elif isinstance(message, InsightMessage):
            self._call(self._insight_listeners, message)
        elif isinstance(message, ServerPing):
            self._spawn(socket.send('{"type":"pong"}'))

    def _install_snapshot(self) -> None:
        """A whole snapshot has arrived: it replaces the replica."""
        assert self._incoming is not None
        message, elements = self._incoming
        self._incoming = None
        self.seq = message.seq
        self.confirmed = from_snapshot(message.board, elements)
        self.view = self._rebase()
        self._notify(Change([], message.seq, "", local=False))
        if not self._joined:
            self._joined = True
            self._ready()
            if self._first_sync is not None and not self._first_sync.done():
                self._first_sync.set_result(None)

    def _ready(self) -> None:
        """(Re)send every unanswered edit, oldest first."""
        self.connected.set()
        self._outbox = deque(self._pending)
        self._wake.set()

    async def _sender(self, socket: ClientConnection) -> None:
        """Send queued submissions in order, paced below the server's per-socket rate, so
        a reconnect that resends thousands of offline edits is not refused for flooding."""
        loop = asyncio.get_running_loop()
        tokens, last = SEND_BURST, loop.time()
        while True:
            while not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            now = loop.time()
            tokens, last = min(SEND_BURST, tokens + (now - last) * SEND_RATE), now
            if tokens < 1:
                await asyncio.sleep((1 - tokens) / SEND_RATE)
                continue
            pending = self._outbox.popleft()
            if pending.client_op_id in self._answers:  # not answered while it waited
                tokens -= 1
                frame = _encode(Submit(client_op_id=pending.client_op_id, ops=pending.ops))
                await socket.send(frame.decode())

    def _send(self, pending: _Pending) -> None:
        """Queue a submission; it goes out now if connected, else on reconnect."""
        if self.connected.is_set():
            self._outbox.append(pending)
            self._wake.set()

    def _rejected(self, message: Reject) -> None:
        """A refusal ends the edit, unless it only says "not now": then it waits and goes
        again with the same id (so it still applies at most once)."""
        if message.code not in TRANSIENT:
            error = error_for(message.code, message.message, details=message.details)
            self._settle(message.client_op_id, None, error)
            return
        pending = next((p for p in self._pending if p.client_op_id == message.client_op_id), None)
        if pending is not None:
            wait = float(message.details.get("retry_after_ms", 500)) / 1000
            asyncio.get_running_loop().call_later(min(wait, 30.0), self._send, pending)

    def _committed(self, message: OpMessage) -> None:
        if message.seq != self.seq + 1:
            return  # already applied (a resend crossed a resume); the server never skips
        self.confirmed = with_effects(self.confirmed, message.effects)
        self.seq = message.seq
        if message.client_id == self.client_id and message.user == self.user:
            self._settle(message.client_op_id, message.seq, None)
        self.view = self._rebase()
        change = Change(message.ops, message.seq, message.user, False, message.effects)
        self._notify(change)

    def _settle(self, op_id: int, seq: int | None, error: JourneyboardError | None) -> None:
        """The server answered (or committed) a submission: it is no longer pending."""
        kept = [p for p in self._pending if p.client_op_id != op_id]
        self._pending_ops -= sum(len(p.ops) for p in self._pending if p.client_op_id == op_id)
        self._pending = kept
        answer = self._answers.pop(op_id, None)
        if answer is not None and not answer.done():
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(seq or 0)
        if error is not None:
            self.view = self._rebase()
            self._notify(Change([], None, self.user, local=True))
        if not self._pending:
            self._settled.set()

    def _rebase(self) -> BoardView:
        """Confirmed state plus unanswered edits and the open batch; an edit that plainly no
        longer applies is hidden (the server will reject it too) until its answer arrives."""
        view = self.confirmed
        for ops in [*(p.ops for p in self._pending), self._batch or []]:
            with contextlib.suppress(JourneyboardError):
                view = overlay(view, ops, self.user)
        return view

    def _report_rejection(self, answer: "asyncio.Future[int]") -> None:
        """Log a rejected edit, so one nobody awaited is not lost in silence."""
        if not answer.cancelled() and answer.exception() is not None:
            log.warning("board %s: edit rejected: %s", self.board_id, answer.exception())

    def _notify(self, change: Change) -> None:
        self._call(self._listeners, change)

    @staticmethod
    def _call(listeners: list[Callable[[Any], Any]], value: object) -> None:
        """A failing callback is logged; it never breaks the replica."""
        for callback in list(listeners):
            try:
                callback(value)
            except Exception:
                log.exception("live board callback failed")

    def _fail(self, error: JourneyboardError) -> None:
        """Access is gone (or never was): nothing more will be sent or answered."""
        self.failure = error
        self.connected.clear()
        self._socket = None
        if self._first_sync is not None and not self._first_sync.done():
            self._first_sync.set_exception(error)
        for op_id in list(self._answers):
            self._settle(op_id, None, error)
        self._settled.set()

    def _spawn(self, sending: Coroutine[Any, Any, None]) -> None:
        """Send without waiting (presence, pongs): losing one to a closed socket is fine."""

        async def quietly() -> None:
            with contextlib.suppress(ConnectionClosed):
                await sending

        task = asyncio.ensure_future(quietly())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)


def _too_large(ops: list[BoardOp]) -> TooLarge | None:
    """The error the server would give a submission this big, checked before sending."""
    if len(ops) > MAX_SUBMIT_OPS:
        return TooLarge("too_large", f"{len(ops)} ops in one submission; at most {MAX_SUBMIT_OPS}")
    size = len(_encode(Submit(client_op_id=2**53, ops=ops)))
    if size > MAX_SUBMIT_BYTES:
        return TooLarge("too_large", f"{size} bytes in one submission; at most {MAX_SUBMIT_BYTES}")
    return None
