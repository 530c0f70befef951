"""Per-instance serving metrics: requests, tokens/s, latency percentiles (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import deque


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def _busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end] intervals: time with at least one request in flight."""
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


class InstanceMetrics:
    """Counts completed requests; tokens/s while busy and latency over the most recent ``window`` requests."""

    def __init__(self, window: int = 256) -> None:
        """Keep the last ``window`` requests for throughput and percentiles."""
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.tokens = 0
        self._recent: deque[tuple[float, float, int]] = deque(maxlen=window)  # (start, end, tokens)

    def record(self, started: float, tokens: int, ended: float | None = None) -> None:
        ended = time.monotonic() if ended is None else ended
        with self._lock:
            self.requests += 1
            self.tokens += tokens
            self._recent.append((started, ended, tokens))

    def record_error(self) -> None:
        with self._lock:
            self.errors += 1

    def snapshot(self) -> dict[str, float | int | None]:
        """requests, errors, tokens, tokens_per_s (aggregate over the recent window), p50_ms, p95_ms."""
        with self._lock:
            recent = list(self._recent)
            requests, errors, tokens = self.requests, self.errors, self.tokens
        latencies = [(end - start) * 1000.0 for start, end, _ in recent]
        busy = _busy_seconds([(s, e) for s, e, _ in recent])
        rate = sum(t for _, _, t in recent) / busy if busy > 0 else 0.0
        return {
            "requests": requests,
            "errors": errors,
            "tokens": tokens,
            "tokens_per_s": rate,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
        }
