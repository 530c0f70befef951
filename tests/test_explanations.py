"""Explanations: markdown structure for every rule, retrieval, CWE data, the user's code fixed, workspace docs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from explain_cases import CASES, Case, case_finding  # noqa: E402

from elixir_coder_lsp.inference.explanation import explain, extract_context  # noqa: E402
from elixir_coder_lsp.inference.retrieval import DocIndex, parse_check_doc, query_terms, retrieval_query, retrieve_docs  # noqa: E402
from elixir_coder_lsp.rules import catalogue, cwe  # noqa: E402

SECTIONS = ["What.", "Why.", "How to fix.", "Example.", "References."]
AUTOFIX = [c for c in CASES if catalogue.get(c.rule).autofix]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> DocIndex:
    return DocIndex(None, cache_dir=tmp_path_factory.mktemp("explain-index"))


@pytest.fixture(scope="module")
def findings(helper: Any) -> dict[str, Any]:
    return {c.rule: case_finding(c, helper) for c in CASES}


def test_every_catalogue_rule_has_a_case() -> None:
    assert sorted(c.rule for c in CASES) == sorted(r.id for r in catalogue.all_rules())


def structure(markdown: str) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """(section labels in order, (section, fence info + text) per fenced block, (section, href) per link)."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    sections: list[str] = []
    fences: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    current = ""
    for i, tok in enumerate(tokens):
        if tok.type == "inline" and tokens[i - 1].type == "paragraph_open" and tok.children:
            kids = [k for k in tok.children if not (k.type == "text" and not k.content)]
            if len(kids) >= 3 and kids[0].type == "strong_open" and kids[1].type == "text" and kids[2].type == "strong_close":
                label = kids[1].content
                if label in SECTIONS or label.startswith("In `"):
                    current = label
                    sections.append(label)
        if tok.type == "fence":
            fences.append((current, tok.info.strip(), tok.content))
        if tok.type == "inline":
            for kid in tok.children or []:
                if kid.type == "link_open":
                    links.append((current, str(kid.attrs.get("href"))))
    return sections, fences, links


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_markdown_structure_for_every_rule(case: Case, helper: Any, index: DocIndex, findings: dict[str, Any]) -> None:
    md = explain(case.code, findings[case.rule], helper=helper, index=index)
    sections, fences, links = structure(md)
    assert [s for s in sections if s in SECTIONS] == SECTIONS, md
    assert fences, md
    for section, info, code in fences:
        assert section == "Example.", (section, md)
        assert info == "elixir"
        assert helper.parse(code).ok, code
    assert links and all(section == "References." for section, _ in links), links
    hrefs = [h for _, h in links]
    assert len(hrefs) == len(set(hrefs)), hrefs  # each link once
    assert all(h.startswith("https://") for h in hrefs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_retrieval_finds_the_rule_doc_and_its_cwe(case: Case, helper: Any, index: DocIndex, findings: dict[str, Any]) -> None:
    ctx = extract_context(case.code, findings[case.rule], helper=helper)
    # the query is the finding's message and the user's code; the rule id is not part of it
    text, emphasis = retrieval_query(ctx)
    assert text == f"{ctx.finding.message}\n{ctx.code}" and emphasis == ctx.finding.message
    assert case.rule not in text and case.rule.lower() not in query_terms(text)
    keys = [d.key for d in retrieve_docs(ctx, 3, index=index)]
    assert case.rule in keys
    rule = catalogue.get(case.rule)
    if rule.cwe is not None:
        assert f"CWE-{rule.cwe}" in keys


def test_security_explanations_carry_mitre_names(helper: Any, index: DocIndex, findings: dict[str, Any]) -> None:
    from cwe2.database import Database

    db = Database()
    names = {i: db.get(i).name for i in catalogue.cited_cwe_ids()}
    for case in CASES:
        rule = catalogue.get(case.rule)
        if rule.cwe is None:
            continue
        md = explain(case.code, findings[case.rule], helper=helper, index=index)
        label = f"CWE-{rule.cwe}: {names[rule.cwe]}"
        assert label in md, (case.rule, label)
        assert f"[{label} (MITRE)]({cwe.url(rule.cwe)})" in md
        assert md.count(cwe.url(rule.cwe)) == 1


def test_cwe_entries_come_from_the_package() -> None:
    entry = cwe.get(400)
    assert entry.name == "Uncontrolled Resource Consumption"
    assert entry.description.startswith("The product does not properly control the allocation")
    assert entry.mitigations and entry.extended_description
    assert cwe.get(1336).name == "Improper Neutralization of Special Elements Used in a Template Engine"
    assert cwe.get(None) is None and cwe.get(99999999) is None


@pytest.mark.parametrize("case", AUTOFIX, ids=lambda c: c.rule)
def test_example_is_the_users_code_fixed(case: Case, helper: Any, index: DocIndex, findings: dict[str, Any]) -> None:
    md = explain(case.code, findings[case.rule], helper=helper, index=index)
    example = md[md.index("**Example.**") : md.index("**References.**")]
    assert "after the deterministic fix" in example
    assert "from the rule's documentation" not in example
    assert case.function and case.function in example
    _, fences, _ = structure(md)
    before, after = fences[0][2], fences[1][2]
    assert case.fixed in after, (case.fixed, after)
    assert before != after


def test_catalogue_example_only_without_autofix(helper: Any, index: DocIndex, findings: dict[str, Any]) -> None:
    case = next(c for c in CASES if c.rule == "Sobelow.SQL.Query")
    md = explain(case.code, findings[case.rule], helper=helper, index=index)
    assert "def by_email(email) do" in md and "from the rule's documentation" in md


def test_explanation_without_a_parse_uses_a_window(helper: Any, index: DocIndex) -> None:
    from elixir_coder_lsp.findings import Finding

    code = "defmodule A do\n  def f(x) do\n    IO.inspect(x)\n"  # does not parse
    finding = Finding(rule="Credo.Check.Warning.IoInspect", source="elixir-coder", severity="warning", message="IO.inspect", line=3, column=5)
    ctx = extract_context(code, finding, helper=helper)
    assert ctx.function is None and "IO.inspect(x)" in ctx.code
    md = explain(code, finding, helper=helper, index=index)
    sections, fences, _ = structure(md)
    assert all(helper.parse(code).ok for _, info, code in fences if info == "elixir")
    assert [info for _, info, code in fences if "IO.inspect(x)" in code] == ["text"]  # the window is shown, not as elixir
    assert "How to fix." in sections


# -- the index -------------------------------------------------------------------------------------

CREDO_CHECK = '''defmodule Credo.Check.Warning.IoInspect do
  use Credo.Check,
    id: "EX5011",
    base_priority: :high,
    category: :warning,
    explanations: [
      check: """
      While calls to IO.inspect might appear in some parts of production code,
      most calls to this function are added during debugging sessions.

      This check warns about those calls, because they might have been committed
      in error.
      """
    ]

  def run(source_file, params), do: []
end
'''


def write_credo(root: Path, check: str = CREDO_CHECK) -> Path:
    path = root / "deps" / "credo" / "lib" / "credo" / "check" / "warning" / "io_inspect.ex"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(check)
    (root / "mix.lock").write_text('%{"credo": {:hex, :credo, "1.7.7"}}\n')
    return path


def test_parse_check_doc_reads_credo_explanations() -> None:
    module, doc = parse_check_doc(CREDO_CHECK)
    assert module == "Credo.Check.Warning.IoInspect"
    assert doc.startswith("While calls to IO.inspect might appear")
    assert parse_check_doc("defmodule A do\n  @moduledoc false\nend\n") is None


def test_workspace_credo_docs_are_indexed_and_shown(tmp_path: Path, helper: Any, findings: dict[str, Any]) -> None:
    root = tmp_path / "project"
    write_credo(root)
    index = DocIndex(root, cache_dir=tmp_path / "cache")
    case = next(c for c in CASES if c.rule == "Credo.Check.Warning.IoInspect")
    finding = findings[case.rule]
    ctx = extract_context(case.code, finding, helper=helper, workspace_root=root)
    docs = retrieve_docs(ctx, 5, index=index)
    assert ("credo-doc", "Credo.Check.Warning.IoInspect") in [(d.kind, d.key) for d in docs]
    md = explain(case.code, finding, helper=helper, workspace_root=root, index=index)
    assert "Credo's own documentation (installed in this project): While calls to IO.inspect" in md
    assert "- Credo's own documentation of Credo.Check.Warning.IoInspect (installed in deps/): `deps/credo/lib/credo/check/warning/io_inspect.ex`" in md


def test_index_lives_in_the_cache_dir_and_is_rebuilt_when_sources_change(tmp_path: Path) -> None:
    import time

    import elixir_coder_lsp.inference.retrieval as retrieval

    root = tmp_path / "project"
    path = write_credo(root)
    index = DocIndex(root, cache_dir=tmp_path / "cache")
    assert index.count() >= len(catalogue.all_rules()) + len(catalogue.cited_cwe_ids()) + 1
    assert index.path.parent == tmp_path / "cache" and index.builds == 1 and index.path.name != "shared.sqlite"
    # a workspace without deps docs uses the shared index
    plain = DocIndex(tmp_path / "plain", cache_dir=tmp_path / "cache")
    assert plain.count() == index.count() - 1 and plain.path.name == "shared.sqlite"
    # a second index over the same workspace reuses the file
    again = DocIndex(root, cache_dir=tmp_path / "cache")
    assert again.count() == index.count() and again.builds == 0
    # mix.lock changes (deps updated): rebuilt, with the new doc text
    path.write_text(CREDO_CHECK.replace("While calls to IO.inspect", "Calls to IO.inspect (updated)"))
    (root / "mix.lock").write_text('%{"credo": {:hex, :credo, "1.7.8"}}\n')
    time.sleep(0.01)
    index.refresh()
    assert index.builds == 2
    assert "(updated)" in index.get("credo-doc", "Credo.Check.Warning.IoInspect").text
    assert retrieval.index_for(None) is retrieval.index_for(None)


# -- the model paragraph ---------------------------------------------------------------------------

GOOD = (
    "In `index/2`, String.to_atom turns the sort parameter of every request into a new atom, and atoms are "
    "never freed, so a client that sends many different values can exhaust the atom table and stop the node."
)


@pytest.fixture(scope="module")
def atom_ctx(helper: Any, findings: dict[str, Any]) -> Any:
    case = next(c for c in CASES if c.rule == "Sobelow.DOS.StringToAtom")
    return extract_context(case.code, findings[case.rule], helper=helper)


def test_quality_filter_accepts_a_good_paragraph(atom_ctx: Any) -> None:
    from elixir_coder_lsp.inference.explain_model import check_paragraph, subjects

    assert "String.to_atom" in subjects(atom_ctx) and "index" in subjects(atom_ctx)
    assert check_paragraph(GOOD, atom_ctx) == (True, "")


@pytest.mark.parametrize(
    "text,reason",
    [
        ("}} |> ;; 0x1f %{} <<>> :: -> [[ ]] String.to_atom |> |> ~r// && || ++ -- <> =~ !! ## 0b1 0o7 @@", "not mostly words"),
        ("String.to_atom is bad because the atom the atom the atom the atom the atom the atom grows and grows.", "loop"),
        ("String.to_atom atom atom atom atom atom atom atom atom atom atom atom atom atom here.", "loop"),
        ("Phoenix is a web framework written in Elixir that makes building scalable web applications pleasant.", "subject"),
        ("String.to_atom.", "length"),
        ("String.to_atom " + "is a concern here. " * 60, "length"),
        ("String.to_atom is bad:\n\n```elixir\nString.to_atom(x)\n```", "paragraph"),
        ("String.to_atom!!!!!!!!!!!! really matters in this function for every request that arrives.", "repeated"),
    ],
)
def test_quality_filter_rejects_garbage_repetition_and_off_topic(atom_ctx: Any, text: str, reason: str) -> None:
    from elixir_coder_lsp.inference.explain_model import check_paragraph

    ok, why = check_paragraph(text, atom_ctx)
    assert not ok and reason in why, why


class _Pool:
    """The pool's public surface as the paragraph job sees it."""

    def __init__(self, state: str, queue: int = 0) -> None:
        from elixir_coder_lsp.inference.types import InstanceStatus

        self.status = InstanceStatus(name="default", state=state, queue=queue)  # type: ignore[arg-type]
        self.submitted: list[Any] = []


class _Coder:
    def __init__(self, pool: _Pool, use_model: bool = True) -> None:
        from elixir_coder_lsp.config import Settings

        self.settings = Settings()
        self.settings.explanations.use_model = use_model
        self.pool = pool

    def model_statuses(self) -> list[Any]:
        return [self.pool.status]

    def submit(self, request: Any, **_: Any) -> Any:
        self.pool.submitted.append(request)
        raise RuntimeError("not in this test")


@pytest.mark.parametrize("state,queue,use_model", [("stopped", 0, True), ("loading", 0, True), ("busy", 1, True), ("idle", 1, True), ("idle", 0, False)])
def test_paragraph_job_never_loads_a_model_or_queues_ahead(atom_ctx: Any, state: str, queue: int, use_model: bool) -> None:
    from elixir_coder_lsp.inference.explain_model import Paragraphs

    pool = _Pool(state, queue)
    paragraphs = Paragraphs(_Coder(pool, use_model))
    assert paragraphs.request(atom_ctx, []) is False
    paragraphs.close()
    assert pool.submitted == []


def test_paragraph_job_asks_an_idle_model_with_the_explain_role(atom_ctx: Any) -> None:
    import time

    from elixir_coder_lsp.inference.explain_model import Paragraphs

    pool = _Pool("idle")
    paragraphs = Paragraphs(_Coder(pool))
    assert paragraphs.request(atom_ctx, []) is True
    deadline = time.monotonic() + 5
    while not pool.submitted and time.monotonic() < deadline:
        time.sleep(0.01)
    paragraphs.close()
    request = pool.submitted[0]
    assert request.role == "explain" and request.instance == "default" and not request.constrained
    assert "String.to_atom" in request.prompt and "def index(conn" in request.context["code"]


def test_paragraph_yields_to_a_generation_job(atom_ctx: Any) -> None:
    import threading
    import time

    from elixir_coder_lsp.inference.explain_model import Paragraphs

    class Blocking(_Coder):
        def __init__(self) -> None:
            super().__init__(_Pool("idle"))
            self.cancelled = threading.Event()
            self.pool.cancel = lambda rid: (self.cancelled.set(), True)[1]  # type: ignore[attr-defined]

        def submit(self, request: Any, **_: Any) -> Any:
            self.pool.submitted.append(request)
            self.cancelled.wait(5)
            raise RuntimeError("cancelled")

    coder = Blocking()
    paragraphs = Paragraphs(coder)
    assert paragraphs.yield_to() is False  # nothing running
    assert paragraphs.request(atom_ctx, [])
    deadline = time.monotonic() + 5
    while paragraphs._running is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paragraphs.yield_to() is True and coder.cancelled.is_set()
    while paragraphs._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paragraphs.get(atom_ctx) is None and not paragraphs._pending  # not cached: a later hover asks again
    assert paragraphs.request(atom_ctx, [])
    coder.cancelled.set()
    paragraphs.close()
