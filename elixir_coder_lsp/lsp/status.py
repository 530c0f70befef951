"""`elixirCoder/status` notifications, mirrored to `window/logMessage` for clients that ignore them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from elixir_coder_lsp.inference.types import InstanceStatus

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

STATUS_METHOD = "elixirCoder/status"


def status_payload(status: InstanceStatus) -> dict[str, Any]:
    """The `elixirCoder/status` params {instance, state, message?} (docs/protocol.md); "stopped" reads as idle."""
    payload: dict[str, Any] = {"instance": status.name, "state": status.state if status.state != "stopped" else "idle"}
    if status.message:
        payload["message"] = status.message
    return payload


class StatusReporter:
    """Sends a status only when it changed, so a busy instance does not flood the client."""

    def __init__(self, server: ElixirCoderServer) -> None:
        self._server = server
        self._last: dict[str, dict[str, Any]] = {}

    def report(self, status: InstanceStatus) -> None:
        """Notify the client (call on the event loop thread)."""
        payload = status_payload(status)
        if self._last.get(status.name) == payload:
            return
        self._last[status.name] = payload
        self._server.protocol.notify(STATUS_METHOD, payload)
        text = f"model '{payload['instance']}': {payload['state']}" + (f" — {payload['message']}" if "message" in payload else "")
        kind = types.MessageType.Error if payload["state"] == "failed" else types.MessageType.Info
        self._server.window_log_message(types.LogMessageParams(type=kind, message=text))
