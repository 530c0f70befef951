"""Deterministic autofixes: edit application, per-rule fixes verified by re-checking, fix_all,
and "disable for this line" edits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.inference.check import analyze
from elixir_coder_lsp.rules.autofix import EditError, apply_edits, fix_all
from elixir_coder_lsp.rules.suppress import disable_edit


def edit(l1: int, c1: int, l2: int, c2: int, text: str) -> dict[str, Any]:
    return {"line": l1, "column": c1, "end_line": l2, "end_column": c2, "text": text}


def test_apply_edits_basic_and_code_points() -> None:
    code = "héllo wörld\nsecond\n"
    assert apply_edits(code, [edit(1, 7, 1, 12, "there")]) == "héllo there\nsecond\n"
    assert apply_edits(code, [edit(1, 1, 2, 1, "")]) == "second\n"
    assert apply_edits(code, [edit(1, 1, 1, 1, "x"), edit(2, 7, 2, 7, "!")]) == "xhéllo wörld\nsecond!\n"
    # deleting through one past the last line of a file without final newline
    assert apply_edits("a\nb", [edit(2, 1, 3, 1, "")]) == "a\n"


def test_apply_edits_rejects_overlaps_and_bad_ranges() -> None:
    with pytest.raises(EditError):
        apply_edits("abcdef", [edit(1, 1, 1, 4, "x"), edit(1, 3, 1, 5, "y")])
    with pytest.raises(EditError):
        apply_edits("abc", [edit(1, 2, 1, 9, "")])
    with pytest.raises(EditError):
        apply_edits("abc", [edit(5, 1, 5, 1, "")])


M = "defmodule A do\n  @moduledoc false\n\n"
E = "end\n"

FIXES = [
    ("Warning.IoInspect", M + "  def f(x) do\n    IO.inspect(x, label: \"x\")\n    x\n  end\n" + E, None),
    ("Warning.IoInspect", M + "  def f(x) do\n    y = IO.inspect(x + 1)\n    y\n  end\n" + E, "y = x + 1"),
    ("Warning.IoInspect", M + "  def f(x) do\n    x\n    |> Enum.map(& &1)\n    |> IO.inspect()\n  end\n" + E, None),
    ("Warning.Dbg", M + "  def f(x), do: x |> Enum.sum() |> dbg()\n" + E, "x |> Enum.sum()\n"),
    ("Warning.Dbg", M + "  def f(x), do: dbg(x + 1)\n" + E, "do: x + 1"),
    ("Warning.IExPry", M + "  def f(x) do\n    IEx.pry()\n    x\n  end\n" + E, None),
    ("Readability.ModuleDoc", "defmodule A do\n  def f, do: 1\nend\n", "@moduledoc false"),
    ("Readability.LargeNumbers", M + "  @x 1234567.25\n" + E, "1_234_567.25"),
    ("Readability.TrailingWhiteSpace", M + "  @x 1\t \n" + E, "@x 1\n"),
    ("Readability.ParenthesesOnZeroArityDefs", M + "  def f() do\n    1\n  end\n" + E, "def f do"),
    ("Readability.RedundantBlankLines", M + "  @x 1\n\n\n\n  @y 2\n" + E, "@x 1\n\n\n  @y"),
    ("Readability.TrailingBlankLine", M + "end", None),
    ("Refactor.UnlessWithElse", M + "  def f(a) do\n    unless a do\n      1\n    else\n      2\n    end\n  end\n" + E,
     "if a do\n      2\n    else\n      1"),
    ("Refactor.NegatedConditionsWithElse", M + "  def f(a) do\n    if not a.ok do\n      1\n    else\n      2\n    end\n  end\n" + E,
     "if a.ok do\n      2\n    else\n      1"),
    ("Refactor.MapJoin", M + "  def f(a), do: a |> Enum.map(&to_string/1) |> Enum.join(\",\")\n" + E,
     'a |> Enum.map_join(",", &to_string/1)'),
    ("Refactor.MapJoin", M + "  def f(a), do: Enum.join(Enum.map(a, &to_string/1))\n" + E, 'Enum.map_join(a, "", &to_string/1)'),
    ("Refactor.MapJoin", M + "  def f(a), do: Enum.map(a, &to_string/1) |> Enum.join(\"-\")\n" + E,
     'Enum.map_join(a, "-", &to_string/1)'),
    ("Readability.ParenthesesInCondition", M + "  def f(a, b) do\n    unless (a and b), do: 2\n  end\n" + E,
     "unless a and b, do: 2"),
    ("Readability.SpaceAfterCommas", M + "  def f(a,b), do: {a,b}\n" + E, "def f(a, b)"),
    ("Refactor.FilterFilter", M + "  def f(a), do: a |> Enum.filter(&(&1.ok == true)) |> Enum.filter(& &1.public)\n" + E,
     "a |> Enum.filter(&((&1.ok == true) && &1.public))"),
    ("Refactor.FilterFilter", M + "  def f(a), do: Enum.filter(Enum.filter(a, &valid?/1), &String.valid?/1)\n" + E,
     "Enum.filter(a, &(valid?(&1) && String.valid?(&1)))"),
    ("Warning.UnsafeToAtom", M + "  def f(a), do: String.to_atom(a)\n" + E, "String.to_existing_atom(a)"),
]


def signature(f: Finding) -> tuple[str, str, str | None]:
    return (f.rule, f.message, f.trigger)


@pytest.mark.parametrize("rule,code,expect", FIXES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(FIXES)])
def test_fix_removes_its_finding_and_adds_none(helper: Any, rule: str, code: str, expect: str | None) -> None:
    rule_id = "Credo.Check." + rule
    before = analyze(code, helper=helper, enabled=[rule_id]).findings
    target = [f for f in before if f.rule == rule_id]
    assert target and target[0].fixable, before
    fixed = apply_edits(code, target[0].extra["fix"]["edits"])
    after = analyze(fixed, helper=helper, enabled=[rule_id]).findings
    assert not any(f.rule == "Elixir.SyntaxError" for f in after), fixed
    old, new = Counter(map(signature, before)), Counter(map(signature, after))
    assert new[signature(target[0])] < old[signature(target[0])]
    assert not (new - old), (fixed, new - old)
    if expect is not None:
        assert expect in fixed


def test_fix_all_on_probe_like_file(helper: Any) -> None:
    code = (
        "defmodule Probe do\n"
        "  def run(x) do\n"
        "    IO.inspect(x)\n"
        "    n = 100000   \n"
        "    unless x do\n      n\n    else\n      0\n    end\n"
        "  end\n"
        "end\n"
    )
    out = fix_all(code, helper=helper)
    assert sorted(out.fixed) == sorted(
        [
            "Credo.Check.Readability.ModuleDoc",
            "Credo.Check.Warning.IoInspect",
            "Credo.Check.Readability.LargeNumbers",
            "Credo.Check.Readability.TrailingWhiteSpace",
            "Credo.Check.Refactor.UnlessWithElse",
        ]
    )
    assert out.attempts == len(out.fixed)
    assert not [f for f in out.remaining if f.fixable]
    assert "n = 100_000\n" in out.code and "IO.inspect" not in out.code and "if x do" in out.code
    assert out.to_json()["code"] == out.code


def test_fix_all_rejects_fix_that_adds_a_finding(helper: Any) -> None:
    # unless !x ... else -> if !x ... else would add NegatedConditionsWithElse, so it is not kept
    code = M + "  def f(x) do\n    unless !x do\n      1\n    else\n      2\n    end\n  end\n" + E
    out = fix_all(code, helper=helper)
    assert out.code == code and out.fixed == [] and out.attempts >= 1
    assert {f.rule for f in out.remaining} >= {"Credo.Check.Refactor.UnlessWithElse"}


def test_fix_all_leaves_syntax_errors_alone(helper: Any) -> None:
    out = fix_all("defmodule A do\n  def f(\n", helper=helper)
    assert out.fixed == [] and out.remaining[0].rule == "Elixir.SyntaxError"


def test_fix_all_removes_every_redundant_blank_line(helper: Any) -> None:
    out = fix_all(M + "  @x 1\n\n\n\n  @y 2\n" + E, helper=helper)
    assert out.fixed == ["Credo.Check.Readability.RedundantBlankLines"] * 2
    assert "@x 1\n\n  @y 2" in out.code


def test_filter_filter_without_captures_has_no_fix(helper: Any) -> None:
    code = M + "  def f(a), do: a |> Enum.filter(fn x -> x end) |> Enum.filter(& &1)\n" + E
    [f] = [f for f in analyze(code, helper=helper).findings if f.rule.endswith("FilterFilter")]
    assert not f.fixable


def test_fix_all_rule_filter(helper: Any) -> None:
    code = M + "  @x 100000 \n" + E
    out = fix_all(code, helper=helper, rules=["Credo.Check.Readability.LargeNumbers"])
    assert out.fixed == ["Credo.Check.Readability.LargeNumbers"]
    assert [f.rule for f in out.remaining] == ["Credo.Check.Readability.TrailingWhiteSpace"]


def test_disable_edit_credo_silences_the_finding(helper: Any) -> None:
    code = M + "  def f(x) do\n    IO.inspect(x)\n  end\n" + E
    [f] = [f for f in analyze(code, helper=helper).findings if f.rule.endswith("IoInspect")]
    line, text = disable_edit(code, f)
    assert (line, text) == (5, "    # credo:disable-for-next-line Credo.Check.Warning.IoInspect\n")
    fixed = apply_edits(code, [edit(line, 1, line, 1, text)])
    assert not [g for g in analyze(fixed, helper=helper).findings if g.rule.endswith("IoInspect")]


def test_disable_edit_sobelow_goes_above_the_def() -> None:
    code = "defmodule A do\n  def f(x) do\n    y = 1\n    String.to_atom(x)\n  end\nend\n"
    f = Finding(rule="Sobelow.DOS.StringToAtom", source="elixir-coder", severity="information", message="m", line=4)
    assert disable_edit(code, f) == (2, '  # sobelow_skip ["DOS.StringToAtom"]\n')


def test_catalogue_autofix_flags_match_the_fixes() -> None:
    from elixir_coder_lsp.rules.credo_docs import RULES

    with_fix = {"Credo.Check." + rule for rule, _code, _expect in FIXES}
    assert with_fix == {r.id for r in RULES if r.autofix}
