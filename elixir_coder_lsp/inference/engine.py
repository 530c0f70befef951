"""The engine loop body: schedule -> forward (decode + prefill) -> grammar mask -> sample -> update.

Text, stop strings, stream events and results are the output processor's (inference/output.py); which
requests run is the scheduler's. The engine owns the batch rows, the grammar constraints and sampling.

Grammar masks are overlapped with the forward pass: a constrained row's matcher state for step t+1 is
known once step t's tokens are consumed, so at the start of a step its mask can be filled on a background
thread (llguidance releases the GIL) while the model runs; a refused row whose mask is ready needs no
serial mask. Which rows are filled is MASK_OVERLAP_MODES' policy.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from elixir_coder_lsp.inference import closing, steering
from elixir_coder_lsp.inference.runner import ModelRunner
from elixir_coder_lsp.inference.options import ServingOptions
from elixir_coder_lsp.inference.output import Finished, OutputProcessor, StepOutput, cancelled
from elixir_coder_lsp.inference.sampling import make_generator, sample_tokens
from elixir_coder_lsp.inference.steering_vocab import SteeringVocab
from elixir_coder_lsp.inference.scheduler import RequestState, Scheduler, SequenceState
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, GenerationResult, StreamEvent
from elixir_coder_lsp.settings import MASK_OVERLAP_MODES as SETTING_MODES


class LoadedModel(Protocol):
    """What the engine needs of a loaded model; inference/serving.py's ``Serving`` is the one in use.

    A protocol rather than an import keeps the dependency one way: serving builds engines, the engine
    never imports serving.
    """

    model: Any
    tokenizer: Any
    options: ServingOptions
    device: str
    eos_token_ids: frozenset[int]

    def mask_store(self) -> Any:
        """The grammar mask store for this tokenizer."""
        ...


@dataclass
class GrammarStats:
    """Where constrained sampling spent its grammar time: lazy checks of sampled tokens vs full masks."""

    lazy_steps: int = 0  # row-steps whose sampled token was allowed as is
    lazy_s: float = 0.0
    masked_steps: int = 0  # row-steps that needed the full vocabulary mask (and a second sample)
    masked_s: float = 0.0
    per_step_s: list[float] = field(default_factory=list)  # grammar time of each row-step (the latest 100k)
    # masks overlapped with the forward pass (ServingOptions.mask_overlap)
    repeat_refusals: int = 0  # refused row-steps whose row was refused at its previous step too
    prefetched_rows: int = 0  # masks filled in the background
    prefetched_used: int = 0  # refused row-steps whose mask came from the background
    prefetch_fill_s: float = 0.0  # background time filling them (off the critical path)
    prefetch_wait_s: float = 0.0  # time steps waited for the background after the forward pass
    # grammar time on the critical path of each engine step with constrained rows: checks, serial masks,
    # waiting for the background (the latest 100k steps)
    engine_step_s: list[float] = field(default_factory=list)

    def record(self, seconds: Iterable[float]) -> None:
        """Keep per-row-step grammar times for percentiles (bounded)."""
        _keep_last(self.per_step_s, seconds)

    def record_engine_step(self, seconds: float) -> None:
        """Keep one engine step's critical-path grammar time (bounded)."""
        _keep_last(self.engine_step_s, [seconds])


def _keep_last(times: list[float], new: Iterable[float], limit: int = 100_000) -> None:
    times.extend(new)
    if len(times) > limit:
        del times[:-limit]


# Which rows' masks the background fills during the forward pass (models.NAME.maskOverlap):
#   every   - every constrained row, those refused at their previous step first, until the forward pass ends
#   refused - only rows refused at their previous step (about 2/3 of the refusals: they come in runs)
#   off     - none: a refused row's mask is filled after the forward pass
#   drain   - every row, and the step waits until all are filled (benchmarks and tests only)
# "auto" picks by what the forward pass leaves idle. On a GPU the host cores wait, so the background fills
# every row for free. On the CPU the forward pass uses the cores: with torch on both cores of a 2-core box,
# filling every row slowed the batch while "refused" was the fastest (bench/constraints.py overlap, README).
# On one core there is nothing to overlap with.
MASK_OVERLAP_MODES = (*SETTING_MODES, "drain")


def resolve_mask_overlap(mode: str, device: str = "cpu", cpu_count: int | None = None) -> str:
    """The overlap policy in effect for a setting on this device ("auto" resolved, see above)."""
    if mode not in MASK_OVERLAP_MODES:
        raise ValueError(f"unknown mask overlap mode {mode!r} (expected one of {', '.join(MASK_OVERLAP_MODES)})")
    if mode != "auto":
        return mode
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if cores < 2:
        return "off"
    return "refused" if str(device).startswith("cpu") else "every"


PREFILL_TOKENS = 8192  # padded prompt tokens per prefill forward pass (bounds activation memory)


def _prefill_chunks(states: list[RequestState], budget: int) -> list[list[RequestState]]:
    """Split admitted requests into groups whose left-padded prefill stays within ``budget`` tokens."""
    chunks: list[list[RequestState]] = []
    current: list[RequestState] = []
    width = 0
    for st in states:
        w = max(width, len(st.prompt_ids))
        if current and w * (len(current) + 1) > budget:
            chunks.append(current)
            current, w = [], len(st.prompt_ids)
        current.append(st)
        width = w
    if current:
        chunks.append(current)
    return chunks


def _wait_for_device(t: torch.Tensor) -> None:
    """Block until an accelerator has computed ``t``. GPU kernels run asynchronously, so without this
    the background masks would stop when the forward pass is launched instead of when it is done; the
    wait itself costs nothing, sampling would wait at its first read of the logits anyway."""
    if t.device.type == "cuda":
        torch.cuda.current_stream(t.device).synchronize()  # releases the GIL while it waits
    elif t.device.type == "mps":
        torch.mps.synchronize()


class Engine:
    """Continuous-batching generation over one loaded model; single-threaded (the worker loop drives it)."""

    def __init__(self, serving: LoadedModel) -> None:
        self.serving = serving
        self.tokenizer = serving.tokenizer
        opts = serving.options
        self.max_sequence_length = opts.max_sequence_length
        self.scheduler = Scheduler(opts.max_batch_size, opts.batch_timeout_ms / 1000.0)
        self.runner = ModelRunner(serving.model, serving.device, use_adapters=bool(opts.adapters))
        self.adapters = dict(opts.adapters)
        self.eos = serving.eos_token_ids
        self.output = OutputProcessor(self.tokenizer)
        self._rows: dict[int, tuple[RequestState, SequenceState]] = {}
        self._next_seq = 0
        self._pending: list[Finished] = []  # failures found before a step (bad prompt, cancelled while waiting)
        self._steering: SteeringVocab | None = None
        self.grammar_stats = GrammarStats()
        self.mask_overlap = resolve_mask_overlap(opts.mask_overlap, str(serving.device))
        self._refused: set[int] = set()  # rows whose sampled token the grammar refused at their last step
        self._prefetch_wait = 0.0  # this step's wait for the background masks (critical-path grammar time)

    # -- requests in and out -------------------------------------------------------------------------

    def add_request(self, request: GenerationRequest) -> None:
        """Queue a request; problems with it come back as a Finished error at the next step."""
        try:
            ids = self._encode(self.prompt_text(request))
        except Exception as exc:  # noqa: BLE001 - a tokenizer failure is this request's problem only
            self._pending.append(Finished(request.id, error=f"Cannot build or tokenize the prompt: {exc}"))
            return
        room = self.max_sequence_length - len(ids)
        if room < 1:
            self._pending.append(
                Finished(
                    request.id,
                    error=f"The prompt is {len(ids)} tokens; this model instance allows {self.max_sequence_length} "
                    "tokens in all (models.NAME.maxSequenceLength)",
                )
            )
            return
        budget = max(1, min(request.params.max_new_tokens, room))
        adapter = request.role if request.role in self.adapters else None
        self.scheduler.add(RequestState(request=request, prompt_ids=ids, budget=budget, adapter=adapter))

    def prompt_text(self, request: GenerationRequest) -> str:
        """The text to tokenize: ``prompt`` as-is, or the role prompt built around it when ``context`` is set."""
        if request.context is None:
            return request.prompt
        from elixir_coder_lsp.inference.prompts import build_prompt

        template = self.serving.options.templates.get(request.role)
        return build_prompt(self.tokenizer, request.role, request.prompt, request.context, template=template)

    def cancel(self, request_id: str) -> bool:
        """Cancel a waiting or running request; running rows leave the batch at the next step."""
        outcome = self.scheduler.cancel(request_id)
        if outcome == "removed":
            self._pending.append(cancelled(request_id))
        return outcome is not None

    def wait_time(self) -> float | None:
        """Seconds until a step is useful: None = idle, 0 = now."""
        if self._pending:
            return 0.0
        return self.scheduler.wait_time()

    def has_work(self) -> bool:
        """Whether a failure is waiting to be reported or a request is waiting or running."""
        return bool(self._pending) or self.scheduler.has_unfinished()

    def queue_depth(self) -> int:
        """Requests waiting or running (the worker's answer to a health check)."""
        return self.scheduler.num_unfinished()

    def generate(self, requests: Iterable[GenerationRequest]) -> list[GenerationResult]:
        """Run requests to completion in-process; results in request order (errors raise GenerationError)."""
        reqs = list(requests)
        for i, req in enumerate(reqs):
            if not req.id:
                req.id = f"req-{i}"
            self.add_request(req)
        done: dict[str, Finished] = {}
        while len(done) < len(reqs):
            wait = self.wait_time()
            if wait:
                time.sleep(wait)
            for fin in self.step().finished:
                done[fin.request_id] = fin
        results = []
        for req in reqs:
            fin = done[req.id]
            if fin.result is None:
                raise GenerationError(fin.error or "generation failed", kind=fin.kind)
            results.append(fin.result)
        return results

    def fail_running(self, message: str) -> list[Finished]:
        """Drop the whole running batch (e.g. after running out of memory); its requests fail with ``message``."""
        states = self.scheduler.take_all_running()
        self.runner.remove(list(self.runner.row_ids))
        self._rows.clear()
        return [Finished(st.request.id, error=message) for st in states if not st.finished or st.cancelled]

    # -- the step ------------------------------------------------------------------------------------

    def step(self) -> StepOutput:
        """One decode step for the running batch plus prefill of the requests admitted now."""
        out = StepOutput(finished=self._pending)
        self._pending = []
        self._drop_cancelled(out)

        # The running rows' matchers already hold this step's state: fill their masks in the background
        # while the model runs. Nothing below touches a matcher until prefetch.finish().
        prefetch = self._queue_masks(None, self._running_by_priority(), running=True)
        masks: dict[Any, torch.Tensor] = {}
        try:
            # forward: running rows first (one token each), then the newly admitted prompts, prefilled
            # together (left-padded) and merged into the batch
            logits_parts: list[torch.Tensor] = []
            if self.runner.batch_size:
                last = [self._rows[sid][1].output_ids[-1] for sid in self.runner.row_ids]
                logits_parts.append(self.runner.decode(last))
            now = time.monotonic()
            admitted = [state for state in self.scheduler.schedule(now) if self._admit(state, now, out)]
            prefetch = self._queue_masks(prefetch, [seq for st in admitted for seq in st.seqs])
            for chunk in _prefill_chunks(admitted, PREFILL_TOKENS):
                logits_parts.append(self.runner.prefill_many([([s.seq_id for s in st.seqs], st.prompt_ids, st.adapter) for st in chunk]))
            if prefetch is not None and logits_parts:
                _wait_for_device(logits_parts[-1])
        finally:
            # also on a failed forward pass: the background must be done with the matchers before anyone
            # (fail_running, the next step) touches them again
            if prefetch is not None:
                masks = self._finish_prefetch(prefetch)
        if not logits_parts:
            return out
        raw = torch.cat(logits_parts, dim=0) if len(logits_parts) > 1 else logits_parts[0]
        rows = [self._rows[sid] for sid in self.runner.row_ids]

        # model log-probs come from the raw distribution, before any grammar mask or temperature
        norm = torch.logsumexp(raw, dim=-1)
        tokens, dead = self._choose(raw, rows, masks)
        chosen = raw.gather(1, torch.tensor(tokens, dtype=torch.long, device=raw.device).unsqueeze(1)).squeeze(1)
        raw_lp = chosen - norm
        now = time.monotonic()
        eos_share = self._eos_share(raw, norm)
        for (state, seq), token, lp, is_dead, p_eos in zip(rows, tokens, raw_lp.tolist(), dead, eos_share):
            if state.first_token_at is None:
                state.first_token_at = now
            if is_dead:
                seq.finish_reason, seq.error = "grammar", "the grammar allows no next token"
            elif not self._maybe_close_out(state, seq, p_eos):
                self._update(state, seq, token, lp)
            out.tokens += 1
            self.output.stream(state, seq, out)

        self._retire_finished(out)
        return out

    # -- helpers -------------------------------------------------------------------------------------

    def _encode(self, prompt: str) -> list[int]:
        ids = list(self.tokenizer(prompt).input_ids) if prompt else []
        if not ids:
            start = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
            if start is None:
                raise ValueError("empty prompt and the tokenizer has no BOS/EOS token")
            ids = [start]
        return ids

    def _admit(self, state: RequestState, now: float, out: StepOutput) -> bool:
        """Create the request's sequences (and grammar constraints); False when it failed instead."""
        req = state.request
        state.admitted_at = now
        constraints: list[Any] = [None] * state.rows
        if req.constrained:
            try:
                store = self.serving.mask_store()
                constraints = [
                    store.constraint(req.entry_rule, extra_rules=req.extra_rules, monitors=req.monitors, prefix=req.grammar_prefix)
                    for _ in range(state.rows)
                ]
            except Exception as exc:  # noqa: BLE001 - a grammar problem fails this request only
                self.scheduler.finish([state])
                out.finished.append(Finished(req.id, error=f"Constrained generation failed: {exc}"))
                return False
        base_seed = req.params.seed if req.params.seed is not None else random.SystemRandom().randrange(2**62)
        sampled = req.params.temperature > 0
        for i in range(state.rows):
            seq = SequenceState(
                seq_id=self._next_seq,
                index=i,
                generator=make_generator(base_seed + i, self.serving.device) if sampled else None,
                constraint=constraints[i],
            )
            self._next_seq += 1
            state.seqs.append(seq)
            self._rows[seq.seq_id] = (state, seq)
        out.events.append(StreamEvent(request_id=req.id, kind="phase", phase="generating"))
        return True

    def _running_by_priority(self) -> list[SequenceState]:
        """The running rows, those refused at their previous step first: refusals come in runs (see
        GrammarStats.repeat_refusals), so theirs are the masks most likely to be needed when the background
        cannot fill them all before the forward pass ends."""
        seqs = [self._rows[sid][1] for sid in self.runner.row_ids]
        return sorted(seqs, key=lambda seq: seq.seq_id not in self._refused)  # stable

    def _queue_masks(self, prefetch: Any, seqs: list[SequenceState], *, running: bool = False) -> Any:
        """Queue the constrained rows' masks on the background thread (started on first use); None when off.

        Policy "refused" queues only running rows refused at their previous step (new rows have no history).
        """
        if self.mask_overlap == "off" or (self.mask_overlap == "refused" and not running):
            return prefetch
        if self.mask_overlap == "refused":
            seqs = [seq for seq in seqs if seq.seq_id in self._refused]
        items = [(seq.seq_id, seq.constraint) for seq in seqs if seq.constraint is not None and not seq.finished]
        if not items:
            return prefetch
        if prefetch is None:
            from elixir_coder_lsp.inference.constraints import MaskPrefetch

            prefetch = MaskPrefetch(items[0][1].store.vocab_size)
        prefetch.add(items)
        return prefetch

    def _finish_prefetch(self, prefetch: Any) -> dict[Any, torch.Tensor]:
        """Wait for the background masks ("drain": every queued row; otherwise only the chunk in progress)."""
        masks = prefetch.finish(wait_all=self.mask_overlap == "drain")
        stats = self.grammar_stats
        stats.prefetched_rows += len(masks)
        stats.prefetch_fill_s += prefetch.fill_s
        stats.prefetch_wait_s += prefetch.wait_s
        self._prefetch_wait = prefetch.wait_s
        return masks

    def _choose(
        self, raw: torch.Tensor, rows: list[tuple[RequestState, SequenceState]], masks: dict[Any, torch.Tensor] | None = None
    ) -> tuple[list[int], list[bool]]:
        """One token per row, and which rows the grammar leaves with no allowed token.

        Constrained rows are sampled lazily: first from the unmasked logits, and the sampled token is kept
        when the grammar and the monitors allow it (one cheap check instead of a full vocabulary mask).
        Only rows whose token is not allowed get the full mask (plus steering) and are sampled again.
        Keeping an allowed token sampled from p, else sampling from p restricted to the allowed set,
        yields the masked distribution exactly where no steering applies and top_p = 1 (top-p then acts
        on the unmasked distribution); most steps of a trained model never need the mask. ``masks``
        (seq id -> bitmask row) are this step's masks filled during the forward pass; a refused row
        uses its mask from there, bit for bit what the serial path would compute, so the output is the same.
        """
        wait, self._prefetch_wait = self._prefetch_wait, 0.0
        temps = [st.request.params.temperature for st, _ in rows]
        top_ps = [st.request.params.top_p for st, _ in rows]
        gens = [seq.generator for _, seq in rows]
        constrained = [i for i, (_, seq) in enumerate(rows) if seq.constraint is not None]
        dead = [False] * len(rows)
        if not constrained:
            return sample_tokens(raw, temps, top_ps, gens), dead
        vocab = self._vocab_steering()
        pulls, in_comment = vocab.pulls(rows)
        logits = raw
        if any(pulls):
            logits = raw.clone()
            steering.budget_pull_rows(logits, pulls, vocab.closing, self.eos, vocab.line_ends, in_comment)
        tokens = sample_tokens(logits, temps, top_ps, gens)
        stats = self.grammar_stats
        slow: list[int] = []
        checked: dict[int, float] = {}
        for i in constrained:
            started = time.perf_counter()
            if not self._allowed_as_sampled(rows[i][1].constraint, tokens[i], vocab):
                slow.append(i)
            checked[i] = time.perf_counter() - started
        stats.lazy_steps += len(constrained) - len(slow)
        stats.lazy_s += sum(checked.values())
        refused = {rows[i][1].seq_id for i in slow}
        stats.repeat_refusals += len(refused & self._refused)
        self._refused = refused
        if not slow:
            stats.record(checked.values())
            stats.record_engine_step(wait + sum(checked.values()))
            return tokens, dead
        started = time.perf_counter()
        sub_rows = [rows[i] for i in slow]
        idx = torch.tensor(slow, dtype=torch.long, device=raw.device)
        sub_pulls = ([pulls[i] for i in slow], [in_comment[i] for i in slow])
        masked = self._mask(raw.index_select(0, idx), sub_rows, sub_pulls, self._known_bitmask(sub_rows, masks or {}))
        share = (time.perf_counter() - started) / len(slow)  # the rows' masks are filled together
        stats.masked_steps += len(slow)
        stats.masked_s += share * len(slow)
        stats.record(t + (share if i in slow else 0.0) for i, t in checked.items())
        stats.record_engine_step(wait + sum(checked.values()) + share * len(slow))
        sub_dead = torch.isneginf(masked).all(dim=-1).tolist()
        again = sample_tokens(
            masked,
            # a row with nothing allowed is finished by the caller; greedy keeps the sampler away from an all -inf row
            [0.0 if d else temps[i] for i, d in zip(slow, sub_dead)],
            [top_ps[i] for i in slow],
            [gens[i] for i in slow],
        )
        for j, i in enumerate(slow):
            tokens[i], dead[i] = again[j], sub_dead[j]
        return tokens, dead

    @staticmethod
    def _allowed_as_sampled(constraint: Any, token: int, vocab: SteeringVocab) -> bool:
        """Whether a token sampled without the mask can be kept. An `end` always takes the full path, where
        the steering tells the keyword from an identifier's start; so does a token growing an overlong word."""
        if token >= len(vocab.texts) or token in vocab.end_token_set:  # beyond the vocabulary: padding columns
            return False
        if bool(vocab.word_start[token]) and steering.word_too_long(constraint.tail(steering.LONG_WORD)):
            return False
        return constraint.allows(token)

    def _known_bitmask(self, rows: list[tuple[RequestState, SequenceState]], masks: dict[Any, torch.Tensor]) -> torch.Tensor | None:
        """The rows' bitmask with the background's masks in place and the missing ones filled now (in parallel)."""
        have = [masks.get(seq.seq_id) for _, seq in rows]
        hits = sum(h is not None for h in have)
        if not hits:
            return None
        from elixir_coder_lsp.inference import constraints as grammar

        self.grammar_stats.prefetched_used += hits
        missing = [seq.constraint if h is None else None for (_, seq), h in zip(rows, have)]
        bitmask = grammar.fill_bitmask(missing, rows[0][1].constraint.store.vocab_size)
        for j, h in enumerate(have):
            if h is not None:
                bitmask[j] = h
        return bitmask

    def _mask(
        self,
        raw: torch.Tensor,
        rows: list[tuple[RequestState, SequenceState]],
        pulls: tuple[list[float], list[bool]],
        bitmask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits with each row's grammar mask and steering applied (a copy; ``raw`` stays unmasked).
        ``pulls`` are the rows' SteeringVocab.pulls, computed once per step by the caller."""
        from elixir_coder_lsp.inference import constraints as grammar

        constraints = [seq.constraint for _, seq in rows]
        logits = raw.clone()
        grammar.apply_mask(logits, constraints, bitmask=bitmask)
        vocab = self._vocab_steering()
        for row, c in enumerate(constraints):
            if steering.word_too_long(c.tail(steering.LONG_WORD)):
                width = min(logits.shape[1], vocab.word_start.shape[0])
                logits[row, :width].masked_fill_(vocab.word_start[:width].to(logits.device), float("-inf"))
            if not c.can_stop():
                for eos in self.eos:
                    if eos < logits.shape[1]:
                        logits[row, eos] = float("-inf")
        strengths, in_comment = pulls
        ends = [vocab.end_is_keyword(c) for c in constraints]
        return steering.steer_rows(raw, logits, strengths, ends, vocab.closing, vocab.end_tokens, self.eos, vocab.line_ends, in_comment)

    # A constrained sample is closed out (a short valid ending is appended, see inference/closing.py)
    # when the model wants to stop before the grammar may, or when its budget would end it unfinished.
    CLOSE_WHEN_EOS = 0.5  # the model's own EOS probability (before masking) that counts as "wants to stop"
    CLOSE_RETRY = 8  # tokens until the next search after one found no ending

    def _eos_share(self, raw: torch.Tensor, norm: torch.Tensor) -> list[float]:
        eos = [e for e in self.eos if e < raw.shape[1]]
        if not eos:
            return [0.0] * raw.shape[0]
        idx = torch.tensor(eos, dtype=torch.long, device=raw.device)
        return torch.exp(torch.logsumexp(raw.index_select(1, idx), dim=1) - norm).tolist()

    def _maybe_close_out(self, state: RequestState, seq: SequenceState, p_eos: float) -> bool:
        """Append a closing path and finish the sample when it is time; False = sample normally."""
        c = seq.constraint
        if c is None or c.can_stop() or c.error is not None:
            return False
        room = state.budget - len(seq.output_ids)
        near_end = room <= min(closing.MAX_LENGTH, seq.close_search_at)
        if p_eos < self.CLOSE_WHEN_EOS and not near_end:
            return False
        path = closing.close_out(c, self._vocab_steering().skeleton, max_length=max(1, room))
        # search again when the room left gets close to the path found, or a few tokens later if none was
        seq.close_search_at = len(path) + 2 if path is not None else room - self.CLOSE_RETRY
        if path is None or (p_eos < self.CLOSE_WHEN_EOS and len(path) < room - 1):
            return False
        for tid in path:
            self._update(state, seq, tid, 0.0)
            if seq.error:
                return True
        seq.closed_tokens = len(path)
        if seq.finish_reason in (None, "length") and c.can_stop():
            seq.finish_reason = "stop"
        return True

    def _vocab_steering(self) -> SteeringVocab:
        if self._steering is None:  # usually built by the worker's prepare_grammar before the first request
            self._steering = self.serving.steering_vocab()
        return self._steering

    def _update(self, state: RequestState, seq: SequenceState, token: int, logprob: float) -> None:
        seq.logprob += logprob
        if token in self.eos:
            seq.finish_reason = "stop"
            return
        seq.output_ids.append(token)
        if seq.constraint is not None:
            if not seq.constraint.consume(token):
                seq.finish_reason = "grammar"
                seq.error = seq.constraint.error or "token rejected by the grammar"
            elif seq.constraint.is_finished():
                seq.finish_reason = "stop"
        self.output.on_token(state, seq)

    def _drop_cancelled(self, out: StepOutput) -> None:
        dropped = self.scheduler.take_cancelled()
        if not dropped:
            return
        ids = [s.seq_id for r in dropped for s in r.seqs]
        self.runner.remove(ids)
        for sid in ids:
            self._rows.pop(sid, None)
        out.finished.extend(cancelled(r.request.id) for r in dropped)

    def _retire_finished(self, out: StepOutput) -> None:
        gone = [sid for sid in self.runner.row_ids if self._rows[sid][1].finished]
        if gone:
            self.runner.remove(gone)
            for sid in gone:
                self._rows.pop(sid, None)
        done = self.scheduler.take_finished()
        if not done:
            return
        now = time.monotonic()
        for state in done:
            out.finished.append(Finished(state.request.id, result=self.output.result(state, now)))
