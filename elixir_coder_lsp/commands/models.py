"""`elixir-coder models`: the configured model instances with their state and metrics (never starts a model)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.inference.types import InstanceStatus

if TYPE_CHECKING:
    from elixir_coder_lsp.inference.pool import ModelPool
    from elixir_coder_lsp.settings import Settings

COLUMNS = ("name", "checkpoint", "backend", "state", "queue", "tokens_per_s", "p50_ms", "p95_ms")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond the common --config/--json/--log-level."""
    parser.epilog = "Lists settings (models.NAME) and, where a pool runs in this process, live state and metrics."


def instances(settings: Settings, pool: ModelPool | Any = None) -> list[dict[str, Any]]:
    """One row per configured instance; live figures come from ``pool.statuses()`` (a pool or the façade's
    ``model_statuses``) when one is given."""
    statuses = getattr(pool, "statuses", None) or getattr(pool, "model_statuses", None)
    live: dict[str, InstanceStatus] = {s.name: s for s in statuses()} if statuses is not None else {}
    rows = []
    for name, ms in settings.models.items():
        st = live.get(name) or InstanceStatus(name=name, checkpoint=ms.checkpoint, backend=ms.backend)
        rows.append(
            {
                "name": name,
                "checkpoint": st.checkpoint or ms.checkpoint,
                "backend": st.backend,
                "state": st.state,
                "queue": st.queue,
                "tokens_per_s": round(st.tokens_per_s, 2),
                "p50_ms": None if st.p50_ms is None else round(st.p50_ms, 1),
                "p95_ms": None if st.p95_ms is None else round(st.p95_ms, 1),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain aligned table of the rows."""
    cells = [list(COLUMNS)] + [["-" if r[c] is None else str(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells)


def run(args: argparse.Namespace) -> int:
    """Print the instances as a table, or `{"instances": [...]}` with --json."""
    from elixir_coder_lsp.commands.common import cli_settings, make_coder

    settings, root = cli_settings(args)
    coder = make_coder(settings, root)
    try:
        rows = instances(settings, coder)  # the façade starts nothing to answer this
    finally:
        coder.close()
    if getattr(args, "json", False):
        print(json.dumps({"instances": rows}))
    else:
        print(format_table(rows))
    return 0
