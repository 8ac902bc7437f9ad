"""The state the core works on: a board's editable properties and its elements by id."""

from collections.abc import Mapping

import msgspec

from schemas.board import AnyElement
from server.board.elements import Elements


class BoardState(msgspec.Struct, kw_only=True):
    """One board as of some seq; treated as a value: the core returns new states."""

    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    elements: Elements = Elements()
    size: int = 0  # encoded bytes of all elements, so the snapshot's size is known cheaply

    def __post_init__(self) -> None:
        if not isinstance(self.elements, Elements):  # built from a plain mapping
            given: Mapping[str, AnyElement] = self.elements
            self.elements = Elements(given.values())


def canonical(state: BoardState) -> bytes:
    """The state as JSON, elements in their order: equal bytes mean equal boards, down to the
    order of the elements and the sign of a zero (which `==` cannot see: 0.0 == -0.0)."""
    return msgspec.json.encode(state, enc_hook=_as_dict)


def _as_dict(elements: Elements) -> dict[str, AnyElement]:
    return {e.id: e for e in elements.ordered()}
