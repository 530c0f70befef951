"""Syntax, quality and security checks with one result type (built-in rules in the Elixir helper).

`analyze` does syntax + built-in Credo + built-in Sobelow rules in one helper round trip;
`check_syntax`, `check_quality` and `check_security` are the seed's names for the parts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.rules import catalogue
from elixir_coder_lsp.rules.credo_config import CredoConfig
from elixir_coder_lsp.severity import severity_for_credo_priority, severity_for_sobelow_confidence

if TYPE_CHECKING:
    from elixir_coder_lsp.settings import Settings

log = logging.getLogger(__name__)

SYNTAX_RULE = "Elixir.SyntaxError"
BUILTIN_SOURCE = "elixir-coder"


@dataclass
class CheckResult:
    """Findings of one check run; ``error`` says why a checker could not run (None when it did)."""

    findings: list[Finding] = field(default_factory=list)
    tool: str = "elixir-coder"
    error: str | None = None
    error_kind: str = ""  # the helper's tag for ``error``: too_nested, too_large, invalid_input, crashed, ...

    @property
    def syntax_error(self) -> Finding | None:
        """The syntax-error finding, when the code does not parse."""
        return next((f for f in self.findings if f.rule == SYNTAX_RULE), None)


def _helper(helper: Any) -> Any:
    if helper is not None:
        return helper
    from elixir_coder_lsp.elixir.client import default_helper

    return default_helper()


def _sets(settings: Settings | None, wanted: Iterable[str]) -> list[str]:
    """The rule sets to run: those wanted that checks.credo / checks.sobelow do not turn off."""
    modes = {"credo": settings.checks.credo, "sobelow": settings.checks.sobelow} if settings is not None else {}
    return [name for name in wanted if modes.get(name, "auto") != "off"]


def syntax_finding(error: Mapping[str, Any], filename: str | None = None) -> Finding:
    """The Finding for a parser error map {line, column, message, token}."""
    line = int(error.get("line") or 1)
    column = int(error.get("column") or 1)
    token = str(error.get("token") or "")
    message = str(error.get("message") or "syntax error").strip()
    if token and token not in message:
        message = f"{message}{token}" if message.endswith(": ") else f"{message} {token}".strip()
    return Finding(
        rule=SYNTAX_RULE,
        source="elixir",
        severity="error",
        message=message,
        line=line,
        column=column,
        end_line=line,
        end_column=column + max(len(token), 1),
        file=filename,
        category="syntax",
        trigger=token or None,
    )


def finding_from_map(data: Mapping[str, Any], *, filename: str | None = None, settings: Settings | None = None) -> Finding:
    """Convert one rule finding map from the helper into a Finding."""
    rule_id = str(data.get("rule"))
    rule = catalogue.get(rule_id)
    priority = data.get("priority")
    confidence = data.get("confidence")
    if rule_id.startswith("Sobelow."):
        severity = severity_for_sobelow_confidence(confidence)
    else:
        severity = severity_for_credo_priority(priority, settings)
    line = int(data.get("line") or 1)
    column = data.get("column")
    col = int(column) if column is not None else 1
    end_line = int(data.get("end_line") or line)
    end_column = data.get("end_column")
    fix = data.get("fix")
    extra: dict[str, Any] = {}
    if fix:
        extra["fix"] = fix
    for key in ("scope", "variable"):
        if data.get(key) is not None:
            extra[key] = data[key]
    if column is None:
        extra["credo_column"] = None
    return Finding(
        rule=rule_id,
        source=BUILTIN_SOURCE,
        severity=severity,
        message=str(data.get("message") or ""),
        line=line,
        column=col,
        end_line=end_line,
        end_column=int(end_column) if end_column is not None else col + 1,
        file=filename,
        category=str(data.get("category") or (rule.category if rule else "")),
        priority=priority,
        confidence=confidence,
        cwe=rule.cwe if rule else data.get("cwe"),
        fixable=bool(fix),
        trigger=data.get("trigger") if isinstance(data.get("trigger"), str) else None,
        extra=extra,
    )


class AnalysisError(RuntimeError):
    """The built-in checks could not run; ``kind`` is the helper's tag (e.g. ``too_nested``), ``detail`` its reason."""

    def __init__(self, message: str, kind: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.detail = detail or message


def analyze(
    code: str,
    *,
    filename: str | None = None,
    settings: Settings | None = None,
    credo_config: CredoConfig | None = None,
    helper: Any = None,
    sets: Iterable[str] = ("credo", "sobelow"),
    enabled: Iterable[str] = (),
    disabled: Iterable[str] = (),
) -> CheckResult:
    """Syntax + built-in Credo + built-in Sobelow rules in one helper round trip."""
    from elixir_coder_lsp.elixir.errors import HelperError

    args: dict[str, Any] = {"code": code, "filename": filename, "sets": _sets(settings, sets)}
    if credo_config is not None:
        args.update(credo_config.check_args())
    args["enabled"] = sorted(set(args.get("enabled", [])) | set(enabled))
    args["disabled"] = sorted(set(args.get("disabled", [])) | set(disabled))
    if settings is not None:
        args["max_bytes"] = settings.limits.max_document_bytes
        args["max_depth"] = settings.limits.max_nesting
    try:
        result = _helper(helper).request("check", args)
    except HelperError as exc:
        log.warning("built-in check failed: %s", exc)
        return CheckResult([], "elixir-coder", exc.message, exc.kind)
    findings: list[Finding] = []
    if result.get("syntax_error"):
        findings.append(syntax_finding(result["syntax_error"], filename))
    findings.extend(finding_from_map(m, filename=filename, settings=settings) for m in result.get("findings") or [])
    return CheckResult(findings, "elixir-coder", None)


def check_syntax(code: str, *, filename: str | None = None, helper: Any = None) -> CheckResult:
    """Only the parser: no findings when the code parses, else one Elixir.SyntaxError finding."""
    from elixir_coder_lsp.elixir.errors import HelperError

    try:
        parsed = _helper(helper).parse(code)
    except HelperError as exc:
        return CheckResult([], "elixir", exc.message)
    if parsed.ok:
        return CheckResult([], "elixir", None)
    error = {"line": parsed.line, "column": parsed.column, "message": parsed.message, "token": parsed.token}
    return CheckResult([syntax_finding(error, filename)], "elixir", None)


def check_quality(code: str, **opts: Any) -> CheckResult:
    """Built-in Credo-mirroring rules (plus the syntax error, if any)."""
    return analyze(code, sets=("credo",), **opts)


def check_security(code: str, **opts: Any) -> CheckResult:
    """Built-in Sobelow-mirroring rules (plus the syntax error, if any)."""
    result = analyze(code, sets=("sobelow",), **opts)
    result.tool = "elixir-coder"
    return result
