"""Explanations of findings as markdown: What / Why / How to fix / Example / References.

`extract_context` finds the user's enclosing function (or a window of lines), the rule's catalogue
entry and, for security rules, MITRE's CWE entry. The Example section shows the user's own code before
and after the rule's deterministic autofix when one applies (both blocks parse), and the catalogue's
example otherwise. `retrieval.retrieve_docs` grounds the text in the indexed docs (ours, CWE, and the
workspace's own Credo/Sobelow docs). A model-written paragraph (inference/explain_model.py) is optional
and only ever added to the structured answer, which never needs a model.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elixir_coder_lsp.findings import Finding

log = logging.getLogger(__name__)

WINDOW_RADIUS = 2
MAX_REGION_LINES = 60  # a module or file longer than this is not shown whole as an example
WORKSPACE_EXCERPT_CHARS = 600
RELATED_MIN_SHARE = 0.6  # a retrieved doc is linked as related when it scores this share of the rule's own doc
_TOOL_NAMES = {"credo-doc": "Credo", "sobelow-doc": "Sobelow"}


@dataclass
class ExplainContext:
    """What an explanation is about: the finding, the user's code around it, the rule and CWE entries."""

    finding: Finding
    code: str  # the enclosing function's text (dedented), else a window of lines
    first_line: int
    last_line: int
    function: dict[str, Any] | None = None  # the helper's def entry: name, arity, kind, line, end_line
    module: str | None = None
    rule: Any = None  # catalogue.Rule
    cwe: Any = None  # cwe.CweEntry
    workspace_root: Path | None = None
    source: str = ""  # the whole buffer
    summary: dict[str, Any] | None = field(default=None, repr=False)
    code_parses: bool = False  # whether `code` parses on its own (shown as an elixir block only then)

    @property
    def subject(self) -> str:
        """What the finding is about, as the user would name it: the trigger call, else the function."""
        if self.finding.trigger:
            return self.finding.trigger
        if self.function:
            return str(self.function.get("name"))
        return self.finding.message

    @property
    def function_label(self) -> str | None:
        """`name/arity` of the enclosing function, or None."""
        if not self.function:
            return None
        return f"{self.function.get('name')}/{self.function.get('arity', 0)}"


def _dedent(lines: list[str]) -> str:
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] if line.strip() else "" for line in lines).strip("\n")


def _summary(code: str, helper: Any) -> dict[str, Any] | None:
    if helper is None:
        return None
    try:
        return helper.summary(code)
    except Exception as exc:  # noqa: BLE001 - code that does not parse has no functions to show
        log.debug("no summary for explanation: %s", exc)
        return None


def _enclosing(items: list[dict[str, Any]], first: int, last: int) -> dict[str, Any] | None:
    """The smallest item (def or module) whose line span covers [first, last]."""
    best = None
    for item in items:
        start, end = int(item.get("line") or 0), int(item.get("end_line") or item.get("line") or 0)
        if start <= first and last <= end and (best is None or end - start < best[1] - best[0]):
            best = (start, end, item)
    return best[2] if best else None


def extract_context(
    code: str,
    finding: Finding,
    *,
    helper: Any = None,
    summary: dict[str, Any] | None = None,
    workspace_root: str | Path | None = None,
    radius: int = WINDOW_RADIUS,
) -> ExplainContext:
    """The finding's enclosing function (or a window of lines) with its rule and CWE entries."""
    from elixir_coder_lsp.rules import catalogue, cwe

    if summary is None:
        summary = _summary(code, helper)
    lines = code.splitlines()
    end = finding.end_line or finding.line
    fn = _enclosing(list((summary or {}).get("defs", [])), finding.line, end)
    mod = _enclosing(list((summary or {}).get("modules", [])), finding.line, end)
    regions: list[tuple[int, int]] = []
    if fn is not None:
        regions.append((int(fn["line"]), int(fn.get("end_line") or fn["line"])))
    window = (max(1, finding.line - radius), max(1, min(len(lines), end + radius)))
    regions.append(window)
    if mod is not None:
        regions.append((int(mod["line"]), int(mod.get("end_line") or mod["line"])))
    regions.append((1, len(lines)))
    # the first region that parses on its own (a window can cut a block in half); else the window as text
    (first, last), parses = window, False
    for a, b in regions:
        if b - a + 1 <= MAX_REGION_LINES and helper is not None and _parses(_dedent(lines[a - 1 : b]), helper):
            (first, last), parses = (a, b), True
            break
    rule = catalogue.get(finding.rule)
    cwe_id = finding.cwe or (rule.cwe if rule else None)
    return ExplainContext(
        finding=finding,
        code=_dedent(lines[first - 1 : last]),
        first_line=first,
        last_line=max(first, last),
        code_parses=parses,
        function=fn,
        module=(mod or {}).get("name") or (fn or {}).get("module"),
        rule=rule,
        cwe=cwe.get(cwe_id) if cwe_id else None,
        workspace_root=Path(workspace_root) if workspace_root else None,
        source=code,
        summary=summary,
    )


# -- your code, fixed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedExample:
    """The user's code before and after the rule's deterministic fix (both parse)."""

    before: str
    after: str
    first_line: int
    last_line: int


def _fix_edits(finding: Finding) -> list[dict[str, Any]]:
    fix = finding.extra.get("fix") if isinstance(finding.extra, dict) else None
    edits = fix.get("edits") if isinstance(fix, dict) else None
    return [e for e in edits if isinstance(e, dict)] if isinstance(edits, list) else []


def _parses(code: str, helper: Any) -> bool:
    try:
        return bool(helper.parse(code).ok)
    except Exception:  # noqa: BLE001 - no helper, no claim that it parses
        return False


def fixed_example(ctx: ExplainContext, helper: Any) -> FixedExample | None:
    """The smallest region around the finding (function, module, file, window) whose fix applies and parses."""
    from elixir_coder_lsp.rules.autofix import EditError, apply_edits

    edits = _fix_edits(ctx.finding)
    if not edits or helper is None:
        return None
    lines = ctx.source.split("\n")
    edit_first = min([ctx.finding.line, *(int(e["line"]) for e in edits)])
    # an edit that deletes a whole line ends at column 1 of the next line
    edit_last = max(
        [ctx.finding.end_line or ctx.finding.line, *(int(e["end_line"]) - (1 if int(e["end_column"]) == 1 and int(e["end_line"]) > int(e["line"]) else 0) for e in edits)]
    )
    summary = ctx.summary or {}
    regions: list[tuple[int, int]] = []
    for kind in ("defs", "modules"):
        item = _enclosing(list(summary.get(kind, [])), edit_first, edit_last)
        if item is not None:
            regions.append((int(item["line"]), int(item.get("end_line") or item["line"])))
    regions.append((1, len(lines)))
    regions.append((max(1, edit_first - WINDOW_RADIUS), min(len(lines), edit_last + WINDOW_RADIUS)))
    seen: set[tuple[int, int]] = set()
    for first, last in regions:
        if (first, last) in seen or last - first + 1 > MAX_REGION_LINES:
            continue
        seen.add((first, last))
        region = "\n".join(lines[first - 1 : last]) + ("\n" if last < len(lines) else "")
        shifted = [
            {**e, "line": int(e["line"]) - first + 1, "end_line": int(e["end_line"]) - first + 1} for e in edits
        ]
        if any(e["line"] < 1 or e["end_line"] < 1 for e in shifted):
            continue
        try:
            after = apply_edits(region, shifted)
        except (EditError, KeyError, TypeError, ValueError):
            continue
        before_text = _dedent(region.split("\n"))
        after_text = _dedent(after.split("\n"))
        if after == region or not _parses(before_text, helper) or not _parses(after_text, helper):
            continue
        return FixedExample(before_text, after_text, first, last)
    return None


# -- references --------------------------------------------------------------------------------------

_HEXDOCS_CREDO = re.compile(r"^https://hexdocs\.pm/credo/(Credo\.Check\.[\w.]+)\.html$")
_HEXDOCS_FN = re.compile(r"^https://hexdocs\.pm/(\w+)/([\w.]+)\.html#([\w?!]+)/(\d+)$")
_HEXDOCS_MOD = re.compile(r"^https://hexdocs\.pm/(\w+)/([\w.]+)\.html(?:#.*)?$")
_ERLANG_FN = re.compile(r"^https://www\.erlang\.org/doc/man/(\w+)\.html#([\w]+)-(\d+)$")
_CWE = re.compile(r"^https://cwe\.mitre\.org/data/definitions/(\d+)\.html$")
_KNOWN = {
    "https://hexdocs.pm/credo/overview.html": "Credo documentation",
    "https://hexdocs.pm/sobelow/readme.html": "Sobelow documentation",
}


def link_label(url: str) -> str:
    """A readable label for a reference link (CWE links get MITRE's id and official name)."""
    from elixir_coder_lsp.rules import cwe

    if url in _KNOWN:
        return _KNOWN[url]
    if m := _CWE.match(url):
        entry = cwe.get(int(m[1]))
        return f"{entry.label} (MITRE)" if entry else f"CWE-{m[1]} (MITRE)"
    if m := _HEXDOCS_CREDO.match(url):
        return f"Credo: {m[1]}"
    if m := _HEXDOCS_FN.match(url):
        return f"`{m[2]}.{m[3]}/{m[4]}`"
    if m := _ERLANG_FN.match(url):
        return f"`:{m[1]}.{m[2]}/{m[3]}`"
    if m := _HEXDOCS_MOD.match(url):
        return f"`{m[2]}` ({m[1]} docs)"
    return url


def references(ctx: ExplainContext, retrieved: list[Any] = (), own_doc: Any = None) -> list[tuple[str, str]]:
    """(label, url) pairs, each url once: the CWE entry first, then the rule's own links, then related docs."""
    urls: list[str] = []
    labels: dict[str, str] = {}

    def add(url: str, label: str | None = None) -> None:
        if url and url not in labels:
            urls.append(url)
            labels[url] = label or link_label(url)

    if ctx.cwe is not None:
        add(ctx.cwe.url)
    rule = ctx.rule
    if rule is not None:
        add(rule.doc_url)
        for url in rule.references:
            add(url)
    if own_doc is not None:
        add(own_doc.url, f"{_TOOL_NAMES.get(own_doc.kind, 'The tool')}'s own documentation of {own_doc.key} (installed in deps/)")
    own = [d.score for d in retrieved if d.key == ctx.finding.rule]
    floor = RELATED_MIN_SHARE * (own[0] if own else max((d.score for d in retrieved), default=0.0))
    for doc in retrieved:
        if doc.kind in _TOOL_NAMES and doc.key == ctx.finding.rule:
            add(doc.url, f"{_TOOL_NAMES[doc.kind]}'s own documentation of {doc.key} (installed in deps/)")
        elif doc.score < floor or doc.key == ctx.finding.rule:
            continue
        elif doc.kind == "cwe" and (ctx.cwe is None or doc.key != f"CWE-{ctx.cwe.id}"):
            add(doc.url, f"Related: {doc.key}: {doc.title} (MITRE)")
        elif doc.kind == "rule" and _CWE.match(doc.url):
            add(doc.url, f"Related: {link_label(doc.url)}, cited by {doc.key}")
        elif doc.kind == "rule":
            add(doc.url, f"Related: {doc.title.replace('`', '')} ({doc.key})")
    return [(labels[u], u) for u in urls]


# -- markdown ----------------------------------------------------------------------------------------


def _first_paragraph(text: str, limit: int) -> str:
    para = text.strip().split("\n\n")[0]
    para = " ".join(para.split())
    if len(para) > limit:
        cut = para[:limit].rsplit(" ", 1)[0]
        para = cut.rstrip(",;:") + " …"
    return para


def _fence(code: str, note: str = "", lang: str = "elixir") -> list[str]:
    body = code.strip("\n")
    fence = "````" if "```" in body else "```"
    return [f"{fence}{lang}", *([note] if note else []), body, fence]


def _reference_line(label: str, url: str, root: Path | None) -> str:
    """A bullet: a link for web pages; a file in the workspace as its path (editors do not follow file: links in hovers)."""
    if not url.startswith("file://"):
        return f"- [{label}]({url})"
    from urllib.parse import unquote, urlparse

    path = Path(unquote(urlparse(url).path))
    if root is not None:
        try:
            path = path.relative_to(Path(root).resolve())
        except ValueError:
            pass
    return f"- {label}: `{path}`"


def workspace_doc(ctx: ExplainContext, index: Any) -> Any:
    """The workspace's own Credo/Sobelow doc for the finding's rule, when its deps have one."""
    if index is None:
        return None
    for kind in ("credo-doc", "sobelow-doc"):
        try:
            doc = index.get(kind, ctx.finding.rule)
        except Exception:  # noqa: BLE001 - a broken index only loses the excerpt
            return None
        if doc is not None:
            return doc
    return None


def render(
    ctx: ExplainContext,
    *,
    example: FixedExample | None = None,
    retrieved: list[Any] = (),
    own_doc: Any = None,
    paragraph: str | None = None,
) -> str:
    """The markdown of one explanation (sections What, Why, [In this function], How to fix, Example, References)."""
    f, rule, entry = ctx.finding, ctx.rule, ctx.cwe
    refs = references(ctx, retrieved, own_doc)
    title = rule.title if rule else f.rule
    where = f" · in `{ctx.function_label}`" if ctx.function_label else ""
    out = [f"### {title}", f"`{f.rule}` · {f.source} · {f.severity}{where}", ""]
    what = f"**What.** {f.message.rstrip('.')}." + (f" {rule.what}" if rule and rule.what else "")
    out += [what, ""]
    why = rule.why if rule and rule.why else ""
    if not why and own_doc is not None:
        why = _first_paragraph(own_doc.text, WORKSPACE_EXCERPT_CHARS)
        own_doc = None
    if why:
        out += [f"**Why.** {why}", ""]
    if entry is not None:
        out += [f"> **{entry.label}** (MITRE): {entry.description}", ""]
    if own_doc is not None:
        tool = _TOOL_NAMES.get(own_doc.kind, "The tool")
        out += [f"> {tool}'s own documentation (installed in this project): {_first_paragraph(own_doc.text, WORKSPACE_EXCERPT_CHARS)}", ""]
    if paragraph:
        label = f"In `{ctx.function_label}`." if ctx.function_label else "Here."
        out += [f"**{label}** {paragraph.strip()}", ""]
    if rule and rule.how_to_fix:
        out += [f"**How to fix.** {rule.how_to_fix}", ""]
    if example is not None:
        span = f"line {example.first_line}" if example.first_line == example.last_line else f"lines {example.first_line}–{example.last_line}"
        out += [f"**Example.** Your code ({span}) and the same code after the deterministic fix:", ""]
        out += _fence(example.before, "# before") + [""] + _fence(example.after, "# after (fixed)") + [""]
    else:
        span = f"line {ctx.first_line}" if ctx.first_line == ctx.last_line else f"lines {ctx.first_line}–{ctx.last_line}"
        has_catalogue = bool(rule and (rule.bad_example or rule.good_example))
        if ctx.code.strip() or has_catalogue:
            out += ["**Example.**" + (f" Your code ({span}):" if ctx.code.strip() else ""), ""]
        if ctx.code.strip():
            out += _fence(ctx.code, lang="elixir" if ctx.code_parses else "text") + [""]
        if has_catalogue:
            out += ["A fixed example from the rule's documentation:", ""]
            if rule.bad_example:
                out += _fence(rule.bad_example, "# flagged") + [""]
            if rule.good_example:
                out += _fence(rule.good_example, "# fixed") + [""]
    if refs:
        out += ["**References.**", ""] + [_reference_line(label, url, ctx.workspace_root) for label, url in refs]
        if entry is not None:
            out += ["", "_CWE™ entries: © The MITRE Corporation, used under the CWE Terms of Use._"]
    return "\n".join(out).rstrip("\n") + "\n"


@dataclass
class Prepared:
    """Everything an explanation shows except the model paragraph (what hover caches)."""

    context: ExplainContext
    example: FixedExample | None
    retrieved: list[Any]
    own_doc: Any

    def render(self, paragraph: str | None = None) -> str:
        """The markdown, with the model paragraph when there is one."""
        return render(self.context, example=self.example, retrieved=self.retrieved, own_doc=self.own_doc, paragraph=paragraph)


def prepare(
    code: str,
    finding: Finding,
    *,
    helper: Any = None,
    workspace_root: str | Path | None = None,
    index: Any = None,
) -> Prepared:
    """Context, the user's code fixed, retrieved docs and the workspace's own doc for one finding."""
    from elixir_coder_lsp.inference import retrieval

    if helper is None:
        helper = _default_helper()
    ctx = extract_context(code, finding, helper=helper, workspace_root=workspace_root)
    idx = index if index is not None else retrieval.index_for(ctx.workspace_root)
    retrieved = retrieval.retrieve_docs(ctx, 3, index=idx)
    example = fixed_example(ctx, helper) if ctx.rule is None or ctx.rule.autofix or _fix_edits(finding) else None
    return Prepared(ctx, example, retrieved, workspace_doc(ctx, idx))


def explain(
    code: str,
    finding: Finding,
    *,
    helper: Any = None,
    workspace_root: str | Path | None = None,
    index: Any = None,
    paragraph: str | None = None,
) -> str:
    """Markdown for one finding (hover, `elixirCoder.explain`, `elixir-coder explain`).

    ``helper`` (the Elixir helper) finds the enclosing function and checks that examples parse; without
    one the process-wide helper is used. ``index`` is the retrieval index (default: the workspace's).
    """
    return prepare(code, finding, helper=helper, workspace_root=workspace_root, index=index).render(paragraph)


def _default_helper() -> Any:
    try:
        from elixir_coder_lsp.elixir.client import default_helper

        return default_helper()
    except Exception:  # noqa: BLE001 - without Elixir the explanation is still written, from a window of lines
        return None
