"""The websocket transport sends what a commit wrote in one system call, and loses nothing."""

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from server.serving import CorkedTransport


@pytest.fixture
async def corked() -> AsyncIterator[tuple[CorkedTransport, socket.socket]]:
    """A CorkedTransport over one end of a real socket pair; the test reads the other."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    theirs.setblocking(False)
    yield CorkedTransport(transport, loop), theirs  # type: ignore[arg-type]
    transport.close()
    theirs.close()


def received(peer: socket.socket) -> list[bytes]:
    """Each chunk the socket has for us, as the kernel hands them over."""
    chunks = []
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return chunks
        if not chunk:  # closed
            return chunks
        chunks.append(chunk)


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_writes_of_a_turn_and_the_next_go_out_together_in_order(
    corked: tuple[CorkedTransport, socket.socket],
) -> None:
    transport, peer = corked
    transport.write(b"op1,")
    transport.write(b"op2,")
    assert received(peer) == [], "nothing is sent within the turn"
    asyncio.get_running_loop().call_soon(transport.write, b"ack")  # the acks come a turn later
    await turns(1)
    assert received(peer) == [], "nor in the next, which writes the acks"
    await turns(1)
    assert received(peer) == [b"op1,op2,ack"]


async def test_a_large_burst_is_written_at_once_so_backpressure_still_applies(
    corked: tuple[CorkedTransport, socket.socket],
) -> None:
    transport, peer = corked
    transport.write(b"x" * (CorkedTransport.flush_at - 1))
    assert received(peer) == []
    transport.write(b"y")
    assert b"".join(received(peer)) == b"x" * (CorkedTransport.flush_at - 1) + b"y"


async def test_closing_sends_what_is_pending_first(
    corked: tuple[CorkedTransport, socket.socket],
) -> None:
    transport, peer = corked
    transport.write(b"last words")
    transport.close()
    await turns(3)
    assert b"".join(received(peer)) == b"last words"
    assert transport.is_closing()
