"""The websocket protocol as an AsyncAPI 3.0 document, generated from the message types.

Written to schemas/json/asyncapi.json by `python -m schemas.export` and served at
/asyncapi.json: the websocket endpoint does not appear in /openapi.json.
"""

from typing import Any, get_args

import msgspec

from schemas import messages

TITLE = "Journeyboard live board"


def _messages(side: str, union: Any) -> dict[str, dict[str, Any]]:
    """One AsyncAPI message per type of `union`, named by side and `type` tag."""
    found = {}
    for kind in get_args(union):
        tag = kind.__struct_config__.tag
        found[f"{side}-{tag}"] = {
            "name": tag,
            "title": f"{tag} ({side})",
            "summary": (kind.__doc__ or "").strip().splitlines()[0],
            "payload": {"$ref": f"#/components/schemas/{kind.__name__}"},
        }
    return found


def document() -> dict[str, Any]:
    kinds = [*get_args(messages.AnyClientMessage), *get_args(messages.AnyServerMessage)]
    _, schemas = msgspec.json.schema_components(kinds, ref_template="#/components/schemas/{name}")
    sent, received = (
        _messages("client", messages.AnyClientMessage),
        _messages("server", messages.AnyServerMessage),
    )
    channel = "#/channels/board"
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": str(messages.PROTOCOL_VERSION),
            "description": "Co-edit a board live; docs/protocol.md explains order, resume, "
            "errors and close codes. Clients converge by applying each op's effects.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "board": {
                "address": "/ws/boards/{board_id}",
                "parameters": {"board_id": {"description": "The board to join."}},
                "messages": {
                    name: {"$ref": f"#/components/messages/{name}"} for name in {**sent, **received}
                },
                "bindings": {"ws": {"query": _QUERY}},
            }
        },
        "operations": {
            "receiveClientMessage": _operation("receive", channel, sent),
            "sendServerMessage": _operation("send", channel, received),
        },
        "components": {"messages": {**sent, **received}, "schemas": schemas},
    }


def _operation(action: str, channel: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": channel},
        "messages": [{"$ref": f"{channel}/messages/{name}"} for name in found],
    }


_QUERY = {
    "type": "object",
    "properties": {
        "client_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "Names this replica; keep it across reconnects.",
        },
        "since": {
            "type": "string",
            "pattern": "^[0-9]{1,15}$",
            "description": "The last seq you applied; anything else is an `invalid` error.",
        },
    },
}
