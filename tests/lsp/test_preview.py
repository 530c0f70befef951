"""Candidate preview (lsp/preview.py): options from the checked candidates, and the pick through `elixirCoder/ask`."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from elixir_coder_lsp.cancel import Cancelled
from elixir_coder_lsp.inference.outcome import GenerationOutcome
from elixir_coder_lsp.lsp.preview import choose_candidate, preview_options
from elixir_coder_lsp.settings import Settings

BEST = "def mean(xs) do\n  Enum.sum(xs) / length(xs)\nend"
OTHER = "def mean([]), do: 0\ndef mean(xs) do\n  total = Enum.sum(xs)\n  total / length(xs)\nend"
THIRD = "def mean(xs), do: Enum.sum(xs) / Enum.count(xs)"


def outcome() -> GenerationOutcome:
    out = GenerationOutcome("generated", code=BEST)
    out.extra["ranked"] = [(BEST, 0), (OTHER, 1), (BEST, 0), (THIRD, 2), ("x", 0)]
    return out


class FakeServer:
    """What choose_candidate uses of the server: settings and a client that answers `elixirCoder/ask`."""

    def __init__(self, preview: bool, ask: bool, answer: Any) -> None:
        self.config = SimpleNamespace(settings=Settings())
        self.config.settings.generation.preview = preview
        self.config.settings.client_ui.ask = ask
        self.asked: list[tuple[str, Any]] = []

        async def send_request_async(method: str, params: Any) -> Any:
            self.asked.append((method, params))
            return answer(params) if callable(answer) else answer

        self.protocol = SimpleNamespace(send_request_async=send_request_async)


def test_options_are_the_top_distinct_candidates_with_their_findings() -> None:
    options = preview_options(outcome())
    assert [code for code, _ in options] == [BEST, OTHER, THIRD]
    labels = [o["label"] for _, o in options]
    assert labels[0] == "1. def mean(xs) do\n  Enum.sum(xs) / length(xs)\nend"
    assert labels[1].startswith("2. def mean([]), do: 0\n") and labels[1].endswith("\n…")  # first lines only
    assert [o["description"] for _, o in options] == ["0 findings", "1 finding", "2 findings"]


def test_the_user_picks_a_candidate_through_ask() -> None:
    server = FakeServer(True, True, lambda params: {"answer": params["options"][1]["label"]})
    assert asyncio.run(choose_candidate(server, "job-1", outcome(), server.config.settings)) == OTHER  # type: ignore[arg-type]
    (method, params), = server.asked
    assert method == "elixirCoder/ask" and params["jobId"] == "job-1" and params["allowFreeText"] is False


@pytest.mark.parametrize(("preview", "ask"), [(False, True), (True, False), (False, False)])
def test_without_preview_or_ask_the_best_candidate_is_applied(preview: bool, ask: bool) -> None:
    server = FakeServer(preview, ask, {"answer": "2."})
    assert asyncio.run(choose_candidate(server, "job-1", outcome(), server.config.settings)) == BEST  # type: ignore[arg-type]
    assert server.asked == []


def test_a_dismissed_preview_cancels() -> None:
    server = FakeServer(True, True, {"cancelled": True})
    with pytest.raises(Cancelled):
        asyncio.run(choose_candidate(server, "job-1", outcome(), server.config.settings))  # type: ignore[arg-type]


def test_one_candidate_is_applied_without_asking() -> None:
    server = FakeServer(True, True, {"answer": "x"})
    single = GenerationOutcome("generated", code=BEST)
    single.extra["ranked"] = [(BEST, 0)]
    assert asyncio.run(choose_candidate(server, "job-1", single, server.config.settings)) == BEST  # type: ignore[arg-type]
    assert server.asked == []
