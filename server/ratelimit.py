"""Token buckets keyed by client: the clock is passed in, so the logic is testable."""


class Buckets:
    """`rate` requests per second with bursts of `burst`, per key, in bounded memory."""

    def __init__(self, rate: float, burst: float, max_keys: int = 50_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> float:
        """Spend one token; return 0 if allowed, else the seconds until one is available."""
        tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._state) >= self.max_keys and key not in self._state:
            self._forget_full(now)
        self._state[key] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop keys whose bucket has refilled: they carry no information."""
        self._state = {
            k: (t, last)
            for k, (t, last) in self._state.items()
            if t + (now - last) * self.rate < self.burst
        }
