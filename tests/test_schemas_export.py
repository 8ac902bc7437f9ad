"""The committed JSON Schemas match the types; regenerate with `make schemas`."""

from schemas.export import FOLDER, render


def test_committed_json_schemas_are_current() -> None:
    files = render()
    committed = {p.name: p.read_text() for p in FOLDER.glob("*.json")}
    stale = sorted(
        name for name in files.keys() | committed.keys() if files.get(name) != committed.get(name)
    )
    assert not stale, f"stale JSON Schemas {stale}: run `make schemas`"
