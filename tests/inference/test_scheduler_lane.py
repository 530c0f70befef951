"""The scheduler's interactive lane (inline completion): its own rows, never behind or ahead of generation unfairly."""

from __future__ import annotations

from elixir_coder_lsp.inference.scheduler import RequestState, Scheduler, SequenceState, lane_rows
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams


def state(rid: str, n: int = 1, interactive: bool = False, arrival: float = 0.0) -> RequestState:
    req = GenerationRequest(prompt="x", params=SamplingParams(n=n), id=rid, interactive=interactive)
    return RequestState(request=req, prompt_ids=[1], budget=4, arrival=arrival)


def admit(s: Scheduler, now: float = 100.0) -> list[str]:
    states = s.schedule(now=now)
    for st in states:
        st.seqs = [SequenceState(seq_id=i, index=i) for i in range(st.rows)]
    return [st.request.id for st in states]


def test_lane_size() -> None:
    assert lane_rows(1) == 1 and lane_rows(8) == 1 and lane_rows(16) == 2 and lane_rows(64) == 8


def test_inline_runs_beside_a_full_batch_of_generation() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    s.add(state("gen", n=4))
    assert admit(s) == ["gen"]
    s.add(state("gen2", n=1))
    s.add(state("inline", interactive=True))
    # the batch is full of generation: the inline request still joins, in its own lane; gen2 waits
    assert admit(s) == ["inline"]
    s.add(state("inline2", interactive=True))
    assert admit(s) == []  # the lane (one row here) is taken and no ordinary row is free


def test_inline_goes_ahead_of_waiting_generation_without_the_batch_window() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=60.0)
    s.add(state("gen", n=2, arrival=100.0))
    s.add(state("inline", interactive=True, arrival=100.0))
    assert s.wait_time(now=100.0) == 0.0  # an interactive request never waits for the window
    assert admit(s, now=100.0) == ["inline", "gen"]


def test_a_flood_of_inline_requests_never_starves_generation() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    for i in range(10):
        s.add(state(f"inline{i}", interactive=True))
    s.add(state("gen", n=3))
    admitted = admit(s)
    # one row of lane plus what generation does not need; generation gets its three rows at once
    assert "gen" in admitted
    assert sum(1 for a in admitted if a.startswith("inline")) == 2
    assert s.running_rows(False) == 3 and s.running_rows(True) == 2


def test_inline_uses_idle_rows_when_no_generation_waits() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    for i in range(3):
        s.add(state(f"inline{i}", interactive=True))
    assert admit(s) == ["inline0", "inline1", "inline2"]


def test_cancel_reaches_the_interactive_line() -> None:
    s = Scheduler(max_batch_size=4, batch_timeout_s=0.0)
    s.add(state("gen", n=4))
    admit(s)
    s.add(state("inline", interactive=True))
    s.add(state("inline2", interactive=True))
    assert admit(s) == ["inline"]
    assert s.cancel("inline2") == "removed" and s.cancel("inline") == "flagged"
    assert s.num_unfinished() == 2
