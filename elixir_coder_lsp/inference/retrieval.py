"""Retrieval for explanations: an SQLite FTS5 index (bm25) over our rule docs, the CWE entries they cite,
and, when the workspace has them, Credo's and Sobelow's own check docs.

The index is built in-process into the user's cache dir (`$XDG_CACHE_HOME/elixir-coder/explain-index/`),
one file per workspace, and rebuilt when a source changes: the catalogue, the CWE data package, or the
workspace's `mix.lock` / `deps/credo` / `deps/sobelow`. Workspace docs are read as text, never run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
TOKENIZER = "porter unicode61 tokenchars '_?!'"
# bm25 column weights: title, keywords, body (key, kind and url are not indexed)
WEIGHTS = (6.0, 3.0, 1.0)
MAX_QUERY_TERMS = 48
EMPHASIS = 2.0
CWE_BODY_WORDS = 60
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[?!]?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with "
    "def defp defmodule do end".split()
)
_DEFMODULE = re.compile(r"defmodule\s+([A-Z][\w.]*)\s+do")
_HEREDOC = re.compile(r'(?:@moduledoc|\bcheck:)\s+(?:~[sS])?"""[^\n]*\n(.*?)\n\s*"""', re.DOTALL)
_FINGERPRINT_TTL_S = 2.0


@dataclass(frozen=True)
class Doc:
    """One retrieved document: `kind` is rule | cwe | credo-doc | sobelow-doc; `key` a rule id or `CWE-n`."""

    kind: str
    key: str
    title: str
    url: str
    text: str
    score: float = 0.0


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/elixir-coder` (or `~/.cache/elixir-coder`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "elixir-coder"


def split_words(text: str) -> list[str]:
    """Identifiers and words of a text, with CamelCase split too (`IoInspect` → io, inspect)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.append(word)
        if any(c.isupper() for c in word[1:]):
            out.extend(_CAMEL.findall(word))
    return out


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """The distinct lower-case search terms of a query text, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in split_words(text):
        w = word.lower().strip("_")
        if len(w) < 2 or w in _STOP or w.isdigit():
            continue
        seen.setdefault(w, None)
        if len(seen) >= limit:
            break
    return list(seen)


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: every term of the text, OR-ed (bm25 ranks by how many and how rare)."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in query_terms(text))


# -- sources ----------------------------------------------------------------------------------------


def _rule_docs() -> Iterator[tuple[str, str, str, str, str, str]]:
    from elixir_coder_lsp.rules import catalogue

    for r in catalogue.all_rules():
        name_words = " ".join(split_words(r.id.split(".")[-1]))
        keywords = f"{r.category} {name_words}"
        body = "\n".join(x for x in (r.what, r.why, r.how_to_fix, r.bad_example, r.good_example) if x)
        yield ("rule", r.id, r.title, keywords, body, r.doc_url)


def _cwe_docs() -> Iterator[tuple[str, str, str, str, str, str]]:
    from elixir_coder_lsp.rules import catalogue, cwe

    citing: dict[int, list[str]] = {}
    for r in catalogue.all_rules():
        if r.cwe is not None:
            citing.setdefault(r.cwe, []).append(r.title)
    for cwe_id, titles in sorted(citing.items()):
        entry = cwe.get(cwe_id)
        if entry is None:
            continue
        # bm25 normalises by row length: MITRE's full text (thousands of words) would bury every entry,
        # so the indexed body is the description and the start of the extended description
        body = "\n".join(x for x in (entry.description, _words(entry.extended_description, CWE_BODY_WORDS)) if x)
        # keywords: the Elixir constructs our rules map to this weakness, so Elixir code finds it
        yield ("cwe", f"CWE-{entry.id}", entry.name, " ".join(titles), body, entry.url)


def _words(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit])


def _deps_dirs(root: Path) -> dict[str, Path]:
    return {tool: root / "deps" / tool for tool in ("credo", "sobelow") if (root / "deps" / tool / "lib").is_dir()}


def _workspace_files(root: Path | None) -> list[tuple[str, Path]]:
    if root is None:
        return []
    files: list[tuple[str, Path]] = []
    for tool, base in _deps_dirs(root).items():
        sub = base / "lib" / ("credo/check" if tool == "credo" else "sobelow")
        if sub.is_dir():
            files.extend((tool, p) for p in sorted(sub.rglob("*.ex")))
    return files


def parse_check_doc(text: str) -> tuple[str, str] | None:
    """(module, documentation) of a Credo check or Sobelow module source, read as text; None without docs."""
    m = _DEFMODULE.search(text)
    if not m:
        return None
    docs = [_dedent(d) for d in _HEREDOC.findall(text)]
    docs = [d for d in docs if d.strip()]
    if not docs:
        return None
    return m.group(1), "\n\n".join(docs)


def _dedent(text: str) -> str:
    lines = text.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines).strip()


def _workspace_docs(root: Path | None) -> Iterator[tuple[str, str, str, str, str, str]]:
    for tool, path in _workspace_files(root):
        try:
            parsed = parse_check_doc(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if parsed is None:
            continue
        module, doc = parsed
        yield (f"{tool}-doc", module, module, " ".join(split_words(module.split(".")[-1])), doc, path.resolve().as_uri())


# -- fingerprint ------------------------------------------------------------------------------------

_static_digest: str | None = None


def _static_fingerprint() -> str:
    """Our own sources: package version, schema, the catalogue's text and the CWE data version."""
    global _static_digest
    if _static_digest is None:
        from elixir_coder_lsp import __version__
        from elixir_coder_lsp.rules import catalogue, cwe

        h = hashlib.sha256(f"{SCHEMA_VERSION}:{__version__}:{TOKENIZER}:{cwe.data_version()}".encode())
        for r in catalogue.all_rules():
            h.update(repr(r).encode())
        _static_digest = h.hexdigest()
    return _static_digest


def _stat(path: Path) -> str:
    try:
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return "-"


def workspace_fingerprint(root: Path | None) -> str:
    """What the workspace part depends on: mix.lock, and the deps' check sources (sizes and mtimes)."""
    if root is None:
        return "none"
    h = hashlib.sha256(_stat(root / "mix.lock").encode())
    for tool, path in _workspace_files(root):
        h.update(f"{tool}:{path}:{_stat(path)}".encode())
    return h.hexdigest()


def _family(doc: Doc) -> int | None:
    """The CWE a rule doc belongs to (rules of one family share it); None for other docs."""
    if doc.kind != "rule":
        return None
    from elixir_coder_lsp.rules import catalogue

    rule = catalogue.get(doc.key)
    return rule.cwe if rule is not None else None


# -- the index --------------------------------------------------------------------------------------


class DocIndex:
    """The FTS5 index for one workspace (or none); thread-safe; rebuilt lazily when its sources change."""

    def __init__(self, workspace_root: str | Path | None = None, *, cache_dir: str | Path | None = None) -> None:
        self.root = Path(workspace_root).resolve() if workspace_root else None
        self.base = Path(cache_dir) if cache_dir else cache_root() / "explain-index"
        self._own_path = self.base / f"{hashlib.sha256(str(self.root).encode()).hexdigest()[:16]}.sqlite"
        self.path = self.base / "shared.sqlite"  # workspaces without deps docs share one index
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._fingerprint = ""
        self._checked_at = 0.0
        self.builds = 0  # how many times this object (re)built the file

    def _wanted(self) -> str:
        return _static_fingerprint() + ":" + workspace_fingerprint(self.root)

    def _ensure(self) -> sqlite3.Connection:
        now = time.monotonic()
        if self._conn is not None and now - self._checked_at < _FINGERPRINT_TTL_S:
            return self._conn
        wanted = self._wanted()
        self._checked_at = now
        self.path = self._own_path if _workspace_files(self.root) else self.base / "shared.sqlite"
        if self._conn is not None and wanted == self._fingerprint:
            return self._conn
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        conn = self._open_existing(wanted)
        if conn is None:
            conn = self._build(wanted)
        self._conn, self._fingerprint = conn, wanted
        return conn

    def _open_existing(self, wanted: str) -> sqlite3.Connection | None:
        if not self.path.is_file():
            return None
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            row = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row and row[0] == wanted:
                os.utime(self.path)  # in use: not pruned
                return conn
            conn.close()
        except sqlite3.Error:
            pass
        return None

    def _build(self, wanted: str) -> sqlite3.Connection:
        started = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(str(tmp))
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute(
            f"CREATE VIRTUAL TABLE docs USING fts5(title, keywords, body, kind UNINDEXED, key UNINDEXED, url UNINDEXED, tokenize = \"{TOKENIZER}\")"
        )
        rows = [*_rule_docs(), *_cwe_docs(), *_workspace_docs(self.root)]
        conn.executemany(
            "INSERT INTO docs (kind, key, title, keywords, body, url) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        conn.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (wanted,))
        conn.commit()
        conn.close()
        os.replace(tmp, self.path)  # atomic: another process may be reading the old file
        self.builds += 1
        _prune(self.base, keep=self.path)
        log.info("explanation index: %d docs built in %.0f ms at %s", len(rows), (time.monotonic() - started) * 1000, self.path)
        return sqlite3.connect(str(self.path), check_same_thread=False)

    def refresh(self) -> None:
        """Re-check the sources now (e.g. after mix.lock was saved) instead of within the next seconds."""
        with self._lock:
            self._checked_at = 0.0
            self._ensure()

    def _ranked(self, conn: sqlite3.Connection, text: str, limit: int) -> dict[tuple[str, str], tuple[Doc, float]]:
        match = fts_query(text)
        if not match:
            return {}
        rows = conn.execute(
            "SELECT kind, key, title, url, body, bm25(docs, ?, ?, ?) AS score FROM docs WHERE docs MATCH ? ORDER BY score LIMIT ?",
            (*WEIGHTS, match, limit),
        ).fetchall()
        return {(kind, key): (Doc(kind, key, title, url, body), -float(score)) for kind, key, title, url, body, score in rows}

    def search(self, text: str, k: int = 3, *, emphasis: str = "", diverse: bool = True) -> list[Doc]:
        """The k best documents for a free-text query (bm25, best first).

        ``emphasis`` (e.g. the finding's message) is searched on its own as well and its score counts
        `EMPHASIS` times more than the whole text's. With ``diverse``, a rule doc that shares its CWE
        with a better-ranked rule doc (a sibling of the same family) gives way to other sources.
        """
        pool = max(k * 8, 24)
        with self._lock:
            conn = self._ensure()
            full = self._ranked(conn, text, pool)
            focus = self._ranked(conn, emphasis, pool) if emphasis else {}
        scores: dict[tuple[str, str], float] = {}
        docs: dict[tuple[str, str], Doc] = {}
        for key, (doc, score) in full.items():
            docs[key], scores[key] = doc, score
        for key, (doc, score) in focus.items():
            docs[key] = doc
            scores[key] = scores.get(key, 0.0) + EMPHASIS * score
        ranked = sorted(scores, key=lambda key: -scores[key])
        out: list[Doc] = []
        families: set[int] = set()
        for key in ranked:
            doc = docs[key]
            family = _family(doc) if diverse else None
            if family is not None and family in families:
                continue
            if family is not None:
                families.add(family)
            out.append(Doc(doc.kind, doc.key, doc.title, doc.url, doc.text, scores[key]))
            if len(out) == k:
                break
        return out

    def get(self, kind: str, key: str) -> Doc | None:
        """One document by kind and key (e.g. the workspace's own Credo doc for a rule)."""
        with self._lock:
            conn = self._ensure()
            row = conn.execute("SELECT kind, key, title, url, body FROM docs WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return Doc(*row) if row else None

    def count(self) -> int:
        """How many documents the index holds."""
        with self._lock:
            return int(self._ensure().execute("SELECT count(*) FROM docs").fetchone()[0])

    def close(self) -> None:
        """Close the connection (the file stays for the next process)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _prune(base: Path, keep: Path, max_age_s: float = 30 * 86400) -> None:
    """Remove index files of workspaces not used for a month (and temp files left by a crash)."""
    now = time.time()
    for path in base.glob("*"):
        if path == keep or not path.name.endswith((".sqlite", ".tmp")):
            continue
        try:
            if now - path.stat().st_mtime > (3600 if path.name.endswith(".tmp") else max_age_s):
                path.unlink()
        except OSError:
            pass


_indexes: dict[Any, DocIndex] = {}
_indexes_lock = threading.Lock()


def index_for(workspace_root: str | Path | None = None) -> DocIndex:
    """The process-wide index for a workspace (created on first use)."""
    key = (str(Path(workspace_root).resolve()) if workspace_root else None, os.environ.get("XDG_CACHE_HOME"))
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = DocIndex(workspace_root)
        return _indexes[key]


def retrieval_query(context: Any) -> tuple[str, str]:
    """(query, emphasis) for a finding's context: its message and the user's code, never the rule id."""
    return f"{context.finding.message}\n{context.code}", context.finding.message


def retrieve_docs(context: Any, k: int = 3, *, index: DocIndex | None = None) -> list[Doc]:
    """The k documents most relevant to an `ExplainContext` (message + the user's code as the query)."""
    idx = index or index_for(getattr(context, "workspace_root", None))
    try:
        text, emphasis = retrieval_query(context)
        return idx.search(text, k, emphasis=emphasis)
    except sqlite3.Error as exc:
        log.warning("explanation index unavailable: %s", exc)
        return []
