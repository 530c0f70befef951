"""JobManager with a fake server: progress, the one edit, superseding, every cancel route, failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types

from elixir_coder_lsp.cancel import Cancelled
from elixir_coder_lsp.lsp.jobs import JobFailed, JobManager

EDIT = types.WorkspaceEdit(changes={"file:///a.ex": []})


class FakeServer:
    """Records what the job manager sends to the client."""

    def __init__(self, progress: bool = True, applied: bool = True) -> None:
        self._progress = progress
        self._applied = applied
        self.progress_values: list[Any] = []
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.errors: list[str] = []

    def supports_work_done_progress(self) -> bool:
        return self._progress

    async def window_work_done_progress_create_async(self, params: types.WorkDoneProgressCreateParams) -> None:
        return None

    def progress(self, params: types.ProgressParams) -> None:
        self.progress_values.append(params.value)

    async def workspace_apply_edit_async(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=self._applied, failure_reason=None if self._applied else "read-only")

    def show_error(self, message: str) -> None:
        self.errors.append(message)

    def kinds(self) -> list[str]:
        return [type(v).__name__ for v in self.progress_values]


async def finish(jobs: JobManager) -> None:
    await jobs.wait_all(timeout=5)


async def test_a_job_reports_progress_and_applies_one_edit() -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> types.WorkspaceEdit:
        report("generating 3 tokens")
        return EDIT

    job = jobs.start("file:///a.ex", "Generate code", work)
    await finish(jobs)
    assert job.state == "applied"
    assert [e.label for e in server.edits] == ["Generate code"]
    assert server.kinds() == ["WorkDoneProgressBegin", "WorkDoneProgressReport", "WorkDoneProgressEnd"]
    assert server.progress_values[1].message == "generating 3 tokens"


async def test_no_progress_without_client_support_and_nothing_to_change() -> None:
    server = FakeServer(progress=False)
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> None:
        report("ignored")
        return None

    job = jobs.start("file:///a.ex", "Fix", work)
    await finish(jobs)
    assert job.state == "empty" and server.progress_values == [] and server.edits == []


async def test_a_newer_job_supersedes_the_older_one_on_the_same_document() -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]
    started = asyncio.Event()

    async def slow(job: Any, report: Any) -> types.WorkspaceEdit:
        started.set()
        await asyncio.sleep(30)
        return EDIT

    async def quick(job: Any, report: Any) -> types.WorkspaceEdit:
        return EDIT

    old = jobs.start("file:///a.ex", "Generate code", slow)
    await started.wait()
    new = jobs.start("file:///a.ex", "Generate code", quick)
    await finish(jobs)
    assert (old.state, new.state) == ("cancelled", "applied")
    assert old.token.cancelled and "superseded" in old.token.reason
    assert len(server.edits) == 1


@pytest.mark.parametrize("route", ["id", "progress", "all"])
async def test_every_cancel_route_ends_the_job_without_an_edit(route: str) -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]
    started = asyncio.Event()

    async def work(job: Any, report: Any) -> types.WorkspaceEdit:
        started.set()
        await asyncio.sleep(30)
        return EDIT

    job = jobs.start("file:///a.ex", "Generate code", work)
    await started.wait()
    if route == "id":
        assert jobs.cancel(job.id)
    elif route == "progress":
        assert job.progress_token is not None and jobs.cancel_progress(job.progress_token)
    else:
        jobs.cancel_all()
    await finish(jobs)
    assert job.state == "cancelled" and job.token.cancelled
    assert server.edits == [] and server.errors == []
    assert server.kinds()[-1] == "WorkDoneProgressEnd"
    assert not jobs.cancel(job.id)  # a finished job cannot be cancelled again
    assert not jobs.cancel("job-404")


async def test_work_that_finishes_after_its_token_was_cancelled_applies_nothing() -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> types.WorkspaceEdit:
        job.token.cancel("from another thread")  # the pipeline saw the cancel, the task did not
        return EDIT

    job = jobs.start("file:///a.ex", "Generate code", work)
    await finish(jobs)
    assert job.state == "cancelled" and server.edits == []


@pytest.mark.parametrize(
    ("error", "shown"),
    [(JobFailed("nothing to generate here"), "Fix failed: nothing to generate here"), (RuntimeError("boom"), "Fix failed: boom")],
)
async def test_failures_show_one_line(error: Exception, shown: str) -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> None:
        raise error

    job = jobs.start("file:///a.ex", "Fix", work)
    await finish(jobs)
    assert job.state == "failed" and server.errors == [shown] and server.edits == []


async def test_cancelled_raised_by_the_pipeline_counts_as_cancelled() -> None:
    server = FakeServer()
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> None:
        raise Cancelled("stopped")

    job = jobs.start("file:///a.ex", "Fix", work)
    await finish(jobs)
    assert job.state == "cancelled" and server.errors == []


async def test_an_edit_the_editor_refuses_is_reported() -> None:
    server = FakeServer(applied=False)
    jobs = JobManager(server)  # type: ignore[arg-type]

    async def work(job: Any, report: Any) -> types.WorkspaceEdit:
        return EDIT

    jobs.start("file:///a.ex", "Fix", work)
    await finish(jobs)
    assert server.errors == ["Fix: the edit was not applied (read-only)."]
