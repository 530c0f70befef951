"""Putting a question to the user: `elixirCoder/ask` when the client handles it, else `window/showMessageRequest`.

Used by "Generate code" for clarifying questions and for the candidate preview (docs/protocol.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from elixir_coder_lsp.lsp.protocol import ASK_METHOD

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer


JUST_GENERATE = "Just generate"


def ask_params(job_id: str, question: dict[str, Any]) -> dict[str, Any]:
    """`elixirCoder/ask` params (docs/protocol.md): {jobId, question, options: [{label, description?}], allowFreeText}."""
    options = []
    for o in question.get("options", []):
        item = {"label": o["label"]}
        if o.get("description"):
            item["description"] = o["description"]
        options.append(item)
    return {"jobId": job_id, "question": question["question"], "options": options, "allowFreeText": bool(question.get("allowFreeText", True))}


def _field(obj: Any, name: str) -> Any:
    """A field of a client reply, whether pygls gives it as a dict or as an object."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


async def ask_user(server: ElixirCoderServer, job_id: str, question: dict[str, Any]) -> str | None:
    """Put the question to the user: the answer, "" for "Just generate", None when dismissed or cancelled."""
    params = ask_params(job_id, question)
    if server.config.settings.client_ui.ask:
        reply = await server.protocol.send_request_async(ASK_METHOD, params)
        if reply is None or _field(reply, "cancelled"):
            return None
        answer = _field(reply, "answer")
        return None if answer is None else str(answer)
    actions = [types.MessageActionItem(title=o["label"]) for o in params["options"]] + [types.MessageActionItem(title=JUST_GENERATE)]
    picked = await server.window_show_message_request_async(
        types.ShowMessageRequestParams(type=types.MessageType.Info, message=params["question"], actions=actions)
    )
    if picked is None:
        return None
    title = _field(picked, "title")
    return "" if title in (None, JUST_GENERATE) else str(title)
