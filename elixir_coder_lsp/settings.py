"""The settings schema: every key of the `elixirCoder` section with its default and its validator.

Raw settings are camelCase dicts (LSP, TOML, CLI); :class:`Settings` is nested dataclasses with
snake_case fields. Each field carries its validator in ``metadata["check"]``; validating and reading the
sources is config.py's job. docs/protocol.md lists every key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

SECTION = "elixirCoder"  # the LSP configuration section (and the optional wrapper key of a settings object)
ROLES = ("generate", "question", "explain", "repair")
MONITORS = ("stringToAtom", "listToAtom", "codeEval", "ioInspect", "dbg", "osCmd", "binaryToTerm")
CHECK_MODES = ("auto", "builtin", "real", "off")

Check = Callable[[Any], tuple[Any, str | None]]


# --- schema -----------------------------------------------------------------------------------
# Each field carries its validator in metadata["check"]; a validator returns (value, None) or
# (None, "expected ..."). Nested dataclasses and the dict-of-dataclass fields are handled by name.


def meta(check: Check | None = None, **extra: Any) -> dict[str, Any]:
    """Field metadata: the validator, plus ``kind`` for the fields validated by name."""
    return {"check": check, **extra}


def bool_check() -> Check:
    """A validator for true/false."""
    def check(v: Any) -> tuple[Any, str | None]:
        return (v, None) if isinstance(v, bool) else (None, "expected true or false")

    return check


def int_check(lo: int | None = None, hi: int | None = None) -> Check:
    """A validator for an integer in [lo, hi] (an integral float counts)."""
    if lo is not None and hi is not None:
        want = f"expected an integer between {lo} and {hi}"
    elif lo is not None:
        want = f"expected an integer >= {lo}"
    else:
        want = "expected an integer"

    def check(v: Any) -> tuple[Any, str | None]:
        # JSON clients may send 16.0 for 16; an integral float is accepted.
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            return None, want
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return None, want
        return v, None

    return check


def number_check(lo: float | None = None, hi: float | None = None) -> Check:
    """A validator for a finite number in [lo, hi], returned as a float."""
    if lo is not None and hi is not None:
        want = f"expected a number between {lo:g} and {hi:g}"
    elif lo is not None:
        want = f"expected a number >= {lo:g}"
    else:
        want = "expected a number"

    def check(v: Any) -> tuple[Any, str | None]:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None, want
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return None, want
        return float(v), None

    return check


def str_check(choices: tuple[str, ...] | None = None, pattern: str | None = None) -> Check:
    """A validator for a string, one of ``choices`` (or matching ``pattern``) when given."""
    if choices:
        want = "expected one of " + " | ".join(choices) + (" (or cuda:N)" if pattern else "")
    else:
        want = "expected a string"

    def check(v: Any) -> tuple[Any, str | None]:
        if not isinstance(v, str):
            return None, want
        if choices and v not in choices and not (pattern and re.fullmatch(pattern, v)):
            return None, want
        return v, None

    return check


def str_list_check() -> Check:
    """A validator for a list of strings."""
    def check(v: Any) -> tuple[Any, str | None]:
        if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
            return list(v), None
        return None, "expected a list of strings"

    return check


@dataclass
class RoleSettings:
    """Per-role overrides of one model instance."""

    template: str = field(default="", metadata=meta(str_check()))
    adapter: str = field(default="", metadata=meta(str_check()))


# models.NAME.maskOverlap: which constrained rows get their next grammar mask filled during the forward pass
MASK_OVERLAP_MODES = ("auto", "every", "refused", "off")

@dataclass
class ModelSettings:
    """One named model instance (`[models.NAME]`)."""

    checkpoint: str = field(default="Qwen/Qwen2.5-Coder-1.5B-Instruct", metadata=meta(str_check()))
    backend: str = field(default="local", metadata=meta(str_check(("local", "openai"))))
    engine: str = field(default="auto", metadata=meta(str_check(("auto", "vllm", "sglang"))))  # openai backend: which server speaks
    url: str = field(default="", metadata=meta(str_check()))
    api_key_env: str = field(default="", metadata=meta(str_check()))
    device: str = field(default="auto", metadata=meta(str_check(("auto", "cpu", "cuda", "mps"), r"cuda:\d+")))
    dtype: str = field(default="auto", metadata=meta(str_check(("auto", "float32", "bfloat16", "float16"))))
    max_batch_size: int = field(default=16, metadata=meta(int_check(1, 4096)))
    batch_timeout_ms: int = field(default=10, metadata=meta(int_check(0, 60_000)))
    max_sequence_length: int = field(default=4096, metadata=meta(int_check(16)))
    # local backend: which rows' grammar masks are filled during the forward pass (see inference/engine.py)
    mask_overlap: str = field(default="auto", metadata=meta(str_check(MASK_OVERLAP_MODES)))
    max_new_tokens: int = field(default=512, metadata=meta(int_check(1)))
    replicas: int = field(default=1, metadata=meta(int_check(1, 256)))
    preload: bool = field(default=False, metadata=meta(bool_check()))
    roles: dict[str, RoleSettings] = field(
        default_factory=lambda: {r: RoleSettings() for r in ROLES}, metadata=meta(kind="roles")
    )


@dataclass
class RoutingSettings:
    """Which instance serves requests, and the sticky A/B split."""

    default: str = field(default="default", metadata=meta(str_check()))
    weights: dict[str, float] = field(default_factory=dict, metadata=meta(kind="weights"))


@dataclass
class GenerationSettings:
    """Sampling, constrained decoding and the repair loop."""

    candidates: int = field(default=5, metadata=meta(int_check(1, 64)))
    temperature: float = field(default=0.2, metadata=meta(number_check(0, 2)))
    constrained: bool = field(default=True, metadata=meta(bool_check()))
    max_repair_attempts: int = field(default=3, metadata=meta(int_check(0, 20)))
    clean_threshold: str = field(default="warning", metadata=meta(str_check(("error", "warning", "information", "hint"))))
    format: bool = field(default=True, metadata=meta(bool_check()))
    preview: bool = field(default=False, metadata=meta(bool_check()))
    monitors: dict[str, bool] = field(default_factory=lambda: {m: True for m in MONITORS}, metadata=meta(kind="monitors"))


@dataclass
class InlineSettings:
    """textDocument/inlineCompletion."""

    enabled: bool = field(default=True, metadata=meta(bool_check()))
    max_new_tokens: int = field(default=64, metadata=meta(int_check(1, 4096)))
    debounce_ms: int = field(default=150, metadata=meta(int_check(0, 10_000)))
    in_strings_and_comments: bool = field(default=False, metadata=meta(bool_check()))
    as_completion_item: bool = field(default=False, metadata=meta(bool_check()))


@dataclass
class ClarificationSettings:
    """Sampling-based ambiguity detection (docs/protocol.md, "Settings"; not used yet)."""

    enabled: bool = field(default=True, metadata=meta(bool_check()))
    samples: int = field(default=5, metadata=meta(int_check(2, 64)))
    temperature: float = field(default=0.8, metadata=meta(number_check(0, 2)))
    entropy_threshold: float = field(default=0.6, metadata=meta(number_check(0)))  # tuned: bench/clarification.py
    cluster_threshold: int = field(default=3, metadata=meta(int_check(1)))
    max_questions: int = field(default=1, metadata=meta(int_check(0, 10)))


@dataclass
class SeveritySettings:
    """Credo priority thresholds (docs/architecture.md, "Checks and severity")."""

    credo_error: int = field(default=20, metadata=meta(int_check()))
    credo_warning: int = field(default=10, metadata=meta(int_check()))
    credo_information: int = field(default=0, metadata=meta(int_check()))


@dataclass
class ChecksSettings:
    """Which quality/security checkers run and how their findings are ranked."""

    credo: str = field(default="auto", metadata=meta(str_check(CHECK_MODES)))
    sobelow: str = field(default="auto", metadata=meta(str_check(CHECK_MODES)))
    on_change_debounce_ms: int = field(default=300, metadata=meta(int_check(0, 60_000)))
    exclude: list[str] = field(default_factory=lambda: ["deps/**", "_build/**"], metadata=meta(str_list_check()))
    severity: SeveritySettings = field(default_factory=SeveritySettings)


@dataclass
class ExplanationsSettings:
    """Finding explanations."""

    use_model: bool = field(default=True, metadata=meta(bool_check()))


@dataclass
class LimitsSettings:
    """Input limits: a document beyond one is not analysed and gets one diagnostic saying why."""

    max_document_bytes: int = field(default=2_000_000, metadata=meta(int_check(1)))
    max_line_bytes: int = field(default=100_000, metadata=meta(int_check(1)))
    max_nesting: int = field(default=500, metadata=meta(int_check(1, 100_000)))


@dataclass
class LogSettings:
    """Server logging."""

    level: str = field(default="info", metadata=meta(str_check(("debug", "info", "warning", "error"))))
    file: str = field(default="", metadata=meta(str_check()))


@dataclass
class ClientUiSettings:
    """What the client's UI supports (initializationOptions only)."""

    ask: bool = field(default=False, metadata=meta(bool_check()))


@dataclass
class Settings:
    """Every setting of the `elixirCoder` section, with defaults."""

    trusted_workspace: bool = field(default=False, metadata=meta(bool_check()))
    models: dict[str, ModelSettings] = field(default_factory=lambda: {"default": ModelSettings()}, metadata=meta(kind="models"))
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    inline: InlineSettings = field(default_factory=InlineSettings)
    clarification: ClarificationSettings = field(default_factory=ClarificationSettings)
    checks: ChecksSettings = field(default_factory=ChecksSettings)
    explanations: ExplanationsSettings = field(default_factory=ExplanationsSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    log: LogSettings = field(default_factory=LogSettings)
    client_ui: ClientUiSettings = field(default_factory=ClientUiSettings)

    def model(self, instance: str | None = None) -> ModelSettings | None:
        """An instance's model settings (the routing default's when ``instance`` is None); None when unknown."""
        return self.models.get(instance or self.routing.default)


# --- names ---------------------------------------------------------------------------------------


def to_camel(name: str) -> str:
    """snake_case -> camelCase (`max_new_tokens` -> `maxNewTokens`)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def fields_by_key(cls: type) -> dict[str, Any]:
    """A settings dataclass's fields by their camelCase key."""
    return {to_camel(f.name): f for f in fields(cls)}


# Field name -> nested dataclass (annotations are strings under `from __future__ import annotations`).
NESTED: dict[str, type] = {
    "routing": RoutingSettings,
    "generation": GenerationSettings,
    "inline": InlineSettings,
    "clarification": ClarificationSettings,
    "checks": ChecksSettings,
    "severity": SeveritySettings,
    "explanations": ExplanationsSettings,
    "limits": LimitsSettings,
    "log": LogSettings,
    "client_ui": ClientUiSettings,
}
