"""ElixirCoder: the one door into the pipeline, used by the language server, the CLI and Python callers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elixir_coder_lsp.cancel import Cancelled, CancelToken
from elixir_coder_lsp.folders import holding_folder
from elixir_coder_lsp.settings import Settings
from elixir_coder_lsp.sources import read_source
from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.inference.outcome import GenerationOutcome
from elixir_coder_lsp.inference.prompts import extract_code
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
        shared: ElixirCoder | None = None,
    ) -> None:
        """``shared``: a workspace folder's façade (its own settings and real tools) over that façade's helper and pool."""
        self.settings = settings or Settings()
        self.workspace_root = Path(workspace_root) if workspace_root else None
        self.workspace_folders: list[Path] = []
        self._shared = shared
        self._helper = helper
        self._owns_helper = helper is None and shared is None
        self._pool: Any = None
        self._on_status = on_status
        self._lock = threading.Lock()
        self._credo_configs: dict[Path, Any] = {}  # project root -> its `.credo.exs`, read once
        self._reported: set[str] = set()
        self._project_tools: Any = None
        self._clar_sessions: Any = None

    # -- shared resources -------------------------------------------------------------------------

    @property
    def helper(self) -> Any:
        """The Elixir helper (started on first use)."""
        if self._shared is not None:
            return self._shared.helper
        with self._lock:
            if self._helper is None:
                from elixir_coder_lsp.elixir.client import ElixirHelper

                self._helper = ElixirHelper()
            return self._helper

    @property
    def pool(self) -> Any:
        """The model pool (instances start lazily on their first request)."""
        if self._shared is not None:
            return self._shared.pool
        with self._lock:
            if self._pool is None:
                from elixir_coder_lsp.inference.pool import ModelPool

                self._pool = ModelPool(self.settings, on_status=self._on_status)
            return self._pool

    def _started_pool(self) -> Any:
        """The model pool when it has started, else None (never starts it)."""
        return self._shared._started_pool() if self._shared is not None else self._pool

    def update_settings(self, settings: Settings) -> None:
        """Apply new settings; running model instances restart only when their own settings changed."""
        if settings == self.settings:
            return  # a settings event for another folder: keep this folder's project tools (Credo runner, mix.lock)
        self.settings = settings
        if self._pool is not None:
            self._pool.update_settings(settings)
        self._reset_project_tools()

    def set_workspace_root(self, root: Path | None, folders: list[Path] | None = None) -> None:
        """Point the façade at another workspace (real tools and `.credo.exs` are re-read); ``folders`` are
        all the workspace folders of a multi-root workspace (each file's project falls back to its own)."""
        self.workspace_root = root
        self.workspace_folders = [Path(f) for f in folders or []]
        self._credo_configs = {}
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
            code, filename=filename, settings=self.settings, credo_config=self.credo_config(filename), helper=self.helper, sets=sets
        )
        if result.error:
            raise check.AnalysisError(f"Diagnostics are unavailable: {result.error}", result.error_kind, result.error)
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

    def project_root(self, filename: str | None = None) -> Path | None:
        """The Mix project that holds a file (an umbrella's child app, when it is in one), else the workspace
        folder that holds it, else the workspace root."""
        if filename:
            from elixir_coder_lsp.rules.credo_config import find_project_root

            try:
                root = find_project_root(filename)
            except OSError:
                root = None
            if root is not None:
                return root
            folder = holding_folder(filename, self.workspace_folders)
            if folder is not None:
                return folder
        return self.workspace_root

    def credo_config(self, filename: str | None = None) -> Any:
        """The `.credo.exs` of the file's project (else the workspace's), read as data once per project."""
        root = self.project_root(filename)
        if root is None:
            return None
        if root not in self._credo_configs:
            from elixir_coder_lsp.rules import credo_config

            config, error = credo_config.load(root, self.helper)
            if error:
                log.warning("%s", error)
            self._credo_configs[root] = config
        return self._credo_configs[root]

    def forget_credo_config(self) -> None:
        """Re-read `.credo.exs` files on next use."""
        self._credo_configs = {}

    def check_file(self, path: str | Path) -> tuple[list[Finding], str | None]:
        """Findings of one file on disk, or why it could not be checked (the CLI's `check`, docs/protocol.md).

        The same path as the editor's diagnostics: the built-in rules, replaced by the real Credo/Sobelow
        where they run for the file's project. Problems with the real tools are logged once each.
        """
        path = Path(path)
        code, error = read_source(path, self.settings.limits.max_document_bytes)
        if error or code is None:
            return [], error
        filename = str(path)
        try:
            findings = list(self.analyze(code, filename=filename))
        except RuntimeError as exc:
            return [], str(exc)
        if self.project_tools.replaced_sets(filename):
            real = self.check_real_tools(code, str(path.resolve()))
            findings += real.findings
            for problem in real.errors:
                if problem not in self._reported:
                    self._reported.add(problem)
                    log.warning("%s", problem)
        return findings, None

    # -- explanations -----------------------------------------------------------------------------

    def prepare_explanation(self, code: str, finding: Finding, *, filename: str | None = None) -> Any:
        """The structured explanation of one finding: context, the code fixed, retrieved docs (inference/explanation.py)."""
        from elixir_coder_lsp.inference.explanation import prepare

        return prepare(code, finding, helper=self.helper, workspace_root=self.project_root(filename))

    def explain(self, code: str, findings: list[Finding], *, filename: str | None = None, use_model: bool = True) -> list[str]:
        """Markdown for each finding (docs/protocol.md `explain`); with ``use_model``, a model-written paragraph
        is added when a model is available here and its paragraph passes the quality filter (blocking)."""
        prepared = [self.prepare_explanation(code, f, filename=filename) for f in findings]
        paragraphs: list[str | None] = [None] * len(prepared)
        if use_model and prepared:
            from elixir_coder_lsp.inference.explain_model import Paragraphs, model_available

            if model_available(self.settings):
                writer = Paragraphs(self)
                try:
                    if writer.enabled():
                        for i, p in enumerate(prepared):
                            try:
                                paragraphs[i] = writer.generate(p.context, p.retrieved)
                            except Exception as exc:  # noqa: BLE001 - the structured explanation stands on its own
                                log.warning("no model paragraph (%s)", exc)
                finally:
                    writer.close()
        return [p.render(par) for p, par in zip(prepared, paragraphs)]

    def summary(self, code: str) -> dict[str, Any] | None:
        """Structural facts (modules, defs, aliases…) or None when the code does not parse."""
        from elixir_coder_lsp.elixir.errors import HelperError

        try:
            return self.helper.summary(code)
        except HelperError as exc:
            log.debug("summary unavailable: %s", exc)
            return None

    def format_code(self, code: str, filename: str | None = None) -> str:
        """Format with the line length of the file's project (else the workspace's); code that does not parse is returned unchanged."""
        from elixir_coder_lsp.elixir.errors import HelperError

        try:
            from elixir_coder_lsp.tools.project import formatter_line_length

            return self.helper.format(code, line_length=formatter_line_length(self.project_root(filename)))
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
        model = self.settings.model(instance)
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
            cancel.on_cancel(lambda: (pool := self._started_pool()) and pool.cancel(request.id))
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
        answers: list[str] | None = None,
        candidates: list[Any] | None = None,
        filename: str | None = None,
    ) -> GenerationOutcome:
        """Generate–check–repair (docs/architecture.md): one GenerationOutcome, never an exception.

        ``filename`` is the file the code goes into: its project's `.credo.exs` and `.formatter.exs` apply.
        """
        from elixir_coder_lsp.inference.loop import Loop

        context = self.generation_context(document, module=module, line=line)
        loop = Loop(
            self.loop_tools(
                instance=instance, sticky_key=sticky_key, on_event=on_event, cancel=cancel, context=context, filename=filename
            ),
            threshold=self.settings.generation.clean_threshold,
            n=n or self.settings.generation.candidates,
            entry_rule=entry_rule,
            cancel=cancel,
            on_event=on_event,
        )
        return loop.generate_with_repair(
            prompt, answers, max_attempts=self.settings.generation.max_repair_attempts, candidates=candidates
        )

    # -- clarification (docs/protocol.md, "Clarifying questions"; the flow lives in inference/asking.py) ------

    @property
    def clarification_sessions(self) -> Any:
        """Open clarification sessions (`inference.clarification.ClarificationSessions`)."""
        with self._lock:
            if self._clar_sessions is None:
                from elixir_coder_lsp.inference.clarification import ClarificationSessions

                self._clar_sessions = ClarificationSessions()
            return self._clar_sessions

    def clarification_samples(self, prompt: str, **options: Any) -> list[Any]:
        """Draw `clarification.samples` constrained samples at `clarification.temperature` in one request
        (options: entry_rule, instance, cancel, seed, context = the file's `generation_context`, on_event)."""
        from elixir_coder_lsp.inference import asking

        return asking.clarification_samples(self, prompt, **options)

    def ask_clarification(self, prompt: str, **options: Any) -> dict[str, Any]:
        """Sample, cluster and decide; on `ask`, open a session and return its id with the ranked question.

        Returns the `clarify` JSON (docs/protocol.md) plus `session_id`, `question` (the top one in
        `elixirCoder/ask` fields, or None) and `samples` (the Sample objects, for reuse as candidates; not
        JSON). Options: ``samples`` (given: no sampling), ``entry_rule``, ``instance``, ``cancel``,
        ``seed``, ``rewrite`` (the model's question role may rewrite the text), ``context``, ``on_event``.
        """
        from elixir_coder_lsp.inference import asking

        return asking.ask_clarification(self, prompt, **options)

    def answer_clarification(self, session_id: str, answer: str, **options: Any) -> GenerationOutcome:
        """Merge the answer into the session's request and generate with the ordinary generation path.

        Raises KeyError for an unknown or expired session. An empty answer ("Just generate") generates
        from the original request. Options: ``on_event``, ``cancel`` and `generate`'s keywords.
        """
        from elixir_coder_lsp.inference import asking

        return asking.answer_clarification(self, session_id, answer, **options)

    def generate_with_clarification(
        self, prompt: str, answer_fn: Callable[[dict[str, Any]], str | None], **options: Any
    ) -> GenerationOutcome:
        """Ask first when clarification is enabled and the samples disagree; then generate.

        ``answer_fn`` gets the question (`elixirCoder/ask` fields) and returns the answer: an option
        label, free text, "" to just generate, or None when it cannot answer, which gives the
        `clarification_needed` outcome carrying the question. At most `clarification.maxQuestions`
        questions are asked; on `proceed` the samples already drawn are the first attempt's candidates
        when they were drawn with the generation settings. Sampling errors and cancellation come back
        as a `failed` outcome; an exception raised by ``answer_fn`` propagates. Options: ``clarify``
        (False: never ask), ``entry_rule``, ``instance``, ``on_event``, ``cancel`` and `generate`'s keywords.
        """
        from elixir_coder_lsp.inference import asking

        return asking.generate_with_clarification(self, prompt, answer_fn, **options)

    def generate_batch(self, prompts: list[str | dict[str, Any]], **options: Any) -> list[GenerationOutcome]:
        """Generate for many prompts at once; results come back in input order.

        Each item is a prompt or ``{"prompt", "answer"?}`` (docs/protocol.md, `batch`). The prompts run
        concurrently, so the batching worker serves their samples in shared forward passes. A prompt
        that needs an answer gets `clarification_needed` unless its item carries ``answer`` or
        ``clarify=False``. Options: ``clarify``, ``max_concurrency``, ``on_result(index, outcome)``
        (called as each finishes) and `generate_with_clarification`'s keywords.
        """
        from elixir_coder_lsp.inference import asking

        return asking.generate_batch(self, prompts, **options)

    def clarify_samples(
        self, prompt: str, samples: list[Any], *, entropy_threshold: float | None = None, cluster_threshold: int | None = None
    ) -> dict[str, Any]:
        """The `clarify` report (docs/protocol.md) for given samples, without opening a session.

        Thresholds default to `[clarification]`; raises HelperError when Elixir is unavailable.
        """
        from elixir_coder_lsp.inference.clarification import clarify

        cfg = self.settings.clarification
        result = clarify(
            prompt,
            samples,
            self.helper,
            entropy_threshold=cfg.entropy_threshold if entropy_threshold is None else entropy_threshold,
            cluster_threshold=cfg.cluster_threshold if cluster_threshold is None else cluster_threshold,
            max_questions=max(1, cfg.max_questions),
        )
        return result.to_json()

    # -- the grammar ------------------------------------------------------------------------------

    @staticmethod
    def grammar_rules() -> list[str]:
        """The grammar's entry rules (`start`, `module_body`, `expr_seq`)."""
        from elixir_coder_lsp.inference import constraints

        return list(constraints.grammar_rules())

    @staticmethod
    def grammar_check(text: str, rule: str = "start") -> Any:
        """Whether the Elixir grammar accepts ``text`` from ``rule`` (accepted, and where it stopped when not)."""
        from elixir_coder_lsp.inference import constraints

        return constraints.check_text(text, rule)

    def fix(
        self,
        code: str,
        findings: list[Finding] | None = None,
        *,
        use_model: bool = True,
        region: tuple[int, int] | None = None,
        entry_rule: str | None = None,
        filename: str | None = None,
        instance: str | None = None,
        sticky_key: str | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationOutcome:
        """Deterministic fixes first, then model repair (when ``use_model``) of the code or of lines ``region``."""
        from elixir_coder_lsp.inference.loop import Loop, Region

        tools = self.loop_tools(
            instance=instance, sticky_key=sticky_key, on_event=on_event, cancel=cancel, filename=filename, use_model=use_model
        )
        # A whole file keeps its own layout; a repaired region (one function) is formatted on its own.
        if region is None:
            tools.format_code = None
        loop = Loop(
            tools,
            threshold=self.settings.generation.clean_threshold,
            n=self.settings.generation.candidates,
            # what the repaired text is: a whole file, or (for a region) module items unless told otherwise
            entry_rule=entry_rule or ("module_body" if region else "start"),
            cancel=cancel,
            on_event=on_event,
        )
        return loop.repair(
            code,
            findings,
            max_attempts=self.settings.generation.max_repair_attempts,
            region=Region(*region) if region else None,
        )

    def loop_tools(
        self,
        *,
        instance: str | None = None,
        sticky_key: str | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelToken | None = None,
        context: dict[str, Any] | None = None,
        filename: str | None = None,
        use_model: bool = True,
    ) -> Any:
        """The loop's tools on this façade: the diagnostics' checker, the helper, the autofixes and the model pool."""
        from elixir_coder_lsp.inference.loop import LoopTools
        from elixir_coder_lsp.rules.autofix import fix_all

        def autofix(code: str) -> str:
            return fix_all(code, helper=self.helper, settings=self.settings, filename=filename, credo_config=self.credo_config(filename)).code

        return LoopTools(
            check=lambda code: self.analyze(code, filename=filename),
            summarize=self.summary,
            format_code=(lambda code: self.format_code(code, filename)) if self.settings.generation.format else None,
            autofix=autofix,
            sample=self._sampler(instance, sticky_key, on_event, cancel, context) if use_model else None,
        )

    def has_model(self, instance: str | None = None) -> bool:
        """Whether the instance is usable here: a server URL, a local checkpoint directory, or a cached hub id."""
        from elixir_coder_lsp.inference.pool import model_usable

        return model_usable(self.settings.model(instance))

    def _sampler(
        self,
        instance: str | None,
        sticky_key: str | None,
        on_event: Callable[[StreamEvent], None] | None,
        cancel: CancelToken | None,
        context: dict[str, Any] | None,
    ) -> Callable[[str, str, str, int], tuple[list[Any], str]]:
        from elixir_coder_lsp.inference.loop import Sample

        gen = self.settings.generation

        def sample(role: str, text: str, entry_rule: str, n: int) -> tuple[list[Sample], str]:
            request = GenerationRequest(
                prompt=text,
                params=self._sampling(n, None, instance),
                role=role,  # type: ignore[arg-type]
                constrained=gen.constrained,
                entry_rule=entry_rule,  # type: ignore[arg-type]
                monitors=dict(gen.monitors),
                instance=instance,
                sticky_key=sticky_key,
                context=dict(context or {}),  # non-None: the backend builds the role prompt around the text
            )
            result = self.submit(request, on_event=on_event, cancel=cancel)
            samples = [
                Sample(
                    extract_code(c.text),
                    mean_logprob=c.mean_logprob,
                    closed_tokens=c.closed_tokens,
                    truncated=c.truncated or c.finish_reason == "error",
                )
                for c in result.completions
            ]
            return samples, result.instance

        return sample

    # -- inline completion (docs/architecture.md, "Inline completion") --------------------------------------

    def inline_ready(self, instance: str | None = None, sticky_key: str | None = None) -> bool:
        """Whether inline completion may run now: a model is configured and already loaded (never loads one)."""
        pool = self._started_pool()
        # the pool's answer first: has_model looks at the disk, and this runs on every keystroke
        return pool is not None and pool.is_ready(instance, sticky_key) and self.has_model(instance)

    def start_inline(self, prompt: str, on_event: Callable[[StreamEvent], None] | None = None, **options: Any) -> tuple[str, Any]:
        """Submit one inline-completion request (inference/fim.py `inline_request`); (request id, Future)."""
        from elixir_coder_lsp.inference.fim import inline_request

        request = inline_request(self.settings, prompt, **options)
        return request.id, self.pool.submit(request, on_event=on_event)

    def model_statuses(self) -> list[InstanceStatus]:
        """Status of each configured instance (without starting any)."""
        pool = self._started_pool()
        if pool is not None:
            return pool.statuses()
        return [
            InstanceStatus(name=name, checkpoint=m.checkpoint, backend=m.backend, state="stopped")
            for name, m in self.settings.models.items()
        ]
