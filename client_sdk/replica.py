"""The SDK's copy of a board: the committed state, kept by applying the server's effects.

Nothing here knows the board's rules: a snapshot replaces the state, and each committed
batch's effects delete ids, put elements and set the board's fields. That is all any client
needs to converge (docs/protocol.md), and all this SDK does.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from schemas.api import BoardInfo
from schemas.board import AnyElement
from schemas.effects import Effects


@dataclass(frozen=True)
class BoardView:
    """A board as some replica sees it; treated as a value (changes make a new one)."""

    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    elements: dict[str, AnyElement] = field(default_factory=dict)


def from_snapshot(board: BoardInfo, elements: Iterable[AnyElement]) -> BoardView:
    return BoardView(
        title=board.title,
        description=board.description,
        tags=tuple(board.tags),
        elements={e.id: e for e in elements},
    )


def with_effects(view: BoardView, effects: Effects) -> BoardView:
    """`view` after a committed batch: remove ids, put elements, then set the board's fields."""
    elements = dict(view.elements)
    for gone in effects.removed:
        elements.pop(gone, None)
    for element in effects.put:
        elements[element.id] = element
    if effects.board is None:
        return replace(view, elements=elements)
    board = effects.board
    return BoardView(board.title, board.description, tuple(board.tags), elements)
