"""A thread-safe cancellation token shared by the LSP job manager and the blocking pipeline."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """Raised inside the pipeline when its token was cancelled."""


class CancelToken:
    """Set once; callbacks registered before or after run exactly once, on the cancelling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self.reason = ""
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._cancelled

    def cancel(self, reason: str = "cancelled") -> bool:
        """Cancel; returns False when it already was."""
        with self._lock:
            if self._cancelled:
                return False
            self._cancelled = True
            self.reason = reason
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()
        return True

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run callback when cancelled (immediately if it already is)."""
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(callback)
                return
        callback()

    def raise_if_cancelled(self) -> None:
        """Raise Cancelled when the token is set."""
        if self._cancelled:
            raise Cancelled(self.reason)
