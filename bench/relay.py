"""The yardstick for bench.live: a Starlette websocket relay with no persistence.

It speaks just enough of the protocol for bench.load (welcome, snapshot, op, ack) and does
the least any sync server must: order each board's submissions and fan them out. Every
Journeyboard figure is reported as a ratio to this one, measured in the same run.

python -m bench.relay PORT
"""

import sys
from collections import defaultdict
from collections.abc import Iterator
from itertools import count

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder().decode
rooms: dict[str, set[WebSocket]] = defaultdict(set)
seqs: dict[str, Iterator[int]] = defaultdict(lambda: count(1))


async def board_socket(websocket: WebSocket) -> None:
    board = websocket.path_params["board_id"]
    await websocket.accept()
    await websocket.send_text(encode({"type": "welcome", "protocol": 2, "seq": 0}).decode())
    await websocket.send_text(encode({"type": "snapshot", "seq": 0, "elements": []}).decode())
    rooms[board].add(websocket)
    try:
        while True:
            submit = decode(await websocket.receive_text())
            seq = next(seqs[board])
            op = {"type": "op", "seq": seq, "client_op_id": submit["client_op_id"]}
            text = encode(op | {"ops": submit["ops"]}).decode()
            for other in list(rooms[board]):
                await other.send_text(text)
            ack = {"type": "ack", "client_op_id": submit["client_op_id"], "seq": seq}
            await websocket.send_text(encode(ack).decode())
    except WebSocketDisconnect:
        pass
    finally:
        rooms[board].discard(websocket)


async def ready(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[Route("/readyz", ready), WebSocketRoute("/ws/boards/{board_id}", board_socket)]
)

if __name__ == "__main__":
    # The websocket settings Journeyboard serves with (server/serving.py): no compression,
    # no protocol-level pings, so both pay for the same frames.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
    )
