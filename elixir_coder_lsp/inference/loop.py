"""Generate–check–repair (docs/architecture.md): rank candidates, check them, autofix, then model-repair.

The loop is plain Python over five small tools (check, summarise, format, autofix, sample), so the
façade runs it with the Elixir helper and the model pool, and the benchmark runs it with hand-written
candidates in place of model output. Every run ends in one `GenerationOutcome`; nothing is raised.
Generated code is parsed and analysed, never executed.
"""

from __future__ import annotations

import logging
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.cancel import Cancelled, CancelToken
from elixir_coder_lsp.findings import Finding, at_or_above
from elixir_coder_lsp.inference import repair as repair_mod
from elixir_coder_lsp.inference.check import SYNTAX_RULE
from elixir_coder_lsp.inference.outcome import GenerationOutcome, PhaseRecord
from elixir_coder_lsp.inference.repair import Head, Verdict, finding_identity, heads_of, judge
from elixir_coder_lsp.inference.types import GenerationError, StreamEvent

log = logging.getLogger(__name__)


@dataclass
class Sample:
    """One piece of model output (or a hand-written stand-in for it)."""

    code: str
    mean_logprob: float | None = None
    closed_tokens: int = 0  # > 0: the engine closed the sample with a grammar-supplied ending
    truncated: bool = False  # ran out of tokens before it finished
    label: str = ""  # benchmark data only: good | adds_finding | unparseable | changes_heads


# sample(role, request_text, entry_rule, n) -> (samples, instance name)
Sampler = Callable[[str, str, str, int], tuple[list[Sample], str]]


@dataclass
class Checked:
    """A candidate after formatting and checking."""

    sample: Sample
    code: str
    findings: list[Finding]
    heads: set[Head] | None  # None: it does not parse
    index: int = 0
    verdict: Verdict | None = None

    @property
    def parses(self) -> bool:
        """Whether the code parses."""
        return self.heads is not None and not any(f.rule == SYNTAX_RULE for f in self.findings)


def blocking(findings: Sequence[Finding], threshold: str) -> list[Finding]:
    """Findings that make code not clean: syntax errors and findings at or above the threshold."""
    return [f for f in findings if f.rule == SYNTAX_RULE or at_or_above(f, threshold)]


def rank_key(c: Checked, threshold: str) -> tuple[Any, ...]:
    """docs/protocol.md: model-finished before grammar-closed, then mean log-probability, then fewer findings."""
    lp = c.sample.mean_logprob
    return (not c.parses, c.sample.closed_tokens > 0, -(lp if lp is not None else float("-inf")), len(blocking(c.findings, threshold)), c.index)


def rank(candidates: Sequence[Checked], threshold: str = "warning") -> list[Checked]:
    """Candidates in docs/protocol.md order (those that do not parse last)."""
    return sorted(candidates, key=lambda c: rank_key(c, threshold))


@dataclass
class Region:
    """Lines [start, end] (1-based, inclusive) of a document: the only part a region repair may change."""

    start: int
    end: int


@dataclass
class LoopTools:
    """What the loop needs from the outside world."""

    check: Callable[[str], list[Finding]]  # syntax + quality + security findings; raises when it cannot run
    summarize: Callable[[str], dict[str, Any] | None]  # helper summary (defs), None when it does not parse
    format_code: Callable[[str], str] | None = None  # None: leave candidates as they are
    autofix: Callable[[str], str] | None = None  # every deterministic fix applied (each re-checked)
    sample: Sampler | None = None  # None: no model; the loop stops after the deterministic fixes


@dataclass
class Loop:
    """One generation or repair run: its tools, settings, cancellation and progress."""

    tools: LoopTools
    threshold: str = "warning"
    n: int = 5
    entry_rule: str = "start"
    cancel: CancelToken | None = None
    on_event: Callable[[StreamEvent], None] | None = None
    _instance: str = field(default="", init=False)
    _wanted: set[tuple[Any, ...]] = field(default_factory=set, init=False)  # identities a repair() caller asked for

    # -- public entry points ------------------------------------------------------------------------

    def generate_with_repair(
        self,
        prompt: str,
        answers: Sequence[str] | None = None,
        n: int | None = None,
        max_attempts: int = 3,
        candidates: Sequence[Sample] | None = None,
    ) -> GenerationOutcome:
        """Generate ``n`` candidates (or take ``candidates``), return the first clean one, else autofix and repair the best."""
        outcome = GenerationOutcome("failed", attempts=0)
        return self._settled(outcome, lambda: self._generate(outcome, prompt, answers, n or self.n, max(1, max_attempts), candidates))

    def repair(
        self,
        code: str,
        findings: Sequence[Finding] | None = None,
        max_attempts: int = 3,
        *,
        request: str = "",
        region: Region | None = None,
    ) -> GenerationOutcome:
        """Autofix, then model-repair ``code`` (or only ``region`` of it) for up to ``max_attempts`` rounds."""
        outcome = GenerationOutcome("failed", code=code, attempts=0)
        return self._settled(outcome, lambda: self._repair_only(outcome, code, findings, max(1, max_attempts), request, region))

    # -- the two flows ------------------------------------------------------------------------------

    def _generate(
        self,
        outcome: GenerationOutcome,
        prompt: str,
        answers: Sequence[str] | None,
        n: int,
        max_attempts: int,
        candidates: Sequence[Sample] | None,
    ) -> None:
        outcome.attempts = 1
        if candidates is None:
            if self.tools.sample is None:
                outcome.message = "No model is configured."
                outcome.error_kind = "unavailable"
                return
            self._checkpoint()
            with self._phase(outcome, "sampling", 1):
                samples, self._instance = self.tools.sample("generate", with_answers(prompt, answers), self.entry_rule, n)
        else:
            samples = list(candidates)
        outcome.candidates = len(samples)
        usable = [s for s in samples if not s.truncated and s.code.strip()]
        self._checkpoint()
        self._emit("checking")
        with self._phase(outcome, "checking", 1):
            checked = [c for c in (self._try_check(s, i) for i, s in enumerate(usable)) if c is not None]
        ranked = [c for c in rank(checked, self.threshold) if c.parses]
        if not ranked:
            truncated = sum(1 for s in samples if s.truncated)
            detail = f"{len(samples)} candidates, {truncated} ran out of tokens" if samples else "no candidates"
            outcome.message = f"The model produced no code that parses ({detail})."
            outcome.error_kind = "no_code"
            return
        clean = next((c for c in ranked if not blocking(c.findings, self.threshold)), None)
        best = clean or ranked[0]
        outcome.code, outcome.findings = best.code, best.findings
        # the other checked candidates, best first, for generation.preview (lsp/preview.py)
        outcome.extra["ranked"] = [(c.code, len(c.findings)) for c in [best, *(c for c in ranked if c is not best)]]
        if best.sample.closed_tokens:
            outcome.extra["closed_tokens"] = best.sample.closed_tokens
        if clean is None:
            best = self._improve(outcome, best, 2, max_attempts, prompt, None)
        self._finish(outcome, best, None)

    def _repair_only(
        self,
        outcome: GenerationOutcome,
        code: str,
        findings: Sequence[Finding] | None,
        max_attempts: int,
        request: str,
        region: Region | None,
    ) -> None:
        self._checkpoint()
        self._emit("checking")
        with self._phase(outcome, "checking", 0):
            current = self._check(Sample(code), 0, formatted=False)
        # The fresh check is authoritative; the caller's findings only add targets below the threshold.
        self._wanted = {finding_identity(f) for f in findings or ()}
        if not current.parses:
            outcome.findings = current.findings
            outcome.message = "The code does not parse; fix the syntax error first."
            outcome.error_kind = "unparseable"
            return
        outcome.findings = current.findings
        best = self._improve(outcome, current, 1, max_attempts, request, region)
        self._finish(outcome, best, region)

    # -- rounds of autofix + repair -----------------------------------------------------------------

    def _improve(
        self,
        outcome: GenerationOutcome,
        best: Checked,
        first: int,
        last: int,
        request: str,
        region: Region | None,
    ) -> Checked:
        """Attempts ``first``..``last``: autofix, then model repair, each kept only when the acceptance rule says so."""
        autofixed: str | None = None  # the code the autofixes last ran on; rerunning them there changes nothing
        for attempt in range(first, last + 1):
            # Deterministic fixes apply to every fixable finding, also those below the threshold.
            fixable = (
                region is None
                and self.tools.autofix is not None
                and best.code != autofixed
                and any(f.fixable for f in best.findings)
            )
            if not self._targets(best, region) and not (fixable and attempt == first):
                break
            if not fixable and self.tools.sample is None:
                outcome.extra["no_model"] = True  # nothing left that could change the code
                break
            self._checkpoint()
            outcome.attempts = attempt
            self._emit("repairing")
            if fixable:
                best = self._autofix(outcome, best, attempt)
                autofixed = best.code
                if not self._targets(best, region):
                    break
                self._checkpoint()
            if self.tools.sample is None:
                outcome.extra["no_model"] = True
                break
            try:
                best, region = self._model_repair(outcome, best, attempt, request, region)
            except GenerationError as exc:
                if exc.kind == "cancelled":
                    raise
                # The model went away mid-repair: keep what the autofixes and earlier repairs achieved.
                outcome.extra["model_error"] = str(exc)
                break
        outcome.code, outcome.findings = best.code, best.findings
        return best

    def _autofix(self, outcome: GenerationOutcome, best: Checked, attempt: int) -> Checked:
        assert self.tools.autofix is not None
        record = PhaseRecord("autofix", attempt)
        start = time.perf_counter()
        try:
            fixed_code = self.tools.autofix(best.code)
            if fixed_code == best.code:
                record.accepted, record.note = False, "no deterministic fix applied"
                return best
            candidate = self._check(Sample(fixed_code), 0, formatted=False)
            candidate.verdict = judge(best.findings, candidate.findings, best.heads or set(), candidate.heads)
            record.accepted = candidate.verdict.accepted
            if candidate.verdict.accepted:
                record.fixed = candidate.verdict.removed_rules
                return candidate
            record.note = candidate.verdict.reason
            return best
        finally:
            record.ms = (time.perf_counter() - start) * 1000
            outcome.record(record)

    def _model_repair(
        self, outcome: GenerationOutcome, best: Checked, attempt: int, request: str, region: Region | None
    ) -> tuple[Checked, Region | None]:
        assert self.tools.sample is not None
        record = PhaseRecord("repair", attempt)
        start = time.perf_counter()
        try:
            targets = self._targets(best, region)
            if region is None:
                shown, base, offset, indent = best.code, best.code, 0, ""
            else:
                lines = best.code.splitlines(keepends=True)
                region_text = "".join(lines[region.start - 1 : region.end])
                shown = textwrap.dedent(region_text)
                indent = _common_indent(region_text)
                base, offset = best.code, region.start - 1
            listed = [f.with_(line=f.line - offset, end_line=(f.end_line or f.line) - offset) for f in targets]
            text = repair_mod.build_prompt(request, shown, listed)
            samples, self._instance = self.tools.sample("repair", text, self.entry_rule, self.n)
            self._checkpoint()
            self._emit("checking")
            accepted: list[Checked] = []
            reasons: list[str] = []
            for i, s in enumerate(samples):
                if s.truncated or not s.code.strip():
                    reasons.append("truncated" if s.truncated else "empty")
                    continue
                if region is not None:
                    s = Sample(splice(base, region, self._format(s.code), indent), s.mean_logprob, s.closed_tokens, s.truncated, s.label)
                try:
                    c = self._check(s, i, formatted=region is None)
                except Exception as exc:  # noqa: BLE001 - one sample the checker chokes on is rejected, not fatal
                    log.warning("repair sample %d could not be checked: %s", i, exc)
                    reasons.append("check_failed")
                    continue
                c.verdict = judge(best.findings, c.findings, best.heads or set(), c.heads)
                if region is not None and c.verdict.accepted and not keeps_outside(base, c.code, region):
                    c.verdict = Verdict(False, "changes_outside")
                reasons.append(c.verdict.reason)
                if c.verdict.accepted:
                    accepted.append(c)
            if not accepted:
                record.accepted = False
                record.note = summarize_reasons(reasons) or "no samples"
                return best, region
            chosen = min(accepted, key=lambda c: (len(self._targets(c, _moved(region, base, c.code))), rank_key(c, self.threshold)))
            record.accepted = True
            record.fixed = chosen.verdict.removed_rules if chosen.verdict else []
            return chosen, _moved(region, base, chosen.code)
        finally:
            record.ms = (time.perf_counter() - start) * 1000
            outcome.record(record)

    # -- helpers ------------------------------------------------------------------------------------

    def _targets(self, c: Checked, region: Region | None) -> list[Finding]:
        """What still needs fixing: blocking findings (inside the region, for a region repair)."""
        wanted = self._wanted
        found = [f for f in c.findings if f.rule == SYNTAX_RULE or at_or_above(f, self.threshold) or finding_identity(f) in wanted]
        if region is None:
            return found
        return [f for f in found if region.start <= f.line <= region.end]

    def _check(self, sample: Sample, index: int, *, formatted: bool) -> Checked:
        code = self._format(sample.code) if formatted else sample.code
        findings = self.tools.check(code)
        summary = self.tools.summarize(code) if not any(f.rule == SYNTAX_RULE for f in findings) else None
        return Checked(sample, code, findings, heads_of(summary) if summary is not None else None, index)

    def _try_check(self, sample: Sample, index: int) -> Checked | None:
        """A generation candidate checked, or None when the checker fails on it (it is left out)."""
        try:
            return self._check(sample, index, formatted=True)
        except Exception as exc:  # noqa: BLE001 - one candidate the checker chokes on must not end the run
            log.warning("candidate %d could not be checked: %s", index, exc)
            return None

    def _format(self, code: str) -> str:
        if self.tools.format_code is None:
            return code
        try:
            return self.tools.format_code(code)
        except Exception:  # noqa: BLE001 - formatting is best effort; the check decides
            return code

    def _finish(self, outcome: GenerationOutcome, best: Checked, region: Region | None) -> None:
        outcome.code, outcome.findings = best.code, best.findings
        left = self._targets(best, region)
        if not left:
            outcome.status = "generated"
            if outcome.extra.get("closed_tokens"):
                outcome.message = f"The sample was completed with {outcome.extra['closed_tokens']} closing tokens from the grammar."
            return
        outcome.status = "not_clean"
        rules = sorted({f.rule for f in left})
        tail = " (no model is configured for repairs)" if outcome.extra.get("no_model") else ""
        if outcome.extra.get("model_error"):
            tail = f" (model repair stopped: {outcome.extra['model_error']})"
        outcome.message = (
            f"{len(left)} finding{'s' if len(left) != 1 else ''} left after {outcome.attempts} "
            f"attempt{'s' if outcome.attempts != 1 else ''}{tail}: {', '.join(rules)}."
        )

    def _settled(self, outcome: GenerationOutcome, flow: Callable[[], None]) -> GenerationOutcome:
        """Run one flow into ``outcome``; an exception becomes the outcome's failure (errors are values here)."""
        try:
            flow()
        except Exception as exc:  # noqa: BLE001 - errors are values at this boundary
            self._fail(outcome, exc)
        outcome.instance = outcome.instance or self._instance
        return outcome

    def _fail(self, outcome: GenerationOutcome, exc: BaseException) -> None:
        outcome.status = "failed"
        if isinstance(exc, Cancelled):
            outcome.error_kind, outcome.message = "cancelled", f"Cancelled: {exc}"
        elif isinstance(exc, GenerationError):
            outcome.error_kind, outcome.message = exc.kind, str(exc)
        else:
            log.exception("generate-check-repair failed")
            outcome.error_kind, outcome.message = "error", f"{type(exc).__name__}: {exc}"

    def _checkpoint(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()

    def _emit(self, phase: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(StreamEvent(request_id="", kind="phase", phase=phase))
            except Exception:  # noqa: BLE001 - progress must never break the loop
                log.debug("progress callback failed", exc_info=True)

    def _phase(self, outcome: GenerationOutcome, name: str, attempt: int) -> _Timed:
        return _Timed(outcome, PhaseRecord(name, attempt))


class _Timed:
    """Times a phase and records it on the outcome, also when the phase raises."""

    def __init__(self, outcome: GenerationOutcome, record: PhaseRecord) -> None:
        self.outcome, self.record, self.start = outcome, record, 0.0

    def __enter__(self) -> PhaseRecord:
        self.start = time.perf_counter()
        return self.record

    def __exit__(self, *exc: object) -> None:
        self.record.ms = (time.perf_counter() - self.start) * 1000
        self.outcome.record(self.record)


def with_answers(prompt: str, answers: Sequence[str] | None) -> str:
    """The request with the user's clarification answers appended."""
    given = [a.strip() for a in answers or () if a and a.strip()]
    if not given:
        return prompt
    return prompt.rstrip() + "\n\nAnswers to clarifying questions:\n" + "\n".join(f"- {a}" for a in given)


def _common_indent(text: str) -> str:
    indents = [ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in text.splitlines() if ln.strip()]
    if not indents:
        return ""
    common = indents[0]
    for ind in indents[1:]:
        while not ind.startswith(common):
            common = common[:-1]
    return common


def splice(document: str, region: Region, replacement: str, indent: str) -> str:
    """The document with lines [start, end] replaced by ``replacement`` re-indented to ``indent``."""
    lines = document.splitlines(keepends=True)
    body = textwrap.indent(textwrap.dedent(replacement).strip("\n") + "\n", indent, lambda ln: bool(ln.strip()))
    last = lines[region.end - 1] if region.end - 1 < len(lines) else "\n"
    if not last.endswith("\n"):
        body = body.rstrip("\n")  # the region ended the file without a final newline; keep it that way
    return "".join(lines[: region.start - 1]) + body + "".join(lines[region.end :])


def keeps_outside(before: str, after: str, region: Region) -> bool:
    """Whether everything outside the region is byte-identical."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    head, tail = a[: region.start - 1], a[region.end :]
    return b[: len(head)] == head and (not tail or b[len(b) - len(tail) :] == tail) and len(b) >= len(head) + len(tail)


def _moved(region: Region | None, before: str, after: str) -> Region | None:
    """The region after its lines were replaced (the lines around it are unchanged)."""
    if region is None:
        return None
    delta = len(after.splitlines()) - len(before.splitlines())
    return Region(region.start, max(region.start, region.end + delta))


def summarize_reasons(reasons: Sequence[str]) -> str:
    """'3 unparseable, 2 adds_finding' from the rejection reasons of one repair round."""
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r] = counts.get(r, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
