"""Built-in Credo-mirroring rules, run through the real Elixir helper's `check` op.

The calibration set (shared/reference) pins findings, columns and priorities to Credo 1.7.19's
own output; the snippet tests pin ranges of every rule, suppression comments and `.credo.exs`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elixir_coder_lsp.rules import catalogue, credo_config
from elixir_coder_lsp.rules.credo_docs import RULES as CREDO_RULES

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"  # a copy of shared/reference
CALIBRATION = REFERENCE / "calibration"
IMPLEMENTED = {r.id for r in CREDO_RULES}


def check(helper: Any, code: str, **args: Any) -> list[dict[str, Any]]:
    result = helper.request("check", {"code": code, "sets": ["credo"], **args})
    return result["findings"]


def by_rule(findings: list[dict[str, Any]], rule: str) -> list[tuple[int, int, int, int]]:
    return [(f["line"], f["column"], f["end_line"], f["end_column"]) for f in findings if f["rule"].endswith(rule)]


def test_at_least_30_rules_each_documented(helper: Any) -> None:
    assert len(CREDO_RULES) >= 30
    for rule in CREDO_RULES:
        assert catalogue.get(rule.id) is rule
        assert rule.what and rule.why and rule.how_to_fix and rule.bad_example and rule.good_example
        assert rule.doc_url == f"https://hexdocs.pm/credo/{rule.id}.html"


def test_every_catalogue_rule_is_exercised_by_a_firing_snippet() -> None:
    fired = {"Credo.Check." + rule for rule, _code, expected in SNIPPETS if expected}
    assert IMPLEMENTED - fired == {"Credo.Check.Warning.UnsafeToAtom"}  # covered by its own test below


# ------------------------------------------------------------------------------ calibration

CALIBRATION_FILES = sorted((CALIBRATION / "expected").glob("*.credo.json")) if CALIBRATION.is_dir() else []


@pytest.mark.skipif(not CALIBRATION_FILES, reason="shared/reference is not present")
@pytest.mark.parametrize("report", CALIBRATION_FILES, ids=lambda p: p.name.split(".")[0])
def test_calibration_matches_credo(helper: Any, report: Path) -> None:
    src = CALIBRATION / "src" / (report.name.split(".")[0] + ".ex")
    expected = [i for i in json.loads(report.read_text())["issues"] if i["check"] in IMPLEMENTED]
    got = check(helper, src.read_text(), filename=src.name)
    assert sorted((f["rule"], f["line"]) for f in got) == sorted((i["check"], i["line_no"]) for i in expected)
    for issue in expected:
        match = [f for f in got if f["rule"] == issue["check"] and f["line"] == issue["line_no"]]
        assert match, issue
        f = match[0]
        assert f["priority"] == issue["priority"], (issue, f)
        assert f["message"] == issue["message"]
        if issue["column"] is not None:
            assert (f["column"], f["end_column"]) == (issue["column"], issue["column_end"]), (issue, f)
        if isinstance(issue["trigger"], str) and issue["check"] != "Credo.Check.Readability.StringSigils":
            assert f["trigger"] == issue["trigger"]


@pytest.mark.skipif(not CALIBRATION.is_dir(), reason="shared/reference is not present")
def test_reference_sample_matches(helper: Any) -> None:
    sample = json.loads((REFERENCE / "credo-output-sample.json").read_text())["issues"]
    got = check(helper, (REFERENCE / "probe.ex").read_text(), filename="lib/probe.ex")
    want = {(i["check"], i["line_no"], i["column"], i["priority"]) for i in sample if i["check"] in IMPLEMENTED}
    assert want <= {(f["rule"], f["line"], f["column"], f["priority"]) for f in got}


# ------------------------------------------------------------------------------ snippets: fire / do not fire

M = "defmodule A do\n  @moduledoc false\n\n"
E = "end\n"

SNIPPETS: list[tuple[str, str, list[tuple[int, int, int, int]]]] = [
    ("Warning.IoInspect", M + "  def f(x) do\n    IO.inspect(x)\n  end\n" + E, [(5, 5, 5, 15)]),
    ("Warning.IoInspect", M + "  def f(x), do: x |> IO.inspect(label: \"x\")\n" + E, [(4, 22, 4, 32)]),
    ("Warning.IoInspect", M + "  def f(x), do: inspect(x)\n" + E, []),
    ("Warning.Dbg", M + "  def f(x), do: dbg(x)\n" + E, [(4, 17, 4, 20)]),
    ("Warning.IExPry", M + "  def f do\n    IEx.pry()\n    :ok\n  end\n" + E, [(5, 5, 5, 12)]),
    ("Warning.UnusedEnumOperation", M + "  def f(x) do\n    Enum.map(x, & &1)\n    x\n  end\n" + E, [(5, 5, 5, 13)]),
    ("Warning.UnusedEnumOperation", M + "  def f(x) do\n    Enum.each(x, & &1)\n    x\n  end\n" + E, []),
    ("Warning.UnusedEnumOperation", M + "  def f(x) do\n    if Enum.any?(x), do: 1\n    x\n  end\n" + E, []),
    ("Warning.UnusedStringOperation", M + "  def f(x) do\n    String.trim(x)\n    x\n  end\n" + E, [(5, 5, 5, 16)]),
    ("Warning.UnusedMapOperation", M + "  def f(x) do\n    y = Map.put(x, :a, 1)\n    y\n  end\n" + E, []),
    ("Warning.UnusedMapOperation", M + "  def f(x) do\n    Map.put(x, :a, 1)\n    x\n  end\n" + E, [(5, 5, 5, 12)]),
    ("Warning.UnusedKeywordOperation", M + "  def f(x) do\n    Keyword.put(x, :a, 1)\n    x\n  end\n" + E, [(5, 5, 5, 16)]),
    ("Warning.UnusedListOperation", M + "  def f(x) do\n    List.flatten(x)\n    x\n  end\n" + E, [(5, 5, 5, 17)]),
    ("Warning.UnusedTupleOperation", M + "  def f(x) do\n    Tuple.to_list(x)\n    x\n  end\n" + E, [(5, 5, 5, 18)]),
    ("Warning.UnusedPathOperation", M + "  def f(x) do\n    Path.join(x, \"a\")\n    x\n  end\n" + E, [(5, 5, 5, 14)]),
    ("Warning.UnusedRegexOperation", M + "  def f(x) do\n    Regex.run(~r/a/, x)\n    x\n  end\n" + E, [(5, 5, 5, 14)]),
    ("Warning.UnusedFileOperation", M + "  def f(x) do\n    File.write!(x, \"\")\n    File.exists?(x)\n    x\n  end\n" + E, [(6, 5, 6, 17)]),
    ("Warning.ExpensiveEmptyEnumCheck", M + "  def f(x), do: 0 == length(x)\n" + E, [(4, 22, 4, 28)]),
    ("Warning.ExpensiveEmptyEnumCheck", M + "  def f(x), do: length(x) > 1\n" + E, []),
    ("Warning.OperationOnSameValues", M + "  def f(x), do: x != x\n" + E, [(4, 19, 4, 21)]),
    ("Warning.OperationOnSameValues", M + "  def f(x), do: x * x\n" + E, []),
    ("Warning.BoolOperationOnSameValues", M + "  def f(x), do: x && x\n" + E, [(4, 19, 4, 21)]),
    ("Warning.OperationWithConstantResult", M + "  def f(x), do: x * 0\n" + E, [(4, 19, 4, 20)]),
    ("Warning.RaiseInsideRescue", M + "  def f do\n    g()\n  rescue\n    _ -> raise \"no\"\n  end\n" + E, [(7, 10, 7, 15)]),
    ("Warning.RaiseInsideRescue", M + "  def f, do: raise \"no\"\n" + E, []),
    ("Warning.ApplicationConfigInModuleAttribute", M + "  @x Application.get_env(:a, :b)\n" + E, [(4, 6, 4, 25)]),
    ("Warning.ApplicationConfigInModuleAttribute", M + "  @x Application.compile_env(:a, :b)\n" + E, []),
    ("Warning.UnsafeExec", M + "  def f(c), do: :os.cmd(c)\n" + E, [(4, 17, 4, 24)]),
    ("Warning.UnsafeExec", M + "  def f(c), do: System.cmd(c, [])\n" + E, []),
    ("Readability.ModuleDoc", "defmodule A do\n  def f, do: 1\nend\n", [(1, 11, 1, 12)]),
    ("Readability.ModuleDoc", "defmodule A.Web.PageController do\n  def f, do: 1\nend\n", []),
    ("Readability.ModuleDoc", "defmodule A do\n  @moduledoc \"\"\"\n  \"\"\"\nend\n", [(1, 11, 1, 12)]),
    ("Readability.ModuleNames", "defmodule A.Bad_Name do\n  @moduledoc false\nend\n", [(1, 11, 1, 21)]),
    ("Readability.FunctionNames", M + "  def fooBar, do: 1\n" + E, [(4, 7, 4, 13)]),
    ("Readability.FunctionNames", M + "  def foo_bar?, do: 1\n" + E, []),
    ("Readability.PredicateFunctionNames", M + "  defp is_ok?(x), do: x\n" + E, [(4, 8, 4, 14)]),
    ("Readability.VariableNames", M + "  def f(someValue, b), do: {someValue, b}\n" + E, [(4, 9, 4, 18)]),
    ("Readability.VariableNames", M + "  def f(oneParam), do: oneParam\n" + E, []),
    ("Readability.VariableNames", M + "  def f(x) do\n    myVar = x\n    myVar\n  end\n" + E, [(5, 5, 5, 10)]),
    ("Readability.ModuleAttributeNames", M + "  @someAttr 1\n" + E, [(4, 3, 4, 12)]),
    ("Readability.LargeNumbers", M + "  @x 12345678\n  @y 1_234\n" + E, [(4, 6, 4, 14)]),
    ("Readability.MaxLineLength", M + "  @x " + "a" * 130 + "\n" + E, [(4, 121, 4, 136)]),
    ("Readability.MaxLineLength", M + '  @x "' + "a" * 130 + '"\n' + E, []),
    ("Readability.TrailingWhiteSpace", M + "  @x 1 \n" + E, [(4, 7, 4, 8)]),
    ("Readability.ParenthesesOnZeroArityDefs", M + "  def f(), do: 1\n" + E, [(4, 7, 4, 8)]),
    ("Readability.AliasOrder", M + "  alias B.C\n  alias A.B\n" + E, [(4, 9, 4, 12)]),
    ("Readability.AliasOrder", M + "  alias A.B\n\n  alias B.C\n  alias C.D\n" + E, []),
    ("Readability.PreferImplicitTry", M + "  def f do\n    try do\n      g()\n    rescue\n      _ -> 1\n    end\n  end\n" + E, [(5, 5, 5, 8)]),
    ("Readability.WithSingleClause", M + "  def f(x) do\n    with {:ok, y} <- x do\n      y\n    else\n      _ -> 1\n    end\n  end\n" + E, [(5, 5, 5, 9)]),
    ("Readability.StringSigils", M + '  def f, do: g("a\\"b\\"c\\"d\\"")\n' + E, [(4, 16, 4, 30)]),
    ("Readability.RedundantBlankLines", M + "  @x 1\n\n\n  @y 2\n" + E, [(6, 1, 6, 1)]),
    ("Readability.TrailingBlankLine", M + "end", [(4, 4, 4, 4)]),
    ("Readability.Semicolons", M + "  def f, do: (a = 1; a)\n" + E, [(4, 20, 4, 21)]),
    ("Readability.ParenthesesInCondition", M + "  def f(a) do\n    if (a) do\n      1\n    end\n  end\n" + E, [(5, 5, 5, 7)]),
    ("Readability.ParenthesesInCondition", M + "  def f(a), do: {if(a, do: 1), if((a) or a, do: 1)}\n" + E, []),
    ("Readability.SpaceAfterCommas", M + "  def f(a,b), do: {a, \"x,y\"}\n" + E, [(4, 10, 4, 12)]),
    ("Readability.UnnecessaryAliasExpansion", M + "  alias Foo.{Bar}\n" + E, [(4, 13, 4, 18)]),
    ("Design.AliasUsage", M + "  def f(a), do: A.B.C.g(a)\n  def g(a), do: A.B.g(a)\n" + E, [(4, 17, 4, 22)]),
    ("Design.AliasUsage", M + "  alias X.C\n  def f(a), do: A.B.C.g(a)\n  def g(a), do: Kernel.Foo.Enum.g(a)\n" + E, []),
    ("Refactor.Nesting", M + "  def f(a) do\n    if a do\n      if a do\n        if a, do: 1\n      end\n    end\n  end\n" + E, [(7, 9, 7, 11)]),
    ("Refactor.CyclomaticComplexity", M + "  def f(a) do\n" + "    if a, do: 1\n" * 9 + "  end\n" + E, [(4, 7, 4, 8)]),
    ("Refactor.FunctionArity", M + "  def f(a, b, c, d, e, f, g, h, i), do: 1\n" + E, [(4, 7, 4, 8)]),
    ("Refactor.CondStatements", M + "  def f(a) do\n    cond do\n      a -> 1\n      _ -> 2\n    end\n  end\n" + E, [(5, 5, 5, 9)]),
    ("Refactor.NegatedConditionsWithElse", M + "  def f(a) do\n    if !a do\n      1\n    else\n      2\n    end\n  end\n" + E, [(5, 8, 5, 9)]),
    ("Refactor.NegatedConditionsInUnless", M + "  def f(a), do: unless(not a, do: 1)\n" + E, [(4, 24, 4, 27)]),
    ("Refactor.UnlessWithElse", M + "  def f(a) do\n    unless a do\n      1\n    else\n      2\n    end\n  end\n" + E, [(5, 5, 5, 11)]),
    ("Refactor.MatchInCondition", M + "  def f(a) do\n    if {:ok, x} = a do\n      x\n    end\n  end\n" + E, [(5, 17, 5, 18)]),
    ("Refactor.MatchInCondition", M + "  def f(a) do\n    if x = a do\n      x\n    end\n  end\n" + E, []),
    ("Refactor.FilterFilter", M + "  def f(a), do: Enum.filter(Enum.filter(a, & &1), & &1)\n" + E, [(4, 17, 4, 28)]),
    ("Refactor.RejectReject", M + "  def f(a), do: a |> Enum.reject(& &1) |> Enum.reject(& &1)\n" + E, [(4, 40, 4, 42)]),
    ("Refactor.FilterCount", M + "  def f(a), do: a |> Enum.filter(& &1) |> Enum.count()\n" + E, [(4, 40, 4, 42)]),
    ("Refactor.MapJoin", M + "  def f(a), do: Enum.map(a, & &1) |> Enum.join()\n" + E, [(4, 35, 4, 37)]),
    ("Refactor.WithClauses", M + "  def f(a) do\n    with {:ok, b} <- a,\n         c = b do\n      c\n    end\n  end\n" + E, [(5, 5, 5, 9)]),
    ("Design.TagTODO", M + "  # TODO: later\n" + E, [(4, 3, 4, 16)]),
    ("Design.TagFIXME", M + "  # fixme broken\n  # FIXME\n" + E, [(4, 3, 4, 17)]),
]


@pytest.mark.parametrize("rule,code,expected", SNIPPETS, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(SNIPPETS)])
def test_rule_ranges(helper: Any, rule: str, code: str, expected: list[tuple[int, int, int, int]]) -> None:
    rule_id = "Credo.Check." + rule
    assert rule_id in IMPLEMENTED
    findings = check(helper, code, filename="lib/a.ex", enabled=[rule_id])
    assert by_rule(findings, "." + rule) == expected


def test_unsafe_to_atom_is_opt_in(helper: Any) -> None:
    code = M + "  def f(x), do: String.to_atom(x)\n" + E
    assert by_rule(check(helper, code), "UnsafeToAtom") == []
    enabled = check(helper, code, enabled=["Credo.Check.Warning.UnsafeToAtom"])
    assert by_rule(enabled, "UnsafeToAtom") == [(4, 17, 4, 31)]


def test_module_doc_skips_exs_files(helper: Any) -> None:
    code = "defmodule ATest do\n  def f, do: 1\nend\n"
    assert by_rule(check(helper, code, filename="test/a_test.exs"), "ModuleDoc") == []


def test_syntax_error_keeps_line_based_rules(helper: Any) -> None:
    result = helper.request("check", {"code": "defmodule A do\n  def f( do  \n", "sets": ["credo"]})
    assert result["syntax_error"]["line"] >= 2
    rules = {f["rule"] for f in result["findings"]}
    assert rules <= {r.id for r in CREDO_RULES}
    assert "Credo.Check.Readability.TrailingWhiteSpace" in rules
    assert "Credo.Check.Warning.IoInspect" not in rules


def test_scope_priority(helper: Any) -> None:
    # high base (10) + module with < 5 defs (1) + a 3-argument function (2)
    code = M + "  def f(a, b, c) do\n    IO.inspect(a)\n    {b, c}\n  end\n" + E
    [f] = [f for f in check(helper, code) if f["rule"].endswith("IoInspect")]
    assert (f["priority"], f["scope"]) == (13, "A.f")


# ------------------------------------------------------------------------------ suppression comments

SUPPRESS = [
    ("    # credo:disable-for-next-line\n    IO.inspect(x)\n", 0),
    ("    # credo:disable-for-next-line Credo.Check.Warning.IoInspect\n    IO.inspect(x)\n", 0),
    ("    # credo:disable-for-next-line Credo.Check.Readability.LargeNumbers\n    IO.inspect(x)\n", 1),
    ("    IO.inspect(x)\n    # credo:disable-for-previous-line\n", 0),
    ("    # credo:disable-for-lines:2\n    IO.inspect(x)\n    IO.inspect(x)\n", 0),
    ("    # credo:disable-for-lines:1\n    IO.inspect(x)\n    IO.inspect(x)\n", 1),
    ("    # credo:disable-for-next-line /IoIns/\n    IO.inspect(x)\n", 0),
]


@pytest.mark.parametrize("body,left", SUPPRESS)
def test_suppression_comments(helper: Any, body: str, left: int) -> None:
    code = M + "  def f(x) do\n" + body + "    x\n  end\n" + E
    assert len(by_rule(check(helper, code), "IoInspect")) == left


def test_disable_for_this_file(helper: Any) -> None:
    code = "# credo:disable-for-this-file Credo.Check.Warning.IoInspect\n" + M + "  def f(x), do: IO.inspect(x)\n" + E
    findings = check(helper, code)
    assert by_rule(findings, "IoInspect") == []


# ------------------------------------------------------------------------------ .credo.exs

LIST_FORM = """
%{
  configs: [
    %{
      name: "default",
      files: %{included: ["lib/"], excluded: [~r"/_build/"]},
      checks: [
        {Credo.Check.Readability.MaxLineLength, priority: :low, max_length: 80},
        {Credo.Check.Warning.IoInspect, false},
        {Credo.Check.Warning.UnsafeToAtom, []}
      ]
    }
  ]
}
"""

MAP_FORM = """
%{configs: [%{name: "default", checks: %{
  enabled: [{Credo.Check.Refactor.Nesting, [max_nesting: 1]}, {Credo.Check.Warning.Dbg, []}],
  disabled: [{Credo.Check.Design.TagTODO, []}]
}}]}
"""


def test_credo_config_list_form(helper: Any) -> None:
    cfg = credo_config.parse(LIST_FORM, helper)
    assert "Credo.Check.Warning.IoInspect" in cfg.disabled
    assert cfg.params["Credo.Check.Readability.MaxLineLength"]["max_length"] == 80
    assert "Credo.Check.Warning.UnsafeToAtom" in cfg.enabled and cfg.only is None
    code = M + "  def f(x) do\n    IO.inspect(x)\n    String.to_atom(x)\n    # " + "y" * 85 + "\n  end\n" + E
    findings = check(helper, code, **cfg.check_args())
    assert by_rule(findings, "IoInspect") == []
    assert by_rule(findings, "UnsafeToAtom") == [(6, 5, 6, 19)]
    assert by_rule(findings, "MaxLineLength") == [(7, 81, 7, 92)]


def test_credo_config_map_form(helper: Any) -> None:
    cfg = credo_config.parse(MAP_FORM, helper)
    assert cfg.only == ("Credo.Check.Refactor.Nesting", "Credo.Check.Warning.Dbg")
    assert cfg.disabled == ("Credo.Check.Design.TagTODO",)
    code = M + "  # TODO: x\n  def f(x) do\n    if x do\n      if x, do: dbg(x)\n    end\n    IO.inspect(x)\n  end\n" + E
    rules = {f["rule"] for f in check(helper, code, **cfg.check_args())}
    assert rules == {"Credo.Check.Refactor.Nesting", "Credo.Check.Warning.Dbg"}


def test_credo_config_is_not_evaluated(helper: Any, tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    code = f'File.write!("{marker}", "x")\n%{{configs: [%{{name: "default", checks: []}}]}}'
    helper.request("credo_config", {"code": code})
    assert not marker.exists()


def test_find_config(tmp_path: Path, helper: Any) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / ".credo.exs").write_text(LIST_FORM)
    (tmp_path / "lib").mkdir()
    assert credo_config.find_project_root(tmp_path / "lib" / "a.ex") == tmp_path
    cfg, err = credo_config.load(tmp_path, helper)
    assert err is None and cfg is not None and cfg.path.endswith("config/.credo.exs")
    (tmp_path / "config" / ".credo.exs").write_text("%{configs: [")
    cfg, err = credo_config.load(tmp_path, helper)
    assert cfg is None and "ignored" in err


def test_config_priority_override(helper: Any) -> None:
    code = M + "  def f(x), do: IO.inspect(x)\n" + E
    params = {"Credo.Check.Warning.IoInspect": {"priority": "low"}}
    [f] = [f for f in check(helper, code, params=params) if f["rule"].endswith("IoInspect")]
    assert f["priority"] == -10 + 1 + 1


# ------------------------------------------------------------------------------ inference.check API


def test_check_api_shapes_and_severity(helper: Any) -> None:
    from elixir_coder_lsp.settings import Settings
    from elixir_coder_lsp.inference.check import analyze, check_quality, check_security, check_syntax

    code = M + "  def f(x) do\n    IO.inspect(x)\n    String.to_atom(x)\n  end\n" + E
    quality = check_quality(code, helper=helper, filename="lib/a.ex")
    assert quality.error is None and {f.source for f in quality.findings} == {"elixir-coder"}
    [io] = [f for f in quality.findings if f.rule.endswith("IoInspect")]
    assert (io.severity, io.priority, io.fixable, io.file) == ("warning", 12, True, "lib/a.ex")
    assert io.extra["fix"]["edits"]
    assert all(f.rule.startswith("Credo.") for f in quality.findings)
    security = check_security(code, helper=helper)
    assert all(f.rule.startswith("Sobelow.") for f in security.findings)
    settings = Settings()
    settings.checks.severity.credo_warning = 13
    settings.checks.sobelow = "off"
    both = analyze(code, helper=helper, settings=settings)
    [io2] = [f for f in both.findings if f.rule.endswith("IoInspect")]
    assert io2.severity == "information"
    assert not [f for f in both.findings if f.rule.startswith("Sobelow.")]
    assert check_syntax(code, helper=helper).findings == []
    bad = check_syntax("defmodule A do\n  def f(\n", helper=helper)
    assert bad.findings[0].rule == "Elixir.SyntaxError" and bad.findings[0].severity == "error"
    with_error = analyze("defmodule A do\n  def f(\n", helper=helper)
    assert with_error.syntax_error is not None and with_error.syntax_error.source == "elixir"
