"""Map Credo priorities and Sobelow confidences to LSP-style severities (docs/architecture.md, "Checks and severity")."""

from __future__ import annotations

from typing import Any

from elixir_coder_lsp.settings import SeveritySettings

_SOBELOW = {"high": "error", "medium": "warning", "low": "information"}


def _thresholds(settings: Any) -> SeveritySettings:
    # Accept the whole Settings, its ChecksSettings, a SeveritySettings, or None (defaults).
    if settings is None:
        return SeveritySettings()
    if isinstance(settings, SeveritySettings):
        return settings
    checks = getattr(settings, "checks", settings)
    return getattr(checks, "severity", None) or SeveritySettings()


def severity_for_credo_priority(priority: int | float | None, settings: Any = None) -> str:
    """Priority >= credoError -> error, >= credoWarning -> warning, >= credoInformation -> information, else hint."""
    t = _thresholds(settings)
    p = 0 if priority is None else priority
    if p >= t.credo_error:
        return "error"
    if p >= t.credo_warning:
        return "warning"
    if p >= t.credo_information:
        return "information"
    return "hint"


def severity_for_sobelow_confidence(confidence: str | None) -> str:
    """high -> error, medium -> warning, low (or unknown) -> information."""
    key = (confidence or "").lower().removesuffix("_confidence")
    return _SOBELOW.get(key, "information")
