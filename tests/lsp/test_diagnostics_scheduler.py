"""DiagnosticsScheduler with fakes: debouncing, stale results dropped, exclusions, size limit, failures."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.settings import LimitsSettings
from elixir_coder_lsp.lsp.diagnostics import TOO_LARGE_CODE, DiagnosticsScheduler, Snapshot

URI = "file:///lib/a.ex"


def finding(line: int = 1) -> Finding:
    return Finding("Credo.Check.Warning.IoInspect", "elixir-coder", "warning", "IO.inspect", line, 1, line, 5)


class Harness:
    """The scheduler wired to an editable document, a recording publisher and a scripted analysis."""

    def __init__(self, *, max_bytes: int = 1_000_000, excluded: bool = False) -> None:
        self.docs: dict[str, Snapshot] = {URI: Snapshot(URI, 1, "x = 1\n", "/lib/a.ex")}
        self.published: list[tuple[str, int | None, int]] = []
        self.errors: list[str] = []
        self.analyzed: list[int | None] = []
        self.gate: threading.Event | None = None
        self.fail = False
        self.crashes: list[Exception] = []  # raised by the next analyses, one each
        self.executor = ThreadPoolExecutor(max_workers=2)
        self.scheduler = DiagnosticsScheduler(
            snapshot=self.docs.get,
            analyze=self.analyze,
            publish=lambda uri, version, diags: self.published.append((uri, version, len(diags))),
            encoding=lambda: "utf-16",
            executor=self.executor,
            limits=lambda uri: LimitsSettings(max_document_bytes=max_bytes),
            is_excluded=lambda path: excluded,
            on_error=self.errors.append,
        )

    def analyze(self, snap: Snapshot) -> list[Finding]:
        self.analyzed.append(snap.version)
        if self.gate is not None:
            self.gate.wait(5)
        if self.crashes:
            raise self.crashes.pop()
        if self.fail:
            raise RuntimeError("helper unavailable")
        return [finding()]

    def edit(self, version: int, text: str = "y = 2\n") -> None:
        self.docs[URI] = Snapshot(URI, version, text, "/lib/a.ex")

    async def settle(self) -> None:
        for _ in range(200):
            if not self.scheduler._pending:
                return
            await asyncio.sleep(0.01)


@pytest.fixture
def harness() -> Any:
    h = Harness()
    yield h
    h.executor.shutdown(wait=False, cancel_futures=True)


async def test_findings_are_published_with_their_version(harness: Harness) -> None:
    harness.scheduler.schedule(URI, 0.0)
    await harness.settle()
    assert harness.published == [(URI, 1, 1)]
    assert harness.scheduler.published_versions[URI] == 1
    assert harness.scheduler.findings_at(URI, 1, 3) == [finding()]
    assert harness.scheduler.findings_at(URI, 2, 1) == []


async def test_changes_within_the_debounce_window_run_one_analysis(harness: Harness) -> None:
    for version in (2, 3, 4):
        harness.edit(version)
        harness.scheduler.schedule(URI, 0.05)
    await asyncio.sleep(0.1)
    await harness.settle()
    assert harness.analyzed == [4] and harness.published == [(URI, 4, 1)]


async def test_a_result_for_an_older_version_is_dropped(harness: Harness) -> None:
    harness.gate = threading.Event()
    harness.scheduler.schedule(URI, 0.0)
    while not harness.analyzed:
        await asyncio.sleep(0.01)
    harness.edit(2)  # the document moves on while version 1 is being analysed
    harness.gate.set()
    await harness.settle()
    assert harness.published == [] and URI not in harness.scheduler.findings


async def test_an_excluded_file_gets_empty_diagnostics() -> None:
    h = Harness(excluded=True)
    h.scheduler.schedule(URI, 0.0)
    await h.settle()
    assert h.analyzed == [] and h.published == [(URI, 1, 0)]


async def test_a_document_over_the_limit_gets_one_explaining_diagnostic() -> None:
    h = Harness(max_bytes=3)
    published: list[Any] = []
    h.scheduler._publish = lambda uri, version, diags: published.append(diags)
    h.scheduler.schedule(URI, 0.0)
    await h.settle()
    assert h.analyzed == []
    (diags,) = published
    assert [d.code for d in diags] == [TOO_LARGE_CODE]


async def test_a_failed_analysis_reports_and_keeps_serving(harness: Harness) -> None:
    harness.fail = True
    harness.scheduler.schedule(URI, 0.0)
    await harness.settle()
    assert harness.errors == ["helper unavailable"] and harness.published == []
    harness.fail = False
    harness.scheduler.schedule(URI, 0.0)
    await harness.settle()
    assert harness.published == [(URI, 1, 1)]


class HelperCrash(RuntimeError):
    kind = "crashed"  # what the façade's AnalysisError carries when the helper died under the request


async def test_an_analysis_the_helper_crashed_under_is_tried_once_more(harness: Harness) -> None:
    harness.crashes = [HelperCrash("Elixir helper exited (code 137) while handling the request; it has been restarted")]
    harness.scheduler.schedule(URI, 0.0)
    await harness.settle()
    assert harness.analyzed == [1, 1] and harness.published == [(URI, 1, 1)] and harness.errors == []


async def test_forget_clears_a_closed_document(harness: Harness) -> None:
    harness.scheduler.schedule(URI, 0.0)
    await harness.settle()
    harness.scheduler.schedule(URI, 10.0)
    harness.scheduler.forget(URI)
    assert harness.published[-1] == (URI, None, 0)
    assert URI not in harness.scheduler.findings and not harness.scheduler._pending


async def test_cancel_all_stops_pending_work(harness: Harness) -> None:
    harness.scheduler.schedule(URI, 10.0)
    harness.scheduler.cancel_all()
    await asyncio.sleep(0.02)
    assert harness.analyzed == [] and harness.published == []
