"""Fractional-index keys: order among siblings that survives concurrent moves.

Keys are assigned by the core only, so siblings' keys are always distinct and valid.
"""

from fractional_indexing import generate_key_between


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts strictly between `before` and `after` (None = open end)."""
    return str(generate_key_between(before, after))
