"""In-process tests of the serving engine: runner (KV cache batching), scheduler, sampling, stop strings, loading."""

from __future__ import annotations

import json

import pytest
import torch

from elixir_coder_lsp.inference.runner import ModelRunner
from elixir_coder_lsp.inference.serving import Serving
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, SamplingParams

torch.set_num_threads(1)

PROMPTS = [
    "defmodule Foo do",
    "  def hello(name) do\n    IO.puts(name)",
    "x",
    "defmodule Accounts.User do\n  use Ecto.Schema\n  import Ecto.Changeset\n\n  schema \"users\" do\n",
    "|> Enum.map(fn x -> x * 2 end)",
]
TIE = 1e-3  # top-2 logit gap under which greedy choices may legitimately differ


@pytest.fixture(scope="module")
def serving(tiny_model_dir):
    return Serving.new(str(tiny_model_dir), str(tiny_model_dir), max_batch_size=8, batch_timeout_ms=0, num_threads=1)


def greedy(params_tokens: int = 16, **kw) -> SamplingParams:
    return SamplingParams(temperature=0, max_new_tokens=params_tokens, **kw)


def alone(serving, ids: list[int], steps: int) -> tuple[list[int], torch.Tensor]:
    """Greedy tokens and the logits at each step for one prompt run alone."""
    runner = ModelRunner(serving.model, serving.device)
    logits = runner.prefill([0], ids)[0]
    tokens, seen = [], [logits]
    for _ in range(steps):
        tokens.append(int(logits.argmax()))
        logits = runner.decode([tokens[-1]])[0]
        seen.append(logits)
    return tokens, torch.stack(seen)


def top2_gap(logits: torch.Tensor) -> float:
    top = logits.topk(2).values
    return float(top[0] - top[1])


def test_runner_logits_match_alone_vs_batched(serving):
    """Rows join at different steps with different prompt lengths; each row's logits equal its solo run."""
    steps = 12
    ids = [serving.tokenizer(p).input_ids for p in PROMPTS]
    solo = [alone(serving, i, steps) for i in ids]

    runner = ModelRunner(serving.model, serving.device)
    outs: dict[int, list[int]] = {}
    logs: dict[int, list[torch.Tensor]] = {}
    pending: dict[int, torch.Tensor] = {}
    joined = 0
    for step in range(steps + 2 * len(ids) + 2):
        if step == 0:  # two prompts of different lengths prefilled together (left-padded)
            first = runner.prefill_many([([0], ids[0], None), ([1], ids[1], None)])
            for sid in (0, 1):
                pending[sid], outs[sid], logs[sid] = first[sid], [], []
            joined = 2
        elif joined < len(ids) and step % 2 == 0:  # then a new prompt every other step
            pending[joined] = runner.prefill([joined], ids[joined])[0]
            outs[joined], logs[joined] = [], []
            joined += 1
        for sid in runner.row_ids:
            logs[sid].append(pending[sid])
            # follow the solo run's tokens so the comparison stays aligned even at near-ties
            outs[sid].append(solo[sid][0][len(outs[sid])] if len(outs[sid]) < steps else 0)
        runner.remove([sid for sid in runner.row_ids if len(logs[sid]) > steps])
        if runner.row_ids:
            new = runner.decode([outs[sid][-1] for sid in runner.row_ids])
            for row, sid in enumerate(runner.row_ids):
                pending[sid] = new[row]
    assert joined == len(ids) and runner.batch_size == 0
    for sid in range(len(ids)):
        batched = torch.stack(logs[sid][: steps + 1])
        assert (batched - solo[sid][1]).abs().max().item() <= 1e-4, f"prompt {sid}"


def test_engine_greedy_batched_equals_alone(serving):
    """Through the engine: greedy tokens alone == in a batch of differently sized prompts (except near-ties)."""
    n_tokens = 20
    engine = serving.engine()
    batched = engine.generate([GenerationRequest(prompt=p, params=greedy(n_tokens)) for p in PROMPTS])
    for prompt, result in zip(PROMPTS, batched):
        solo_result = serving.engine().generate([GenerationRequest(prompt=prompt, params=greedy(n_tokens))])[0]
        a, b = solo_result.completions[0].token_ids, result.completions[0].token_ids
        if a != b:
            first = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            _, logits = alone(serving, serving.tokenizer(prompt).input_ids, first)
            assert top2_gap(logits[first]) < TIE, f"greedy diverged at {first} without a near-tie"


def test_results_in_request_order_and_lengths(serving):
    engine = serving.engine()
    lengths = [9, 2, 14, 5, 1, 7]
    reqs = [GenerationRequest(prompt=PROMPTS[i % len(PROMPTS)], params=greedy(n), id=f"q{i}") for i, n in enumerate(lengths)]
    results = engine.generate(reqs)
    assert [r.request_id for r in results] == [f"q{i}" for i in range(len(lengths))]
    for r, n in zip(results, lengths):
        c = r.completions[0]
        assert c.num_tokens <= n
        assert c.finish_reason in ("stop", "length")
        if c.finish_reason == "length":
            assert c.num_tokens == n and c.truncated


def test_continuous_batching_short_request_not_held(serving):
    """A short request that arrives while a long one runs finishes long before it."""
    engine = serving.engine()
    engine.add_request(GenerationRequest(prompt="defmodule", params=greedy(200), id="long"))
    engine.step()
    engine.add_request(GenerationRequest(prompt="x", params=greedy(3), id="short"))
    finished_at = {}
    step = 0
    while len(finished_at) < 2:
        step += 1
        for fin in engine.step().finished:
            finished_at[fin.request_id] = step
        assert engine.runner.batch_size <= 2
    assert finished_at["short"] <= 4 < finished_at["long"]


def test_more_requests_than_batch_all_complete(serving):
    engine = serving.engine()
    reqs = [GenerationRequest(prompt=f"def f{i}(x)", params=greedy(4 + i % 5)) for i in range(20)]
    results = engine.generate(reqs)
    assert len(results) == 20 and all(r.completions[0].num_tokens >= 1 for r in results)


def test_seeds_reproducible_and_independent_of_batch(serving):
    params = dict(temperature=0.9, top_p=0.95, max_new_tokens=12, n=3, seed=1234)
    first = serving.engine().generate([GenerationRequest(prompt="defmodule", params=SamplingParams(**params))])[0]
    # the same request again, this time sharing the batch with others
    mixed = serving.engine().generate(
        [GenerationRequest(prompt=p, params=SamplingParams(temperature=0.7, max_new_tokens=8, seed=9)) for p in PROMPTS[:3]]
        + [GenerationRequest(prompt="defmodule", params=SamplingParams(**params))]
    )[-1]
    assert [c.token_ids for c in first.completions] == [c.token_ids for c in mixed.completions]
    assert len({tuple(c.token_ids) for c in first.completions}) > 1, "samples of one request should differ"
    other = serving.engine().generate([GenerationRequest(prompt="defmodule", params=SamplingParams(**{**params, "seed": 99}))])[0]
    assert [c.token_ids for c in other.completions] != [c.token_ids for c in first.completions]


def test_stop_strings_cut_output_and_are_never_streamed(serving):
    base = serving.engine().generate([GenerationRequest(prompt="defmodule Foo do", params=greedy(40))])[0].completions[0].text
    assert len(base) > 12
    stop = base[6:9]
    expected = base[: base.index(stop)]
    engine = serving.engine()
    engine.add_request(GenerationRequest(prompt="defmodule Foo do", params=greedy(40, stop=["\x00never", stop]), id="s"))
    streamed, result = "", None
    while result is None:
        out = engine.step()
        streamed += "".join(e.text for e in out.events if e.kind == "token")
        result = next((f.result for f in out.finished), None)
    assert result.completions[0].text == expected
    assert result.completions[0].finish_reason == "stop"
    assert streamed == expected


def test_streamed_tokens_concatenate_to_text(serving):
    engine = serving.engine()
    engine.add_request(GenerationRequest(prompt="def", params=SamplingParams(temperature=0.8, seed=3, max_new_tokens=25, n=2), id="a"))
    pieces = {0: "", 1: ""}
    phases = []
    result = None
    while result is None:
        out = engine.step()
        for e in out.events:
            if e.kind == "token":
                pieces[e.index] += e.text
            else:
                phases.append(e.phase)
        result = next((f.result for f in out.finished), None)
    assert phases == ["generating"]
    assert [pieces[0], pieces[1]] == [c.text for c in result.completions]


def test_logprobs(serving):
    result = serving.engine().generate([GenerationRequest(prompt="def", params=greedy(6, logprobs=True))])[0]
    c = result.completions[0]
    assert c.logprob is not None and c.logprob < 0
    assert c.mean_logprob == pytest.approx(c.logprob / max(1, c.num_tokens + (c.finish_reason == "stop")))
    plain = serving.engine().generate([GenerationRequest(prompt="def", params=greedy(6))])[0].completions[0]
    assert plain.logprob is None


def test_cancel_frees_the_slot(serving):
    engine = serving.engine()
    engine.add_request(GenerationRequest(prompt="defmodule", params=greedy(500), id="victim"))
    engine.add_request(GenerationRequest(prompt="x", params=greedy(500), id="other"))
    engine.step()
    engine.step()
    assert engine.runner.batch_size == 2
    assert engine.cancel("victim")
    out = engine.step()
    assert [f.kind for f in out.finished if f.request_id == "victim"] == ["cancelled"]
    assert engine.runner.batch_size == 1
    for _ in range(3):
        assert all(e.request_id != "victim" for e in engine.step().events)
    assert not engine.cancel("victim")
    # a waiting request can be cancelled too
    engine.add_request(GenerationRequest(prompt="x", params=greedy(5), id="queued"))
    assert engine.cancel("queued")
    assert [f.kind for f in engine.step().finished] == ["cancelled"]


def test_prompt_too_long_is_a_request_error(tiny_model_dir):
    small = Serving.new(str(tiny_model_dir), max_sequence_length=16, num_threads=1)
    with pytest.raises(GenerationError, match="maxSequenceLength"):
        small.engine().generate([GenerationRequest(prompt="defmodule Foo do\n" * 10, params=greedy(4))])
    # the budget is capped by the sequence length
    result = small.engine().generate([GenerationRequest(prompt="def", params=greedy(100))])[0]
    assert result.completions[0].num_tokens <= 16


def test_constrained_without_constraints_module_fails_clearly(serving, monkeypatch):
    import sys

    import elixir_coder_lsp.inference as inference_pkg

    monkeypatch.setitem(sys.modules, "elixir_coder_lsp.inference.constraints", None)
    # `from package import module` finds an already imported submodule on the package itself.
    monkeypatch.delattr(inference_pkg, "constraints", raising=False)
    monkeypatch.setattr(serving, "_mask_store", None)
    with pytest.raises(GenerationError, match="Constrained generation"):
        serving.engine().generate([GenerationRequest(prompt="def", params=greedy(4), constrained=True)])


def test_bad_checkpoints_raise_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(GenerationError, match="does not exist") as err:
        Serving.new(str(tmp_path / "missing"))
    assert err.value.kind == "unavailable"
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenerationError, match="no config.json"):
        Serving.new(str(tmp_path / "empty"))
    with pytest.raises(GenerationError, match="not in the Hugging Face cache") as err:
        Serving.new("nobody-here/not-a-real-model-xyz")
    assert "\n" not in str(err.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(GenerationError, match="Cannot load model") as err:
        Serving.new(str(broken))
    assert err.value.kind == "unavailable" and "\n" not in str(err.value)


def test_loaded_objects_and_defaults(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    s = Serving.new(model, tok)
    assert s.device in ("cpu", "cuda", "mps")
    assert s.dtype == (torch.bfloat16 if s.device == "cuda" else torch.float32)
    assert s.eos_token_ids == {tok.eos_token_id}


def test_constrained_samples_stay_inside_the_grammar(serving):
    try:
        from elixir_coder_lsp.inference import constraints
    except ImportError as exc:  # pragma: no cover - the constraints module ships with the package
        pytest.skip(f"constraints unavailable: {exc}")
    reqs = [
        GenerationRequest(prompt="defmodule", params=SamplingParams(temperature=0.9, seed=i, max_new_tokens=40), constrained=True, entry_rule="expr_seq")
        for i in range(3)
    ] + [GenerationRequest(prompt="x", params=greedy(10))]  # an unconstrained row in the same batch
    results = serving.engine().generate(reqs)
    for r in results[:3]:
        c = r.completions[0]
        assert c.num_tokens > 0
        check = constraints.check_text(c.text, "expr_seq")
        if c.finish_reason == "stop":
            assert check.accepted, c.text
        else:
            # truncated: every generated byte was accepted; only the end came too early
            assert c.finish_reason == "length" and c.truncated
            assert check.accepted or check.offset == len(c.text.encode("utf-8")), (c.text, check)
    assert results[3].completions[0].num_tokens > 0


def test_prepare_grammar_builds_what_the_first_constrained_step_needs(tiny_model_dir):
    serving = Serving.new(str(tiny_model_dir), str(tiny_model_dir), max_batch_size=4, batch_timeout_ms=0, num_threads=1)
    serving.prepare_grammar()
    store = serving.mask_store()
    assert ("start", None) in store.compile_seconds  # the whole-file grammar compiled, its first mask computed
    prepared = serving.steering_vocab()
    engine = serving.engine()
    req = GenerationRequest(prompt="x", params=greedy(4), constrained=True, entry_rule="start")
    assert engine.generate([req])[0].completions[0].num_tokens > 0
    assert engine._vocab_steering() is prepared  # the engine steers with the prepared facts, not a rebuild


def test_constrained_samples_near_their_budget_are_closed_out(serving):
    from elixir_coder_lsp.inference import constraints

    budget = 30
    reqs = [
        GenerationRequest(prompt="def", params=SamplingParams(temperature=1.0, seed=i, max_new_tokens=budget), constrained=True)
        for i in range(12)
    ]
    engine = serving.engine()
    completions = [r.completions[0] for r in engine.generate(reqs)]
    # every sampled token of a constrained row went through the lazy check, some also through the full mask
    stats = engine.grammar_stats
    assert stats.lazy_steps + stats.masked_steps >= sum(c.num_tokens - c.closed_tokens for c in completions)
    assert stats.masked_steps > 0
    from elixir_coder_lsp.elixir.client import default_helper

    for c in completions:
        assert c.num_tokens <= budget  # the closing path fits inside the budget
        if c.finish_reason == "stop":
            assert constraints.check_text(c.text).accepted, c.text
            assert default_helper().parse(c.text).ok, c.text  # and Elixir's own parser agrees
    closed = [c for c in completions if c.closed_tokens]
    # a random tiny model rarely finishes by itself in 30 tokens: the close-out ends most samples validly
    assert closed and all(c.finish_reason == "stop" and 0 < c.closed_tokens <= c.num_tokens for c in closed)


def test_constrained_rows_never_keep_a_padding_column(tiny_model_dir):
    # models often pad the output layer beyond the tokenizer; here the padding columns dominate the
    # unmasked logits, so the first (unmasked) sample nearly always lands there and must be redrawn masked
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from elixir_coder_lsp.inference import constraints

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    real = len(tok)
    model.resize_token_embeddings(real + 64, mean_resizing=False)
    with torch.no_grad():
        head = model.get_output_embeddings().weight
        head[:real] = 0.0
        head[real:] = torch.randn_like(head[real:]) * 100.0
    padded = Serving.new(model, tok, num_threads=1)
    reqs = [GenerationRequest("def", SamplingParams(temperature=1.0, seed=i, max_new_tokens=12), constrained=True) for i in range(3)]
    for result in padded.engine().generate(reqs):
        c = result.completions[0]
        assert all(t < real for t in c.token_ids)
        if c.finish_reason == "stop":
            assert constraints.check_text(c.text).accepted, c.text


def test_fail_running_empties_the_batch(serving):
    engine = serving.engine()
    for i in range(3):
        engine.add_request(GenerationRequest(prompt="x" * (i + 1), params=greedy(50), id=f"f{i}"))
    engine.step()
    assert engine.runner.batch_size == 3
    failed = engine.fail_running("out of memory")
    assert sorted(f.request_id for f in failed) == ["f0", "f1", "f2"] and all(f.error == "out of memory" for f in failed)
    assert engine.runner.batch_size == 0 and not engine.has_work()
    # the engine keeps serving afterwards
    assert engine.generate([GenerationRequest(prompt="x", params=greedy(3))])[0].completions[0].num_tokens >= 1


def test_sampled_tokens_follow_the_distribution_and_do_not_depend_on_the_batch() -> None:
    from elixir_coder_lsp.inference.sampling import make_generator, sample_tokens

    logits = torch.tensor([0.0, 1.0, 2.0, float("-inf"), 0.5])
    probs = torch.softmax(logits, dim=0)
    n = 6000
    gen = make_generator(7, "cpu")
    counts = torch.bincount(torch.tensor([sample_tokens(logits[None], [1.0], [1.0], [gen])[0] for _ in range(n)]), minlength=5)
    assert counts[3] == 0  # a banned token is never drawn
    assert torch.allclose(counts / n, probs, atol=0.02)
    # top-p renormalises over the nucleus: {2, 1} carry 0.579 + 0.213 of the mass
    counts = torch.bincount(torch.tensor([sample_tokens(logits[None], [1.0], [0.7], [gen])[0] for _ in range(n)]), minlength=5)
    assert counts[0] == counts[3] == counts[4] == 0 and abs(float(counts[2] / n) - 0.579 / 0.792) < 0.03
    # a row's draw depends on its own generator only, not on the rows around it (greedy rows draw nothing)
    batch = torch.randn(4, 50)
    rows = {0: (1.0, 1.0, 3), 2: (0.7, 0.9, 4), 3: (1.3, 1.0, 5)}  # row -> temperature, top_p, seed
    alone = {r: sample_tokens(batch[r : r + 1], [t], [p], [make_generator(s, "cpu")])[0] for r, (t, p, s) in rows.items()}
    together = sample_tokens(batch, [1.0, 0.0, 0.7, 1.3], [1.0, 1.0, 0.9, 1.0], [make_generator(3, "cpu"), None, make_generator(4, "cpu"), make_generator(5, "cpu")])
    assert {r: together[r] for r in rows} == alone
    assert together[1] == int(batch[1].argmax())


def test_sampling_helpers(serving):
    from elixir_coder_lsp.inference.output import detokenize_step, find_stop, stream_holdback
    from elixir_coder_lsp.inference.sampling import make_generator, sample_tokens

    assert find_stop("abc\nend\n", ["\nend"], 0) == 3
    assert find_stop("abcdef", ["cd", "b"], 0) == 1
    assert find_stop("abcdef", ["zz"], 0) is None
    assert stream_holdback(["\nend", "x"]) == 3
    # top_p keeps only the most likely token when it alone reaches the mass
    logits = torch.tensor([[5.0, 0.0, 0.0, 0.0]])
    assert all(sample_tokens(logits, [1.0], [0.5], [make_generator(i, "cpu")]) == [0] for i in range(20))
    # multi-byte characters split across tokens are only emitted once complete
    tok = serving.tokenizer
    ids = tok("é → 🌍", add_special_tokens=False).input_ids
    text, prefix, read = "", 0, 0
    for i in range(1, len(ids) + 1):
        delta, prefix, read = detokenize_step(tok, ids[:i], prefix, read)
        assert "\ufffd" not in delta
        text += delta
    assert text == "é → 🌍"
