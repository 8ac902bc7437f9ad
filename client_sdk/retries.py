"""When a call is worth repeating, and how long to wait before it."""

import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Retries:
    """Retry connection errors, 429 and 5xx with exponential backoff and full jitter.

    A 429 is always retried (the server did nothing); a connection error or 5xx only when
    the call is idempotent: reads, PUT and DELETE, ops sent with an idempotency key, and
    uploads (records are deduplicated by source and external id).
    """

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`; the server's Retry-After wins."""
        if retry_after is not None:
            return min(retry_after, 60.0)
        return random.uniform(0, min(self.cap, self.base * 2**attempt))

    def should_retry(self, attempt: int, status: int | None, idempotent: bool) -> bool:
        """`status` is None for a connection error."""
        if attempt + 1 >= self.attempts:
            return False
        if status == 429:
            return True
        return idempotent and (status is None or status in RETRY_STATUSES)


NO_RETRIES = Retries(attempts=1)
