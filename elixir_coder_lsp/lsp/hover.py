"""Hover and the "Explain" command: one markdown for both, computed off the event loop and cached.

The structured part (context, the user's code fixed, retrieval) is cached per finding and document text;
the model paragraph is looked up on every hover and, when missing, asked for in the background
(inference/explain_model.py), so it appears on a later hover and never delays this one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.inference.explain_model import Paragraphs
from elixir_coder_lsp.inference.explanation import Prepared
from elixir_coder_lsp.settings import Settings

log = logging.getLogger(__name__)

CACHE_SIZE = 256
SEPARATOR = "\n\n---\n\n"


class Explanations:
    """Explanation markdown for findings of one server (blocking methods: call them from worker threads)."""

    def __init__(self, coder: Any, *, settings_for: Callable[[str | None], Settings] | None = None) -> None:
        """``coder``: the root façade (it knows every workspace folder's projects); ``settings_for``: a file's settings
        (its workspace folder's; `explanations.useModel`), by default the façade's."""
        self.coder = coder
        self.settings_for = settings_for or (lambda _path: coder.settings)
        self.paragraphs = Paragraphs(coder)
        self._cache: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, text: str, finding: Finding) -> tuple[Any, ...]:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        f = finding
        return (f.rule, f.message, f.line, f.column, f.end_line, f.end_column, digest, f.file, str(self.coder.workspace_root))

    def prepared(self, text: str, finding: Finding) -> Prepared:
        """The structured explanation (cached per finding and document text)."""
        key = self._key(text, finding)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self.coder.prepare_explanation(text, finding, filename=finding.file)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def explain(self, text: str, finding: Finding) -> str:
        """One finding's markdown: the structured part now, plus the model paragraph once one is ready."""
        prepared = self.prepared(text, finding)
        paragraph = self.paragraphs.get(prepared.context)
        if paragraph is None:
            self.paragraphs.request(prepared.context, prepared.retrieved, settings=self.settings_for(finding.file))
        return prepared.render(paragraph)

    def markdown(self, text: str, findings: list[Finding]) -> str:
        """The hover text for several findings at one position (hover and "Explain" give the same text)."""
        return SEPARATOR.join(self.explain(text, f) for f in findings)

    def warm(self) -> None:
        """Open (or build) the workspace's index and load the CWE data, so the first hover does not pay for it."""
        from elixir_coder_lsp.inference import retrieval
        from elixir_coder_lsp.rules import catalogue

        try:
            catalogue.cited_cwe_entries()
            retrieval.index_for(self.coder.workspace_root).refresh()
        except Exception as exc:  # noqa: BLE001 - hover builds it on demand instead
            log.info("explanation index not prepared: %s", exc)

    def close(self) -> None:
        """Stop the paragraph job."""
        self.paragraphs.close()
