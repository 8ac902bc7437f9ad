"""The blocking client for scripts without asyncio: the async client, run on its own loop.

    with JourneyboardClient() as jb:
        board = jb.create_board("Onboarding")
        for info in jb.iter_boards():
            print(info.title)

Each method is the async client's method, awaited on an event loop that lives in a
background thread, so both clients always have the same methods and behaviour.
"""

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from client_sdk.aio import AsyncJourneyboardClient
from client_sdk.live import Change, Edits, LiveBoard
from schemas.board import AnyElement
from schemas.messages import InsightMessage
from schemas.ops import BoardOp

T = TypeVar("T")
P = ParamSpec("P")


class Portal:
    """An event loop on a daemon thread, running coroutines for blocking callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="journeyboard-sdk", daemon=True
        )
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run the coroutine on the loop and wait; Ctrl-C cancels it there too."""
        if self._on_loop():
            coroutine.close()
            raise RuntimeError(
                "a blocking SDK call inside an SDK callback would wait for itself; "
                "use the change passed to the callback, or call from your own thread"
            )
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def run(self, function: Callable[[], T]) -> T:
        """Run a plain function on the loop's thread (where asyncio objects live); from a
        callback, which already runs there, at once."""
        if self._on_loop():
            return function()

        async def on_loop() -> T:
            return function()

        return self.call(on_loop())

    def _on_loop(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        while True:
            try:
                yield self.call(anext(iterator))  # type: ignore[arg-type]
            except StopAsyncIteration:
                return

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def blocking(
    method: Callable[Concatenate[AsyncJourneyboardClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate["JourneyboardClient", P], T]:
    """The async client's method as a blocking one, with its signature and docstring."""

    def call(self: "JourneyboardClient", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._portal.call(method(self._async, *args, **kwargs))

    functools.update_wrapper(call, method)
    return call


def blocking_iter(
    method: Callable[Concatenate[AsyncJourneyboardClient, P], AsyncIterator[T]],
) -> Callable[Concatenate["JourneyboardClient", P], Iterator[T]]:
    def call(self: "JourneyboardClient", /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return self._portal.iterate(method(self._async, *args, **kwargs))

    functools.update_wrapper(call, method)
    return call


class JourneyboardClient:
    """The same methods as AsyncJourneyboardClient, blocking; use `with` or call `close()`."""

    def __init__(self, url: str | None = None, token: str | None = None, **options: Any) -> None:
        self._async = AsyncJourneyboardClient(url, token, **options)
        self._portal = Portal()
        self.url = self._async.url
        self.client_id = self._async.client_id

    def __enter__(self) -> "JourneyboardClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._portal.call(self._async.close())
        self._portal.close()

    me = blocking(AsyncJourneyboardClient.me)
    list_boards = blocking(AsyncJourneyboardClient.list_boards)
    iter_boards = blocking_iter(AsyncJourneyboardClient.iter_boards)
    create_board = blocking(AsyncJourneyboardClient.create_board)
    get_board = blocking(AsyncJourneyboardClient.get_board)
    update_board = blocking(AsyncJourneyboardClient.update_board)
    delete_board = blocking(AsyncJourneyboardClient.delete_board)
    snapshot = blocking(AsyncJourneyboardClient.snapshot)
    apply_ops = blocking(AsyncJourneyboardClient.apply_ops)
    create_element = blocking(AsyncJourneyboardClient.create_element)
    get_element = blocking(AsyncJourneyboardClient.get_element)
    update_element = blocking(AsyncJourneyboardClient.update_element)
    delete_element = blocking(AsyncJourneyboardClient.delete_element)
    stakeholders = blocking(AsyncJourneyboardClient.stakeholders)
    comments = blocking(AsyncJourneyboardClient.comments)
    add_comment = blocking(AsyncJourneyboardClient.add_comment)
    members = blocking(AsyncJourneyboardClient.members)
    set_member = blocking(AsyncJourneyboardClient.set_member)
    remove_member = blocking(AsyncJourneyboardClient.remove_member)
    import_feedback = blocking(AsyncJourneyboardClient.import_feedback)
    import_events = blocking(AsyncJourneyboardClient.import_events)
    import_records = blocking(AsyncJourneyboardClient.import_records)
    emotion_curve = blocking(AsyncJourneyboardClient.emotion_curve)
    pain_points = blocking(AsyncJourneyboardClient.pain_points)
    moments_of_truth = blocking(AsyncJourneyboardClient.moments_of_truth)
    paths = blocking(AsyncJourneyboardClient.paths)
    repurchase = blocking(AsyncJourneyboardClient.repurchase)
    support_kpis = blocking(AsyncJourneyboardClient.support_kpis)
    stakeholder_grid = blocking(AsyncJourneyboardClient.stakeholder_grid)
    export = blocking(AsyncJourneyboardClient.export)
    export_to = blocking(AsyncJourneyboardClient.export_to)

    @contextlib.contextmanager
    def live(self, board_id: str, client_id: str | None = None) -> Iterator["SyncLiveBoard"]:
        """A live replica for blocking code; `on_change` callbacks run on the SDK's thread."""
        board = self._async.live(board_id, client_id)
        self._portal.call(board.open())
        try:
            yield SyncLiveBoard(board, self._portal)
        finally:
            self._portal.call(board.close())


class SyncLiveBoard(Edits["concurrent.futures.Future[int]"]):
    """LiveBoard for blocking code: reads are immediate, edits return concurrent futures."""

    def __init__(self, board: LiveBoard, portal: Portal) -> None:
        self._board = board
        self._portal = portal

    @property
    def elements(self) -> dict[str, AnyElement]:
        return self._portal.run(lambda: dict(self._board.elements))

    @property
    def seq(self) -> int:
        return self._board.seq

    @property
    def pending_count(self) -> int:
        return self._portal.run(lambda: self._board.pending_count)

    def get(self, element_id: str) -> AnyElement | None:
        return self.elements.get(element_id)

    def on_change(self, callback: Callable[[Change], Any]) -> Callable[[], None]:
        return self._portal.run(lambda: self._board.on_change(callback))

    def on_insight(self, callback: Callable[[InsightMessage], Any]) -> Callable[[], None]:
        return self._portal.run(lambda: self._board.on_insight(callback))

    def submit(self, ops: Iterable[BoardOp]) -> "concurrent.futures.Future[int]":
        batch = list(ops)
        answer = self._portal.run(lambda: self._board.submit(batch))
        return asyncio.run_coroutine_threadsafe(_awaited(answer), self._portal.loop)

    def synced(self, within: float | None = None) -> None:
        self._portal.call(self._board.synced(within))

    def set_presence(
        self, cursor: tuple[float, float] | None = None, selection: tuple[str, ...] = ()
    ) -> None:
        self._portal.run(lambda: self._board.set_presence(cursor, selection))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Edits inside the block go to the server as one submission."""
        block = self._board.batch()
        self._portal.call(block.__aenter__())
        try:
            yield
        except BaseException as error:
            self._portal.call(block.__aexit__(type(error), error, error.__traceback__))
            raise
        self._portal.call(block.__aexit__(None, None, None))


async def _awaited(answer: "asyncio.Future[T]") -> T:
    return await answer
