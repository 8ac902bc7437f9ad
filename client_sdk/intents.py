"""What an edit probably does, to show it before the server answers: the optimistic view.

This is an approximation of the server's rules, good enough for a view that lasts until the
edit's ack or reject: the server's effects replace it then. It applies each op the way the
server would in the common case and refuses what is plainly impossible (an id that exists,
an element that does not), so scripts hear of such mistakes at once. It does not check
roles, references, labels on decision edges or size limits; the server does, and its reject
removes the edit from the view. Comments show with your name and time 0 until committed.
"""

import functools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import msgspec
from fractional_indexing import generate_key_between

from client_sdk.errors import JourneyboardError, error_for
from client_sdk.replica import BoardView
from schemas.board import AnyElement, Comment, Edge, Lane, Stage, Stakeholder
from schemas.ops import BoardOp, Create, Delete, Move, Reorder, Update, UpdateBoard


def overlay(view: BoardView, ops: Iterable[BoardOp], user: str) -> BoardView:
    """`view` with `ops` applied as the server probably will; raises the error the server
    would answer for a plainly impossible op."""
    draft = _Draft(view, user)
    for index, op in enumerate(ops):
        try:
            draft.apply(op)
        except JourneyboardError as error:
            error.details.setdefault("op_index", index)
            raise
    return replace(draft.view, elements=draft.elements)


class _Draft:
    """A private copy of a view that ops are applied to one by one."""

    def __init__(self, view: BoardView, user: str) -> None:
        self.view = view
        self.elements = dict(view.elements)
        self.user = user

    def apply(self, op: BoardOp) -> None:
        match op:
            case Create(element=element):
                self._create(element)
            case Update():
                self._update(op)
            case Delete(id=element_id):
                self._delete(element_id)
            case Move(id=element_id):
                moved: dict[str, Any] = {"x": op.x, "y": op.y}
                moved |= {
                    k: v for k in ("stage", "lane") if (v := getattr(op, k)) is not msgspec.UNSET
                }
                self._put(msgspec.structs.replace(self._existing(element_id), **moved))
            case Reorder(id=element_id, after=after):
                self._reorder(element_id, after)
            case UpdateBoard():
                names = ("title", "description", "tags")
                changes = {n: v for n in names if (v := getattr(op, n)) is not msgspec.UNSET}
                self.view = replace(self.view, **changes)

    def _create(self, element: AnyElement) -> None:
        if element.id in self.elements:
            raise error_for("duplicate_id", f"an element with id {element.id!r} exists",
                            details={"element_id": element.id})  # fmt: skip
        if isinstance(element, Stage | Lane):
            last = max((e.order for e in self._siblings(element)), default=None)
            element = msgspec.structs.replace(element, order=generate_key_between(last, None))
        if isinstance(element, Comment):
            element = msgspec.structs.replace(element, author=self.user, created_at=0)
        self._put(element)

    def _update(self, op: Update) -> None:
        element = self._existing(op.id)
        values = msgspec.structs.asdict(element)
        fields = _fields(type(element))
        for name in op.unset:
            if name in fields:
                values[name] = fields[name]
        values.update(op.set)
        if isinstance(op.set.get("data"), dict):
            merged = {**element.data, **op.set["data"]}
            values["data"] = {k: v for k, v in merged.items() if v is not None}
        try:
            self._put(msgspec.convert(values, type(element)))
        except msgspec.ValidationError as error:
            raise error_for("invalid", str(error)) from None

    def _delete(self, element_id: str) -> None:
        """The element, what hangs on it (edges, comments, replies), and references to it."""
        doomed = {self._existing(element_id).id}
        frontier = set(doomed)
        while frontier:
            frontier = {
                i for i, e in self.elements.items() if i not in doomed and _hangs_on(e, frontier)
            }
            doomed |= frontier
        for gone in doomed:
            del self.elements[gone]
        for element in list(self.elements.values()):
            changes: dict[str, Any] = {
                k: None for k in ("stage", "lane") if getattr(element, k) in doomed
            }
            if isinstance(element, Stakeholder) and doomed.intersection(element.touchpoints):
                changes["touchpoints"] = tuple(t for t in element.touchpoints if t not in doomed)
            if changes:
                self._put(msgspec.structs.replace(element, **changes))

    def _reorder(self, element_id: str, after: str | None) -> None:
        element = self._existing(element_id)
        if not isinstance(element, Stage | Lane):
            raise error_for("invalid", "only stages and lanes have an order")
        siblings = sorted((e for e in self._siblings(element) if e.id != element_id),
                          key=lambda e: (e.order, e.id))  # fmt: skip
        ids = [e.id for e in siblings]
        if after is not None and after not in ids:
            raise error_for("unknown_element", f"no sibling {after!r} to place after")
        position = ids.index(after) + 1 if after is not None else 0
        low = siblings[position - 1].order if position else None
        high = siblings[position].order if position < len(siblings) else None
        self._put(msgspec.structs.replace(element, order=generate_key_between(low, high)))

    def _put(self, element: AnyElement) -> None:
        self.elements[element.id] = element

    def _existing(self, element_id: str) -> AnyElement:
        element = self.elements.get(element_id)
        if element is None:
            raise error_for("unknown_element", f"no element {element_id!r} on this board",
                            details={"element_id": element_id})  # fmt: skip
        return element

    def _siblings(self, element: Stage | Lane) -> list[Stage | Lane]:
        return [e for e in self.elements.values() if type(e) is type(element)]


@functools.cache
def _fields(kind: type[AnyElement]) -> dict[str, Any]:
    """An element type's optional fields and their defaults."""
    return {
        f.name: f.default_factory() if f.default is msgspec.NODEFAULT else f.default
        for f in msgspec.structs.fields(kind)
        if not f.required
    }


def _hangs_on(element: AnyElement, gone: set[str]) -> bool:
    match element:
        case Edge(source=source, target=target):
            return source in gone or target in gone
        case Comment(target=target, parent=parent):
            return target in gone or parent in gone
    return False
