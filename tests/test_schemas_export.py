"""The committed JSON Schemas match the types; regenerate with `make schemas`."""

import json
import re
from typing import Any

import httpx
import msgspec

from schemas import board
from schemas.export import FOLDER, render, schema_text
from schemas.messages import PROTOCOL_VERSION


def test_committed_json_schemas_are_current() -> None:
    files = render()
    committed = {p.name: p.read_text() for p in FOLDER.glob("*.json")}
    stale = sorted(
        name for name in files.keys() | committed.keys() if files.get(name) != committed.get(name)
    )
    assert not stale, f"stale JSON Schemas {stale}: run `make schemas`"


def stage_with(description: Any) -> type:
    """A throwaway copy of Stage whose `description` field has the given type."""
    copy = msgspec.defstruct(
        "Stage",
        [("order", board.OrderKey, ""), ("description", description, "")],
        bases=(board.Element,),
        tag="stage",
        frozen=True,
        kw_only=True,
        module=board.__name__,
    )
    copy.__doc__ = board.Stage.__doc__
    return copy


def test_a_type_that_really_changes_makes_its_committed_schema_stale() -> None:
    committed = (FOLDER / "Stage.json").read_text()
    assert schema_text(stage_with(board.Text)) == committed  # the copy is faithful...
    assert schema_text(stage_with(int)) != committed  # ...so a changed field shows


def test_descriptions_are_dedented_whatever_msgspec_keeps_of_the_indentation() -> None:
    class Indented(msgspec.Struct):
        """First line.

        Second paragraph, indented in the source.
        """

    text = schema_text(Indented)
    assert "First line.\\n\\nSecond paragraph, indented in the source." in text
    assert text.endswith("}\n") and not text.endswith("\n\n")


async def test_the_asyncapi_document_is_served_and_every_reference_resolves(
    http: httpx.AsyncClient,
) -> None:
    served = (await http.get("/asyncapi.json")).json()
    assert served == json.loads((FOLDER / "asyncapi.json").read_text())
    assert served["asyncapi"] == "3.0.0"
    assert served["info"]["version"] == str(PROTOCOL_VERSION)
    text = json.dumps(served)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = served
        for part in ref.split("/"):
            node = node[part]
    tags = {m["name"] for m in served["components"]["messages"].values()}
    assert {"submit", "op", "ack", "reject", "snapshot", "snapshot_chunk", "welcome"} <= tags
