"""The output processor with a fake tokenizer: detokenising, stop strings, held-back streaming, results."""

from __future__ import annotations

import pickle

from elixir_coder_lsp.inference.messages import Log, PhaseEvent, Step, TokenEvent, pack_event
from elixir_coder_lsp.inference.output import Finished, OutputProcessor, StepOutput, cancelled
from elixir_coder_lsp.inference.scheduler import RequestState, SequenceState
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams, StreamEvent


class CharTokenizer:
    """Token i is the character chr(i); enough for the processor, which only decodes."""

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(i) for i in ids)


def request(stop: list[str] | None = None, budget: int = 50, logprobs: bool = False) -> tuple[RequestState, SequenceState]:
    params = SamplingParams(stop=stop or [], logprobs=logprobs)
    state = RequestState(request=GenerationRequest(prompt="p", params=params, id="r1"), prompt_ids=[1], budget=budget, arrival=0.0)
    seq = SequenceState(seq_id=0, index=0)
    state.seqs.append(seq)
    return state, seq


def feed(proc: OutputProcessor, state: RequestState, seq: SequenceState, text: str, out: StepOutput) -> None:
    for ch in text:
        if seq.finished:
            return
        seq.output_ids.append(ord(ch))
        proc.on_token(state, seq)
        proc.stream(state, seq, out)


def streamed(out: StepOutput) -> str:
    return "".join(e.text for e in out.events if e.kind == "token")


def test_text_streams_as_it_is_decoded() -> None:
    proc, out = OutputProcessor(CharTokenizer()), StepOutput()
    state, seq = request()
    feed(proc, state, seq, "def f", out)
    assert seq.text == "def f" and streamed(out) == "def f"
    assert [e.tokens_so_far for e in out.events] == [1, 2, 3, 4, 5]


def test_a_stop_string_ends_the_sample_and_is_never_shown() -> None:
    proc, out = OutputProcessor(CharTokenizer()), StepOutput()
    state, seq = request(stop=["\nend"])
    feed(proc, state, seq, "x = 1\nend\nmore", out)
    assert seq.finish_reason == "stop" and seq.text == "x = 1"
    assert streamed(out) == "x = 1"


def test_the_budget_finishes_a_sample_with_length() -> None:
    proc, out = OutputProcessor(CharTokenizer()), StepOutput()
    state, seq = request(budget=3)
    feed(proc, state, seq, "abcdef", out)
    assert (seq.text, seq.finish_reason) == ("abc", "length")


def test_results_keep_sample_order_and_mean_log_probability() -> None:
    proc = OutputProcessor(CharTokenizer())
    state, first = request(logprobs=True)
    second = SequenceState(seq_id=1, index=1)
    state.seqs.insert(0, second)  # out of order on purpose
    for seq, text in ((first, "ab"), (second, "c")):
        seq.output_ids = [ord(c) for c in text]
        seq.text = text
        seq.logprob = -2.0
        seq.finish_reason = "stop"  # a sampled EOS: one more scored token
    state.admitted_at, state.first_token_at = 1.0, 2.0
    result = proc.result(state, now=5.0)
    assert [c.text for c in result.completions] == ["ab", "c"]
    assert result.completions[0].mean_logprob == -2.0 / 3
    assert result.timings == {"queued_s": 1.0, "first_token_s": 2.0, "total_s": 5.0}
    assert result.error is None


def test_cancelled_requests_have_their_own_kind() -> None:
    fin = cancelled("r9")
    assert (fin.request_id, fin.kind, fin.result) == ("r9", "cancelled", None)


def test_worker_messages_pickle_and_keep_their_fields() -> None:
    events = [pack_event(StreamEvent("r1", "token", index=1, text="x", tokens_so_far=4)), pack_event(StreamEvent("r1", "phase", phase="generating"))]
    assert events == [TokenEvent("r1", 1, "x", 4), PhaseEvent("r1", "generating")]
    step = pickle.loads(pickle.dumps(Step(events, [Finished("r1", error="boom")])))
    assert isinstance(step, Step) and step.finished[0].error == "boom"
    assert [e.to_stream_event() for e in step.events] == [
        StreamEvent("r1", "token", index=1, text="x", tokens_so_far=4),
        StreamEvent("r1", "phase", phase="generating"),
    ]
    assert Log(20, "stderr", "hi").kind.value == "log"
