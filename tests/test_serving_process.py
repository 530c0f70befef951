"""The supervised worker process (LocalBackend): batching through IPC, streaming, cancellation, crashes, bad checkpoints."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import wait

import pytest
import torch

from elixir_coder_lsp.settings import ModelSettings
from elixir_coder_lsp.inference.backends.local import LocalBackend
from elixir_coder_lsp.inference.runner import ModelRunner
from elixir_coder_lsp.inference.serving import Serving
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, SamplingParams

torch.set_num_threads(1)
TIMEOUT = 120


def greedy(n: int, **kw) -> SamplingParams:
    return SamplingParams(temperature=0, max_new_tokens=n, **kw)


@pytest.fixture(scope="module")
def statuses():
    return []


@pytest.fixture(scope="module")
def backend(tiny_model_dir, statuses):
    settings = ModelSettings(checkpoint=str(tiny_model_dir), max_batch_size=16, batch_timeout_ms=5)
    b = LocalBackend("tiny", settings, num_threads=1, on_status=statuses.append, backoff_s=0.1)
    yield b
    b.close()


def test_lazy_start_phases_and_streaming(backend, statuses):
    assert backend.status().state == "stopped" and backend.pid is None
    events = []
    result = backend.submit(GenerationRequest(prompt="defmodule", params=greedy(24)), on_event=events.append).result(TIMEOUT)
    phases = [e.phase for e in events if e.kind == "phase"]
    assert phases[:3] == ["queued", "loading model", "generating"]
    assert "".join(e.text for e in events if e.kind == "token") == result.completions[0].text
    assert events[-1].kind == "done"
    assert result.instance == "tiny" and result.timings["total_s"] > 0
    assert [s.state for s in statuses][0] == "loading"
    assert {"idle", "busy"} & {s.state for s in statuses}
    assert backend.ping(30)


def test_process_batched_equals_alone(backend, tiny_model_dir):
    prompts = ["defmodule Foo do", "x", "  def hello(name) do\n    IO.puts(name)", "|> Enum.map(fn x -> x * 2 end)"]
    alone = [backend.submit(GenerationRequest(prompt=p, params=greedy(16))).result(TIMEOUT) for p in prompts]
    futures = [backend.submit(GenerationRequest(prompt=p, params=greedy(16))) for p in prompts]
    batched = [f.result(TIMEOUT) for f in futures]
    # the same engine in-process gives the same tokens as well (same loading path)
    local = Serving.new(str(tiny_model_dir), num_threads=1).engine().generate(
        [GenerationRequest(prompt=p, params=greedy(16)) for p in prompts]
    )
    serving = Serving.new(str(tiny_model_dir), num_threads=1)
    for prompt, a, b, c in zip(prompts, alone, batched, local):
        reference = a.completions[0].token_ids
        for other in (b.completions[0].token_ids, c.completions[0].token_ids):
            if other != reference:
                # only a near-tie between the top two logits may legitimately flip a greedy choice
                first = next(i for i, (x, y) in enumerate(zip(reference, other)) if x != y)
                runner = ModelRunner(serving.model, serving.device)
                logits = runner.prefill([0], serving.tokenizer(prompt).input_ids)[0]
                for tok in reference[:first]:
                    logits = runner.decode([tok])[0]
                top = logits.topk(2).values
                assert float(top[0] - top[1]) < 1e-3, f"greedy diverged at {first} without a near-tie"


def test_32_concurrent_requests_complete_in_order(backend):
    reqs = [GenerationRequest(prompt=f"def f{i}(x) do", params=SamplingParams(temperature=0.7, seed=i, max_new_tokens=8 + i % 7)) for i in range(32)]
    futures = [backend.submit(r) for r in reqs]
    done, not_done = wait(futures, timeout=TIMEOUT)
    assert not not_done
    results = [f.result() for f in futures]
    assert [r.request_id for r in results] == [r.id for r in reqs]
    assert all(1 <= r.completions[0].num_tokens <= 8 + i % 7 for i, r in enumerate(results))
    status = backend.status()
    assert status.requests >= 32 and status.tokens_per_s > 0 and status.p95_ms >= status.p50_ms


def test_cancel_stops_tokens_and_frees_the_slot(backend):
    tokens = []
    first = threading.Event()

    def on_event(e):
        if e.kind == "token":
            tokens.append(e)
            first.set()

    fut = backend.submit(GenerationRequest(prompt="defmodule", params=greedy(4000), id="long"), on_event=on_event)
    assert first.wait(TIMEOUT)
    started = time.monotonic()
    assert backend.cancel("long")
    with pytest.raises(GenerationError) as err:
        fut.result(TIMEOUT)
    assert err.value.kind == "cancelled"
    assert time.monotonic() - started < 5
    seen = len(tokens)
    time.sleep(0.3)
    assert len(tokens) == seen
    assert backend.status().queue == 0
    assert not backend.cancel("long")
    # the slot is free: a new request runs normally
    assert backend.submit(GenerationRequest(prompt="x", params=greedy(4))).result(TIMEOUT).completions


async def test_async_stream_and_early_exit_cancels(backend):
    from elixir_coder_lsp.inference.generation import agenerate, stream

    events = [e async for e in stream(backend, GenerationRequest(prompt="defmodule", params=greedy(12)))]
    assert events[-1].kind == "done"
    result = events[-1].data["result"]
    assert "".join(e.text for e in events if e.kind == "token") == result.completions[0].text
    assert (await agenerate(backend, GenerationRequest(prompt="defmodule", params=greedy(12)))).completions[0].text == result.completions[0].text

    request = GenerationRequest(prompt="x", params=greedy(4000), id="streamed-long")
    async with contextlib.aclosing(stream(backend, request)) as events:
        async for event in events:
            if event.kind == "token":
                break
    deadline = time.monotonic() + 10
    while backend.status().queue and time.monotonic() < deadline:
        time.sleep(0.02)
    assert backend.status().queue == 0


def test_killed_worker_fails_in_flight_then_recovers(backend):
    started = threading.Event()
    fut = backend.submit(
        GenerationRequest(prompt="defmodule", params=greedy(4000)), on_event=lambda e: e.kind == "token" and started.set()
    )
    assert started.wait(TIMEOUT)
    old_pid = backend.pid
    os.kill(old_pid, signal.SIGKILL)
    with pytest.raises(GenerationError) as err:
        fut.result(TIMEOUT)
    assert err.value.kind == "crashed"
    assert "instance 'tiny' exited" in str(err.value) and "being restarted" in str(err.value)
    result = backend.submit(GenerationRequest(prompt="x", params=greedy(4))).result(TIMEOUT)
    assert result.completions[0].num_tokens >= 1
    assert backend.pid != old_pid and backend.status().state in ("idle", "busy")


def test_bad_checkpoint_fails_once_with_reason(tmp_path):
    reports = []
    b = LocalBackend("broken", ModelSettings(checkpoint=str(tmp_path / "nope")), num_threads=1, on_status=reports.append)
    try:
        with pytest.raises(GenerationError) as err:
            b.submit(GenerationRequest(prompt="x", params=greedy(2))).result(TIMEOUT)
        assert err.value.kind == "unavailable"
        assert "does not exist" in str(err.value) and "'broken'" in str(err.value)
        assert b.status().state == "failed"
        with pytest.raises(GenerationError, match="does not exist"):
            b.submit(GenerationRequest(prompt="x", params=greedy(2))).result(5)
        assert [r.state for r in reports].count("failed") == 1
    finally:
        b.close()


def test_unloadable_checkpoint_reports_the_worker_reason(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama"}')
    b = LocalBackend("broken", ModelSettings(checkpoint=str(broken)), num_threads=1)
    try:
        with pytest.raises(GenerationError) as err:
            b.submit(GenerationRequest(prompt="x", params=greedy(2))).result(TIMEOUT)
        assert err.value.kind == "unavailable"
        assert "Cannot load model" in str(err.value) and "\n" not in str(err.value)
        assert b.status().state == "failed"
    finally:
        b.close()


@pytest.mark.slow
def test_repeated_crashes_mark_the_instance_failed(tiny_model_dir):
    reports = []
    b = LocalBackend(
        "fragile", ModelSettings(checkpoint=str(tiny_model_dir)), num_threads=1, on_status=reports.append, max_crashes=2, backoff_s=0.05
    )
    try:
        for _ in range(2):
            b.preload()
            assert b.wait_ready(TIMEOUT), b.status()
            os.kill(b.pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while b.status().state in ("idle", "busy") and time.monotonic() < deadline:
                time.sleep(0.05)
        deadline = time.monotonic() + 30
        while b.status().state != "failed" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = b.status()
        assert status.state == "failed", status
        assert "crashed 2 times" in status.message and "out of memory" in status.message, status.message
        assert [r.state for r in reports].count("failed") == 1, reports
        with pytest.raises(GenerationError):
            b.submit(GenerationRequest(prompt="x", params=greedy(2))).result(5)
    finally:
        b.close()


def _print_in_child(conn):
    import sys

    from elixir_coder_lsp.inference.worker import _capture_output

    _capture_output(conn.send)
    print("hello from stdout")
    sys.stderr.write("progress 10%\rprogress 100%\n")
    sys.stderr.flush()
    time.sleep(0.5)
    conn.send(("end",))


def test_worker_output_goes_to_the_parent_log():
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_print_in_child, args=(child,))
    proc.start()
    messages = []
    while parent.poll(60):
        msg = parent.recv()
        if msg == ("end",):
            break
        messages.append(msg)
    proc.join(10)
    from elixir_coder_lsp.inference.messages import Log

    assert [m.text for m in messages if isinstance(m, Log)] == ["hello from stdout", "progress 100%"]
