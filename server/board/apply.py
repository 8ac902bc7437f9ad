"""Apply ops to a board: the rules of the board live here and nowhere else."""

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

from schemas.auth import Role
from schemas.board import AnyElement, Comment, Edge, Lane, Node, Stage, Stakeholder
from schemas.effects import BoardFields, Effects
from schemas.ops import BoardOp, Create, Delete, Move, Reorder, Update, UpdateBoard
from server.board.elements import Elements
from server.board.errors import Rejected
from server.board.limits import Limits, check_data
from server.board.ordering import key_between
from server.board.roles import at_least, required_role
from server.board.state import BoardState

# Properties an update may not touch: identity, server stamps, and order (see Reorder).
PROTECTED = frozenset({"id", "author", "created_at", "order"})
_PATH = re.compile(r" - at `\$(.*)`$")


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """Who applies the ops and when; passed in so the core stays free of clocks."""

    user: str
    now_ms: int
    role: Role = "owner"
    limits: Limits = Limits()


def apply_batch(state: BoardState, ops: Sequence[BoardOp], ctx: Context) -> BoardState:
    """Return a new state with every op applied in order, all or nothing."""
    return commit_batch(state, ops, ctx)[0]


def commit_batch(
    state: BoardState, ops: Sequence[BoardOp], ctx: Context
) -> tuple[BoardState, Effects]:
    """The new state with every op applied in order, all or nothing, and the batch's effects.

    Raises Rejected naming the first op that failed; `state` itself is never changed.
    """
    draft = _Draft(state, ctx)
    for index, op in enumerate(ops):
        try:
            draft.apply(op)
        except Rejected as rejected:
            raise rejected.at(index) from None
    return draft.finish()


def apply_effects(state: BoardState, effects: Effects) -> BoardState:
    """`state` with committed effects applied: how replicas (and log replays) follow a batch."""
    elements, size, removed = state.elements, state.size, set(effects.removed)
    for gone in removed:
        size -= element_size(elements[gone])
    for element in effects.put:
        old = None if element.id in removed else elements.get(element.id)
        size += element_size(element) - (element_size(old) if old else 0)
    put = {element.id: element for element in effects.put}
    changes: dict[str, Any] = {"elements": elements.evolve(put, removed), "size": size}
    if effects.board is not None:
        fields = effects.board
        changes |= {"title": fields.title, "description": fields.description}
        changes["tags"] = tuple(fields.tags)
    return msgspec.structs.replace(state, **changes)


def element_size(element: AnyElement) -> int:
    return len(msgspec.json.encode(element))


def invalid(error: msgspec.ValidationError, prefix: str) -> Rejected:
    """Turn msgspec's message into a Rejected that carries the bad field's path."""
    message = str(error)
    match = _PATH.search(message)
    path = prefix + (match.group(1) if match else "")
    return Rejected("invalid", _PATH.sub("", message), path=path)


class _Elements(Mapping[str, AnyElement]):
    """A copy-on-write view of a state's elements: changes overlay the base, never touch it.

    What the overlay holds at the end is the batch's effect, so effects come for free; the
    base is a persistent map, so folding the overlay in costs what the batch touched too.
    """

    def __init__(self, base: Elements) -> None:
        self.base = base
        self.changed: dict[str, AnyElement] = {}
        self.removed: set[str] = set()
        self.count = len(base)

    def get(self, element_id: str, default: None = None) -> AnyElement | None:  # type: ignore[override]
        if element_id in self.removed:
            return None
        found = self.changed.get(element_id)
        return found if found is not None else self.base.get(element_id)

    def __getitem__(self, element_id: str) -> AnyElement:
        element = self.get(element_id)
        if element is None:
            raise KeyError(element_id)
        return element

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        return (e.id for e in self.values())

    def values(self) -> Iterator[AnyElement]:  # type: ignore[override]
        """In order, as a replica following the effects would hold them."""
        for element in self.base.ordered():
            if element.id not in self.removed:
                yield self.changed.get(element.id, element)
        yield from (e for i, e in self.changed.items() if i not in self.base)

    def unordered(self) -> Iterator[AnyElement]:
        """Every element in no particular order: for scans whose result does not depend on it."""
        for element in self.base.unordered():
            if element.id not in self.removed:
                yield self.changed.get(element.id, element)
        yield from (e for i, e in self.changed.items() if i not in self.base)

    def put(self, element: AnyElement) -> None:
        if element.id not in self:
            self.count += 1
        self.removed.discard(element.id)
        self.changed[element.id] = element

    def pop(self, element_id: str) -> AnyElement:
        element = self[element_id]
        self.count -= 1
        self.changed.pop(element_id, None)
        if element_id in self.base:
            self.removed.add(element_id)
        return element

    def merged(self) -> Elements:
        """The resulting elements: a new map sharing everything untouched with the base."""
        if not self.changed and not self.removed:
            return self.base
        return self.base.evolve(self.changed, self.removed)

    def effects(self) -> tuple[list[AnyElement], list[str]]:
        # Identity, not equality: 0.0 == -0.0, yet the two encode (and size) differently.
        put = [e for i, e in self.changed.items() if self.base.get(i) is not e]
        return put, sorted(self.removed)


class _Draft:
    """A private, copy-on-write draft of a state that ops are applied to one by one."""

    def __init__(self, state: BoardState, ctx: Context) -> None:
        self.meta = state
        self.original = state
        self.elements = _Elements(state.elements)
        self.size = state.size
        self.ctx = ctx

    def finish(self) -> tuple[BoardState, Effects]:
        state = msgspec.structs.replace(self.meta, elements=self.elements.merged(), size=self.size)
        put, removed = self.elements.effects()
        meta = ("title", "description", "tags")
        changed = any(getattr(state, f) != getattr(self.original, f) for f in meta)
        board = BoardFields(title=state.title, description=state.description, tags=list(state.tags))
        return state, Effects(put=put, removed=removed, board=board if changed else None)

    def apply(self, op: BoardOp) -> None:
        required = required_role(op, self.elements, self.ctx.user)
        if not at_least(self.ctx.role, required):
            raise Rejected(
                "forbidden",
                f"this op needs the {required} role; you are a {self.ctx.role}",
                required_role=required,
            )
        match op:
            case Create(element=element):
                self._create(element)
            case Update():
                self._update(op)
            case Delete(id=element_id):
                self._delete(element_id)
            case Move():
                self._move(op)
            case Reorder(id=element_id, after=after):
                self._reorder(element_id, after)
            case UpdateBoard():
                self._update_board(op)

    def _create(self, element: AnyElement) -> None:
        if element.id in self.elements:
            raise Rejected(
                "duplicate_id", f"an element with id {element.id!r} exists", element_id=element.id
            )
        if len(self.elements) >= self.ctx.limits.max_elements:
            raise Rejected(
                "board_limit",
                f"the board holds its maximum of {self.ctx.limits.max_elements} elements",
                limit=self.ctx.limits.max_elements,
            )
        if isinstance(element, Stage | Lane):
            last = max((e.order for e in self._siblings(element)), default=None)
            element = msgspec.structs.replace(element, order=key_between(last, None))
        if isinstance(element, Comment):
            element = msgspec.structs.replace(
                element, author=self.ctx.user, created_at=self.ctx.now_ms
            )
        self._put(element)

    def _update(self, op: Update) -> None:
        element = self._existing(op.id)
        for name in (*op.set, *op.unset):
            if name in PROTECTED:
                raise Rejected("invalid", f"{name!r} cannot be updated", path=f"$.set.{name}")
        fields = _fields(type(element))
        values = msgspec.structs.asdict(element)
        for name in op.unset:
            field = fields.get(name)
            if field is None or field.required:
                raise Rejected(
                    "invalid", f"{name!r} is not an optional property", path=f"$.unset.{name}"
                )
            default = field.default
            values[name] = field.default_factory() if default is msgspec.NODEFAULT else default
        values.update(op.set)
        if isinstance(op.set.get("data"), dict):
            values["data"] = _merged_data(element.data, op.set["data"])
        try:
            updated = msgspec.convert(values, type(element))
        except msgspec.ValidationError as error:
            raise invalid(error, "$.set") from None
        if isinstance(updated, Node) and updated.type == "decision":
            self._check_decision_edges(updated.id)
        self._put(updated)

    def _move(self, op: Move) -> None:
        element = self._existing(op.id)
        changes: dict[str, Any] = {"x": op.x, "y": op.y}
        if op.stage is not msgspec.UNSET:
            changes["stage"] = op.stage
        if op.lane is not msgspec.UNSET:
            changes["lane"] = op.lane
        self._put(msgspec.structs.replace(element, **changes))

    def _reorder(self, element_id: str, after: str | None) -> None:
        element = self._existing(element_id)
        if not isinstance(element, Stage | Lane):
            raise Rejected("invalid", "only stages and lanes have an order", path="$.id")
        siblings = sorted(
            (e for e in self._siblings(element) if e.id != element_id),
            key=lambda e: (e.order, e.id),
        )
        ids = [e.id for e in siblings]
        if after is None:
            position = 0
        elif after in ids:
            position = ids.index(after) + 1
        else:
            raise Rejected(
                "unknown_element", f"no sibling {after!r} to place after", path="$.after"
            )
        before_key = siblings[position - 1].order if position else None
        after_key = siblings[position].order if position < len(siblings) else None
        self._put(msgspec.structs.replace(element, order=key_between(before_key, after_key)))

    def _update_board(self, op: UpdateBoard) -> None:
        changes = {
            name: value
            for name in ("title", "description", "tags")
            if (value := getattr(op, name)) is not msgspec.UNSET
        }
        self.meta = msgspec.structs.replace(self.meta, **changes)

    def _delete(self, element_id: str) -> None:
        self._existing(element_id)
        doomed = {element_id}
        frontier = doomed
        while frontier:
            frontier = {
                e.id
                for e in self.elements.unordered()
                if e.id not in doomed and _hangs_on(e, frontier)
            }
            doomed |= frontier
        for gone in doomed:
            self.size -= element_size(self.elements.pop(gone))
        for element in list(self.elements.values()):
            cleared = _without_references(element, doomed)
            if cleared is not element:
                self._put(cleared)

    def _put(self, element: AnyElement) -> None:
        check_data(element.data, self.ctx.limits)
        self._check_references(element)
        old = self.elements.get(element.id)
        size = self.size + element_size(element) - (element_size(old) if old else 0)
        if size > self.ctx.limits.max_board_bytes:
            raise Rejected(
                "board_limit",
                f"the board would exceed {self.ctx.limits.max_board_bytes} bytes",
                limit=self.ctx.limits.max_board_bytes,
            )
        self.elements.put(element)
        self.size = size

    def _existing(self, element_id: str) -> AnyElement:
        element = self.elements.get(element_id)
        if element is None:
            raise Rejected(
                "unknown_element", f"no element {element_id!r} on this board", element_id=element_id
            )
        return element

    def _siblings(self, element: AnyElement) -> Iterable[Stage | Lane]:
        kind = type(element)
        return (e for e in self.elements.unordered() if type(e) is kind)  # type: ignore[misc]

    def _expect(self, element_id: str | None, kind: type, path: str) -> None:
        if element_id is not None and not isinstance(self.elements.get(element_id), kind):
            raise Rejected(
                "missing_reference",
                f"{path[2:]} {element_id!r} is not a {kind.__name__.lower()} on this board",
                path=path,
                element_id=element_id,
            )

    def _check_references(self, element: AnyElement) -> None:
        self._expect(element.stage, Stage, "$.stage")
        self._expect(element.lane, Lane, "$.lane")
        match element:
            case Edge(source=source, target=target, label=label):
                self._expect(source, Node, "$.source")
                self._expect(target, Node, "$.target")
                if not label and _is_decision(self.elements[source]):
                    raise Rejected(
                        "invalid", "an edge out of a decision needs a label", path="$.label"
                    )
            case Stakeholder(touchpoints=touchpoints):
                for i, node_id in enumerate(touchpoints):
                    self._expect(node_id, Node, f"$.touchpoints[{i}]")
            case Comment(target=target, parent=parent):
                if target is not None and target not in self.elements:
                    raise Rejected(
                        "missing_reference", f"no element {target!r} to comment on", path="$.target"
                    )
                self._expect(parent, Comment, "$.parent")

    def _check_decision_edges(self, node_id: str) -> None:
        for e in self.elements.values():
            if isinstance(e, Edge) and e.source == node_id and not e.label:
                raise Rejected(
                    "invalid",
                    f"edge {e.id!r} leaves this node unlabelled; label it before making a decision",
                    path="$.set.type",
                )


@functools.cache
def _fields(kind: type[AnyElement]) -> dict[str, msgspec.structs.FieldInfo]:
    """An element type's fields by name; cached, as msgspec resolves type hints on each call."""
    return {f.name: f for f in msgspec.structs.fields(kind)}


def _merged_data(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`set` on `data` works key by key, so editors of different keys both keep theirs;
    a key set to null is removed (a JSON Merge Patch of the top level)."""
    merged = {**data, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def _is_decision(element: AnyElement) -> bool:
    return isinstance(element, Node) and element.type == "decision"


def _hangs_on(element: AnyElement, gone: set[str]) -> bool:
    """Whether `element` makes no sense once the elements in `gone` are deleted."""
    match element:
        case Edge(source=source, target=target):
            return source in gone or target in gone
        case Comment(target=target, parent=parent):
            return target in gone or parent in gone
    return False


def _without_references(element: AnyElement, gone: set[str]) -> AnyElement:
    """`element` with its soft references to deleted elements cleared (itself if none)."""
    changes: dict[str, Any] = {}
    if element.stage in gone:
        changes["stage"] = None
    if element.lane in gone:
        changes["lane"] = None
    if isinstance(element, Stakeholder) and gone.intersection(element.touchpoints):
        changes["touchpoints"] = tuple(t for t in element.touchpoints if t not in gone)
    return msgspec.structs.replace(element, **changes) if changes else element
