"""The committed JSON Schemas match the types; regenerate with `make schemas`."""

import json
import re

import httpx

from schemas.export import FOLDER, render
from schemas.messages import PROTOCOL_VERSION


def test_committed_json_schemas_are_current() -> None:
    files = render()
    committed = {p.name: p.read_text() for p in FOLDER.glob("*.json")}
    stale = sorted(
        name for name in files.keys() | committed.keys() if files.get(name) != committed.get(name)
    )
    assert not stale, f"stale JSON Schemas {stale}: run `make schemas`"


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
