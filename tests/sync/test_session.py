"""The session's asyncio side: a writer only while there is output, and how a session ends.

No socket and no room: a fake channel records what is sent (or never takes it, or fails),
so each test reads as what the client would see.
"""

import asyncio
from collections.abc import AsyncGenerator

from schemas.errors import CloseCode
from server.sync.session import Session
from tests.harness import settings_for_tests


class Channel:
    """Records frames; `stuck` never takes one (a client that reads nothing), `broken` fails;
    with `at_once`, a frame sent while no writer runs goes out without one (server/serving.py's
    send_now)."""

    def __init__(self, stuck: bool = False, broken: bool = False, at_once: bool = False) -> None:
        self.stuck = stuck
        self.broken = broken
        self.at_once = at_once
        self.frames: list[str] = []

    def send_now(self, text: str) -> bool:
        if self.at_once:
            self.frames.append(text)
        return self.at_once

    async def send(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        if self.broken:
            raise ConnectionResetError("the client went away")
        self.frames.append(text)

    async def close(self, code: int, reason: str) -> None:
        await self.send(f"close {code}")


class Room:
    """Nobody else on the board, and no submissions in these tests."""

    def submit(self, *args: object) -> "asyncio.Future[object]":
        raise AssertionError("nothing is submitted here")

    def share(self, text: str, skip: Session | None = None) -> None:
        pass


async def welcome() -> AsyncGenerator[str, None]:
    yield "welcome"


def joined(channel: Channel) -> tuple[Session, list[str]]:
    """A started session, and the list of times it told its reader it was over."""
    session = Session(channel, Room(), "ana", "editor", "c1", settings_for_tests())  # type: ignore[arg-type]
    ended: list[str] = []
    session.on_over = lambda: ended.append("over")
    session.start(welcome())
    return session, ended


def writers(session: Session) -> list["asyncio.Task[object]"]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "Session._write"
        and task.get_coro().cr_frame.f_locals.get("self") is session  # type: ignore[union-attr]
    ]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_idle_session_has_no_writer_and_one_starts_when_something_is_queued() -> None:
    channel = Channel()
    session, ended = joined(channel)
    await settle()
    assert channel.frames == ["welcome"]
    assert writers(session) == []
    session.send("a")
    session.send("b")
    assert len(writers(session)) == 1
    await settle()
    assert channel.frames == ["welcome", "a", "b"]
    assert writers(session) == [] and ended == []
    await session.stop()


async def test_with_a_socket_that_takes_frames_at_once_an_idle_session_needs_no_writer() -> None:
    channel = Channel(at_once=True)
    session, _ = joined(channel)
    session.send("queued behind the catch-up")
    await settle()
    session.send("at once")
    assert writers(session) == []
    assert channel.frames == ["welcome", "queued behind the catch-up", "at once"]
    await session.stop()


async def test_closing_sends_the_close_frame_after_nothing_more_and_ends_the_session() -> None:
    channel = Channel()
    session, ended = joined(channel)
    await settle()
    session.send("dropped")
    session.close_soon(CloseCode.GOING_AWAY, "bye")
    session.send("too late")
    await settle()
    assert channel.frames == ["welcome", f"close {CloseCode.GOING_AWAY}"]
    assert session.over and ended == ["over"]
    await session.stop()


async def test_a_send_that_fails_ends_the_session() -> None:
    session, ended = joined(Channel(broken=True))
    await settle()
    assert session.over and ended == ["over"]
    await session.stop()


async def test_a_client_that_reads_nothing_is_given_up_two_seconds_after_closing() -> None:
    session, ended = joined(Channel(stuck=True))
    session.close_soon(CloseCode.SLOW_CONSUMER, "too far behind")
    await asyncio.sleep(1.5)
    assert ended == []
    await asyncio.sleep(1)
    assert ended == ["over"]
    await session.stop()
    assert writers(session) == []


async def test_a_stopped_session_cancels_its_writer_and_ends_nothing() -> None:
    channel = Channel(stuck=True)
    session, ended = joined(channel)
    await settle()
    await session.stop()
    session.send("after")
    assert writers(session) == [] and ended == [] and channel.frames == []
