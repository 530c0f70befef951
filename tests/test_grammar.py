"""The Elixir grammar: accepted/rejected snippets per construct, entry rules, and the grammar-check CLI."""

from __future__ import annotations

import json

import pytest

from elixir_coder_lsp.inference.constraints import ENTRY_RULES, check_text, grammar_rules, grammar_text

ACCEPT = {
    "module": "defmodule Foo.Bar do\n  @moduledoc false\n  use GenServer\n  alias Foo.{A, B}\nend\n",
    "def_guard_default": "def foo(a, b \\\\ 1) when is_integer(a) and a > 0 do\n  a + b\nend\n",
    "defp_do_kw": "defp bar(x), do: x * 2\n",
    "defmacro": "defmacro m(ast) do\n  quote do\n    unquote(ast)\n  end\nend\n",
    "fn": "f = fn\n  {:ok, x} -> x\n  _ -> nil\nend\n",
    "fn_one_line": "f = fn a, b -> a + b end\n",
    "capture": "g = &String.upcase/1\nh = &(&1 * 2)\nk = & &1.name\n",
    "case": "case x do\n  {:ok, v} when v > 1 -> v\n  _ ->\n    :error\nend\n",
    "cond": "cond do\n  x > 1 -> :big\n  true -> :small\nend\n",
    "with": "with {:ok, a} <- f(),\n     b = g(a) do\n  b\nelse\n  _ -> nil\nend\n",
    "for": "for x <- xs, x > 1, into: %{}, do: {x, x}\n",
    "if_else": "if a do\n  b\nelse\n  c\nend\n",
    "if_inline": "if a, do: b, else: c\n",
    "unless": "unless ok?, do: raise(ArgumentError, \"bad\")\n",
    "receive": "receive do\n  {:msg, m} -> m\nafter\n  1_000 -> :timeout\nend\n",
    "try": "try do\n  f()\nrescue\n  e in RuntimeError -> e\ncatch\n  :exit, _ -> :exit\nafter\n  :ok\nend\n",
    "pipes": "x\n|> Enum.map(&(&1 + 1))\n|> Enum.sum()\n",
    "operators": "a = b + c * d - e / f ** 2 <> g ++ h -- i\nz = a == b and c != d or not e\n",
    "match_ops": "x = a in b and c not in d && e || f\ny = a ||| b &&& c <<< 1 >>> 2\n",
    "no_parens": "IO.puts \"hi\"\nraise ArgumentError, \"bad\"\nfoo bar a, b\n",
    "map_struct": "m = %{\"a\" => 1, b: 2}\ns = %User{name: \"x\"}\nu = %{s | name: \"y\"}\n",
    "keyword_list": "opts = [a: 1, b: [c: :d], \"quoted key\": 2]\n",
    "tuple_list": "t = {1, [2, 3 | rest], {}}\n",
    "bitstring": "<<a::8, b::binary-size(4), rest::binary>> = bin\n",
    "attribute": "@default_limit 10\n@spec f(integer) :: integer\ndef f(x), do: x + @default_limit\n",
    "interpolation": "s = \"a #{b} c #{\"d #{e}\"} f\"\n",
    "heredoc": "@doc \"\"\"\nSome docs with #{x}.\n\"\"\"\n",
    "charlist": "c = 'abc'\nd = '''\nline\n'''\n",
    "sigils": "r = ~r/a\\/b/i\nw = ~w(a b c)a\ns = ~s{x}\nt = ~S|#{raw}|\nu = ~s<a #{b}>\n",
    "sigil_delims": "a = ~r\"x\"\nb = ~r'x'\nc = ~r[x]\nd = ~r|x|\ne = ~s(x)\nf = ~s<x>\ng = ~s{x}\nh = ~s/x/\n",
    "atoms": "a = [:foo, :\"quoted atom\", :foo?, :+, :\"Elixir.Foo\", :erlang]\n",
    "numbers": "n = [1, 1_000, 0x1F, 0b101, 0o17, 1.5, 1.0e-3, ?a, ?\\n]\n",
    "ranges": "r = 1..10\ns = 1..10//2\nt = a..b\n",
    "comments": "# a comment\nx = 1 # trailing\n\n# another\n",
    "access": "x = map[:key][:other]\ny = foo.bar[1]\n",
    "anon_call": "f.(1, 2)\n",
    "remote_erlang": ":erlang.term_to_binary(x)\n",
    "multiline_args": "foo(\n  a,\n  b\n)\n",
    "semicolons": "a = 1; b = 2\n",
    "typespec_fun": "@type f :: (integer -> integer)\n@spec g(keyword) :: [integer, ...]\n",
    "call_on_call": "unquote(name)(arg)\n",
    "empty_last_clause": "case x do\n  a -> 1\n  b ->\nend\n",
    "do_block_in_list": "x = [if a do 1 end, 2]\n",
    "do_block_in_last_np_arg": "foo 1, bar(1) do\n  2\nend\n",
    "do_block_inside_clause_head_brackets": "f = fn {a(1) do end} -> 1 end\n",
    # consecutive line ends are one lexeme; a comma or an opener takes the line ends after it
    "blank_lines": "a = 1\n\n\nb = 2\r\n\r\nc = 3\n",
    "blank_line_with_blanks": "a = 1\n  \n\n  b = 2\n",
    "comment_lines_between": "a = 1\n\n  # note\n\n  # more\nb = 2\n",
    "comma_newlines": "foo(a,\n\n  b)\nx = [1,\n 2,\n]\n",
    "opener_newlines": "x = [\n\n  1\n]\ny = {\n  1,\n  2\n}\nz = %{\n  a: 1\n}\nw = foo(\n\n  1\n)\nv = (\n  1\n)\n",
    "tuple_key_not_first": "t = {a, \"q\": 1, b: 2}\n",
    "map_update_bases": "a = %{state | n: 1}\nb = %{socket.assigns |\n  n: 1}\nc = %{f(x)\n  | n: 1, m: 2}\nd = %{@s | \"k\" => 1}\n",
    # forms kept where the grammar is stricter for the default item limit (README, "What the grammar does not accept")
    "line_start_pipes": "x\n|> f()\n  |> g()\ny = a\n  | b\n",
    "bitstring_glued_modifiers": "<<a::binary-size(4), _::_*8, b::size(2)-unit(8)>> = x\n",
    "macro_paren_first_arg": "if (a or b) and c do\n  x\nend\n",
    "macro_in_call_args": "f(for x <- xs do\n  x\nend)\ng(if c, do: a, else: b)\n",
    "range_glued": "x = 1..n//2\ny = a..b\n",
    "parens_macro_and_clauses": "x = (if a do b end)\n@spec f((a, b -> c)) :: e\n",
}

REJECT = {
    "unclosed_do": "def foo do\n  1\n",
    "paren_space": "foo (1, 2)\n",
    "kw_no_space": "[a:1]\n",
    "number_glued_word": "x = 1and 2\n",
    "end_glued": "if a do 1 endend\n",
    "nested_np_in_list": "[foo a, b]\n",
    "minus_call_in_list": "[x -1, 2]\n",
    "kw_not_last": "foo(a: 1, b)\n",
    "assoc_outside_map": "foo(a => b)\n",
    "bad_escape": "x = \"\\u12\"\n",
    "lone_step": "x = a // b\n",
    "unclosed_string": "x = \"abc\n",
    "double_capture": "x = &&1\n",
    "atom_glued": "x = foo:a\n",
    "triple_colon": "x = :::a\n",
    "trailing_comma_call": "foo(1, 2,)\n",
    "alias_bang": "x = Foo!=1\n",
    "empty_clause_not_last": "case x do\n  a ->\n  b -> c\nend\n",
    "do_block_postfix": "x = foo do 1 end.bar\n",
    "minus_call_more_args": "tas +[1], a: x\n",
    "prepend_char_before_quote": "x = 'a\u06dd'\n",
    "double_semicolon": "a;;b\n",
    # a do-block ends the call it is in: nothing may follow it in a clause head or a no-parens call
    "do_block_in_clause_head": "case x do\n  a(1) do end -> 1\nend\n",
    "do_block_in_fn_head": "f = fn x, a(1) do end -> 1 end\n",
    "do_block_in_guard": "case x do\n  y when y == f(1) do 2 end -> 1\nend\n",
    "do_block_in_clause_head_kw": "f = fn a: b(1) do end -> 1 end\n",
    "do_block_before_np_comma": "foo bar(1) do end, 2\n",
    "do_block_before_np_kw": "foo bar(1) do end, a: 2\n",
    # Elixir reads no quoted key right after `{` (found by the soundness sampling)
    "tuple_quoted_key_first": "t = {\"\": 1}\n",
    "tuple_quoted_key_first_nested": "t = {{\"a\": b}}\n",
    "tuple_key_first": "t = {a: 1}\n",
    # `|` binds tighter than `when`: `a when (b | c: 1)` (found by the constrained decoding benchmark)
    "map_update_after_when": "x = %{a when b | c: 1}\n",
    "map_update_after_type": "x = %{a :: b | c: 1}\n",
    # stricter than Elixir, for llguidance's default item limit (mix format writes none of these)
    "glued_binary_op": "x = a==b\n",
    "glued_minus": "x = a-1\n",
    "line_start_other_op": "x = a\n  == b\n",
    "np_call_in_call_args": "f(g x)\n",
    "np_call_in_parens": "x = (g x)\n",
    "paren_first_arg": "foo (1)\n",
    "glued_tuple_first_arg": "foo{1}\n",
    "capture_first_arg": "foo &bar/1\n",
    "do_call_in_parens": "x = (foo() do end)\n",
}


@pytest.mark.parametrize("name", sorted(ACCEPT))
def test_accepts(name: str) -> None:
    res = check_text(ACCEPT[name])
    assert res.accepted, f"{name}: rejected at {res.line}:{res.column}: {ACCEPT[name][res.char_offset:][:40]!r}"


@pytest.mark.parametrize("name", sorted(REJECT))
def test_rejects(name: str) -> None:
    assert not check_text(REJECT[name]).accepted, name


def test_accepted_snippets_parse_in_elixir(helper) -> None:
    # soundness on the hand-written table: everything accepted here parses with Code.string_to_quoted
    for name, code in ACCEPT.items():
        assert helper.parse(code).ok, name


def test_rejection_position() -> None:
    res = check_text("x = 1\ny = (2\n")
    assert not res.accepted
    assert res.line == 3 and res.message == "unexpected end of input"
    res = check_text("x = 1\nfoo (1, 2)\n")  # a parenthesised first argument only after a block macro
    assert (res.line, res.column) == (2, 5)


def test_entry_rules() -> None:
    assert set(ENTRY_RULES) <= set(grammar_rules())
    body = "x = 1\ny = x + 1\n"
    assert check_text(body, "expr_seq").accepted
    items = "@doc false\ndef f(x), do: x\n\ndefp g, do: 1\n"
    assert check_text(items, "module_body").accepted
    assert not check_text("1 + 2\n", "module_body").accepted
    assert grammar_text("expr_seq").count("start: expr_seq") == 1
    with pytest.raises(ValueError):
        grammar_text("no_such_rule")


def test_grammar_starts_with_llguidance_marker() -> None:
    assert grammar_text().startswith("%llguidance {}")


def test_grammar_check_cli(tmp_path, capsys) -> None:
    from elixir_coder_lsp.cli import main

    good = tmp_path / "good.ex"
    good.write_text(ACCEPT["module"])
    bad = tmp_path / "bad.ex"
    bad.write_text("x = 1\nfoo (1, 2)\n")
    assert main(["grammar-check", str(good), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"files": [{"path": str(good), "accepted": True}], "accepted": 1, "total": 1}
    assert main(["grammar-check", str(good), str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["accepted"] == 1 and out["total"] == 2
    row = out["files"][1]
    assert row == {"path": str(bad), "accepted": False, "line": 2, "column": 5, "offset": 10}
    assert main(["grammar-check", str(good), "--rule", "nope"]) == 2
