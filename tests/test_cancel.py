"""CancelToken: set once, callbacks exactly once, from any thread."""

from __future__ import annotations

import threading

import pytest

from elixir_coder_lsp.cancel import Cancelled, CancelToken


def test_cancel_once_with_its_reason() -> None:
    token = CancelToken()
    assert not token.cancelled
    token.raise_if_cancelled()
    assert token.cancel("superseded") is True
    assert token.cancel("again") is False
    assert token.cancelled and token.reason == "superseded"
    with pytest.raises(Cancelled, match="superseded"):
        token.raise_if_cancelled()


def test_callbacks_run_once_whether_registered_before_or_after() -> None:
    token = CancelToken()
    calls: list[str] = []
    token.on_cancel(lambda: calls.append("before"))
    token.cancel()
    token.cancel()
    token.on_cancel(lambda: calls.append("after"))
    assert calls == ["before", "after"]


def test_racing_cancels_run_each_callback_once() -> None:
    token = CancelToken()
    calls: list[int] = []
    for i in range(20):
        token.on_cancel(lambda i=i: calls.append(i))
    threads = [threading.Thread(target=token.cancel) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == list(range(20))
