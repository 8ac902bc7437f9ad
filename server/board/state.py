"""The state the core works on: a board's editable properties and its elements by id."""

import msgspec

from schemas.board import AnyElement


class BoardState(msgspec.Struct, kw_only=True):
    """One board as of some seq; treated as a value: the core returns new states."""

    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    elements: dict[str, AnyElement] = {}
    size: int = 0  # encoded bytes of all elements, so the snapshot's size is known cheaply
