"""Grammar coverage on real Elixir: fetch the Debian `elixir` source package and check every lib/**/*.ex.

Usage: python bench/grammar_coverage.py [--rule start] [--limit N] [--out bench/results/grammar_coverage.json]

The corpus is fetched once with `apt-get source` (deb-src entries derived from the configured mirrors,
written to a throwaway sources file) and cached under $XDG_CACHE_HOME/elixir-coder/corpus.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_SOURCES_LIST = Path("/etc/apt/sources.list")


def cache_dir() -> Path:
    """The corpus cache directory (XDG cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "elixir-coder" / "corpus"


def _deb822_entries(text: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() != "no" and "uris" in fields:
            entries.append(fields)
    return entries


def deb_src_lines() -> list[str]:
    """One-line `deb-src` entries for every enabled `deb` source configured on this machine."""
    lines: list[str] = []
    files = [APT_SOURCES_LIST] if APT_SOURCES_LIST.exists() else []
    if APT_SOURCES_DIR.is_dir():
        files += sorted(p for p in APT_SOURCES_DIR.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for e in _deb822_entries(text):
                if "deb" not in e.get("types", "").split():
                    continue
                opts = f"[signed-by={e['signed-by']}] " if e.get("signed-by", "").startswith("/") else ""
                for uri in e["uris"].split():
                    for suite in e.get("suites", "").split():
                        lines.append(f"deb-src {opts}{uri} {suite} {e.get('components', 'main')}")
        else:
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("deb "):
                    lines.append("deb-src " + line[4:])
    return sorted(set(lines))


def fetch_corpus() -> Path:
    """Download and unpack the `elixir` source package once; return its lib/ directory root."""
    root = cache_dir()
    for child in root.glob("elixir-*/lib") if root.exists() else []:
        return child
    root.mkdir(parents=True, exist_ok=True)
    sources = root / "deb-src.list"
    sources.write_text("\n".join(deb_src_lines()) + "\n")
    lists = root / "apt-lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    opts = [
        "-o", f"Dir::Etc::sourcelist={sources}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={lists}",
        "-o", "APT::Get::List-Cleanup=0",
        "-o", "APT::Sandbox::User=root",
    ]
    subprocess.run(["apt-get", *opts, "update"], check=True, stdout=sys.stderr)
    subprocess.run(["apt-get", *opts, "source", "--download-only", "elixir"], check=True, cwd=root, stdout=sys.stderr)
    dsc = sorted(root.glob("elixir*.dsc"))
    if not dsc:
        raise RuntimeError("apt-get source downloaded no elixir*.dsc")
    subprocess.run(["dpkg-source", "--no-check", "-x", dsc[-1].name], check=True, cwd=root, stdout=sys.stderr)
    for child in root.glob("elixir-*/lib"):
        return child
    raise RuntimeError(f"no elixir-*/lib under {root}")


def corpus_files(lib: Path) -> list[Path]:
    """Every lib/**/*.ex file of the Elixir source tree (lib/<app>/lib/**/*.ex)."""
    return sorted(p for p in lib.glob("*/lib/**/*.ex") if p.is_file())


def _context(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return line.strip()[:80]


def main(argv: list[str] | None = None) -> int:
    """Check every corpus file against the grammar; print and save the accepted share."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rule", default="start")
    ap.add_argument("--limit", type=int, default=0, help="check only the first N files (0 = all)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "grammar_coverage.json"))
    ap.add_argument("--fetch-only", action="store_true")
    ap.add_argument("--show", type=int, default=25, help="how many failing contexts to print")
    args = ap.parse_args(argv)

    lib = fetch_corpus()
    files = corpus_files(lib)
    print(f"corpus: {len(files)} files under {lib}", file=sys.stderr)
    if args.fetch_only:
        return 0
    if args.limit:
        files = files[: args.limit]

    from elixir_coder_lsp.inference.constraints import check_text

    results = []
    reasons: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        res = check_text(text, args.rule)
        row = {"path": str(path.relative_to(lib)), "accepted": res.accepted}
        if not res.accepted:
            row.update(offset=res.offset, line=res.line, column=res.column, context=_context(text, res.char_offset))
            reasons[_context(text, res.char_offset)[:40]] += 1
        results.append(row)
    elapsed = time.perf_counter() - t0
    accepted = sum(r["accepted"] for r in results)
    share = accepted / len(results) if results else 0.0
    summary = {
        "rule": args.rule,
        "files": len(results),
        "accepted": accepted,
        "share": round(share, 4),
        "seconds": round(elapsed, 1),
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(f"accepted {accepted}/{len(results)} = {share:.1%} in {elapsed:.1f}s -> {out}")
    for r in [r for r in results if not r["accepted"]][: args.show]:
        print(f"  {r['path']}:{r['line']}:{r['column']}  {r['context']}")
    print("top failing contexts:")
    for ctx, n in reasons.most_common(15):
        print(f"  {n:4d}  {ctx}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
