"""The README's three SDK scripts, run as written against a real server."""

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx

from tests.harness import RunningServer, user_with_token

README = Path(__file__).parent.parent / "README.md"


def script(title: str) -> str:
    """The ```python block under the README heading `### {title}`."""
    found = re.search(rf"### {re.escape(title)}\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert found, f"no script under '### {title}' in README.md"
    return found.group(1)


async def run(
    server: RunningServer, folder: Path, title: str, *args: str, **env: str
) -> asyncio.subprocess.Process:
    path = folder / "script.py"
    path.write_text(script(title))
    token = await user_with_token(server.accounts, "tester")
    return await asyncio.create_subprocess_exec(
        sys.executable, str(path), *args,
        cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "JOURNEYBOARD_URL": server.url, "JOURNEYBOARD_TOKEN": token, **env},
    )  # fmt: skip


async def output(process: asyncio.subprocess.Process) -> str:
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_build_a_journey_from_a_spreadsheet(
    server: RunningServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "journey.csv").write_text(
        "stage,touchpoint,channel,moment\n"
        "Discover,Search ad,web,\nDiscover,Landing page,web,\n"
        "Buy,Checkout,web,yes\nBuy,Confirmation email,email,\n"
    )
    board = (await output(await run(server, tmp_path, "Build a journey from a spreadsheet",
                                    "journey.csv"))).strip()  # fmt: skip
    elements = (await http.get(f"/api/boards/{board}/snapshot")).json()["elements"]
    kinds = [e["kind"] for e in elements]
    assert (kinds.count("stage"), kinds.count("node"), kinds.count("edge")) == (2, 4, 3)
    checkout = next(e for e in elements if e.get("label") == "Checkout")
    assert checkout["type"] == "moment_of_truth" and checkout["channel"] == "web"


async def test_sync_survey_feedback_nightly(
    server: RunningServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    board = (await http.post("/api/boards", json={"title": "Nightly"})).json()["id"]
    node = {"kind": "node", "id": "checkout", "label": "Checkout", "type": "touchpoint"}
    await http.post(f"/api/boards/{board}/ops", json={"ops": [{"op": "create", "element": node}]})
    (tmp_path / "export.csv").write_text(
        "Response ID,Date,Touchpoint,How likely are you to recommend us?,Why?\n"
        "r1,2026-11-20,Checkout,9,Fast\nr2,2026-11-20,Checkout,3,Too slow\n"
        "r3,2026-11-21,Checkout,11,\nr4,2026-11-21,Checkout,7,\n"
    )
    title = "Sync survey feedback nightly"
    first = await output(await run(server, tmp_path, title, board, "export.csv"))
    assert first.splitlines()[0] == "3 new, 0 already there, 1 rejected"
    assert "line 4:" in first, "the rejected row is named by its line in the file"
    again = await output(await run(server, tmp_path, title, board, "export.csv"))
    assert again.splitlines()[0] == "0 new, 3 already there, 1 rejected"


async def test_watch_a_board_live(
    server: RunningServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    board = (await http.post("/api/boards", json={"title": "Watched"})).json()["id"]
    node = {"kind": "node", "id": "pay", "label": "Payment", "type": "touchpoint"}
    await http.post(f"/api/boards/{board}/ops", json={"ops": [{"op": "create", "element": node}]})
    watcher = await run(server, tmp_path, "Watch a board live", board, WATCH_SECONDS="4")
    assert watcher.stdout is not None
    first = await asyncio.wait_for(watcher.stdout.readline(), 20)
    assert first.decode().startswith("1 elements at seq")
    await http.post(
        f"/api/boards/{board}/ops", json={"ops": [{"op": "move", "id": "pay", "x": 5, "y": 5}]}
    )
    feedback = [
        {"source": "survey", "touchpoint": "pay", "scale": "csat", "score": s} for s in (1, 5)
    ]
    await http.post(f"/api/boards/{board}/feedback", json=feedback)
    rest = await output(watcher)
    assert re.search(r"seq \d+ by tester: \['Move'\]", rest)
    assert "Payment: 50/100 from 2 scores" in rest
