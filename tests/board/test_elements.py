"""The persistent element map: the order replicas keep, and old values that never change."""

from schemas.board import Node
from server.board.elements import Elements


def ids(elements: Elements) -> list[str]:
    return [e.id for e in elements.values()]


def test_elements_iterate_in_the_order_they_were_added() -> None:
    elements = Elements([Node(id="b"), Node(id="a")]).evolve({"c": Node(id="c")}, ())
    assert (ids(elements), list(elements), len(elements)) == (["b", "a", "c"], ["b", "a", "c"], 3)


def test_a_replaced_element_keeps_its_place_and_a_recreated_one_goes_last() -> None:
    elements = Elements([Node(id="a"), Node(id="b"), Node(id="c")])
    replaced = elements.evolve({"a": Node(id="a", label="new")}, ())
    assert ids(replaced) == ["a", "b", "c"] and replaced["a"].label == "new"
    recreated = elements.evolve({}, {"a"}).evolve({"a": Node(id="a")}, ())
    assert ids(recreated) == ["b", "c", "a"]


def test_evolving_leaves_the_old_value_as_it_was() -> None:
    elements = Elements([Node(id="a"), Node(id="b")])
    evolved = elements.evolve({"c": Node(id="c"), "a": Node(id="a", label="x")}, {"b"})
    assert (ids(elements), elements["a"].label, "c" in elements) == (["a", "b"], "", False)
    assert (ids(evolved), evolved.get("b")) == (["a", "c"], None)


def test_elements_equal_any_mapping_with_the_same_items() -> None:
    elements = Elements([Node(id="a")])
    assert elements == {"a": Node(id="a")} and elements != {} and Elements() == {}
    assert sorted(e.id for e in elements.unordered()) == ["a"]
