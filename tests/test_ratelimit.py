"""Token buckets, with the clock in the test's hand."""

from server.ratelimit import Buckets


def test_burst_then_steady_rate() -> None:
    buckets = Buckets(rate=2, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", 0.0) == 0.5
    assert buckets.take("a", 0.5) == 0
    assert buckets.take("b", 0.5) == 0, "keys are independent"


def test_memory_stays_bounded_by_forgetting_refilled_keys() -> None:
    buckets = Buckets(rate=1, burst=1, max_keys=100)
    for i in range(1_000):
        buckets.take(f"k{i}", float(i))
    assert len(buckets._state) <= 100
