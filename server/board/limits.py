"""Size limits that keep one board inside a MongoDB document and a browser's memory."""

from typing import Any

import msgspec

from server.board.errors import Rejected

MAX_SAFE_INTEGER = 2**53  # JavaScript clients cannot hold larger integers exactly


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-board caps; the defaults are the published limits (the README's Limits table)."""

    max_elements: int = 25_000
    max_board_bytes: int = 8 * 1024 * 1024
    max_data_bytes: int = 16 * 1024
    max_data_depth: int = 8
    max_data_keys: int = 64


def check_data(data: dict[str, Any], limits: Limits) -> None:
    """Reject a `data` map that is too big, too deep, too wide or holds unsafe numbers."""
    size = len(msgspec.json.encode(data))
    if size > limits.max_data_bytes:
        raise Rejected(
            "too_large",
            f"data is {size} bytes; the limit is {limits.max_data_bytes}",
            path="$.data",
            limit=limits.max_data_bytes,
        )
    _check_value(data, limits, depth=1, path="$.data")


def _check_value(value: Any, limits: Limits, depth: int, path: str) -> None:
    if isinstance(value, dict | list) and depth > limits.max_data_depth:
        raise Rejected(
            "invalid",
            f"data nests deeper than {limits.max_data_depth} levels",
            path=path,
            limit=limits.max_data_depth,
        )
    if isinstance(value, dict):
        if len(value) > limits.max_data_keys:
            raise Rejected(
                "invalid",
                f"a data map holds more than {limits.max_data_keys} keys",
                path=path,
                limit=limits.max_data_keys,
            )
        for key, item in value.items():
            _check_value(item, limits, depth + 1, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, limits, depth + 1, f"{path}[{i}]")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise Rejected("invalid", "integers in data must be within ±2^53", path=path)


# Replaying the log must never refuse an op it once committed, even if limits were lowered.
REPLAY_LIMITS = Limits(
    max_elements=2**62,
    max_board_bytes=2**62,
    max_data_bytes=2**62,
    max_data_depth=10**6,
    max_data_keys=2**62,
)
