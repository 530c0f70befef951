"""Hover explanations: latency through the real server (cold and cached) and retrieval accuracy over all rules.

    python bench/hover.py [--repeats 5] [--out bench/results/hover.json]

Latency: one document per catalogue rule (bench/explain_cases.py) is opened in `python -m elixir_coder_lsp`;
after its diagnostics arrive, the finding is hovered once (cold: nothing cached for this document) and
then `--repeats` more times (cached). Times are client-side round trips (request sent → response read).
Retrieval: each case's finding is turned into a query of its message and the user's code (never the rule
id) and searched in a fresh index; top-1 / top-3 count the rule's own doc, and for security rules the
CWE entry is checked to be in the top 3 as well. Goals: cached p50 ≤ 20 ms, cold p50 ≤ 100 ms, top-1 ≥ 80 %,
top-3 = 100 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from explain_cases import CASES, case_finding  # noqa: E402
from lsp_session import Session, percentile  # noqa: E402
from lsprotocol import types  # noqa: E402


def retrieval_accuracy(helper: Any) -> dict[str, Any]:
    """Top-1 / top-3 of the rule's own doc, and the CWE entry in the top 3, over every catalogue rule."""
    from elixir_coder_lsp.inference.explanation import extract_context
    from elixir_coder_lsp.inference.retrieval import DocIndex, retrieve_docs

    with tempfile.TemporaryDirectory() as cache:
        index = DocIndex(None, cache_dir=cache)
        top1 = top3 = cwe_hits = security = 0
        misses: list[dict[str, Any]] = []
        for case in CASES:
            ctx = extract_context(case.code, case_finding(case, helper), helper=helper)
            keys = [d.key for d in retrieve_docs(ctx, 3, index=index)]
            top1 += keys[:1] == [case.rule]
            top3 += case.rule in keys
            if ctx.cwe is not None:
                security += 1
                cwe_hits += f"CWE-{ctx.cwe.id}" in keys
            if keys[:1] != [case.rule]:
                misses.append({"rule": case.rule, "top3": keys})
        index.close()
    n = len(CASES)
    return {
        "rules": n,
        "top1": top1 / n,
        "top3": top3 / n,
        "security_rules": security,
        "cwe_in_top3": cwe_hits / security if security else None,
        "top1_misses": misses,
    }


async def hover_latency(helper: Any, repeats: int) -> dict[str, Any]:
    """Cold and cached hover round trips through the real server, one document per rule."""
    session = Session()
    await session.start({"checks": {"onChangeDebounceMs": 0}})
    cold: list[float] = []
    cached: list[float] = []
    skipped: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i, case in enumerate(CASES):
                finding = case_finding(case, helper)
                path = Path(tmp) / f"p{i}" / case.filename
                uri = path.as_uri()
                fut = session.expect_diagnostics(uri, 1)
                session.open(uri, case.code)
                count = await asyncio.wait_for(fut, 60)
                if not count:
                    skipped.append(case.rule)
                    continue
                params = types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=finding.line - 1, character=finding.column - 1),
                )
                for n in range(1 + repeats):
                    started = time.perf_counter()
                    result = await session.client.text_document_hover_async(params)
                    ms = (time.perf_counter() - started) * 1000
                    if result is None or f"`{case.rule}`" not in result.contents.value:
                        skipped.append(case.rule)  # e.g. a rule that is off by default (another rule fired)
                        break
                    (cold if n == 0 else cached).append(ms)
            # a long file: every hover after an edit is cold (the document text changed)
            large_cold = await _large_file(session, Path(tmp), repeats)
    finally:
        await session.stop()

    def summary(values: list[float]) -> dict[str, float]:
        return {"n": len(values), "p50_ms": round(percentile(values, 0.5), 2), "p95_ms": round(percentile(values, 0.95), 2)}

    return {
        "cold": summary(cold),
        "cached": summary(cached),
        f"cold_{LARGE_FUNCTIONS * 5}_lines": summary(large_cold),
        "skipped": sorted(set(skipped)),
    }


LARGE_FUNCTIONS = 200


async def _large_file(session: Session, tmp: Path, repeats: int) -> list[float]:
    """Cold hovers on the last finding of a 1,000-line controller, re-edited before each hover."""
    body = "".join(
        f'  def sort_{i}(conn, %{{"by" => by}}) do\n    json(conn, Repo.all(order_by(Item, ^String.to_atom(by))))\n  end\n\n'
        for i in range(LARGE_FUNCTIONS)
    )
    text = f'defmodule ShopWeb.ItemController do\n  @moduledoc "Items."\n  use ShopWeb, :controller\n\n{body}end\n'
    uri = (tmp / "large" / "lib" / "shop_web" / "item_controller.ex").as_uri()
    line = 4 + (LARGE_FUNCTIONS - 1) * 4 + 1  # 0-based line of the last call
    character = text.splitlines()[line].index("String.to_atom")
    fut = session.expect_diagnostics(uri, 1)
    session.open(uri, text)
    await asyncio.wait_for(fut, 60)
    times = []
    for version in range(2, 3 + repeats):
        text = text.replace("@moduledoc \"Items", "@moduledoc \"Items.", 1)
        fut = session.expect_diagnostics(uri, version)
        session.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        await asyncio.wait_for(fut, 60)
        params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character))
        started = time.perf_counter()
        result = await session.client.text_document_hover_async(params)
        times.append((time.perf_counter() - started) * 1000)
        assert result is not None and "sort_199" in result.contents.value
    return times


def main() -> int:
    """Run both benchmarks, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "hover.json"))
    args = parser.parse_args()
    from elixir_coder_lsp.elixir import ElixirHelper

    with ElixirHelper() as helper:
        retrieval = retrieval_accuracy(helper)
        latency = asyncio.run(hover_latency(helper, args.repeats))
    print(
        f"retrieval over {retrieval['rules']} rules: top-1 {retrieval['top1']:.1%}, top-3 {retrieval['top3']:.1%}, "
        f"CWE entry in top-3 for {retrieval['security_rules']} security rules: {retrieval['cwe_in_top3']:.1%}"
    )
    for miss in retrieval["top1_misses"]:
        print(f"  top-1 miss: {miss['rule']} -> {miss['top3']}")
    for kind in ("cold", "cached", f"cold_{LARGE_FUNCTIONS * 5}_lines"):
        s = latency[kind]
        print(f"hover {kind:16s}: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms (n={s['n']})")
    if latency["skipped"]:
        print(f"  not hovered (its rule does not fire with default settings): {', '.join(latency['skipped'])}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "hover explanations", "retrieval": retrieval, "hover": latency}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
