"""ElixirCoder: the one door into the pipeline, used by the language server, the CLI and Python callers."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elixir_coder_lsp.cancel import Cancelled, CancelToken
from elixir_coder_lsp.settings import Settings
from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.inference.types import (
    GenerationError,
    GenerationRequest,
    GenerationResult,
    InstanceStatus,
    SamplingParams,
    StreamEvent,
)

log = logging.getLogger(__name__)

NO_MODEL_HELP = (
    "Set elixirCoder.models.default.checkpoint to a local model directory (or a Hugging Face id that is "
    "in the local cache), or the ELIXIR_CODER_MODEL environment variable, or point "
    "models.default.backend = \"openai\" and models.default.url at a vLLM/SGLang server."
)

_FENCE = re.compile(r"```(?:elixir|ex|exs)?\s*\n(.*?)(?:```|\Z)", re.DOTALL)
_FORMATTER_LINE_LENGTH = re.compile(r"line_length:\s*(\d+)")


@dataclass
class GenerationOutcome:
    """What a generation produced (the `generate` shape of docs/protocol.md, "CLI")."""

    status: str  # generated | clarification_needed | not_clean | failed
    code: str = ""
    findings: list[Finding] = field(default_factory=list)
    attempts: int = 1
    question: dict[str, Any] | None = None
    instance: str = ""
    candidates: int = 0
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON document."""
        return {
            "status": self.status,
            "code": self.code,
            "findings": [f.to_json() for f in self.findings],
            "attempts": self.attempts,
            "question": self.question,
            **({"message": self.message} if self.message else {}),
        }


def extract_code(text: str) -> str:
    """The code in a completion: the first fenced block when there is one, else the text itself."""
    m = _FENCE.search(text)
    return (m.group(1) if m else text).strip("\n")


def formatter_line_length(root: Path | None, default: int = 98) -> int:
    """`line_length` from the project's .formatter.exs, read as text (never evaluated)."""
    if root is None:
        return default
    try:
        text = (root / ".formatter.exs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return default
    m = _FORMATTER_LINE_LENGTH.search(text)
    return int(m.group(1)) if m else default


class ElixirCoder:
    """The pipeline façade: checks, generation and formatting over one Elixir helper and one model pool.

    Methods are plain blocking functions, safe to call from worker threads; the language server runs
    them off its event loop.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        workspace_root: str | Path | None = None,
        helper: Any = None,
        on_status: Callable[[InstanceStatus], None] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.workspace_root = Path(workspace_root) if workspace_root else None
        self._helper = helper
        self._owns_helper = helper is None
        self._pool: Any = None
        self._on_status = on_status
        self._lock = threading.Lock()
        self._credo_config: tuple[Any] | None = None
        self._project_tools: Any = None

    # -- shared resources -------------------------------------------------------------------------

    @property
    def helper(self) -> Any:
        """The Elixir helper (started on first use)."""
        with self._lock:
            if self._helper is None:
                from elixir_coder_lsp.elixir.client import ElixirHelper

                self._helper = ElixirHelper()
            return self._helper

    @property
    def pool(self) -> Any:
        """The model pool (instances start lazily on their first request)."""
        with self._lock:
            if self._pool is None:
                from elixir_coder_lsp.inference.pool import ModelPool

                self._pool = ModelPool(self.settings, on_status=self._on_status)
            return self._pool

    def update_settings(self, settings: Settings) -> None:
        """Apply new settings; running model instances restart only when their own settings changed."""
        self.settings = settings
        if self._pool is not None:
            self._pool.update_settings(settings)
        self._reset_project_tools()

    def set_workspace_root(self, root: Path | None) -> None:
        """Point the façade at another workspace (real tools and `.credo.exs` are re-read)."""
        self.workspace_root = root
        self._credo_config = None
        self._reset_project_tools()

    def _reset_project_tools(self) -> None:
        tools, self._project_tools = self._project_tools, None
        if tools is not None:
            tools.close()

    def close(self) -> None:
        """Stop the model pool and the helper (if this façade started it)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._reset_project_tools()
        if self._owns_helper and self._helper is not None:
            self._helper.close()
            self._helper = None

    # -- checks -----------------------------------------------------------------------------------

    def analyze(self, code: str, *, filename: str | None = None) -> list[Finding]:
        """Syntax errors and built-in Credo/Sobelow-style findings for one buffer."""
        from elixir_coder_lsp.inference import check

        # A real tool, where it runs (on save), replaces the built-in rules that mirror it.
        replaced = self.project_tools.replaced_sets(filename) if filename else set()
        sets = [s for s in ("credo", "sobelow") if s not in replaced]
        result = check.analyze(
            code, filename=filename, settings=self.settings, credo_config=self.credo_config(), helper=self.helper, sets=sets
        )
        if result.error:
            raise check.AnalysisError(f"Diagnostics are unavailable: {result.error}", result.error_kind)
        return result.findings

    @property
    def project_tools(self) -> Any:
        """Real Credo/Sobelow for this workspace (detected lazily, per settings)."""
        with self._lock:
            if self._project_tools is None:
                from elixir_coder_lsp.tools.project_tools import ProjectTools

                self._project_tools = ProjectTools(self.workspace_root, self.settings)
            return self._project_tools

    def check_real_tools(self, code: str, filename: str) -> Any:
        """Real Credo on the buffer and real Sobelow on the project, where they run (RealToolResult)."""
        return self.project_tools.check(code, filename)

    def credo_config(self) -> Any:
        """The workspace's `.credo.exs`, read as data once (call forget_credo_config() when it changes)."""
        if self.workspace_root is None:
            return None
        if self._credo_config is None:
            from elixir_coder_lsp.rules import credo_config

            config, error = credo_config.load(self.workspace_root, self.helper)
            if error:
                log.warning("%s", error)
            self._credo_config = (config,)
        return self._credo_config[0]

    def forget_credo_config(self) -> None:
        """Re-read `.credo.exs` on next use."""
        self._credo_config = None

    def summary(self, code: str) -> dict[str, Any] | None:
        """Structural facts (modules, defs, aliases…) or None when the code does not parse."""
        from elixir_coder_lsp.elixir.errors import HelperError

        try:
            return self.helper.summary(code)
        except HelperError as exc:
            log.debug("summary unavailable: %s", exc)
            return None

    def format_code(self, code: str) -> str:
        """Format with the project's line length; code that does not parse is returned unchanged."""
        from elixir_coder_lsp.elixir.errors import HelperError

        try:
            return self.helper.format(code, line_length=formatter_line_length(self.workspace_root))
        except HelperError:
            return code

    def parses(self, code: str) -> bool:
        """True when Elixir's own parser accepts the code."""
        return bool(self.helper.parse(code).ok)

    # -- generation -------------------------------------------------------------------------------

    def generation_context(self, document: str | None, *, module: str | None = None, line: int | None = None) -> dict[str, Any]:
        """What the prompt needs from the surrounding file: module, aliases/imports in scope, nearby heads."""
        if not document:
            return {}
        summary = self.summary(document) or {}
        ctx: dict[str, Any] = {"module": module}
        ctx["aliases"] = [a.get("module") for a in summary.get("aliases", []) if a.get("module")]
        ctx["imports"] = [i.get("module") for i in summary.get("imports", []) if i.get("module")]
        ctx["uses"] = [u.get("module") for u in summary.get("uses", []) if u.get("module")]
        defs = summary.get("defs", [])
        if line is not None:
            defs = sorted(defs, key=lambda d: abs(d.get("line", 0) - line))
        ctx["function_heads"] = [d.get("head") for d in defs[:6] if d.get("head")]
        return ctx

    def _sampling(self, n: int | None, temperature: float | None, instance: str | None) -> SamplingParams:
        gen = self.settings.generation
        model = self.settings.models.get(instance or self.settings.routing.default)
        max_new = model.max_new_tokens if model else 512
        return SamplingParams(
            n=n or gen.candidates,
            temperature=gen.temperature if temperature is None else temperature,
            max_new_tokens=max_new,
            logprobs=True,
        )

    def submit(
        self,
        request: GenerationRequest,
        *,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
        timeout: float | None = None,
    ) -> GenerationResult:
        """Send one request to the pool and wait for it; a cancelled token cancels the request."""
        if cancel is not None:
            cancel.raise_if_cancelled()
        future = self.pool.submit(request, on_event=on_event)
        if cancel is not None:
            cancel.on_cancel(lambda: self._pool and self._pool.cancel(request.id))
        try:
            result = future.result(timeout=timeout)
        except GenerationError as exc:
            if exc.kind == "cancelled" or (cancel is not None and cancel.cancelled):
                raise Cancelled(str(exc)) from exc
            raise
        if cancel is not None:
            cancel.raise_if_cancelled()
        return result

    def generate(
        self,
        prompt: str,
        *,
        document: str | None = None,
        entry_rule: str = "start",
        module: str | None = None,
        line: int | None = None,
        instance: str | None = None,
        sticky_key: str | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
        n: int | None = None,
    ) -> GenerationOutcome:
        """Generate code for a request: sample candidates, keep the best one that parses, format it."""
        gen = self.settings.generation
        request = GenerationRequest(
            prompt=prompt,
            params=self._sampling(n, None, instance),
            role="generate",
            constrained=gen.constrained,
            entry_rule=entry_rule,  # type: ignore[arg-type]
            monitors=dict(gen.monitors),
            instance=instance,
            sticky_key=sticky_key,
            context=self.generation_context(document, module=module, line=line),
        )
        result = self.submit(request, on_event=on_event, cancel=cancel)
        return self._pick(result, cancel)

    def _pick(self, result: GenerationResult, cancel: CancelToken | None) -> GenerationOutcome:
        """Rank finished candidates by mean log-probability and return the first that parses, formatted."""
        ranked = sorted(
            (c for c in result.completions if not c.truncated and c.finish_reason != "error"),
            # candidates the model finished itself first, then those the engine closed out
            key=lambda c: (c.closed_tokens > 0, -(c.mean_logprob if c.mean_logprob is not None else float("-inf"))),
        )
        for completion in ranked:
            if cancel is not None:
                cancel.raise_if_cancelled()
            code = extract_code(completion.text)
            if not code.strip():
                continue
            if self.parses(code):
                formatted = self.format_code(code) if self.settings.generation.format else code
                note = (
                    f"The sample was completed with {completion.closed_tokens} closing tokens from the grammar."
                    if completion.closed_tokens
                    else ""
                )
                return GenerationOutcome(
                    "generated", formatted, instance=result.instance, candidates=len(result.completions),
                    message=note, timings=result.timings,
                )
        truncated = sum(1 for c in result.completions if c.truncated)
        detail = f"{len(result.completions)} candidates, {truncated} ran out of tokens" if result.completions else "no candidates"
        return GenerationOutcome(
            "failed",
            message=f"The model produced no code that parses ({detail}).",
            instance=result.instance,
            candidates=len(result.completions),
            timings=result.timings,
        )

    # -- clarification (docs/architecture.md, docs/protocol.md) ------------------------------------------------

    def clarification_samples(
        self,
        prompt: str,
        *,
        entry_rule: str = "start",
        instance: str | None = None,
        cancel: CancelToken | None = None,
        seed: int | None = None,
    ) -> list[Any]:
        """Draw `clarification.samples` constrained samples at `clarification.temperature` in one request."""
        from elixir_coder_lsp.inference.clarification import generate_samples

        cfg, gen = self.settings.clarification, self.settings.generation
        model = self.settings.models.get(instance or self.settings.routing.default)
        return generate_samples(
            lambda request: self.submit(request, cancel=cancel),
            prompt,
            n=cfg.samples,
            temperature=cfg.temperature,
            max_new_tokens=model.max_new_tokens if model else 512,
            constrained=gen.constrained,
            entry_rule=entry_rule,
            monitors=dict(gen.monitors),
            instance=instance,
            seed=seed,
            context={},  # the same role prompt as generation builds
        )

    def ask_clarification(
        self,
        prompt: str,
        *,
        samples: list[Any] | None = None,
        entry_rule: str = "start",
        instance: str | None = None,
        cancel: CancelToken | None = None,
        seed: int | None = None,
        rewrite: bool = False,
    ) -> dict[str, Any]:
        """Sample, cluster and decide; on `ask`, open a session and return its id with the ranked question.

        Returns the `clarify` JSON (docs/protocol.md) plus `session_id`, `question` (the top one in
        `elixirCoder/ask` fields, or None) and `samples` (the Sample objects, for reuse as candidates; not
        JSON). ``samples`` given skips sampling; ``rewrite`` lets the model's question role rewrite the
        question's text.
        """
        from elixir_coder_lsp.inference.clarification import clarify

        cfg = self.settings.clarification
        if samples is None:
            samples = self.clarification_samples(prompt, entry_rule=entry_rule, instance=instance, cancel=cancel, seed=seed)
        ask_model = (lambda text: self._question_text(text, instance, cancel)) if rewrite else None
        result = clarify(
            prompt,
            samples,
            self.helper,
            entropy_threshold=cfg.entropy_threshold,
            cluster_threshold=cfg.cluster_threshold,
            max_questions=max(1, cfg.max_questions),
            ask_model=ask_model,
            require_definitions=entry_rule in ("start", "module_body"),
        )
        doc = result.to_json()
        doc["session_id"] = None
        doc["question"] = None
        if result.decision.decision == "ask" and result.question is not None:
            session = self._clarification_sessions().open(
                prompt, result.analysis, result.questions, entry_rule=entry_rule, instance=instance
            )
            doc["session_id"] = session.id
            doc["question"] = self._question_json(result.question)
        doc["samples"] = samples
        return doc

    @staticmethod
    def _question_json(question: Any) -> dict[str, Any]:
        # docs/protocol.md `elixirCoder/ask` fields, plus the option-to-cluster partition.
        return {
            "question": question.text,
            "type": question.type,
            "options": [{"label": o.label, "clusters": o.clusters} for o in question.options],
            "allowFreeText": question.allow_free_text,
            "evpi": round(question.evpi, 6),
        }

    def _question_text(self, text: str, instance: str | None, cancel: CancelToken | None) -> str:
        """One short, unconstrained completion of the `question` role (for rewriting a question's text)."""
        request = GenerationRequest(
            prompt=text,
            params=SamplingParams(n=1, temperature=0.0, max_new_tokens=64),
            role="question",
            instance=instance,
            context={},
        )
        result = self.submit(request, cancel=cancel)
        return result.completions[0].text if result.completions else ""

    def _clarification_sessions(self) -> Any:
        with self._lock:
            sessions = getattr(self, "_clar_sessions", None)
            if sessions is None:
                from elixir_coder_lsp.inference.clarification import ClarificationSessions

                sessions = self._clar_sessions = ClarificationSessions()
            return sessions

    def answer_clarification(
        self,
        session_id: str,
        answer: str,
        *,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
        **generate_options: Any,
    ) -> GenerationOutcome:
        """Merge the answer into the session's request and generate with the ordinary generation path.

        Raises KeyError for an unknown or expired session. An empty answer ("Just generate") generates
        from the original request.
        """
        from elixir_coder_lsp.inference.clarification import merge_answer

        session = self._clarification_sessions().take(session_id)
        question = session.questions[0] if session.questions else None
        prompt = session.prompt
        if answer and answer.strip() and question is not None:
            prompt = merge_answer(session.prompt, question.text, answer)
        options = {**session.options, **generate_options}
        outcome = self.generate(prompt, on_event=on_event, cancel=cancel, **options)
        outcome.attempts = max(outcome.attempts, 1)
        return outcome

    def generate_with_clarification(
        self,
        prompt: str,
        answer_fn: Callable[[dict[str, Any]], str | None],
        *,
        entry_rule: str = "start",
        instance: str | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
        **generate_options: Any,
    ) -> GenerationOutcome:
        """Ask first when clarification is enabled and the samples disagree; then generate.

        ``answer_fn`` gets the question (`elixirCoder/ask` fields) and returns the answer: an option
        label, free text, "" to just generate, or None when it cannot answer, which gives the
        `clarification_needed` outcome carrying the question.
        """
        if not self.settings.clarification.enabled or self.settings.clarification.max_questions < 1:
            return self.generate(prompt, entry_rule=entry_rule, instance=instance, on_event=on_event, cancel=cancel, **generate_options)
        asked = self.ask_clarification(prompt, entry_rule=entry_rule, instance=instance, cancel=cancel)
        if asked["decision"] != "ask" or asked["session_id"] is None:
            return self.generate(prompt, entry_rule=entry_rule, instance=instance, on_event=on_event, cancel=cancel, **generate_options)
        answer = answer_fn(asked["question"])
        if answer is None:
            self._clarification_sessions().take(asked["session_id"])
            return GenerationOutcome("clarification_needed", question=asked["question"], attempts=0,
                                     message="A clarifying question needs an answer.")
        return self.answer_clarification(asked["session_id"], answer, on_event=on_event, cancel=cancel, **generate_options)

    def model_statuses(self) -> list[InstanceStatus]:
        """Status of each configured instance (without starting any)."""
        if self._pool is not None:
            return self._pool.statuses()
        return [
            InstanceStatus(name=name, checkpoint=m.checkpoint, backend=m.backend, state="stopped")
            for name, m in self.settings.models.items()
        ]
