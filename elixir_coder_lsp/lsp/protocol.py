"""A LanguageServerProtocol subclass that works around pygls 2.1.1's command and shutdown bugs.

pygls runs `workspace/executeCommand` as a generator whose inner handler gets a random id, so a
`$/cancelRequest` for the real id cancels only the outer future and the handler keeps running; and
`shutdown` cancels futures while iterating the dict their callbacks mutate, which raises when a
command is running. Here the command handler is a coroutine registered under the request's own id
(so cancellation reaches it), and shutdown iterates over a snapshot and gives the server a hook to
stop its jobs and child processes.

Every request gets an answer (issue 14). pygls 2.x drops a request whose params do not fit the schema
(``structure_message`` raises ``JsonRpcInvalidParams`` inside ``json.loads``, which the read loop only
logs), drops requests after ``shutdown`` with a warning, and runs requests that arrive before
``initialize``. Here such a request is answered with a JSON-RPC error under its own id: -32602 for bad
params, -32600 for a malformed request or one after ``shutdown``, -32002 before ``initialize``. A frame
that is not JSON or not an object gets -32700 / -32600 with id null, as JSON-RPC asks.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Generator
from typing import Any

import cattrs
from cattrs.errors import BaseValidationError, ClassValidationError
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import _prepare_command_arguments, lsp_method

# the server-to-client request that puts a question (or a candidate preview) to the user
ASK_METHOD = "elixirCoder/ask"

log = logging.getLogger(__name__)


def _readable(exc: Exception) -> Exception:
    """Name the missing keys of a command's argument object (or the argument class's own complaint) instead of
    cattrs' nested report."""
    if isinstance(exc, ClassValidationError):
        missing = [str(e.args[0]) for e in exc.exceptions if isinstance(e, KeyError) and e.args]
        if missing:
            return ValueError("missing argument " + ", ".join(repr(m) for m in missing))
        own = [e for e in exc.exceptions if isinstance(e, ValueError)]
        if own:
            return own[0]
    return exc


def _valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _why(exc: BaseException | None) -> str:
    """cattrs' validation report in one line (`required field missing @ $.params.textDocument`)."""
    if isinstance(exc, BaseValidationError):
        try:
            return "; ".join(cattrs.transform_error(exc, path="$"))[:500]
        except Exception:  # noqa: BLE001 - the report is a courtesy
            pass
    return str(exc)[:500] if exc else ""


class Rejected:
    """A request that could not be read as its method's type: answered with ``error`` under ``id``."""

    def __init__(self, msg_id: Any, method: str, error: JsonRpcException) -> None:
        self.id = msg_id if _valid_id(msg_id) else None
        self.method = method
        self.error = error


class ElixirCoderProtocol(LanguageServerProtocol):
    """LanguageServerProtocol with cancellable commands, a shutdown that tolerates running ones, and an
    answer for every request."""

    _initialize_seen = False

    # -- every request gets an answer -------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls' structuring, except that a request it cannot structure becomes a :class:`Rejected`."""
        try:
            message = super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "method" in data and "id" in data):
                raise  # a notification or a response: nothing to answer
            method = data["method"] if isinstance(data["method"], str) else repr(data["method"])[:80]
            if not _valid_id(data.get("id")):
                return Rejected(None, method, JsonRpcInvalidRequest("Invalid request: id must be an integer or a string"))
            why = _why(exc.__cause__)
            if isinstance(exc, JsonRpcInvalidParams):
                error: JsonRpcException = JsonRpcInvalidParams(f"Invalid params for {method}" + (f": {why}" if why else ""))
            else:
                error = JsonRpcInvalidRequest(f"Invalid request {method}" + (f": {why}" if why else ""))
            return Rejected(data["id"], method, error)
        if isinstance(data, dict) and "id" in data and "method" in data and not hasattr(message, "id"):
            # pygls read a request for a notification method as that notification and lost its id
            return Rejected(data["id"], str(data["method"]), JsonRpcInvalidRequest(f"Invalid request: {data['method']} is a notification and takes no id"))
        return message

    def handle_message(self, message: Any) -> None:
        """Answer what pygls would drop (bad params, malformed, before initialize, after shutdown); pass the rest on."""
        if isinstance(message, Rejected):
            log.warning("request %r (%s) rejected: %s", message.id, message.method, message.error.message)
            self._send_error(message.id, message.error)
            return
        if not hasattr(message, "jsonrpc"):  # valid JSON, but not a JSON-RPC message object
            self._reject_unreadable(message)
            return
        method = getattr(message, "method", None)
        is_request = hasattr(message, "method") and hasattr(message, "id")
        if is_request and not _valid_id(message.id):  # pygls would answer under an id that is not one
            self._send_error(None, JsonRpcInvalidRequest("Invalid request: id must be an integer or a string"))
            return
        if is_request and not isinstance(method, str):
            self._send_error(message.id, JsonRpcInvalidRequest("Invalid request: method must be a string"))
            return
        if message.jsonrpc != self.VERSION:
            if is_request:
                self._send_error(message.id, JsonRpcInvalidRequest(f"Invalid request: jsonrpc must be {self.VERSION!r}"))
            return
        if self._shutdown and method != types.EXIT:
            if is_request:
                self._send_error(message.id, JsonRpcInvalidRequest(f"The server is shutting down; {method} refused"))
            return
        if method == types.INITIALIZE:
            self._initialize_seen = True
        elif method is not None and not self._initialize_seen and method != types.EXIT:
            if is_request:
                self._send_error(message.id, JsonRpcServerNotInitialized(f"The server is not initialized; send initialize before {method}"))
            else:
                log.warning("notification %s before initialize ignored", method)
            return
        super().handle_message(message)

    def report_unreadable_frame(self, exc: BaseException) -> None:
        """A frame whose body is not JSON (or not UTF-8): answer -32700 with id null, keep reading."""
        if isinstance(exc, ValueError):  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            self._send_error(None, JsonRpcParseError(f"Parse error: {str(exc)[:200]}"))
        elif isinstance(exc, RecursionError):
            self._send_error(None, JsonRpcParseError("Parse error: the message nests too deeply"))

    def _reject_unreadable(self, message: Any) -> None:
        msg_id = message.get("id") if isinstance(message, dict) else None
        log.warning("not a JSON-RPC message: %.200r", message)
        self._send_error(msg_id if _valid_id(msg_id) else None, JsonRpcInvalidRequest("Invalid request: not a JSON-RPC 2.0 message object"))

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any | None = None) -> None:
        """pygls' response, except that a result that cannot be serialized (nested too deeply) becomes an error."""
        if error is None and result is not None:
            try:
                json.dumps(result, default=self._serialize_message)
            except (RecursionError, TypeError, ValueError) as exc:
                log.warning("result of request %r cannot be serialized: %s", msg_id, exc)
                error = JsonRpcInternalError(f"the result could not be serialized: {type(exc).__name__}").to_response_error()
                result = None
        super()._send_response(msg_id, result, error)

    def _send_error(self, msg_id: Any, error: JsonRpcException) -> None:
        if msg_id is None:  # the converter would drop a null id; JSON-RPC wants "id": null
            self._send_data({"jsonrpc": self.VERSION, "id": None, "error": {"code": error.code, "message": error.message}})
        else:
            self._send_response(msg_id, None, error.to_response_error())

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
        try:
            inspect.signature(handler).bind(*args, **kwargs)
        except TypeError as exc:  # e.g. no arguments for a command that takes one
            raise JsonRpcInvalidParams.of(ValueError(f"{params.command}: {exc}")) from exc
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
        future = self._request_futures.get(msg_id) if _valid_id(msg_id) else None
        if future is None:
            log.debug("cancel for unknown or finished request %r", msg_id)
            return
        future.cancel()
        log.info("cancelled request %r", msg_id)
