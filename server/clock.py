"""The one wall clock the server reads: pure code gets the time passed in, never calls this."""

import time


def now_ms() -> int:
    """Milliseconds since the epoch, as stamped on ops, boards and tokens."""
    return time.time_ns() // 1_000_000
