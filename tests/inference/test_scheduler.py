"""Scheduler: admission, the batch window, continuous batching and the methods the engine uses."""

from __future__ import annotations

import pytest

from elixir_coder_lsp.inference.scheduler import RequestState, Scheduler, SequenceState
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams


def state(rid: str, n: int = 1, arrival: float = 0.0) -> RequestState:
    return RequestState(request=GenerationRequest(prompt="x", params=SamplingParams(n=n), id=rid), prompt_ids=[1], budget=4, arrival=arrival)


def start(st: RequestState) -> None:
    """What the engine does on admission: one sequence per row."""
    st.seqs = [SequenceState(seq_id=i, index=i) for i in range(st.rows)]


def test_idle_scheduler_waits_for_the_batch_window() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.5)
    assert s.wait_time(now=0.0) is None
    s.add(state("a", arrival=10.0))
    assert s.wait_time(now=10.2) == pytest.approx(0.3)
    assert s.schedule(now=10.2) == []  # still inside the window
    assert [st.request.id for st in s.schedule(now=10.6)] == ["a"]
    assert s.wait_time(now=10.6) == 0.0  # something runs: step now


def test_a_full_batch_is_admitted_without_waiting() -> None:
    s = Scheduler(max_batch_size=3, batch_timeout_s=60.0)
    s.add(state("a", n=2, arrival=0.0))
    s.add(state("b", n=1, arrival=0.0))
    assert s.wait_time(now=0.0) == 0.0
    assert [st.request.id for st in s.schedule(now=0.0)] == ["a", "b"]


def test_waiting_requests_join_while_their_rows_fit() -> None:
    s = Scheduler(max_batch_size=3, batch_timeout_s=0.0)
    first = state("a", n=2)
    s.add(first)
    s.schedule(now=1.0)
    start(first)
    s.add(state("b", n=2))
    assert s.schedule(now=1.0) == []  # 2 running rows + 2 > 3
    first.seqs[0].finish_reason = "stop"
    assert [st.request.id for st in s.schedule(now=1.0)] == ["b"]  # a finished row frees its place


def test_a_request_wider_than_the_batch_runs_alone() -> None:
    s = Scheduler(max_batch_size=2, batch_timeout_s=0.0)
    s.add(state("wide", n=5))
    s.add(state("next"))
    assert [st.request.id for st in s.schedule(now=0.0)] == ["wide"]


def test_cancel_removes_waiting_and_flags_running_requests() -> None:
    s = Scheduler(max_batch_size=1, batch_timeout_s=0.0)
    running, waiting = state("run"), state("wait")
    s.add(running)
    s.add(waiting)
    s.schedule(now=0.0)
    assert s.num_unfinished() == 2
    assert s.cancel("wait") == "removed"
    assert s.cancel("run") == "flagged" and running.cancelled
    assert s.cancel("run") is None  # already flagged
    assert s.cancel("nope") is None
    assert s.take_cancelled() == [running]
    assert not s.has_unfinished()


def test_take_finished_and_take_all_running() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    done, busy = state("done"), state("busy")
    s.add(done)
    s.add(busy)
    s.schedule(now=0.0)
    start(done)
    start(busy)
    done.seqs[0].finish_reason = "length"
    assert s.take_finished() == [done]
    assert s.take_finished() == []
    assert s.take_all_running() == [busy]
    assert s.num_unfinished() == 0


def test_finish_takes_a_request_out_of_the_batch() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    a, b = state("a"), state("b")
    s.add(a)
    s.add(b)
    s.schedule(now=0.0)
    s.finish([a])
    assert s.take_all_running() == [b]
