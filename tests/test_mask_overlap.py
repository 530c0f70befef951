"""Grammar masks overlapped with the forward pass: the same bits as the serial path, the same samples, no leaks."""

from __future__ import annotations

import pytest
import torch

from elixir_coder_lsp.inference import constraints as C
from elixir_coder_lsp.inference.engine import resolve_mask_overlap
from elixir_coder_lsp.inference.serving import Serving
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams


# recorded token streams: real programs, replayed token by token in lockstep
PROGRAMS = [
    "defmodule Shop.Cart do\n  def total(%{items: items}) do\n    Enum.map(items, & &1.price) |> Enum.sum()\n  end\nend\n",
    "defmodule Counter do\n  use GenServer\n\n  def init(n), do: {:ok, n}\n\n"
    "  def handle_call(:get, _from, n) do\n    {:reply, n, n}\n  end\nend\n",
    'x = [1, 2, 3]\ncase x do\n  [h | _] when h > 0 -> IO.puts("#{h}")\n  _ -> :error\nend\n',
]


def _streams(tokenizer) -> list[list[int]]:
    return [tokenizer(p, add_special_tokens=False).input_ids for p in PROGRAMS]


def _pool_idle() -> bool:
    """The background thread takes new work at once (nothing of an earlier step is still running)."""
    return C._get_prefetch_pool().submit(lambda: True).result(timeout=10)


@pytest.mark.parametrize("chunk", [1, 2, 8])
def test_overlapped_masks_equal_serial_masks_bit_for_bit(bpe_tokenizer, mask_store, chunk) -> None:
    streams = _streams(bpe_tokenizer)
    serial = [mask_store.constraint("start") for _ in streams]
    overlapped = [mask_store.constraint("start") for _ in streams]
    logits = torch.randn(len(streams), mask_store.vocab_size + 5)  # padded columns, as models have
    for step in range(max(len(s) for s in streams)):
        live = [i for i, s in enumerate(streams) if step < len(s)]
        prefetch = C.MaskPrefetch(mask_store.vocab_size, chunk=chunk)
        prefetch.add([(i, overlapped[i]) for i in live])
        got = prefetch.finish(wait_all=True)
        want = C.fill_bitmask([serial[i] for i in live], mask_store.vocab_size)
        assert sorted(got) == live
        for j, i in enumerate(live):
            assert torch.equal(got[i], want[j]), f"stream {i} step {step}"
        # apply_mask with the overlapped bitmask leaves the same logits as filling it there
        a, b = logits[live].clone(), logits[live].clone()
        C.apply_mask(a, [serial[i] for i in live])
        C.apply_mask(b, [overlapped[i] for i in live], bitmask=torch.stack([got[i] for i in live]))
        assert torch.equal(a, b)
        for i in live:
            assert serial[i].consume(streams[i][step]) and overlapped[i].consume(streams[i][step])


def test_stopped_prefetch_returns_a_correct_subset(bpe_tokenizer, mask_store) -> None:
    cons = [mask_store.constraint("start") for _ in range(6)]
    for c, ids in zip(cons, _streams(bpe_tokenizer) * 2):
        for t in ids[:5]:
            assert c.consume(t)
    prefetch = C.MaskPrefetch(mask_store.vocab_size, chunk=1)
    prefetch.add(list(enumerate(cons)))
    got = prefetch.finish()  # at once: only what was done (or in progress) comes back
    want = C.fill_bitmask(cons, mask_store.vocab_size)
    for i, row in got.items():
        assert torch.equal(row, want[i])
    with pytest.raises(RuntimeError):
        prefetch.add([(9, cons[0])])
    assert _pool_idle()


def test_apply_mask_checks_the_bitmask_shape(mask_store) -> None:
    c = mask_store.constraint("start")
    with pytest.raises(ValueError):
        C.apply_mask(torch.zeros(1, mask_store.vocab_size), [c], bitmask=torch.zeros(1, 3, dtype=torch.int32))


def test_a_failing_background_fill_leaves_rows_to_the_serial_path(mask_store, monkeypatch) -> None:
    class Broken:
        def unsafe_compute_mask_ptr(self, *args):
            raise RuntimeError("boom")

    monkeypatch.setattr(C, "_get_executor", lambda: Broken())
    prefetch = C.MaskPrefetch(mask_store.vocab_size)
    prefetch.add([(0, mask_store.constraint("start"))])
    assert prefetch.finish(wait_all=True) == {}
    assert isinstance(prefetch.error, RuntimeError)


def test_resolve_mask_overlap() -> None:
    assert resolve_mask_overlap("auto", "cuda", cpu_count=1) == "off"  # nothing to overlap with
    assert resolve_mask_overlap("auto", "cuda:0", cpu_count=16) == "every"  # the host cores wait for the GPU
    assert resolve_mask_overlap("auto", "cpu", cpu_count=16) == "refused"  # the forward pass uses the cores
    assert resolve_mask_overlap("every", "cpu", cpu_count=1) == "every"
    with pytest.raises(ValueError):
        resolve_mask_overlap("sometimes")


# --- through the engine ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serving(tiny_model_dir):
    return Serving.new(str(tiny_model_dir), str(tiny_model_dir), max_batch_size=8, batch_timeout_ms=0, num_threads=1)


def _requests() -> list[GenerationRequest]:
    reqs = [
        GenerationRequest(
            prompt="defmodule" if i % 2 else "def",
            params=SamplingParams(temperature=1.0, top_p=0.95 if i == 3 else 1.0, seed=100 + i, max_new_tokens=24, n=2 if i == 0 else 1),
            constrained=True,
            entry_rule="expr_seq" if i == 4 else "start",
            monitors={"stringToAtom": True, "codeEval": True} if i == 2 else None,
        )
        for i in range(6)
    ]
    reqs.append(GenerationRequest(prompt="x", params=SamplingParams(temperature=0.7, seed=7, max_new_tokens=10)))
    return reqs


def _run(serving, mode: str):
    engine = serving.engine()
    engine.mask_overlap = mode
    results = engine.generate(_requests())
    return [[(c.token_ids, c.finish_reason, c.closed_tokens, round(c.logprob or 0.0, 5)) for c in r.completions] for r in results], engine.grammar_stats


def test_engine_output_is_the_same_with_overlap_on_and_off(serving) -> None:
    """A random model is refused often, so most refused rows use background masks; the samples must not change."""
    off, off_stats = _run(serving, "off")
    for mode in ("drain", "every", "refused"):
        on, stats = _run(serving, mode)
        assert on == off, mode
        assert stats.masked_steps == off_stats.masked_steps and stats.lazy_steps == off_stats.lazy_steps
    _, all_stats = _run(serving, "drain")
    assert off_stats.prefetched_rows == 0 and off_stats.prefetched_used == 0
    # "drain" fills every running constrained row's mask, so every refused row after its first step uses one
    assert all_stats.prefetched_used > 0 and all_stats.prefetched_rows >= all_stats.prefetched_used
    assert len(all_stats.engine_step_s) > 0
    assert _pool_idle()


@pytest.mark.parametrize("mode", ["drain", "every", "refused"])
def test_cancel_between_steps_with_overlap_leaves_nothing_running(serving, mode) -> None:
    engine = serving.engine()
    engine.mask_overlap = mode
    params = SamplingParams(temperature=1.0, seed=3, max_new_tokens=200)
    engine.add_request(GenerationRequest(prompt="defmodule", params=params, constrained=True, id="victim"))
    engine.add_request(GenerationRequest(prompt="def", params=params, constrained=True, id="other"))
    for _ in range(3):
        engine.step()
    assert engine.cancel("victim")
    out = engine.step()
    assert [f.kind for f in out.finished if f.request_id == "victim"] == ["cancelled"]
    assert engine.runner.batch_size == 1 and _pool_idle()
    assert engine.cancel("other")
    while engine.has_work():
        engine.step()
    assert engine.runner.batch_size == 0 and _pool_idle()


def test_a_failed_forward_pass_waits_for_the_background_and_the_engine_recovers(serving, monkeypatch) -> None:
    engine = serving.engine()
    engine.mask_overlap = "drain"
    params = SamplingParams(temperature=1.0, seed=5, max_new_tokens=200)
    for i in range(3):
        engine.add_request(GenerationRequest(prompt="def", params=params, constrained=True, id=f"r{i}"))
    engine.step()
    engine.step()
    started = []

    def failing_decode(tokens):
        started.append(True)
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(engine.runner, "decode", failing_decode)
    with pytest.raises(RuntimeError):
        engine.step()
    assert started and _pool_idle()
    failed = engine.fail_running("out of memory")
    assert sorted(f.request_id for f in failed) == ["r0", "r1", "r2"]
    monkeypatch.undo()
    again = engine.generate([GenerationRequest(prompt="def", params=SamplingParams(temperature=0, max_new_tokens=6), constrained=True)])
    assert again[0].completions[0].num_tokens >= 1
