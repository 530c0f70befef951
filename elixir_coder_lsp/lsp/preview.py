"""Candidate preview (`generation.preview`, docs/protocol.md "Candidate preview"): let the user pick among checked candidates.

One call site: the "Generate code" job, after `ElixirCoder.generate` returned and before the code is
inserted. With `clientUi.ask` the top candidates go to the client as one `elixirCoder/ask` question
(the same request shape as clarifying questions); otherwise, or with fewer than two candidates, the
best candidate is used as without preview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from elixir_coder_lsp.cancel import Cancelled
from elixir_coder_lsp.inference.outcome import GenerationOutcome
from elixir_coder_lsp.lsp.ask import ask_user
from elixir_coder_lsp.settings import Settings

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

PREVIEW_CANDIDATES = 3  # options shown
PREVIEW_LINES = 3  # first lines of each candidate in its label


def preview_options(outcome: GenerationOutcome, limit: int = PREVIEW_CANDIDATES) -> list[tuple[str, dict[str, str]]]:
    """(code, option) pairs, best first: the outcome's own code (repaired, if it was), then the other checked candidates."""
    ranked: list[tuple[str, int]] = list(outcome.extra.get("ranked") or [])
    pairs: list[tuple[str, int]] = [(outcome.code, len(outcome.findings))]
    seen = {outcome.code.strip()}
    if ranked:
        seen.add(ranked[0][0].strip())  # the best candidate before repair is the outcome itself
    for code, findings in ranked[1:]:
        if code.strip() and code.strip() not in seen:
            seen.add(code.strip())
            pairs.append((code, findings))
        if len(pairs) >= limit:
            break
    options = []
    for i, (code, findings) in enumerate(pairs, 1):
        lines = [ln for ln in code.strip("\n").split("\n") if ln.strip()]
        head = "\n".join(lines[:PREVIEW_LINES]) + ("\n…" if len(lines) > PREVIEW_LINES else "")
        noun = "finding" if findings == 1 else "findings"
        options.append((code, {"label": f"{i}. {head}", "description": f"{findings} {noun}"}))
    return options


async def choose_candidate(server: ElixirCoderServer, job_id: str, outcome: GenerationOutcome, settings: Settings) -> str:
    """The code to insert: the user's pick with `generation.preview` and `clientUi.ask`, else the best candidate.

    ``settings`` are the document's (its workspace folder's). A cancelled or dismissed question raises
    Cancelled (the job then applies nothing).
    """
    if not settings.generation.preview or not settings.client_ui.ask:
        return outcome.code
    options = preview_options(outcome)
    if len(options) < 2:
        return outcome.code
    question = {"question": "Which candidate should be inserted?", "options": [option for _, option in options], "allowFreeText": False}
    answer = await ask_user(server, job_id, question)
    if answer is None:
        raise Cancelled("the candidate preview was dismissed")
    for code, option in options:
        if answer == option["label"]:
            return code
    return outcome.code  # an answer that names no option: the best candidate, as without preview
