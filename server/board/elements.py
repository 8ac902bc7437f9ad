"""A board's elements by id: a persistent map that keeps the order elements were added in."""

from collections.abc import Iterable, Iterator, Mapping, ValuesView
from operator import itemgetter

import immutables

from schemas.board import AnyElement

_rank = itemgetter(0)


class Elements(Mapping[str, AnyElement]):
    """Elements by id, iterated in the order they were added (the order replicas keep, see
    docs/protocol.md "Effects"), and persistent: `evolve` returns a new one that shares all
    it did not touch, so a batch costs log(n) per element it touches, not a copy of the board,
    and an old value stays valid for whoever still reads it (a joining client's snapshot).
    """

    __slots__ = ("_by_id", "_next")

    def __init__(self, elements: Iterable[AnyElement] = ()) -> None:
        ranked = {e.id: e for e in elements}
        self._by_id: immutables.Map[str, tuple[int, AnyElement]] = immutables.Map(
            (element_id, (rank, e)) for rank, (element_id, e) in enumerate(ranked.items())
        )
        self._next = len(ranked)

    def __getitem__(self, element_id: str) -> AnyElement:
        return self._by_id[element_id][1]

    def get(self, element_id: str, default: None = None) -> AnyElement | None:  # type: ignore[override]
        found = self._by_id.get(element_id)
        return default if found is None else found[1]

    def __contains__(self, element_id: object) -> bool:
        return element_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[str]:
        return (e.id for e in self.ordered())

    def values(self) -> ValuesView[AnyElement]:
        return _Values(self)

    def ordered(self) -> list[AnyElement]:
        """Every element in the order it was added: n log n, for reads of the whole board."""
        return [e for _, e in sorted(self._by_id.values(), key=_rank)]

    def unordered(self) -> Iterator[AnyElement]:
        """Every element, in no particular order: for scans that do not care."""
        return (e for _, e in self._by_id.values())

    def evolve(self, put: Mapping[str, AnyElement], removed: Iterable[str]) -> "Elements":
        """A new value with `removed` gone, then `put` in place (new ones at the end)."""
        rank = self._next
        with self._by_id.mutate() as by_id:
            for gone in removed:
                del by_id[gone]
            for element_id, element in put.items():
                old = by_id.get(element_id)
                if old is None:
                    by_id[element_id], rank = (rank, element), rank + 1
                else:
                    by_id[element_id] = (old[0], element)
            evolved = Elements()
            evolved._by_id, evolved._next = by_id.finish(), rank
        return evolved

    def __repr__(self) -> str:
        return f"Elements({self.ordered()!r})"


class _Values(ValuesView[AnyElement]):
    """The elements in order, without a lookup per element."""

    _mapping: Elements

    def __iter__(self) -> Iterator[AnyElement]:
        return iter(self._mapping.ordered())
