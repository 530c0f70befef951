"""`GenerationOutcome`: the one result type of generation and repair, shared by every front end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.findings import Finding

# Statuses the loop produces; the clarification step adds its own ("clarification_needed").
STATUSES = ("generated", "not_clean", "failed")


@dataclass
class PhaseRecord:
    """One phase of one attempt: what it did, which rules it fixed, and how long it took."""

    phase: str  # sampling | checking | autofix | repair
    attempt: int
    ms: float = 0.0
    fixed: list[str] = field(default_factory=list)  # rule ids, one entry per finding removed
    accepted: bool | None = None  # autofix/repair: whether its result was kept
    note: str = ""  # why a result was rejected, or what the phase found

    def to_json(self) -> dict[str, Any]:
        """docs/protocol.md `phases` entry (plus the attempt and the verdict)."""
        out: dict[str, Any] = {"phase": self.phase, "attempt": self.attempt, "fixed": list(self.fixed), "ms": round(self.ms, 1)}
        if self.accepted is not None:
            out["accepted"] = self.accepted
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class GenerationOutcome:
    """What a generation or repair produced (docs/protocol.md `generate`/`fix` shapes). Never an exception."""

    status: str  # generated | not_clean | failed (| clarification_needed, added by clarification)
    code: str = ""
    findings: list[Finding] = field(default_factory=list)  # what is left in `code`
    attempts: int = 1
    question: dict[str, Any] | None = None
    instance: str = ""
    candidates: int = 0
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # phase -> ms, summed over attempts
    phases: list[PhaseRecord] = field(default_factory=list)
    error_kind: str = ""  # for failed: unavailable | cancelled | crashed | error | no_code
    extra: dict[str, Any] = field(default_factory=dict)  # room for later steps without changing the shape

    @property
    def fixed(self) -> list[str]:
        """Rules fixed by accepted autofix and repair phases, in order."""
        return [rule for p in self.phases if p.accepted and p.phase in ("autofix", "repair") for rule in p.fixed]

    def fixed_by(self, phase: str) -> list[str]:
        """Rules fixed by accepted phases of one kind (autofix or repair)."""
        return [rule for p in self.phases if p.accepted and p.phase == phase for rule in p.fixed]

    def record(self, phase: PhaseRecord) -> PhaseRecord:
        """Add a phase and its time to the per-phase timings."""
        self.phases.append(phase)
        self.timings[phase.phase] = round(self.timings.get(phase.phase, 0.0) + phase.ms, 1)
        return phase

    def to_json(self) -> dict[str, Any]:
        """The `generate` JSON document."""
        return {
            "status": self.status,
            "code": self.code,
            "findings": [f.to_json() for f in self.findings],
            "attempts": self.attempts,
            "question": self.question,
            "message": self.message,
            "timings": dict(self.timings),
            "phases": [p.to_json() for p in self.phases],
        }

    def fix_json(self) -> dict[str, Any]:
        """The `fix` JSON document (docs/protocol.md): code, fixed, remaining, attempts, phases."""
        return {
            "code": self.code,
            "fixed": self.fixed,
            "remaining": [f.to_json() for f in self.findings],
            "attempts": self.attempts,
            "phases": [
                {"phase": p.phase, "fixed": list(p.fixed) if p.accepted else [], "ms": round(p.ms, 1)}
                for p in self.phases
                if p.phase in ("autofix", "repair")
            ],
        }
