"""Dependencies run one way, and the board core stays pure."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _imported_names(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports(package: str) -> set[str]:
    """Top-level packages imported anywhere under `package`."""
    return {
        name.split(".")[0]
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_names(path)
    }


def test_schemas_import_only_msgspec_and_the_standard_library() -> None:
    allowed = {"msgspec", "schemas", "typing", "json", "sys", "pathlib", "datetime", "inspect"}
    assert imports("schemas") <= allowed


def test_the_board_core_does_no_io_and_reads_no_clock() -> None:
    forbidden = {
        "asyncio",
        "starlette",
        "pymongo",
        "time",
        "datetime",
        "uuid",
        "random",
        "secrets",
        "os",
    }
    assert not imports("server/board") & forbidden


def test_the_sdk_imports_nothing_from_the_server() -> None:
    assert "server" not in imports("client_sdk")
    assert not imports("client_sdk") & {"pymongo", "starlette", "uvicorn"}


def test_the_server_imports_nothing_from_the_sdk() -> None:
    assert "client_sdk" not in imports("server")


def test_only_the_store_speaks_to_mongodb() -> None:
    users = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "server").rglob("*.py")
        if "pymongo" in {n.split(".")[0] for n in _imported_names(path)}
    }
    assert users == {
        "server/store/mongo.py",
        "server/store/accounts.py",
        "server/store/evidence.py",
    }


def test_no_server_side_javascript_operators_anywhere() -> None:
    for path in (ROOT / "server").rglob("*.py"):
        text = path.read_text()
        for operator in ("$where", "$function", "$accumulator", "mapReduce"):
            assert operator not in text, (path, operator)


def test_sync_modules_import_each_other_one_way() -> None:
    """No cycles, not even for type checking: the session knows its room by a Protocol."""
    sync = ROOT / "server" / "sync"
    graph = {
        path.stem: {
            n.rpartition(".")[2] for n in _imported_names(path) if n.startswith("server.sync.")
        }
        for path in sync.glob("*.py")
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module not in done:
            for imported in graph.get(module, set()):
                visit(imported, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module", ["pipeline", "log", "connection"])
def test_the_sans_io_sync_core_does_no_io_and_reads_no_clock(module: str) -> None:
    """The commit pipeline, its records and the connection state machine: inputs in,
    outputs out, tested with tables."""
    names = _imported_names(ROOT / "server" / "sync" / f"{module}.py")
    forbidden = {"asyncio", "starlette", "pymongo", "uvicorn", "websockets", "time"}
    assert not {name.split(".")[0] for name in names} & forbidden
    assert not {name for name in names if name.startswith(("server.store", "server.clock"))}
