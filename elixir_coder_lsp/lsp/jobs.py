"""Background jobs behind commands: ids, work-done progress, cancellation routes and superseding.

(docs/protocol.md, "Commands") A job's result arrives as one `workspace/applyEdit`; a cancelled, superseded or failed
job never applies an edit. Every route (elixirCoder.cancel, window/workDoneProgress/cancel,
$/cancelRequest of the starting command, a new job on the same document, shutdown) ends in
`Job.cancel`, which sets the job's CancelToken (stopping model requests at the next decode step) and
cancels its task. The edit is applied on the event loop right after a last check of the token, so no
cancellation can slip in between the check and the edit.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types

from elixir_coder_lsp.cancel import Cancelled, CancelToken

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "applied", "cancelled", "failed", "empty"]
FINAL_STATES: frozenset[JobState] = frozenset(("applied", "cancelled", "failed", "empty"))


class JobFailed(Exception):
    """A job ended without a result; the message is shown to the user."""


@dataclass
class Job:
    """One background job (generate, fix)."""

    id: str
    uri: str
    title: str
    token: CancelToken = field(default_factory=CancelToken)
    progress_token: str | None = None
    task: asyncio.Task[Any] | None = None
    state: JobState = "queued"

    def cancel(self, reason: str) -> bool:
        """Cancel the job; False when it had already finished or been cancelled."""
        if self.state in FINAL_STATES:
            return False
        self.state = "cancelled"
        self.token.cancel(reason)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        return True


# A job's work: given the job and a progress callback, return the edit to apply (or None for "nothing").
JobWork = Callable[[Job, Callable[[str], None]], Awaitable[types.WorkspaceEdit | None]]


class JobManager:
    """Starts, tracks and cancels jobs; reports progress when the client supports it."""

    def __init__(self, server: ElixirCoderServer) -> None:
        self._server = server
        self._ids = itertools.count(1)
        self.jobs: dict[str, Job] = {}
        self._by_uri: dict[str, str] = {}
        self._by_progress: dict[str, str] = {}

    def start(self, uri: str, title: str, work: JobWork) -> Job:
        """Start a job on a document, superseding the document's running job."""
        previous = self._by_uri.get(uri)
        if previous and previous in self.jobs:
            if self.jobs[previous].cancel("superseded by a newer job on the same document"):
                log.info("job %s superseded", previous)
        job = Job(id=f"job-{next(self._ids)}", uri=uri, title=title)
        self.jobs[job.id] = job
        self._by_uri[uri] = job.id
        job.task = asyncio.ensure_future(self._run(job, work))
        return job

    def cancel(self, job_id: str, reason: str = "cancelled by the user") -> bool:
        """Cancel a job by id."""
        job = self.jobs.get(job_id)
        return job.cancel(reason) if job else False

    def cancel_document(self, uri: str, reason: str = "cancelled by the user") -> bool:
        """Cancel the job running on a document (there is at most one: a new job supersedes the older)."""
        job_id = self._by_uri.get(uri)
        return self.cancel(job_id, reason) if job_id else False

    def cancel_progress(self, token: str | int) -> bool:
        """Cancel the job that owns a work-done progress token."""
        job_id = self._by_progress.get(str(token))
        return self.cancel(job_id, "cancelled from the progress UI") if job_id else False

    def cancel_all(self, reason: str = "server shutting down") -> None:
        """Cancel every running job."""
        for job in list(self.jobs.values()):
            job.cancel(reason)

    async def wait_all(self, timeout: float = 5.0) -> None:
        """Wait for cancelled tasks to wind down."""
        tasks = [j.task for j in self.jobs.values() if j.task is not None and not j.task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _begin_progress(self, job: Job) -> None:
        if not self._server.supports_work_done_progress():
            return
        token = f"elixir-coder/{job.id}"
        try:
            await self._server.window_work_done_progress_create_async(types.WorkDoneProgressCreateParams(token=token))
        except Exception as exc:  # the client refused; the job goes on without progress
            log.debug("progress not created: %s", exc)
            return
        job.progress_token = token
        self._by_progress[token] = job.id
        self._server.progress(
            types.ProgressParams(
                token=token,
                value=types.WorkDoneProgressBegin(title=job.title, message="queued", cancellable=True, percentage=None),
            )
        )

    def _report(self, job: Job, message: str) -> None:
        if job.progress_token and job.state == "running":
            self._server.progress(
                types.ProgressParams(token=job.progress_token, value=types.WorkDoneProgressReport(message=message, cancellable=True))
            )

    def _end_progress(self, job: Job, message: str) -> None:
        if job.progress_token:
            self._server.progress(types.ProgressParams(token=job.progress_token, value=types.WorkDoneProgressEnd(message=message)))
            self._by_progress.pop(job.progress_token, None)

    async def _run(self, job: Job, work: JobWork) -> None:
        try:
            await self._begin_progress(job)
            if job.state == "cancelled":
                raise asyncio.CancelledError
            job.state = "running"
            edit = await work(job, lambda msg: self._report(job, msg))
            if job.token.cancelled or job.state != "running":
                raise asyncio.CancelledError
            if edit is None:
                job.state = "empty"
                self._end_progress(job, "nothing to change")
                return
            job.state = "applied"
            self._end_progress(job, "done")
            response = await self._server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=job.title)
            )
            if response is not None and not response.applied:
                reason = response.failure_reason or "the editor did not apply it"
                self._server.show_error(f"{job.title}: the edit was not applied ({reason}).")
        except (asyncio.CancelledError, Cancelled):
            job.state = "cancelled"
            self._end_progress(job, "cancelled")
        except JobFailed as exc:
            job.state = "failed"
            self._end_progress(job, "failed")
            self._server.show_error(f"{job.title} failed: {exc}")
        except Exception as exc:  # never a traceback in the editor: log it, show one line
            job.state = "failed"
            log.exception("job %s failed", job.id)
            self._end_progress(job, "failed")
            self._server.show_error(f"{job.title} failed: {exc}")
        finally:
            if self._by_uri.get(job.uri) == job.id:
                del self._by_uri[job.uri]
            # Keep finished jobs briefly for `elixirCoder.cancel` answers; bound the table.
            if len(self.jobs) > 200:
                for old in [k for k, j in self.jobs.items() if j.task is not None and j.task.done()][:100]:
                    del self.jobs[old]
