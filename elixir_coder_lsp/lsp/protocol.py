"""A LanguageServerProtocol subclass that works around pygls 2.1.1's command and shutdown bugs.

pygls runs `workspace/executeCommand` as a generator whose inner handler gets a random id, so a
`$/cancelRequest` for the real id cancels only the outer future and the handler keeps running; and
`shutdown` cancels futures while iterating the dict their callbacks mutate, which raises when a
command is running. Here the command handler is a coroutine registered under the request's own id
(so cancellation reaches it), and shutdown iterates over a snapshot and gives the server a hook to
stop its jobs and child processes.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Generator
from typing import Any

from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import _prepare_command_arguments, lsp_method

# the server-to-client request that puts a question (or a candidate preview) to the user
ASK_METHOD = "elixirCoder/ask"

log = logging.getLogger(__name__)


def _readable(exc: Exception) -> Exception:
    """Name the missing keys of a command's argument object instead of cattrs' nested report."""
    if isinstance(exc, ClassValidationError):
        missing = [str(e.args[0]) for e in exc.exceptions if isinstance(e, KeyError) and e.args]
        if missing:
            return ValueError("missing argument " + ", ".join(repr(m) for m in missing))
    return exc


class ElixirCoderProtocol(LanguageServerProtocol):
    """LanguageServerProtocol with cancellable commands and a shutdown that tolerates running ones."""

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:
        """Run a command handler as a task stored under this request's id, so `$/cancelRequest` cancels it."""
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams.of(ValueError(f"Command name {params.command!r} is not defined"))
        try:
            args, kwargs = _prepare_command_arguments(handler, params, self._converter)
        except Exception as exc:  # wrong argument count or shape
            raise JsonRpcInvalidParams.of(_readable(exc)) from exc
        result = handler(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """Cancel every other pending request over a snapshot, then let the server stop its work."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        """Cancel a request; a running coroutine handler is cancelled too (pygls only cancels queued ones)."""
        future = self._request_futures.get(msg_id)
        if future is None:
            log.debug("cancel for unknown or finished request %r", msg_id)
            return
        future.cancel()
        log.info("cancelled request %r", msg_id)
