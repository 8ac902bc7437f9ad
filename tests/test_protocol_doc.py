"""docs/protocol.md's worked examples of effects are what the core really commits."""

import json
import re
from pathlib import Path

import msgspec
import pytest

from schemas.board import Comment, Edge, Node, Stage
from schemas.ops import BoardOp, Create
from server.board import BoardState, Context, apply_batch, commit_batch

DOC = Path(__file__).parent.parent / "docs" / "protocol.md"
CTX = Context(user="ana", now_ms=1795472677560)
START = apply_batch(
    BoardState(title="Onboarding"),
    [
        Create(element=Stage(id="s1")),
        Create(element=Stage(id="s2")),
        Create(element=Node(id="n1", stage="s1")),
        Create(element=Node(id="n2")),
        Create(element=Edge(id="e1", source="n1", target="n2")),
        Create(element=Comment(id="c1", text="Nice", target="n1")),
    ],
    CTX,
)


def examples() -> list[tuple[str, str]]:
    section = DOC.read_text().split("### Worked examples")[1].split("\n## ")[0]
    blocks = re.findall(r"```json\n(.*?)\n(.*?)\n```", section)
    assert len(blocks) == 8
    return blocks


@pytest.mark.parametrize(("op", "effects"), examples())
def test_each_worked_example_is_what_the_core_commits(op: str, effects: str) -> None:
    _, committed = commit_batch(START, [msgspec.json.decode(op, type=BoardOp)], CTX)
    assert json.loads(msgspec.json.encode(committed)) == json.loads(effects)
