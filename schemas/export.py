"""Write a JSON Schema file per public type into schemas/json/: `python -m schemas.export`.

Frontend developers read these; a test fails when they differ from the types. What msgspec
generates is normalised (docstrings dedented, keys sorted, one trailing newline) so the
committed files change when a type changes, not when a msgspec release formats differently.
"""

import inspect
import json
import sys
from pathlib import Path
from typing import Any, get_args

import msgspec

from schemas import api, asyncapi, auth, board, effects, errors, messages, ops

FOLDER = Path(__file__).parent / "json"
PUBLIC: dict[str, Any] = {
    "Element": board.AnyElement,
    "Stage": board.Stage,
    "Lane": board.Lane,
    "Node": board.Node,
    "Edge": board.Edge,
    "Stakeholder": board.Stakeholder,
    "Comment": board.Comment,
    "Op": ops.BoardOp,
    "Effects": effects.Effects,
    "CreateBoard": api.CreateBoard,
    "OpsRequest": api.OpsRequest,
    "OpsResult": api.OpsResult,
    "BoardInfo": api.BoardInfo,
    "BoardListItem": api.BoardListItem,
    "BoardPage": api.BoardPage,
    "Snapshot": api.Snapshot,
    "ErrorResponse": errors.ErrorResponse,
    "Me": auth.Me,
    "Login": auth.Login,
    "LoginResult": auth.LoginResult,
    "TokenCreated": auth.TokenCreated,
    "MemberList": auth.MemberList,
    "ws-client-message": messages.AnyClientMessage,
    "ws-server-message": messages.AnyServerMessage,
}
# One file per websocket message type too, named by direction and `type` tag.
PUBLIC |= {
    f"ws-{side}-{kind.__struct_config__.tag}": kind
    for side, union in (
        ("client", messages.AnyClientMessage),
        ("server", messages.AnyServerMessage),
    )
    for kind in get_args(union)
}


def normalised(node: Any) -> Any:
    """`node` with every description dedented the way `inspect.cleandoc` does it."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else normalised(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [normalised(item) for item in node]
    return node


def committed_text(document: Any) -> str:
    """The committed form of a generated document: normalised, keys sorted, one newline."""
    return json.dumps(normalised(document), indent=2, sort_keys=True) + "\n"


def schema_text(type_: Any) -> str:
    """The committed form of one type's JSON Schema."""
    return committed_text(msgspec.json.schema(type_))


def render() -> dict[str, str]:
    """File name -> JSON text for every public type, and the AsyncAPI document."""
    files = {f"{name}.json": schema_text(type_) for name, type_ in PUBLIC.items()}
    files["asyncapi.json"] = committed_text(asyncapi.document())
    return files


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    files = render()
    for stale in set(p.name for p in FOLDER.glob("*.json")) - set(files):
        (FOLDER / stale).unlink()
    for name, text in files.items():
        (FOLDER / name).write_text(text)
    print(f"wrote {len(files)} schemas to {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
