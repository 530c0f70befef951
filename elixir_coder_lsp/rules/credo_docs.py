"""Catalogue entries for the built-in Credo-mirroring rules, written in our own words.

Priorities are Credo's base priorities (high 10, normal 0 or 1, low -10); a finding's priority adds
the priority of its scope, as Credo does. `autofix` says whether the built-in rule attaches a
deterministic fix to its findings.
"""

from __future__ import annotations

from elixir_coder_lsp.rules.rule import Rule

HIGH, NORMAL, LOW = 10, 0, -10
CREDO_DOCS = "https://hexdocs.pm/credo/overview.html"


def _r(
    rule_id: str,
    title: str,
    priority: int,
    what: str,
    why: str,
    how: str,
    bad: str,
    good: str,
    *,
    autofix: bool = False,
    enabled: bool = True,
) -> Rule:
    category = rule_id.split(".")[2].lower()
    return Rule(
        id=rule_id,
        tool="credo",
        category=category,
        title=title,
        priority=priority,
        autofix=autofix,
        what=what,
        why=why,
        how_to_fix=how,
        bad_example=bad,
        good_example=good,
        references=(f"https://hexdocs.pm/credo/{rule_id}.html", CREDO_DOCS),
        default_enabled=enabled,
    )


_W = "Credo.Check.Warning."
_R = "Credo.Check.Readability."
_F = "Credo.Check.Refactor."
_D = "Credo.Check.Design."

_UNUSED = {
    "Enum": ("Enum.map(users, &normalize/1)\nusers", "users = Enum.map(users, &normalize/1)\nusers"),
    "String": ('String.trim(name)\n"Hi #{name}"', 'name = String.trim(name)\n"Hi #{name}"'),
    "List": ("List.delete(items, nil)\nitems", "List.delete(items, nil)"),
    "Keyword": ("Keyword.put(opts, :timeout, 5_000)\nrun(opts)", "opts = Keyword.put(opts, :timeout, 5_000)\nrun(opts)"),
    "Map": ("Map.put(state, :ready, true)\nstate", "Map.put(state, :ready, true)"),
    "Tuple": ("Tuple.append(row, :done)\nrow", "Tuple.append(row, :done)"),
    "Path": ('Path.join(dir, "out.txt")\nFile.write!(dir, data)', 'path = Path.join(dir, "out.txt")\nFile.write!(path, data)'),
    "Regex": ('Regex.replace(~r/\\s+/, text, " ")\ntext', 'Regex.replace(~r/\\s+/, text, " ")'),
    "File": ("File.exists?(path)\nFile.rm!(path)", "if File.exists?(path), do: File.rm!(path)"),
}


def _unused(mod: str) -> Rule:
    bad, good = _UNUSED[mod]
    return _r(
        f"{_W}Unused{mod}Operation",
        f"Unused result of a `{mod}` call",
        HIGH,
        f"A `{mod}` function is called as a statement and its return value is thrown away.",
        "Elixir data is immutable: these functions return a new value instead of changing their "
        "argument, so a discarded result almost always means the code forgot to bind it and the "
        "old value is used afterwards.",
        "Bind the result to a variable (often the same name) or return it; delete the call if it "
        "really is not needed.",
        bad,
        good,
    )


RULES: list[Rule] = [
    # ------------------------------------------------------------------ Warning
    _r(
        f"{_W}IoInspect",
        "Leftover `IO.inspect`",
        HIGH,
        "A call to `IO.inspect` (plain or as a pipeline stage).",
        "`IO.inspect` is a debugging aid; left in production code it prints internal data, "
        "possibly secrets, to standard output and slows hot paths.",
        "Remove the call (it returns its argument, so the value can stay in place) or use `Logger` "
        "with an appropriate level when the output is wanted.",
        "totals\n|> Enum.sum()\n|> IO.inspect(label: \"sum\")",
        "totals\n|> Enum.sum()",
        autofix=True,
    ),
    _r(
        f"{_W}Dbg",
        "Leftover `dbg`",
        HIGH,
        "A call to `Kernel.dbg/0,1,2`.",
        "`dbg` prints code and values (and can pause an IEx session); it is meant for local "
        "debugging only and should never be committed.",
        "Delete the call; in a pipeline drop the `|> dbg()` stage.",
        "order\n|> Map.get(:lines)\n|> dbg()",
        "order\n|> Map.get(:lines)",
        autofix=True,
    ),
    _r(
        f"{_W}IExPry",
        "Leftover `IEx.pry`",
        HIGH,
        "A call to `IEx.pry/0`.",
        "A breakpoint left in code halts the process waiting for a shell that does not exist in "
        "production, or asks for permission in every IEx session.",
        "Delete the call (a now-unused `require IEx` can go too).",
        "def pay(order) do\n  IEx.pry()\n  charge(order)\nend",
        "def pay(order) do\n  charge(order)\nend",
        autofix=True,
    ),
    *[_unused(m) for m in ("Enum", "String", "List", "Keyword", "Map", "Tuple", "Path", "Regex", "File")],
    _r(
        f"{_W}ExpensiveEmptyEnumCheck",
        "Counting elements to test for emptiness",
        HIGH,
        "`length(list) == 0`, `Enum.count(enum) > 0` and similar comparisons with 0 or 1.",
        "`length/1` and `Enum.count/1` walk the whole collection just to learn whether it has any "
        "element at all; on long lists that is wasted work.",
        "Compare against `[]` for lists or use `Enum.empty?/1` (and `Enum.any?/2` instead of "
        "counting matches).",
        "if length(items) == 0, do: :none",
        "if items == [], do: :none",
    ),
    _r(
        f"{_W}OperationOnSameValues",
        "Operation with the same value on both sides",
        HIGH,
        "`x == x`, `x - x`, `x / x` and other comparisons or operations whose operands are the "
        "same variable or module attribute.",
        "The result is a constant (true, false, 0 or 1), so the expression is either dead code or "
        "a typo for another variable.",
        "Replace the expression by what was meant, usually a comparison with a different variable.",
        "def settled?(balance, expected), do: balance == balance",
        "def settled?(balance, expected), do: balance == expected",
    ),
    _r(
        f"{_W}BoolOperationOnSameValues",
        "Boolean operation with identical operands",
        HIGH,
        "`a and a`, `a || a` and the like.",
        "Combining a value with itself is the same as the value alone; this is usually a "
        "copy-and-paste mistake where the second operand should differ.",
        "Fix the second operand or drop the operator.",
        "valid? = user.active and user.active",
        "valid? = user.active and user.confirmed",
    ),
    _r(
        f"{_W}OperationWithConstantResult",
        "Multiplication with a constant result",
        HIGH,
        "An arithmetic operation whose result is always the same: `x * 0` (always 0) and `x * 1` (always x).",
        "The operation does nothing useful and hides what was intended.",
        "Write the constant or the variable directly, or fix the factor.",
        "total = price * 1",
        "total = price",
    ),
    _r(
        f"{_W}RaiseInsideRescue",
        "`raise` inside `rescue`",
        NORMAL,
        "A `raise` inside a `rescue` clause (of a `try` or of a function body).",
        "A fresh `raise` starts a new stacktrace, so the place where the original error happened is "
        "lost, which makes production failures much harder to diagnose.",
        "Use `reraise/2,3` with `__STACKTRACE__` to keep the original trace.",
        "def load(path) do\n  File.read!(path)\nrescue\n  e -> raise MyError, Exception.message(e)\nend",
        "def load(path) do\n  File.read!(path)\nrescue\n  e -> reraise MyError, [message: Exception.message(e)], __STACKTRACE__\nend",
    ),
    _r(
        f"{_W}ApplicationConfigInModuleAttribute",
        "Runtime configuration read at compile time",
        HIGH,
        "A module attribute whose value calls `Application.get_env/fetch_env/fetch_env!/get_all_env`.",
        "Module attributes are evaluated at compile time, so the value is frozen into the build and "
        "runtime configuration (releases, `config/runtime.exs`) is silently ignored.",
        "Use `Application.compile_env/3` when compile-time is intended, or read the value inside a "
        "function at runtime.",
        "@timeout Application.get_env(:shop, :timeout, 5_000)",
        "defp timeout, do: Application.get_env(:shop, :timeout, 5_000)",
    ),
    _r(
        f"{_W}UnsafeExec",
        "Shell command through `:os.cmd` or a `:spawn` port",
        HIGH,
        "Calls to `:os.cmd/1,2`, `:erlang.open_port({:spawn, cmd}, _)` and `Port.open({:spawn, cmd}, _)`.",
        "These run the command through a shell, so any user-controlled part of the string can "
        "inject extra commands.",
        "Use `System.cmd/2,3` (or a port with `:spawn_executable` and an argument list), which runs "
        "the program directly without a shell.",
        ':os.cmd(String.to_charlist("lp " <> path))',
        'System.cmd("lp", [path])',
    ),
    _r(
        f"{_W}UnsafeToAtom",
        "Creating atoms from runtime data",
        HIGH,
        "`String.to_atom/1`, `List.to_atom/1`, `:erlang.binary_to_atom/2` or `:erlang.list_to_atom/1` "
        "on a non-literal value. Disabled by default in Credo.",
        "Atoms are never garbage-collected; converting external input to atoms can exhaust the atom "
        "table and crash the whole VM.",
        "Use the `*_to_existing_atom` variants, or map known strings to atoms explicitly.",
        "String.to_atom(params[\"status\"])",
        "String.to_existing_atom(params[\"status\"])",
        autofix=True,
        enabled=False,
    ),
    # ------------------------------------------------------------------ Readability
    _r(
        f"{_R}ModuleDoc",
        "Module without `@moduledoc`",
        NORMAL,
        "A module (outside `.exs` files and well-known Phoenix module kinds such as controllers, "
        "views and routers) that has no `@moduledoc` attribute.",
        "The module documentation is the first thing readers and `h Module` show; an explicit "
        "`@moduledoc false` also marks a module as internal.",
        "Add a `@moduledoc` describing the module, or `@moduledoc false` for internal modules.",
        "defmodule Shop.Cart do\n  def new, do: %{}\nend",
        "defmodule Shop.Cart do\n  @moduledoc false\n  def new, do: %{}\nend",
        autofix=True,
    ),
    _r(
        f"{_R}ModuleNames",
        "Module name not in PascalCase",
        HIGH,
        "A `defmodule` whose name parts are not PascalCase.",
        "Every Elixir library names modules in PascalCase; other spellings look like typos.",
        "Rename the module using PascalCase.",
        "defmodule Shop.Cart_Items do\n  @moduledoc false\nend",
        "defmodule Shop.CartItems do\n  @moduledoc false\nend",
    ),
    _r(
        f"{_R}FunctionNames",
        "Function name not in snake_case",
        HIGH,
        "A function, macro or guard whose name is not snake_case (e.g. camelCase).",
        "snake_case is the universal Elixir convention; mixed styles make APIs harder to guess.",
        "Rename the function in snake_case (and its callers).",
        "def publishPost(post), do: post",
        "def publish_post(post), do: post",
    ),
    _r(
        f"{_R}PredicateFunctionNames",
        "Predicate named `is_...`",
        HIGH,
        "A `def`/`defp` whose name starts with `is_`.",
        "By convention `is_` prefixes are reserved for guard-safe macros; ordinary predicates end "
        "with a question mark instead.",
        "Drop the `is_` prefix and end the name with `?`.",
        "def is_active(user), do: user.active",
        "def active?(user), do: user.active",
    ),
    _r(
        f"{_R}VariableNames",
        "Variable name not in snake_case",
        HIGH,
        "A variable bound in a match, parameter or clause head whose name is not snake_case.",
        "Consistent naming makes code predictable; camelCase stands out as foreign in Elixir.",
        "Rename the variable in snake_case.",
        "userName = user.name",
        "user_name = user.name",
    ),
    _r(
        f"{_R}ModuleAttributeNames",
        "Module attribute name not in snake_case",
        HIGH,
        "A module attribute definition such as `@maxSize 10`.",
        "Attributes follow the same snake_case convention as functions and variables.",
        "Rename the attribute in snake_case.",
        "@maxRetries 3",
        "@max_retries 3",
    ),
    _r(
        f"{_R}LargeNumbers",
        "Large number without digit separators",
        HIGH,
        "An integer or float literal above 9999 whose integer part is not written in groups of three "
        "separated by underscores.",
        "`1_000_000` can be read at a glance; `1000000` invites off-by-a-zero mistakes.",
        "Insert underscores every three digits from the right (the fraction part is left alone).",
        "@radius 6371000",
        "@radius 6_371_000",
        autofix=True,
    ),
    _r(
        f"{_R}MaxLineLength",
        "Line too long",
        LOW,
        "A line longer than `max_length` (120) characters, not counting string, heredoc and sigil "
        "contents; function heads and lines containing something URL-like are skipped.",
        "Long lines force horizontal scrolling and hide code in side-by-side diffs.",
        "Break the expression over several lines (the formatter does most of this).",
        "def row(a, b, c), do: [a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a, b, c, a]",
        "def row(a, b, c) do\n  List.duplicate([a, b, c], 10) |> List.flatten()\nend",
    ),
    _r(
        f"{_R}TrailingWhiteSpace",
        "Trailing whitespace",
        LOW,
        "Spaces or tabs at the end of a line (outside strings and heredocs).",
        "Invisible trailing whitespace produces noisy diffs and merge conflicts.",
        "Delete it (most editors can do this on save; `mix format` does it too).",
        "total = a + b   ",
        "total = a + b",
        autofix=True,
    ),
    _r(
        f"{_R}ParenthesesOnZeroArityDefs",
        "Parentheses on a zero-arity definition",
        LOW,
        "`def name() do` — a definition without parameters written with empty parentheses.",
        "Credo's default style defines zero-arity functions without parentheses; mixing both styles "
        "is noise.",
        "Remove the empty parentheses from the definition (calls may keep them).",
        "def default_zone() do\n  \"A\"\nend",
        "def default_zone do\n  \"A\"\nend",
        autofix=True,
    ),
    _r(
        f"{_R}AliasOrder",
        "Aliases not in alphabetical order",
        LOW,
        "A group of consecutive `alias` lines (or the names inside `alias A.{...}`) that is not sorted.",
        "Sorted aliases are easy to scan and avoid duplicate entries and merge conflicts.",
        "Sort each group alphabetically.",
        "alias Billing.Refunds\nalias Billing.Invoices",
        "alias Billing.Invoices\nalias Billing.Refunds",
    ),
    _r(
        f"{_R}PreferImplicitTry",
        "Explicit `try` as the whole function body",
        LOW,
        "A function whose body is a single `try do ... end`.",
        "Function bodies accept `rescue`, `catch` and `after` directly; the extra `try` only adds "
        "nesting.",
        "Remove the `try do`/`end` and attach the `rescue` to the function.",
        "def load(p) do\n  try do\n    File.read!(p)\n  rescue\n    _ -> nil\n  end\nend",
        "def load(p) do\n  File.read!(p)\nrescue\n  _ -> nil\nend",
    ),
    _r(
        f"{_R}WithSingleClause",
        "`with` with a single clause and `else`",
        NORMAL,
        "A `with` that has exactly one `<-` clause and an `else` branch.",
        "With one clause, `case` says the same thing more directly.",
        "Rewrite it as a `case`.",
        "with {:ok, x} <- fetch(id) do\n  x\nelse\n  :error -> nil\nend",
        "case fetch(id) do\n  {:ok, x} -> x\n  :error -> nil\nend",
    ),
    _r(
        f"{_R}StringSigils",
        "Many escaped quotes in a string",
        LOW,
        "A string literal (passed as the first argument of a call or operator) containing more than "
        "three escaped double quotes.",
        "Backslash-escaped quotes are hard to read and easy to get wrong.",
        "Use a sigil with another delimiter, e.g. `~s(...)`.",
        '"<a href=\\"#{url}\\" class=\\"link\\">"',
        '~s(<a href="#{url}" class="link">)',
    ),
    _r(
        f"{_R}RedundantBlankLines",
        "Several blank lines in a row",
        LOW,
        "More than one consecutive blank line.",
        "Extra blank lines spread code out without adding structure.",
        "Keep a single blank line.",
        "a = 1\n\n\nb = 2",
        "a = 1\n\nb = 2",
        autofix=True,
    ),
    _r(
        f"{_R}TrailingBlankLine",
        "Missing final newline",
        LOW,
        "The file does not end with a newline.",
        "Tools that concatenate or diff files expect a final newline.",
        "Add a newline at the end of the file.",
        "defmodule Shop do\n  @moduledoc false\nend",
        "defmodule Shop do\n  @moduledoc false\nend\n",
        autofix=True,
    ),
    _r(
        f"{_R}Semicolons",
        "Statements separated by `;`",
        HIGH,
        "A semicolon used to put several expressions on one line.",
        "One expression per line is the Elixir convention and keeps diffs small.",
        "Put each expression on its own line.",
        "a = 1; b = 2",
        "a = 1\nb = 2",
    ),
    _r(
        f"{_R}ParenthesesInCondition",
        "Parenthesised `if`/`unless` condition",
        HIGH,
        "`if (cond) do` or `unless (cond), do:` where the parentheses wrap the whole condition.",
        "`if` and `unless` are macros, not statements; the extra parentheses are noise carried over "
        "from other languages.",
        "Remove the parentheses around the condition.",
        "if (count > 0) do\n  :some\nend",
        "if count > 0 do\n  :some\nend",
        autofix=True,
    ),
    _r(
        f"{_R}SpaceAfterCommas",
        "Missing space after a comma",
        NORMAL,
        "A comma directly followed by another character (outside strings, sigils and comments).",
        "Consistent spacing makes argument lists and data literals easier to scan.",
        "Insert a space after the comma (`mix format` does this).",
        "def f(a,b), do: [a,b]",
        "def f(a, b), do: [a, b]",
        autofix=True,
    ),
    _r(
        f"{_R}UnnecessaryAliasExpansion",
        "Multi-alias with a single name",
        LOW,
        "`alias Foo.{Bar}`: the brace expansion lists only one module.",
        "Braces suggest several modules; with one they are only noise.",
        "Write the alias without braces.",
        "alias Shop.{Cart}",
        "alias Shop.Cart",
    ),
    # ------------------------------------------------------------------ Refactor
    _r(
        f"{_F}Nesting",
        "Function body nested too deeply",
        NORMAL,
        "`if`/`unless`/`case`/`cond`/`fn` nested deeper than `max_nesting` (2) inside a function.",
        "Deeply nested branches are hard to follow and to test.",
        "Extract inner branches into private functions or use pattern-matching function clauses.",
        "if a do\n  case b do\n    :x -> if c, do: 1, else: 2\n  end\nend",
        "if a, do: classify(b, c)\n\ndefp classify(:x, c), do: if(c, do: 1, else: 2)",
    ),
    _r(
        f"{_F}CyclomaticComplexity",
        "Function too complex",
        NORMAL,
        "A function whose cyclomatic complexity (branches from if/unless/case/cond clauses, "
        "boolean operators, for, try) exceeds `max_complexity` (9).",
        "Each extra path needs its own test and makes the function harder to reason about.",
        "Split the function into smaller ones, each handling one decision.",
        "def price(o) do\n  cond do\n    ... twelve branches ...\n  end\nend",
        "def price(o), do: o |> base_price() |> apply_discounts()",
    ),
    _r(
        f"{_F}FunctionArity",
        "Function with too many parameters",
        NORMAL,
        "A function definition with more than `max_arity` (8) parameters.",
        "Long parameter lists are error-prone at call sites; related values usually belong together.",
        "Group related parameters into a map, struct or keyword list.",
        "def row(a, b, c, d, e, f, g, h, i), do: ...",
        "def row(%Row{} = row), do: ...",
    ),
    _r(
        f"{_F}CondStatements",
        "`cond` with a single real condition",
        NORMAL,
        "A `cond` whose only conditions are one test and a catch-all `true`.",
        "That is an `if`/`else` in disguise.",
        "Rewrite it as `if ... else ... end`.",
        "cond do\n  x > 0 -> :pos\n  true -> :other\nend",
        "if x > 0, do: :pos, else: :other",
    ),
    _r(
        f"{_F}NegatedConditionsWithElse",
        "Negated `if` condition with `else`",
        HIGH,
        "`if !x ... else ... end` or `if not x ... else ... end`.",
        "A negated condition followed by an else branch is a double negative; swapping the branches "
        "reads more naturally.",
        "Remove the negation and swap the `do` and `else` branches.",
        "if !parcel.fragile do\n  :conveyor\nelse\n  :hand_carry\nend",
        "if parcel.fragile do\n  :hand_carry\nelse\n  :conveyor\nend",
        autofix=True,
    ),
    _r(
        f"{_F}NegatedConditionsInUnless",
        "Negated condition in `unless`",
        HIGH,
        "`unless !x` or `unless not x`.",
        "`unless` already negates; negating again forces readers to untangle a double negative.",
        "Use `if` with the positive condition.",
        "unless !valid?, do: save(x)",
        "if valid?, do: save(x)",
    ),
    _r(
        f"{_F}UnlessWithElse",
        "`unless` with an `else` branch",
        HIGH,
        "An `unless ... else ... end` expression.",
        "Reading the else branch of an unless requires a double negation.",
        "Use `if` with the branches swapped.",
        "unless paid do\n  :hold\nelse\n  :ship\nend",
        "if paid do\n  :ship\nelse\n  :hold\nend",
        autofix=True,
    ),
    _r(
        f"{_F}MatchInCondition",
        "Pattern match in an `if`/`unless` condition",
        NORMAL,
        "A match such as `if {:ok, x} = fetch()` used as a condition (plain variable assignments "
        "are accepted).",
        "A failed match raises instead of taking the else branch, which is rarely what was meant.",
        "Use `case` (or `with`) to branch on the shape of the value.",
        "if {:ok, user} = fetch(id), do: user",
        "case fetch(id) do\n  {:ok, user} -> user\n  _ -> nil\nend",
    ),
    _r(
        f"{_F}FilterFilter",
        "Two consecutive `Enum.filter` calls",
        NORMAL,
        "`Enum.filter/2` piped into another `Enum.filter/2`.",
        "Each call walks the collection and builds an intermediate list; one filter with a "
        "combined condition does it once.",
        "Combine both conditions with `&&` in a single `Enum.filter/2` (the quick fix does this when "
        "both filters are one-argument captures).",
        "posts |> Enum.filter(& &1.published) |> Enum.filter(& &1.public)",
        "Enum.filter(posts, &(&1.published && &1.public))",
        autofix=True,
    ),
    _r(
        f"{_F}RejectReject",
        "Two consecutive `Enum.reject` calls",
        NORMAL,
        "`Enum.reject/2` piped into another `Enum.reject/2`.",
        "Two passes and an intermediate list where one pass would do.",
        "Combine both conditions with `||`/`or` in a single `Enum.reject/2`.",
        "xs |> Enum.reject(&is_nil/1) |> Enum.reject(&(&1 == \"\"))",
        "Enum.reject(xs, &(is_nil(&1) or &1 == \"\"))",
    ),
    _r(
        f"{_F}FilterCount",
        "`Enum.filter` followed by `Enum.count`",
        HIGH,
        "`Enum.filter/2` piped into `Enum.count/1`.",
        "The intermediate list is built only to be counted.",
        "Use `Enum.count/2` with the filter function.",
        "users |> Enum.filter(& &1.active) |> Enum.count()",
        "Enum.count(users, & &1.active)",
    ),
    _r(
        f"{_F}MapJoin",
        "`Enum.map` followed by `Enum.join`",
        HIGH,
        "`Enum.map/2` piped (or nested) into `Enum.join/1,2`.",
        "`Enum.map_join/3` does both in one pass without building the intermediate list.",
        "Use `Enum.map_join(enum, separator, mapper)`.",
        'tags |> Enum.map(&String.upcase/1) |> Enum.join(", ")',
        'Enum.map_join(tags, ", ", &String.upcase/1)',
        autofix=True,
    ),
    _r(
        f"{_F}WithClauses",
        "`with` not starting or ending with `<-`",
        HIGH,
        "A `with` whose first or last clause is a plain match (`=`) or expression instead of `<-`.",
        "Leading plain clauses belong before the `with`, trailing ones inside its body; mixing "
        "them in obscures which steps can fail.",
        "Move non-`<-` clauses out of the clause list.",
        "with key = {id, who},\n     {:ok, slot} <- fetch(id) do\n  book(key, slot)\nend",
        "key = {id, who}\n\nwith {:ok, slot} <- fetch(id) do\n  book(key, slot)\nend",
    ),
    # ------------------------------------------------------------------ Design
    _r(
        f"{_D}AliasUsage",
        "Deeply nested module called without an alias",
        LOW,
        "A call through a module name nested more than two levels deep (e.g. `Ecto.Adapters.SQL.query/3`) "
        "that is not aliased; common standard-library names are exempt. Credo's default configuration "
        "runs this check with low priority.",
        "Long module paths repeated in function bodies hide what the code does; an alias at the top "
        "also documents the module's dependencies.",
        "Add `alias Ecto.Adapters.SQL` at the top of the module and call `SQL.query/3`.",
        "def run(q), do: Ecto.Adapters.SQL.query(Repo, q, [])",
        "alias Ecto.Adapters.SQL\n\ndef run(q), do: SQL.query(Repo, q, [])",
    ),
    _r(
        f"{_D}TagTODO",
        "TODO comment",
        NORMAL,
        "A comment starting with `TODO` (any case, colon optional) followed by text, or a "
        "`@doc`/`@moduledoc` string starting with it.",
        "TODOs mark unfinished work; listing them keeps them from being forgotten.",
        "Do the work, or move it to the issue tracker and delete the comment.",
        "# TODO: handle timeouts",
        "# (timeouts are handled in Shop.Retry)",
    ),
    _r(
        f"{_D}TagFIXME",
        "FIXME comment",
        HIGH,
        "A comment starting with `FIXME` followed by text, or a doc string starting with it.",
        "FIXME marks known broken code, which deserves more attention than a TODO.",
        "Fix the problem, or track it in the issue tracker and delete the comment.",
        "# FIXME: double charge on retry",
        "# retries are idempotent (see Shop.Payments.charge/2)",
    ),
]
