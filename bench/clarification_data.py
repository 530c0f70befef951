"""Build the clarification evaluation set (bench/data/clarification/items.json) from program templates.

Usage: python bench/clarification_data.py [--check]   (--check parses every program with the Elixir helper)

Each item is a prompt, a label (ask/proceed), the ambiguity type it is about, and ≥ 5 candidate
programs written the way a model answers such a prompt:

- ambiguous prompts (label ask): the candidates take different choices (tagged tuples vs raise, GenServer
  vs Agent vs ETS, map vs struct, HTTPoison vs Req…), split as a sampler would (3/2, 2/2/1, 3/1/1, some 4/1);
  some prompts are incomplete, some inconsistent;
- clear prompts (label proceed): the candidates make the one specified choice and differ only in
  naming, layout and equivalent constructs (case vs with vs clauses, pipes vs nested calls, Enum vs
  comprehensions vs recursion, extra logging or @spec); in about a third of them one sample of five
  strays from the spec anyway (another choice, or an extra raising input check), as samplers do;
- traps (label proceed, kind "trap"): fully specified prompts full of words that sound ambiguous
  ("handle errors", "concurrently", "store", "external API"), where the spec or OTP convention settles it.

Everything is composed from the templates below with a fixed seed, so the file is reproducible. The
split (tune / test) halves each (kind, type) group at random.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "clarification" / "items.json"

ENTITIES = [
    ("user", "users", "User", "name", "email"),
    ("order", "orders", "Order", "total", "status"),
    ("product", "products", "Product", "title", "price"),
    ("invoice", "invoices", "Invoice", "amount", "due_date"),
    ("ticket", "tickets", "Ticket", "subject", "priority"),
    ("book", "books", "Book", "title", "author"),
    ("account", "accounts", "Account", "owner", "balance"),
    ("device", "devices", "Device", "serial", "model"),
    ("article", "articles", "Article", "title", "body"),
    ("customer", "customers", "Customer", "name", "phone"),
    ("shipment", "shipments", "Shipment", "carrier", "weight"),
    ("payment", "payments", "Payment", "amount", "currency"),
    ("employee", "employees", "Employee", "name", "role"),
    ("course", "courses", "Course", "title", "credits"),
    ("room", "rooms", "Room", "number", "capacity"),
    ("event", "events", "Event", "name", "starts_at"),
]
APPS = ["Shop", "Billing", "Library", "Helpdesk", "Bank", "Fleet", "Blog", "Crm", "Staff", "Campus", "Hotel",
        "Agenda", "Freight", "Stock", "Ledger", "Portal"]


@dataclass
class Ctx:
    """Names for one item, and the random source for its style choices."""

    app: str
    ent: str
    ents: str
    Ent: str
    f1: str
    f2: str
    rng: random.Random

    @property
    def mod(self) -> str:
        return f"{self.app}.{self.Ent}s"

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def fill(template: str, **names: str) -> str:
    """Replace <<name>> placeholders (Elixir braces stay as they are)."""
    for key, value in names.items():
        template = template.replace(f"<<{key}>>", value)
    assert "<<" not in template, template
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", template)


def module(c: Ctx, name: str, body: str, *, doc: str | None = None, top: list[str] | None = None) -> str:
    """A module with an optional @moduledoc, lines at its top (use/alias/require) and a body."""
    lines = [f"defmodule {name} do"]
    if doc and c.chance(0.6):
        lines.append(f'  @moduledoc "{doc}"')
        lines.append("")
    for t in top or []:
        lines.append(f"  {t}")
    if top:
        lines.append("")
    lines.extend("  " + line if line else "" for line in body.strip("\n").split("\n"))
    lines.append("end")
    return "\n".join(lines) + "\n"


def maybe_doc(c: Ctx, text: str) -> str:
    return f'@doc "{text}"\n' if c.chance(0.5) else ""


def maybe_log(c: Ctx, what: str) -> tuple[str, list[str]]:
    """A Logger line (and the require) in some samples: logging is style, not behaviour."""
    if c.chance(0.25):
        return f'Logger.debug("{what}")\n  ', ["require Logger"]
    return "", []


# =============================================================================================
# Error handling: how a lookup/parse/read reports failure
# =============================================================================================


def err_lookup(choice: str, c: Ctx, bang_name: bool = False) -> str:
    """fetch_<ent>(map, id) with tuple / raise / nil on a missing id."""
    m = c.pick(c.ents, "by_id", "store", "index")
    k = c.pick("id", "key", f"{c.ent}_id")
    fn = f"fetch_{c.ent}" + ("!" if bang_name else "")
    log, top = maybe_log(c, f"looking up {c.ent}")
    s = c.rng.randrange(3)
    if choice == "tuple":
        body = [
            f"def {fn}({m}, {k}) do\n  {log}case Map.fetch({m}, {k}) do\n    {{:ok, {c.ent}}} -> {{:ok, {c.ent}}}\n    :error -> {{:error, :not_found}}\n  end\nend",
            f"def {fn}({m}, {k}) do\n  {log}with {{:ok, {c.ent}}} <- Map.fetch({m}, {k}) do\n    {{:ok, {c.ent}}}\n  else\n    :error -> {{:error, :not_found}}\n  end\nend",
            f"def {fn}({m}, {k}) when is_map_key({m}, {k}), do: {{:ok, {m}[{k}]}}\ndef {fn}(_{m}, _{k}), do: {{:error, :not_found}}",
            f"def {fn}({m}, {k}) do\n  {log}Map.fetch({m}, {k})\nend",
        ][s if c.rng.random() < 0.8 else 3]
    elif choice == "raise":
        body = [
            f"def {fn}({m}, {k}) do\n  {log}Map.fetch!({m}, {k})\nend",
            f"def {fn}({m}, {k}) do\n  {log}case Map.fetch({m}, {k}) do\n    {{:ok, {c.ent}}} -> {c.ent}\n    :error -> raise KeyError, key: {k}, term: {m}\n  end\nend",
            f"def {fn}({m}, {k}) do\n  {m}\n  |> Map.get({k})\n  |> case do\n    nil -> raise ArgumentError, \"no {c.ent} with id #{{inspect({k})}}\"\n    {c.ent} -> {c.ent}\n  end\nend",
        ][s]
    else:  # nil
        body = [
            f"def {fn}({m}, {k}) do\n  {log}Map.get({m}, {k})\nend",
            f"def {fn}({m}, {k}), do: {m}[{k}]\n" if not log else f"def {fn}({m}, {k}) do\n  {log}{m}[{k}]\nend",
            f"def {fn}({m}, {k}) do\n  case Map.fetch({m}, {k}) do\n    {{:ok, {c.ent}}} -> {c.ent}\n    :error -> nil\n  end\nend",
        ][s]
    if s == 1 and choice == "nil" and not log:
        body = f"def {fn}({m}, {k}) do\n  case Map.fetch({m}, {k}) do\n    {{:ok, found}} -> found\n    :error -> nil\n  end\nend"
    return module(c, c.mod, maybe_doc(c, f"Looks up a {c.ent} by id.") + body, doc=f"{c.Ent} lookups.", top=top)


def err_parse(choice: str, c: Ctx) -> str:
    """parse_<f>(string) -> integer, with tuple / raise / nil on bad input."""
    fn = f"parse_{c.f2}"
    v = c.pick("input", "string", "text", "raw")
    s = c.rng.randrange(3)
    if choice == "tuple":
        body = [
            f"def {fn}({v}) do\n  case Integer.parse(String.trim({v})) do\n    {{n, \"\"}} -> {{:ok, n}}\n    _ -> {{:error, :invalid_{c.f2}}}\n  end\nend",
            f"def {fn}({v}) when is_binary({v}) do\n  {v}\n  |> String.trim()\n  |> Integer.parse()\n  |> case do\n    {{n, \"\"}} -> {{:ok, n}}\n    _other -> {{:error, :invalid_{c.f2}}}\n  end\nend\n\ndef {fn}(_), do: {{:error, :invalid_{c.f2}}}",
            f"def {fn}({v}) do\n  try do\n    {{:ok, String.to_integer(String.trim({v}))}}\n  rescue\n    ArgumentError -> {{:error, :invalid_{c.f2}}}\n  end\nend",
        ][s]
    elif choice == "raise":
        body = [
            f"def {fn}({v}) do\n  {v} |> String.trim() |> String.to_integer()\nend",
            f"def {fn}({v}) do\n  case Integer.parse(String.trim({v})) do\n    {{n, \"\"}} -> n\n    _ -> raise ArgumentError, \"invalid {c.f2}: #{{inspect({v})}}\"\n  end\nend",
            f"def {fn}({v}) when is_binary({v}) do\n  {{n, \"\"}} = Integer.parse(String.trim({v}))\n  n\nrescue\n  MatchError -> raise ArgumentError, \"invalid {c.f2}\"\nend",
        ][s]
    else:
        body = [
            f"def {fn}({v}) do\n  case Integer.parse(String.trim({v})) do\n    {{n, \"\"}} -> n\n    _ -> nil\n  end\nend",
            f"def {fn}({v}) when is_binary({v}) do\n  with {{n, \"\"}} <- Integer.parse(String.trim({v})) do\n    n\n  else\n    _ -> nil\n  end\nend",
            f"def {fn}({v}) do\n  {v}\n  |> String.trim()\n  |> Integer.parse()\n  |> case do\n    {{n, \"\"}} -> n\n    _ -> nil\n  end\nend",
        ][s]
    return module(c, f"{c.app}.{c.Ent}Parser", maybe_doc(c, f"Parses a {c.f2}.") + body, doc=f"Parsing {c.ent} input.")


def err_read(choice: str, c: Ctx) -> str:
    """read_<ent>_file(path) with tuple / raise / nil."""
    fn = f"read_{c.ent}_file"
    p = c.pick("path", "file", "filename")
    s = c.rng.randrange(3)
    if choice == "tuple":
        body = [
            f"def {fn}({p}) do\n  File.read({p})\nend",
            f"def {fn}({p}) do\n  case File.read({p}) do\n    {{:ok, contents}} -> {{:ok, String.trim(contents)}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend",
            f"def {fn}({p}) do\n  with {{:ok, data}} <- File.read({p}) do\n    {{:ok, data}}\n  end\nend",
        ][s]
    elif choice == "raise":
        body = [
            f"def {fn}({p}) do\n  File.read!({p})\nend",
            f"def {fn}({p}) do\n  {p} |> File.read!() |> String.trim()\nend",
            f"def {fn}({p}) do\n  case File.read({p}) do\n    {{:ok, contents}} -> contents\n    {{:error, reason}} -> raise File.Error, reason: reason, action: \"read file\", path: {p}\n  end\nend",
        ][s]
    else:
        body = [
            f"def {fn}({p}) do\n  case File.read({p}) do\n    {{:ok, contents}} -> contents\n    {{:error, _reason}} -> nil\n  end\nend",
            f"def {fn}({p}) do\n  if File.exists?({p}) do\n    File.read!({p})\n  else\n    nil\n  end\nend",
            f"def {fn}({p}) do\n  with {{:ok, body}} <- File.read({p}) do\n    body\n  else\n    _ -> nil\n  end\nend",
        ][s]
    if choice == "nil" and s == 1:  # the `if` form raises on a race; keep the nil-returning form honest
        body = f"def {fn}({p}) do\n  case File.read({p}) do\n    {{:ok, text}} -> text\n    _ -> nil\n  end\nend"
    return module(c, f"{c.app}.{c.Ent}Files", maybe_doc(c, "Reads the file.") + body, doc=f"{c.Ent} files.")


def err_average(choice: str, c: Ctx) -> str:
    """average_<f>(items) with tuple / raise / nil for an empty list."""
    fn = f"average_{c.f2}"
    xs = c.pick(c.ents, "items", "list", "entries")
    s = c.rng.randrange(2)
    mean = [f"Enum.sum(Enum.map({xs}, & &1.{c.f2})) / length({xs})",
            f"{xs} |> Enum.map(& &1.{c.f2}) |> Enum.sum() |> Kernel./(length({xs}))"][c.rng.randrange(2)]
    if choice == "tuple":
        body = [f"def {fn}([]), do: {{:error, :empty}}\ndef {fn}({xs}), do: {{:ok, {mean}}}",
                f"def {fn}({xs}) do\n  if {xs} == [] do\n    {{:error, :empty}}\n  else\n    {{:ok, {mean}}}\n  end\nend"][s]
    elif choice == "raise":
        body = [f"def {fn}([]), do: raise(ArgumentError, \"cannot average an empty list\")\ndef {fn}({xs}), do: {mean}",
                f"def {fn}({xs}) do\n  if {xs} == [], do: raise(ArgumentError, \"empty list\")\n  {mean}\nend"][s]
    else:
        body = [f"def {fn}([]), do: nil\ndef {fn}({xs}), do: {mean}",
                f"def {fn}({xs}) do\n  case {xs} do\n    [] -> nil\n    _ -> {mean}\n  end\nend"][s]
    return module(c, f"{c.app}.{c.Ent}Stats", maybe_doc(c, f"Average {c.f2}.") + body, doc=f"{c.Ent} statistics.")


def err_validate(choice: str, c: Ctx) -> str:
    """validate_<ent>(params) requiring two keys, with tuple / raise."""
    fn = f"validate_{c.ent}"
    ps = c.pick("params", "attrs", "input")
    s = c.rng.randrange(2)
    req = f'~w({c.f1} {c.f2})'
    if choice == "tuple":
        body = [
            f"@required {req}\n\ndef {fn}({ps}) do\n  case Enum.reject(@required, &Map.has_key?({ps}, &1)) do\n    [] -> {{:ok, {ps}}}\n    missing -> {{:error, {{:missing, missing}}}}\n  end\nend",
            f"def {fn}({ps}) do\n  missing = for key <- {req}, not Map.has_key?({ps}, key), do: key\n  if missing == [], do: {{:ok, {ps}}}, else: {{:error, {{:missing, missing}}}}\nend",
        ][s]
    elif choice == "raise":
        body = [
            f"@required {req}\n\ndef {fn}({ps}) do\n  Enum.each(@required, fn key ->\n    unless Map.has_key?({ps}, key), do: raise(ArgumentError, \"missing #{{key}}\")\n  end)\n\n  {ps}\nend",
            f"def {fn}({ps}) do\n  missing = for key <- {req}, not Map.has_key?({ps}, key), do: key\n  if missing != [], do: raise(ArgumentError, \"missing: #{{Enum.join(missing, \", \")}}\")\n  {ps}\nend",
        ][s]
    else:
        body = f"def {fn}({ps}) do\n  if Enum.all?({req}, &Map.has_key?({ps}, &1)), do: {ps}, else: nil\nend"
    return module(c, f"{c.app}.{c.Ent}Validator", maybe_doc(c, "Validates params.") + body, doc=f"{c.Ent} validation.")


# =============================================================================================
# Concurrency: the process model behind a store, a counter, a parallel map, a periodic job
# =============================================================================================


def conc_store(choice: str, c: Ctx) -> str:
    """A <Ent>Store with put/2 and get/1 shared between processes."""
    name = f"{c.app}.{c.Ent}Store"
    k, v = c.pick("id", "key"), c.pick(c.ent, "value", "item")
    s = c.rng.randrange(2)
    if choice == "genserver":
        start = ["def start_link(_opts), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)",
                 "def start_link(opts) do\n  GenServer.start_link(__MODULE__, %{}, name: Keyword.get(opts, :name, __MODULE__))\nend"][s]
        body = (f"{start}\n\ndef put({k}, {v}), do: GenServer.cast(__MODULE__, {{:put, {k}, {v}}})\n"
                f"def get({k}), do: GenServer.call(__MODULE__, {{:get, {k}}})\n\n"
                f"@impl true\ndef init(state), do: {{:ok, state}}\n\n"
                f"@impl true\ndef handle_cast({{:put, {k}, {v}}}, state), do: {{:noreply, Map.put(state, {k}, {v})}}\n\n"
                f"@impl true\ndef handle_call({{:get, {k}}}, _from, state), do: {{:reply, Map.get(state, {k}), state}}")
        return module(c, name, body, doc=f"In-memory {c.ent} store.", top=["use GenServer"])
    if choice == "agent":
        start = ["def start_link(_opts), do: Agent.start_link(fn -> %{} end, name: __MODULE__)",
                 "def start_link(initial \\\\ %{}) do\n  Agent.start_link(fn -> initial end, name: __MODULE__)\nend"][s]
        body = (f"{start}\n\ndef put({k}, {v}), do: Agent.update(__MODULE__, &Map.put(&1, {k}, {v}))\n\n"
                f"def get({k}) do\n  Agent.get(__MODULE__, fn state -> Map.get(state, {k}) end)\nend")
        return module(c, name, body, doc=f"In-memory {c.ent} store.", top=["use Agent"] if s else [])
    # ets
    tab = c.pick(":" + c.ents, "@table", "__MODULE__")
    pre = "@table :" + c.ents + "\n\n" if tab == "@table" else ""
    if c.chance(0.25):  # a GenServer that only owns the table; reads and writes go straight to ETS
        body = (f"{pre}def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)\n\n"
                f"@impl true\ndef init(nil) do\n  :ets.new({tab}, [:set, :public, :named_table, read_concurrency: true])\n  {{:ok, nil}}\nend\n\n"
                f"def put({k}, {v}), do: :ets.insert({tab}, {{{k}, {v}}})\n\n"
                f"def get({k}) do\n  case :ets.lookup({tab}, {k}) do\n    [{{^{k}, {v}}}] -> {v}\n    [] -> nil\n  end\nend")
        return module(c, name, body, doc=f"In-memory {c.ent} store.", top=["use GenServer"])
    body = (f"{pre}def init do\n  :ets.new({tab}, [:set, :public, :named_table, read_concurrency: true])\nend\n\n"
            f"def put({k}, {v}), do: :ets.insert({tab}, {{{k}, {v}}})\n\n"
            f"def get({k}) do\n  case :ets.lookup({tab}, {k}) do\n    [{{^{k}, {v}}}] -> {v}\n    [] -> nil\n  end\nend")
    return module(c, name, body, doc=f"In-memory {c.ent} store.")


def conc_counter(choice: str, c: Ctx) -> str:
    """A counter of <ent> views: increment/1 and count/1 across processes."""
    name = f"{c.app}.{c.Ent}Views"
    k = c.pick("id", f"{c.ent}_id", "key")
    if choice == "genserver":
        if c.chance(0.7):  # increments as casts
            inc = (f"def increment({k}), do: GenServer.cast(__MODULE__, {{:increment, {k}}})\n",
                   f"@impl true\ndef handle_cast({{:increment, {k}}}, counts) do\n  {{:noreply, Map.update(counts, {k}, 1, &(&1 + 1))}}\nend\n\n")
        else:  # or synchronous calls
            inc = (f"def increment({k}), do: GenServer.call(__MODULE__, {{:increment, {k}}})\n",
                   f"@impl true\ndef handle_call({{:increment, {k}}}, _from, counts) do\n  {{:reply, :ok, Map.update(counts, {k}, 1, &(&1 + 1))}}\nend\n\n")
        body = (f"def start_link(_), do: GenServer.start_link(__MODULE__, %{{}}, name: __MODULE__)\n\n"
                + inc[0]
                + f"def count({k}), do: GenServer.call(__MODULE__, {{:count, {k}}})\n\n"
                f"@impl true\ndef init(counts), do: {{:ok, counts}}\n\n"
                + inc[1]
                + f"@impl true\ndef handle_call({{:count, {k}}}, _from, counts), do: {{:reply, Map.get(counts, {k}, 0), counts}}")
        return module(c, name, body, doc="View counters.", top=["use GenServer"])
    if choice == "agent":
        body = (f"def start_link(_), do: Agent.start_link(fn -> %{{}} end, name: __MODULE__)\n\n"
                f"def increment({k}) do\n  Agent.update(__MODULE__, fn counts -> Map.update(counts, {k}, 1, &(&1 + 1)) end)\nend\n\n"
                f"def count({k}), do: Agent.get(__MODULE__, &Map.get(&1, {k}, 0))")
        return module(c, name, body, doc="View counters.", top=["use Agent"] if c.chance(0.5) else [])
    body = (f"@table :{c.ent}_views\n\ndef setup, do: :ets.new(@table, [:named_table, :public, write_concurrency: true])\n\n"
            f"def increment({k}), do: :ets.update_counter(@table, {k}, 1, {{{k}, 0}})\n\n"
            f"def count({k}) do\n  case :ets.lookup(@table, {k}) do\n    [{{_, n}}] -> n\n    [] -> 0\n  end\nend")
    return module(c, name, body, doc="View counters.")


def conc_parallel(choice: str, c: Ctx) -> str:
    """enrich_all(<ents>) calling enrich/1 on each item in parallel."""
    name = f"{c.app}.{c.Ent}Enricher"
    xs = c.pick(c.ents, "items", "batch")
    helper = f"defp enrich({c.ent}), do: Map.put({c.ent}, :enriched_at, System.system_time(:second))"
    if choice == "task":
        s = c.rng.randrange(2)
        body = [f"def enrich_all({xs}) do\n  {xs}\n  |> Task.async_stream(&enrich/1, max_concurrency: 8)\n  |> Enum.map(fn {{:ok, r}} -> r end)\nend",
                f"def enrich_all({xs}) do\n  {xs}\n  |> Enum.map(&Task.async(fn -> enrich(&1) end))\n  |> Task.await_many(10_000)\nend"][s]
    elif choice == "process":
        body = (f"def enrich_all({xs}) do\n  parent = self()\n\n  pids =\n    Enum.map({xs}, fn x ->\n      spawn(fn -> send(parent, {{self(), enrich(x)}}) end)\n    end)\n\n"
                f"  Enum.map(pids, fn pid ->\n    receive do\n      {{^pid, result}} -> result\n    end\n  end)\nend")
    else:  # a supervised pool: GenServer workers
        body = (f"def enrich_all({xs}) do\n  {{:ok, pid}} = GenServer.start_link(__MODULE__, :ok)\n  Enum.map({xs}, &GenServer.call(pid, {{:enrich, &1}}))\nend\n\n"
                f"@impl true\ndef init(:ok), do: {{:ok, nil}}\n\n@impl true\ndef handle_call({{:enrich, x}}, _from, state), do: {{:reply, enrich(x), state}}")
        return module(c, name, body + "\n\n" + helper, doc="Enrichment.", top=["use GenServer"])
    return module(c, name, body + "\n\n" + helper, doc="Enrichment.")


def conc_refresh(choice: str, c: Ctx) -> str:
    """A job that refreshes <ent> data every minute."""
    name = f"{c.app}.{c.Ent}Refresher"
    iv = c.pick("60_000", ":timer.minutes(1)")
    work = f"defp refresh, do: {c.app}.{c.Ent}s.reload()"
    if choice == "genserver":
        body = (f"@interval {iv}\n\ndef start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)\n\n"
                f"@impl true\ndef init(state) do\n  schedule()\n  {{:ok, state}}\nend\n\n"
                f"@impl true\ndef handle_info(:refresh, state) do\n  refresh()\n  schedule()\n  {{:noreply, state}}\nend\n\n"
                f"defp schedule, do: Process.send_after(self(), :refresh, @interval)\n\n{work}")
        return module(c, name, body, doc="Periodic refresh.", top=["use GenServer"])
    if choice == "task":
        body = (f"def start_link(_arg), do: Task.start_link(&loop/0)\n\n"
                f"defp loop do\n  refresh()\n  Process.sleep({iv})\n  loop()\nend\n\n{work}")
        return module(c, name, body, doc="Periodic refresh.", top=["use Task"] if c.chance(0.5) else [])
    body = (f"def start do\n  spawn(fn -> loop() end)\nend\n\ndefp loop do\n  refresh()\n\n  receive do\n    :stop -> :ok\n  after\n    {iv} -> loop()\n  end\nend\n\n{work}")
    return module(c, name, body, doc="Periodic refresh.")


def conc_limiter(choice: str, c: Ctx) -> str:
    """allow?(key) rate limiter: N hits per minute."""
    name = f"{c.app}.{c.Ent}RateLimiter"
    lim = c.pick("10", "100", "@limit")
    pre = "@limit 100\n\n" if lim == "@limit" else ""
    if choice == "genserver":
        body = (f"{pre}def start_link(_), do: GenServer.start_link(__MODULE__, %{{}}, name: __MODULE__)\n\n"
                f"def allow?(key), do: GenServer.call(__MODULE__, {{:hit, key}})\n\n"
                f"@impl true\ndef init(hits), do: {{:ok, hits}}\n\n"
                f"@impl true\ndef handle_call({{:hit, key}}, _from, hits) do\n  n = Map.get(hits, key, 0) + 1\n  {{:reply, n <= {lim}, Map.put(hits, key, n)}}\nend")
        return module(c, name, body, doc="Rate limiting.", top=["use GenServer"])
    body = (f"{pre}@table :{c.ent}_hits\n\ndef setup, do: :ets.new(@table, [:named_table, :public])\n\n"
            f"def allow?(key) do\n  :ets.update_counter(@table, key, 1, {{key, 0}}) <= {lim}\nend")
    return module(c, name, body, doc="Rate limiting.")


# =============================================================================================
# Data structures: the shape of a record, a set of options, a collection
# =============================================================================================


def data_record(choice: str, c: Ctx) -> str:
    """new_<ent>(a, b) building a record."""
    a, b = c.f1, c.f2
    fn = f"new_{c.ent}"
    if choice == "struct":
        s = c.rng.randrange(2)
        body = [f"defstruct [:{a}, :{b}]\n\ndef {fn}({a}, {b}), do: %__MODULE__{{{a}: {a}, {b}: {b}}}",
                f"@enforce_keys [:{a}]\ndefstruct [:{a}, {b}: nil]\n\n@type t :: %__MODULE__{{}}\n\ndef {fn}({a}, {b}) do\n  %__MODULE__{{{a}: {a}, {b}: {b}}}\nend",
                f"defstruct [:{a}, :{b}]\n\ndef {fn}({a}, {b}), do: struct!(__MODULE__, {a}: {a}, {b}: {b})"][s if c.chance(0.75) else 2]
    elif choice == "map":
        s = c.rng.randrange(2)
        body = [f"def {fn}({a}, {b}), do: %{{{a}: {a}, {b}: {b}}}",
                f"def {fn}({a}, {b}) do\n  Map.new([{{:{a}, {a}}}, {{:{b}, {b}}}])\nend"][s]
    else:
        body = f"def {fn}({a}, {b}) do\n  [{a}: {a}, {b}: {b}]\nend"
    return module(c, f"{c.app}.{c.Ent}", maybe_doc(c, f"Builds a {c.ent}.") + body, doc=f"A {c.ent}.")


def data_options(choice: str, c: Ctx) -> str:
    """export_options/0 and merge with overrides."""
    fn = "export_options"
    if choice == "map":
        s = c.rng.randrange(2)
        body = [f"def {fn}(overrides \\\\ %{{}}) do\n  Map.merge(%{{format: :csv, header: true, separator: \",\"}}, overrides)\nend",
                f"@defaults %{{format: :csv, header: true, separator: \",\"}}\n\ndef {fn}(overrides \\\\ %{{}}), do: Map.merge(@defaults, overrides)"][s]
    else:
        s = c.rng.randrange(2)
        body = [f"def {fn}(overrides \\\\ []) do\n  Keyword.merge([format: :csv, header: true, separator: \",\"], overrides)\nend",
                f"@defaults [format: :csv, header: true, separator: \",\"]\n\ndef {fn}(overrides \\\\ []), do: Keyword.merge(@defaults, overrides)"][s]
    return module(c, f"{c.app}.{c.Ent}Export", maybe_doc(c, "Export options.") + body, doc=f"{c.Ent} export.")


def data_tags(choice: str, c: Ctx) -> str:
    """add_tag/2 and tagged?/2 over a collection of unique tags."""
    t = c.pick("tags", "labels", "set")
    if choice == "mapset":
        body = (f"def new, do: MapSet.new()\n\ndef add_tag({t}, tag), do: MapSet.put({t}, tag)\n\n"
                f"def tagged?({t}, tag), do: MapSet.member?({t}, tag)")
    elif choice == "list":
        body = (f"def new, do: []\n\ndef add_tag({t}, tag) do\n  if tag in {t}, do: {t}, else: [tag | {t}]\nend\n\n"
                f"def tagged?({t}, tag), do: Enum.member?({t}, tag)")
    else:
        body = (f"def new, do: %{{}}\n\ndef add_tag({t}, tag), do: Map.put({t}, tag, true)\n\n"
                f"def tagged?({t}, tag), do: Map.has_key?({t}, tag)")
    return module(c, f"{c.app}.{c.Ent}Tags", body, doc=f"{c.Ent} tags.")


def data_items(choice: str, c: Ctx) -> str:
    """Line items: add_item(items, sku, qty) and quantity(items, sku)."""
    xs = c.pick("items", "lines", "cart")
    if choice == "map":
        body = (f"def add_item({xs}, sku, qty), do: Map.update({xs}, sku, qty, &(&1 + qty))\n\n"
                f"def quantity({xs}, sku), do: Map.get({xs}, sku, 0)")
    elif choice == "tuple_list":
        body = (f"def add_item({xs}, sku, qty) do\n  case List.keyfind({xs}, sku, 0) do\n    {{^sku, n}} -> List.keystore({xs}, sku, 0, {{sku, n + qty}})\n    nil -> [{{sku, qty}} | {xs}]\n  end\nend\n\n"
                f"def quantity({xs}, sku) do\n  case List.keyfind({xs}, sku, 0) do\n    {{_, n}} -> n\n    nil -> 0\n  end\nend")
    else:  # structs in a list
        body = (f"defmodule Line do\n  defstruct [:sku, qty: 0]\nend\n\n"
                f"def add_item({xs}, sku, qty), do: [%Line{{sku: sku, qty: qty}} | {xs}]\n\n"
                f"def quantity({xs}, sku) do\n  {xs} |> Enum.filter(&(&1.sku == sku)) |> Enum.map(& &1.qty) |> Enum.sum()\nend")
    return module(c, f"{c.app}.{c.Ent}Items", body, doc="Line items.")


def data_queue(choice: str, c: Ctx) -> str:
    """A FIFO of pending <ents>: push/2 and pop/1."""
    q = c.pick("queue", "pending", "q")
    if choice == "queue":
        body = (f"def new, do: :queue.new()\n\ndef push({q}, {c.ent}), do: :queue.in({c.ent}, {q})\n\n"
                f"def pop({q}) do\n  case :queue.out({q}) do\n    {{{{:value, {c.ent}}}, rest}} -> {{{c.ent}, rest}}\n    {{:empty, rest}} -> {{nil, rest}}\n  end\nend")
    else:
        body = (f"def new, do: []\n\ndef push({q}, {c.ent}), do: {q} ++ [{c.ent}]\n\n"
                f"def pop([]), do: {{nil, []}}\ndef pop([{c.ent} | rest]), do: {{{c.ent}, rest}}")
    return module(c, f"{c.app}.Pending{c.Ent}s", body, doc=f"Pending {c.ents}.")


# =============================================================================================
# External dependencies: HTTP client, persistence, configuration, hashing, mail, JSON
# =============================================================================================


def ext_http(choice: str, c: Ctx) -> str:
    """fetch_<ents>(base_url) returning decoded JSON."""
    fn = f"fetch_{c.ents}"
    u = c.pick("base_url", "url", "endpoint")
    if choice == "httpoison":
        body = (f"def {fn}({u}) do\n  case HTTPoison.get({u} <> \"/{c.ents}\") do\n    {{:ok, %HTTPoison.Response{{status_code: 200, body: body}}}} -> Jason.decode(body)\n"
                f"    {{:ok, %HTTPoison.Response{{status_code: code}}}} -> {{:error, {{:http, code}}}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend")
    elif choice == "req":
        s = c.rng.randrange(2)
        body = [f"def {fn}({u}) do\n  case Req.get({u} <> \"/{c.ents}\") do\n    {{:ok, %Req.Response{{status: 200, body: body}}}} -> {{:ok, body}}\n    {{:ok, resp}} -> {{:error, {{:http, resp.status}}}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend",
                f"def {fn}({u}) do\n  with {{:ok, %{{status: 200, body: body}}}} <- Req.get({u} <> \"/{c.ents}\") do\n    {{:ok, body}}\n  else\n    {{:ok, %{{status: status}}}} -> {{:error, {{:http, status}}}}\n    {{:error, _}} = error -> error\n  end\nend"][s]
    else:
        body = (f"def {fn}({u}) do\n  url = String.to_charlist({u} <> \"/{c.ents}\")\n\n  case :httpc.request(:get, {{url, []}}, [], body_format: :binary) do\n"
                f"    {{:ok, {{{{_, 200, _}}, _headers, body}}}} -> Jason.decode(body)\n    {{:ok, {{{{_, status, _}}, _, _}}}} -> {{:error, {{:http, status}}}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend")
    return module(c, f"{c.app}.{c.Ent}Client", maybe_doc(c, f"Fetches {c.ents}.") + body, doc=f"{c.Ent} API client.")


def ext_persist(choice: str, c: Ctx) -> str:
    """save_<ent>(attrs) persisting a record."""
    fn = f"save_{c.ent}"
    a = c.pick("attrs", "params", c.ent)
    if choice == "ecto":
        s = c.rng.randrange(2)
        body = [f"def {fn}({a}) do\n  %{c.app}.{c.Ent}{{}}\n  |> {c.app}.{c.Ent}.changeset({a})\n  |> Repo.insert()\nend",
                f"def {fn}({a}) do\n  changeset = {c.app}.{c.Ent}.changeset(%{c.app}.{c.Ent}{{}}, {a})\n  Repo.insert(changeset)\nend"][s]
        return module(c, f"{c.app}.{c.Ent}s", body, doc=f"{c.Ent} persistence.", top=[f"alias {c.app}.Repo"])
    if choice == "file":
        body = (f"@dir \"priv/{c.ents}\"\n\ndef {fn}({a}) do\n  File.mkdir_p!(@dir)\n  id = System.unique_integer([:positive])\n"
                f"  path = Path.join(@dir, \"#{{id}}.bin\")\n\n  case File.write(path, :erlang.term_to_binary({a})) do\n    :ok -> {{:ok, Map.put({a}, :id, id)}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend")
        return module(c, f"{c.app}.{c.Ent}s", body, doc=f"{c.Ent} persistence.")
    body = (f"def {fn}({a}) do\n  {{:ok, conn}} = Redix.start_link()\n  id = System.unique_integer([:positive])\n\n"
            f"  case Redix.command(conn, [\"SET\", \"{c.ent}:#{{id}}\", :erlang.term_to_binary({a})]) do\n    {{:ok, _}} -> {{:ok, Map.put({a}, :id, id)}}\n    {{:error, reason}} -> {{:error, reason}}\n  end\nend")
    return module(c, f"{c.app}.{c.Ent}s", body, doc=f"{c.Ent} persistence.")


def ext_secret(choice: str, c: Ctx) -> str:
    """api_key/0 for the <ent> service."""
    var = f"{c.ent.upper()}_API_KEY"
    if choice == "system_env":
        s = c.rng.randrange(2)
        body = [f"def api_key, do: System.fetch_env!(\"{var}\")",
                f"def api_key do\n  System.get_env(\"{var}\") || raise \"{var} is not set\"\nend"][s]
    elif choice == "app_config":
        s = c.rng.randrange(2)
        body = [f"def api_key, do: Application.fetch_env!(:{c.app.lower()}, :{c.ent}_api_key)",
                f"def api_key do\n  :{c.app.lower()}\n  |> Application.get_env(:{c.ent}_service, [])\n  |> Keyword.fetch!(:api_key)\nend"][s]
    else:
        body = f"@path \"config/{c.ent}_api_key\"\n\ndef api_key do\n  @path |> File.read!() |> String.trim()\nend"
    return module(c, f"{c.app}.{c.Ent}Service", maybe_doc(c, "The API key.") + body, doc=f"{c.Ent} service settings.")


def ext_hash(choice: str, c: Ctx) -> str:
    """hash_password/1 and verify/2 for <ent> credentials."""
    pw = c.pick("password", "secret", "plain")
    if choice == "bcrypt":
        body = (f"def hash_password({pw}), do: Bcrypt.hash_pwd_salt({pw})\n\n"
                f"def verify({pw}, hash), do: Bcrypt.verify_pass({pw}, hash)")
    elif choice == "argon2":
        body = (f"def hash_password({pw}), do: Argon2.hash_pwd_salt({pw})\n\n"
                f"def verify({pw}, hash), do: Argon2.verify_pass({pw}, hash)")
    else:
        body = (f"def hash_password({pw}) do\n  salt = :crypto.strong_rand_bytes(16)\n  salt <> :crypto.hash(:sha256, salt <> {pw})\nend\n\n"
                f"def verify({pw}, <<salt::binary-size(16), digest::binary>>) do\n  :crypto.hash(:sha256, salt <> {pw}) == digest\nend")
    return module(c, f"{c.app}.{c.Ent}Credentials", body, doc="Password hashing.")


def ext_json(choice: str, c: Ctx) -> str:
    """to_json/1 and from_json/1 for <ent> payloads."""
    x = c.pick(c.ent, "payload", "data")
    lib = {"jason": "Jason", "poison": "Poison"}[choice]
    s = c.rng.randrange(2)
    body = [f"def to_json({x}), do: {lib}.encode({x})\n\ndef from_json(text), do: {lib}.decode(text)",
            f"def to_json({x}) do\n  {x} |> Map.take([:{c.f1}, :{c.f2}]) |> {lib}.encode()\nend\n\ndef from_json(text) do\n  {lib}.decode(text)\nend"][s]
    return module(c, f"{c.app}.{c.Ent}JSON", body, doc="JSON.")


# =============================================================================================
# Pure computations (clear prompts with no behavioural choice): several equivalent ways to write them
# =============================================================================================


def pure_sum_even_squares(_choice: str, c: Ctx) -> str:
    xs = c.pick("numbers", "list", "xs", "values")
    s = c.rng.randrange(4)
    body = [
        f"def sum_even_squares({xs}) do\n  {xs}\n  |> Enum.filter(&(rem(&1, 2) == 0))\n  |> Enum.map(&(&1 * &1))\n  |> Enum.sum()\nend",
        f"def sum_even_squares({xs}) do\n  Enum.sum(for n <- {xs}, rem(n, 2) == 0, do: n * n)\nend",
        f"def sum_even_squares({xs}) do\n  Enum.reduce({xs}, 0, fn n, acc ->\n    if rem(n, 2) == 0, do: acc + n * n, else: acc\n  end)\nend",
        f"def sum_even_squares([]), do: 0\ndef sum_even_squares([n | rest]) when rem(n, 2) == 0, do: n * n + sum_even_squares(rest)\ndef sum_even_squares([_ | rest]), do: sum_even_squares(rest)",
    ][s]
    return module(c, f"{c.app}.Math", maybe_doc(c, "Sum of squares of the even numbers.") + body)


def pure_word_count(_choice: str, c: Ctx) -> str:
    t = c.pick("text", "string", "sentence")
    s = c.rng.randrange(3)
    body = [
        f"def word_count({t}) do\n  {t}\n  |> String.downcase()\n  |> String.split(~r/\\W+/, trim: true)\n  |> Enum.frequencies()\nend",
        f"def word_count({t}) do\n  {t}\n  |> String.downcase()\n  |> String.split(~r/\\W+/, trim: true)\n  |> Enum.reduce(%{{}}, fn word, acc -> Map.update(acc, word, 1, &(&1 + 1)) end)\nend",
        f"def word_count({t}) do\n  words = String.split(String.downcase({t}), ~r/\\W+/, trim: true)\n  Enum.frequencies(words)\nend",
    ][s]
    return module(c, f"{c.app}.Text", body)


def pure_titles(_choice: str, c: Ctx) -> str:
    xs = c.pick(c.ents, "items", "records")
    s = c.rng.randrange(3)
    body = [
        f"def {c.f1}s({xs}) do\n  Enum.map({xs}, fn {c.ent} -> String.capitalize({c.ent}.{c.f1}) end)\nend",
        f"def {c.f1}s({xs}) do\n  for {c.ent} <- {xs}, do: String.capitalize({c.ent}.{c.f1})\nend",
        f"def {c.f1}s({xs}) do\n  {xs}\n  |> Enum.map(& &1.{c.f1})\n  |> Enum.map(&String.capitalize/1)\nend",
    ][s]
    return module(c, f"{c.app}.{c.Ent}Names", maybe_doc(c, "Capitalised names.") + body)


def pure_top(_choice: str, c: Ctx) -> str:
    xs = c.pick(c.ents, "items", "list")
    n = c.pick("n", "count", "limit")
    s = c.rng.randrange(3)
    body = [
        f"def top({xs}, {n}) do\n  {xs}\n  |> Enum.sort_by(& &1.{c.f2}, :desc)\n  |> Enum.take({n})\nend",
        f"def top({xs}, {n}) do\n  Enum.take(Enum.sort_by({xs}, & &1.{c.f2}, :desc), {n})\nend",
        f"def top({xs}, {n}) do\n  sorted = Enum.sort({xs}, &(&1.{c.f2} >= &2.{c.f2}))\n  Enum.take(sorted, {n})\nend",
    ][s]
    return module(c, f"{c.app}.{c.Ent}Ranking", maybe_doc(c, f"Top {c.ents} by {c.f2}.") + body)


def pure_palindrome(_choice: str, c: Ctx) -> str:
    w = c.pick("word", "text", "s")
    s = c.rng.randrange(3)
    body = [
        f"def palindrome?({w}) do\n  normalized = {w} |> String.downcase() |> String.replace(~r/[^a-z0-9]/, \"\")\n  normalized == String.reverse(normalized)\nend",
        f"def palindrome?({w}) do\n  chars = String.replace(String.downcase({w}), ~r/[^a-z0-9]/, \"\")\n  chars == String.reverse(chars)\nend",
        f"def palindrome?({w}) do\n  {w}\n  |> String.downcase()\n  |> String.replace(~r/[^a-z0-9]/, \"\")\n  |> then(&(&1 == String.reverse(&1)))\nend",
    ][s]
    return module(c, f"{c.app}.Words", body)


def pure_totals(_choice: str, c: Ctx) -> str:
    xs = c.pick(c.ents, "items", "rows")
    s = c.rng.randrange(3)
    body = [
        f"def total_{c.f2}({xs}) do\n  {xs} |> Enum.map(& &1.{c.f2}) |> Enum.sum()\nend",
        f"def total_{c.f2}({xs}) do\n  Enum.reduce({xs}, 0, fn x, acc -> acc + x.{c.f2} end)\nend",
        f"def total_{c.f2}({xs}) do\n  Enum.sum(for x <- {xs}, do: x.{c.f2})\nend",
    ][s]
    return module(c, f"{c.app}.{c.Ent}Totals", maybe_doc(c, f"Sum of {c.f2}.") + body)


def pure_chunks(_choice: str, c: Ctx) -> str:
    xs = c.pick(c.ents, "items", "list")
    size = c.pick("size", "n", "batch_size")
    s = c.rng.randrange(2)
    body = [
        f"def batches({xs}, {size}) do\n  Enum.chunk_every({xs}, {size})\nend",
        f"def batches({xs}, {size}) do\n  {xs}\n  |> Stream.chunk_every({size})\n  |> Enum.to_list()\nend",
    ][s]
    return module(c, f"{c.app}.{c.Ent}Batches", body)


# =============================================================================================
# Items
# =============================================================================================

INCONSISTENT = "[inconsistent] "  # marks a prompt template whose requirements contradict each other

# (builder, choices, ambiguous prompt templates, clear prompt templates per choice, type)
Scenario = tuple[Callable[..., str], list[str], list[str], dict[str, str], str]

SCENARIOS: dict[str, Scenario] = {
    "err_lookup": (err_lookup, ["tuple", "raise", "nil"], [
        "Write `fetch_<<ent>>/2` that looks up a <<ent>> by id in a map of <<ents>>.",
        "Add a function to <<Mod>> that gets a <<ent>> from the map by its id.",
        INCONSISTENT + "`fetch_<<ent>>/2` should return nil when the <<ent>> is missing, and missing <<ents>> must be reported as errors to the caller.",
        "Implement <<ent>> lookup by id over an in-memory map; callers need to know when it is not there.",
    ], {
        "tuple": "Write `fetch_<<ent>>/2` that looks up a <<ent>> by id in a map and returns `{:ok, <<ent>>}` or `{:error, :not_found}`.",
        "raise": "Write `fetch_<<ent>>/2` that returns the <<ent>> with the given id from a map and raises a KeyError when there is none.",
        "nil": "Write `fetch_<<ent>>/2` that returns the <<ent>> with the given id from a map, or nil when there is none.",
    }, "error_handling"),
    "err_parse": (err_parse, ["tuple", "raise", "nil"], [
        "Write `parse_<<f2>>/1` that turns a user-entered string into an integer <<f2>>.",
        "Parse the <<f2>> field of the <<ent>> form (a string) into an integer; bad input happens.",
        INCONSISTENT + "Convert the <<f2>> text to an integer. Invalid input must not crash the caller, and it should raise on invalid input.",
    ], {
        "tuple": "Write `parse_<<f2>>/1` that parses a string into an integer, returning `{:ok, n}` or `{:error, :invalid_<<f2>>}`.",
        "raise": "Write `parse_<<f2>>/1` that parses a string into an integer and raises ArgumentError on invalid input.",
        "nil": "Write `parse_<<f2>>/1` that parses a trimmed string into an integer and returns nil when it is not one.",
    }, "error_handling"),
    "err_read": (err_read, ["tuple", "raise", "nil"], [
        "Write `read_<<ent>>_file/1` that returns the contents of a <<ent>> export file.",
        "Read the <<ent>> file at the given path.",
        INCONSISTENT + "`read_<<ent>>_file/1` returns the file's text; it returns nothing special for a missing file but the caller must be able to tell what went wrong.",
    ], {
        "tuple": "Write `read_<<ent>>_file/1` that reads a file and returns `{:ok, contents}` or `{:error, reason}` like File.read/1.",
        "raise": "Write `read_<<ent>>_file/1` that reads the file and raises File.Error when it cannot be read.",
        "nil": "Write `read_<<ent>>_file/1` that returns the file's contents, or nil when it cannot be read.",
    }, "error_handling"),
    "err_average": (err_average, ["tuple", "raise", "nil"], [
        "Write `average_<<f2>>/1` that computes the average <<f2>> of a list of <<ents>>.",
        "Compute the mean <<f2>> over the <<ents>> given as a list.",
        INCONSISTENT + "Write `average_<<f2>>/1` for a list of <<ents>>; an empty list is invalid input that must raise, and the function must never raise.",
    ], {
        "tuple": "Write `average_<<f2>>/1` returning `{:ok, mean}` for a list of <<ents>> and `{:error, :empty}` for an empty list.",
        "raise": "Write `average_<<f2>>/1` returning the mean <<f2>> of a list of <<ents>>; it raises ArgumentError for an empty list.",
        "nil": "Write `average_<<f2>>/1` returning the mean <<f2>> of a list of <<ents>>, or nil for an empty list.",
    }, "error_handling"),
    "err_validate": (err_validate, ["tuple", "raise"], [
        "Write `validate_<<ent>>/1` that checks the params contain <<f1>> and <<f2>>.",
        "Validate incoming <<ent>> params (<<f1>> and <<f2>> are required).",
        INCONSISTENT + "Write `validate_<<ent>>/1` (<<f1>>, <<f2>> required) that reports missing keys as an error value, for a pipeline that always expects the params back.",
    ], {
        "tuple": "Write `validate_<<ent>>/1` that returns `{:ok, params}` when <<f1>> and <<f2>> are present and `{:error, {:missing, keys}}` otherwise.",
        "raise": "Write `validate_<<ent>>/1` that returns the params when <<f1>> and <<f2>> are present and raises ArgumentError naming the missing keys otherwise.",
    }, "error_handling"),
    "conc_store": (conc_store, ["genserver", "agent", "ets"], [
        "Write a <<Ent>>Store with `put/2` and `get/1` that many processes can use at once.",
        "Keep an in-memory cache of <<ents>> by id, shared across the application.",
        "A <<ent>> store that other processes read and write; keep it simple.",
        INCONSISTENT + "Write a <<Ent>>Store with `put/2` and `get/1` that starts no process, yet is shared by every process of the app.",
    ], {
        "genserver": "Write a GenServer <<Ent>>Store registered under its module name with `put/2` (cast) and `get/1` (call), state in a map.",
        "agent": "Write a <<Ent>>Store backed by an Agent holding a map, with `put/2` and `get/1`.",
        "ets": "Write a <<Ent>>Store over a public named ETS table (`:set`) with `put/2` and `get/1` returning nil when absent.",
    }, "concurrency"),
    "conc_counter": (conc_counter, ["genserver", "agent", "ets"], [
        "Count <<ent>> page views per id; increments come from many request processes.",
        "Write `increment/1` and `count/1` for <<ent>> views shared by the whole app.",
        INCONSISTENT + "Count <<ent>> views per id without starting any process, shared by every request process.",
    ], {
        "genserver": "Write a GenServer counting <<ent>> views per id: `increment/1` casts, `count/1` calls, counts in a map.",
        "agent": "Write an Agent-based counter of <<ent>> views per id with `increment/1` and `count/1`.",
        "ets": "Write a counter of <<ent>> views per id using `:ets.update_counter/4` on a public named table.",
    }, "concurrency"),
    "conc_parallel": (conc_parallel, ["task", "process", "genserver"], [
        "Write `enrich_all/1` that enriches each <<ent>> concurrently.",
        "Enrich all <<ents>> in the batch in parallel and return the results in order.",
        INCONSISTENT + "`enrich_all/1` must enrich the <<ents>> concurrently but may not start any processes.",
    ], {
        "task": "Write `enrich_all/1` that enriches each <<ent>> in parallel with Task (async_stream or async/await) and returns results in order.",
        "process": "Write `enrich_all/1` that spawns one raw process per <<ent>> with spawn/send/receive and collects results in order.",
    }, "concurrency"),
    "conc_refresh": (conc_refresh, ["genserver", "task", "process"], [
        "Refresh the <<ent>> data every minute in the background.",
        "Write a background job that reloads <<ents>> once a minute.",
        INCONSISTENT + "Reload <<ents>> every minute in the background, without adding anything to the supervision tree.",
    ], {
        "genserver": "Write a GenServer that reloads <<ents>> every minute using `Process.send_after/3` and `handle_info/2`.",
        "task": "Write a supervised Task (`Task.start_link/1`) that loops forever reloading <<ents>> and sleeping a minute.",
    }, "concurrency"),
    "conc_limiter": (conc_limiter, ["genserver", "ets"], [
        "Write `allow?/1`, a rate limiter for the <<ent>> API keyed by client.",
        "Limit how often each client may call the <<ent>> endpoint.",
        INCONSISTENT + "Write `allow?/1`, a per-client rate limiter for the <<ent>> API that keeps no shared state.",
    ], {
        "genserver": "Write a GenServer rate limiter with `allow?/1` (a call) keeping hit counts per key in a map.",
        "ets": "Write a rate limiter `allow?/1` with `:ets.update_counter/4` on a public named ETS table.",
    }, "concurrency"),
    "data_record": (data_record, ["struct", "map", "keyword"], [
        "Write `new_<<ent>>/2` that builds a <<ent>> from its <<f1>> and <<f2>>.",
        "Represent a <<ent>> with <<f1>> and <<f2>>, with a constructor.",
        INCONSISTENT + "Create a <<ent>> value (<<f1>>, <<f2>>) that is both a plain map and an ordered list of options.",
    ], {
        "struct": "Define a `%<<Mod>>{}` struct with <<f1>> and <<f2>> and a `new_<<ent>>/2` that builds it.",
        "map": "Write `new_<<ent>>/2` returning a plain map with atom keys <<f1>> and <<f2>>.",
        "keyword": "Write `new_<<ent>>/2` returning a keyword list with <<f1>> and <<f2>>.",
    }, "data_structure"),
    "data_options": (data_options, ["map", "keyword"], [
        "Write `export_options/1`: defaults for <<ent>> export (format, header, separator) merged with overrides.",
        "<<Ent>> export needs default options the caller can override.",
        INCONSISTENT + "`export_options/1` returns its defaults as a map, and the overrides it merges are keyword lists like any opts.",
    ], {
        "map": "Write `export_options/1` merging a map of overrides into default options held in a map.",
        "keyword": "Write `export_options/1` merging keyword overrides into default options held in a keyword list.",
    }, "data_structure"),
    "data_tags": (data_tags, ["mapset", "list", "map"], [
        "Keep the set of tags on a <<ent>>: `new/0`, `add_tag/2`, `tagged?/2`.",
        "Track unique labels for <<ents>> with add and membership checks.",
        INCONSISTENT + "Keep <<ent>> tags unique and in insertion order, with constant-time membership checks, in a plain list.",
    ], {
        "mapset": "Implement <<ent>> tags with a MapSet: `new/0`, `add_tag/2`, `tagged?/2`.",
        "list": "Implement <<ent>> tags as a plain list without duplicates: `new/0`, `add_tag/2`, `tagged?/2`.",
    }, "data_structure"),
    "data_items": (data_items, ["map", "tuple_list", "struct"], [
        "Track quantities of SKUs in a <<ent>>: `add_item/3` and `quantity/2`.",
        "Keep the line items of a <<ent>> (sku and quantity) and look quantities up.",
        INCONSISTENT + "Track SKU quantities for a <<ent>> in a map that keeps insertion order.",
    ], {
        "map": "Keep <<ent>> line items in a map from sku to quantity: `add_item/3` and `quantity/2`.",
        "tuple_list": "Keep <<ent>> line items as a list of `{sku, qty}` tuples using List.keyfind/keystore: `add_item/3`, `quantity/2`.",
    }, "data_structure"),
    "data_queue": (data_queue, ["queue", "list"], [
        "Keep pending <<ents>> in first-in-first-out order: `new/0`, `push/2`, `pop/1`.",
        "A FIFO of <<ents>> waiting to be processed.",
        INCONSISTENT + "A FIFO of pending <<ents>> with O(1) push and pop, using only lists.",
    ], {
        "queue": "Implement a FIFO of <<ents>> with Erlang's `:queue`: `new/0`, `push/2`, `pop/1`.",
        "list": "Implement a FIFO of <<ents>> as a plain list (append at the end): `new/0`, `push/2`, `pop/1`.",
    }, "data_structure"),
    "ext_http": (ext_http, ["httpoison", "req", "httpc"], [
        "Write `fetch_<<ents>>/1` that gets the <<ents>> from our REST API at the given base URL.",
        "Call the external <<ent>> service over HTTP and return the decoded list.",
        INCONSISTENT + "Fetch <<ents>> from the API without adding dependencies, using the usual HTTP library.",
    ], {
        "req": "Write `fetch_<<ents>>/1` that GETs `<base>/<<ents>>` with Req and returns `{:ok, body}` or an error tuple.",
        "httpoison": "Write `fetch_<<ents>>/1` that GETs `<base>/<<ents>>` with HTTPoison and decodes the body with Jason.",
        "httpc": "Write `fetch_<<ents>>/1` that GETs `<base>/<<ents>>` with Erlang's `:httpc` and decodes the body with Jason.",
    }, "external_dependency"),
    "ext_persist": (ext_persist, ["ecto", "file", "redis"], [
        "Write `save_<<ent>>/1` that persists a <<ent>> so it survives restarts.",
        "Store <<ents>> durably.",
        INCONSISTENT + "Persist <<ents>> durably, without a database and without touching the disk.",
    ], {
        "ecto": "Write `save_<<ent>>/1` inserting a <<ent>> changeset with our Ecto `Repo`.",
        "file": "Write `save_<<ent>>/1` that writes the <<ent>> as an Erlang term to a file under priv/<<ents>>.",
    }, "external_dependency"),
    "ext_secret": (ext_secret, ["system_env", "app_config", "file"], [
        "Write `api_key/0` for the <<ent>> service.",
        "The <<ent>> service client needs its API key; add the accessor.",
        INCONSISTENT + "`api_key/0` for the <<ent>> service: set at deploy time, but not through environment variables or config files.",
    ], {
        "system_env": "Write `api_key/0` that reads the <<ENT>>_API_KEY environment variable and fails when it is unset.",
        "app_config": "Write `api_key/0` that reads the key from the application environment and fails when it is unset.",
    }, "external_dependency"),
    "ext_hash": (ext_hash, ["bcrypt", "argon2", "crypto"], [
        "Hash and verify <<ent>> passwords: `hash_password/1`, `verify/2`.",
        "Write password hashing for <<ents>>.",
        INCONSISTENT + "Hash <<ent>> passwords with a standard slow algorithm and no dependencies.",
    ], {
        "bcrypt": "Hash and verify <<ent>> passwords with bcrypt_elixir: `hash_password/1`, `verify/2`.",
        "argon2": "Hash and verify <<ent>> passwords with argon2_elixir: `hash_password/1`, `verify/2`.",
    }, "external_dependency"),
    "ext_json": (ext_json, ["jason", "poison"], [
        "Write `to_json/1` and `from_json/1` for <<ent>> payloads.",
        "Serialise <<ents>> to JSON and back.",
        INCONSISTENT + "Serialise <<ents>> to JSON and back with Elixir's standard library only.",
    ], {
        "jason": "Write `to_json/1` and `from_json/1` for <<ent>> payloads with Jason, returning ok/error tuples.",
        "poison": "Write `to_json/1` and `from_json/1` for <<ent>> payloads with Poison, returning ok/error tuples.",
    }, "external_dependency"),
}

PURE: dict[str, tuple[Callable[..., str], list[str]]] = {
    "sum_even_squares": (pure_sum_even_squares, ["Write `sum_even_squares/1`: the sum of the squares of the even numbers in a list."]),
    "word_count": (pure_word_count, ["Write `word_count/1` returning a map from each lower-cased word in the text to its count."]),
    "titles": (pure_titles, ["Return the capitalised <<f1>> of every <<ent>> in the list, in order."]),
    "top": (pure_top, ["Write `top/2`: the n <<ents>> with the highest <<f2>>, highest first."]),
    "palindrome": (pure_palindrome, ["Write `palindrome?/1` ignoring case and non-alphanumeric characters."]),
    "totals": (pure_totals, ["Write `total_<<f2>>/1` returning the sum of <<f2>> over a list of <<ents>>."]),
    "chunks": (pure_chunks, ["Split the <<ents>> into batches of the given size (`batches/2`), last batch may be shorter."]),
}

# Traps: the words sound open, the spec (or OTP convention) is not. (scenario, choice, prompt)
TRAPS: list[tuple[str, str, str]] = [
    ("err_lookup", "raise", "Handle the missing case properly: `fetch_<<ent>>!/2` must follow the bang convention for a <<ent>> id that is not in the map."),
    ("err_lookup", "tuple", "Errors matter here: `fetch_<<ent>>/2` should follow Elixir's convention for fallible lookups, `{:ok, value}` or `{:error, :not_found}`, so callers can pattern match."),
    ("err_parse", "tuple", "Robust error handling please: `parse_<<f2>>/1` never raises; invalid input gives `{:error, :invalid_<<f2>>}`, valid gives `{:ok, n}`."),
    ("err_read", "tuple", "The file may be missing or unreadable; `read_<<ent>>_file/1` passes File.read/1's result through as `{:ok, contents}` / `{:error, reason}`."),
    ("err_read", "raise", "`read_<<ent>>_file/1` is called at boot, where a missing file must crash loudly: raise, don't return errors."),
    ("err_validate", "tuple", "What if keys are missing? `validate_<<ent>>/1` returns `{:error, {:missing, keys}}` then, otherwise `{:ok, params}`; no exceptions."),
    ("err_average", "nil", "An empty list is possible and not an error: `average_<<f2>>/1` returns nil for it, the mean otherwise."),
    ("conc_store", "genserver", "Concurrent access from many processes: make the <<Ent>>Store a GenServer (cast for `put/2`, call for `get/1`) so writes are serialised."),
    ("conc_store", "agent", "Processes all over the app share this state; wrap a map in an Agent for the <<Ent>>Store (`put/2`, `get/1`)."),
    ("conc_store", "ets", "Reads are very frequent and concurrent: put <<ents>> in a public named ETS table with read_concurrency (`put/2`, `get/1`)."),
    ("conc_counter", "ets", "Many processes increment at once and it must not bottleneck: count <<ent>> views with `:ets.update_counter/4`."),
    ("conc_counter", "genserver", "The <<ent>> view counter lives in a supervision tree as the usual OTP state holder, a GenServer with `increment/1` (cast) and `count/1` (call)."),
    ("conc_parallel", "task", "Run the enrichment of each <<ent>> concurrently with Task.async_stream (or Task.async + await), results in input order."),
    ("conc_refresh", "genserver", "A recurring job in the supervision tree: reload <<ents>> every minute the OTP way, a GenServer scheduling itself with Process.send_after/3."),
    ("conc_limiter", "ets", "The rate limiter is hit concurrently by every request process; use a public ETS table and atomic `:ets.update_counter/4` in `allow?/1`."),
    ("data_record", "struct", "Which fields exist must be checked at compile time: define `%<<Mod>>{}` with <<f1>> and <<f2>> and `new_<<ent>>/2`."),
    ("data_record", "map", "Just data, no module type: `new_<<ent>>/2` returns a plain map `%{<<f1>>: ..., <<f2>>: ...}`."),
    ("data_options", "keyword", "Options in the usual Elixir style (a keyword list, like other libraries' opts): `export_options/1` merges overrides into the defaults."),
    ("data_tags", "mapset", "Membership checks must be fast and tags unique: use MapSet for the <<ent>> tags (`new/0`, `add_tag/2`, `tagged?/2`)."),
    ("data_queue", "queue", "Pending <<ents>> in FIFO order with O(1) amortised push and pop: use Erlang's `:queue`."),
    ("data_items", "map", "Quantity lookups by SKU must be direct: keep <<ent>> line items in a map sku => qty (`add_item/3`, `quantity/2`)."),
    ("ext_http", "req", "Call the external API with Req (already a dependency): `fetch_<<ents>>/1` returns `{:ok, body}` or an error tuple."),
    ("ext_http", "httpoison", "The project already depends on HTTPoison and Jason: `fetch_<<ents>>/1` GETs `<base>/<<ents>>` and decodes the JSON."),
    ("ext_persist", "ecto", "Persist <<ents>> in the database through our Ecto Repo: `save_<<ent>>/1` inserts a changeset."),
    ("ext_secret", "system_env", "Secrets come from the environment at runtime (12-factor): `api_key/0` reads <<ENT>>_API_KEY and fails loudly when unset."),
    ("ext_secret", "app_config", "Configuration goes through config/runtime.exs as usual: `api_key/0` reads it from the application environment."),
    ("ext_hash", "bcrypt", "Passwords need a proper slow hash; we use bcrypt_elixir: `hash_password/1` and `verify/2`."),
    ("ext_json", "jason", "Phoenix's default JSON library is what we use: `to_json/1` and `from_json/1` with Jason, ok/error tuples."),
    ("err_parse", "raise", "Input was validated upstream, so invalid input is a bug: `parse_<<f2>>/1` raises ArgumentError instead of returning an error."),
    ("conc_store", "genserver", "A supervised process owning the <<ent>> state with the standard OTP behaviour: GenServer <<Ent>>Store, `put/2` and `get/1`."),
]

# Ambiguous splits, as a sampler might produce them over 5 samples (choices assigned in random order).
SPLITS = [(3, 2), (2, 2, 1), (3, 1, 1), (2, 3), (2, 1, 2), (4, 1), (1, 2, 2), (3, 2), (2, 2, 1), (3, 1, 1)]


def make_ctx(i: int, rng: random.Random) -> Ctx:
    ent, ents, Ent, f1, f2 = ENTITIES[i % len(ENTITIES)]
    app = APPS[(i * 7 + 3) % len(APPS)]
    return Ctx(app, ent, ents, Ent, f1, f2, rng)


def prompt_names(c: Ctx) -> dict[str, str]:
    return {"ent": c.ent, "ents": c.ents, "Ent": c.Ent, "f1": c.f1, "f2": c.f2, "Mod": f"{c.app}.{c.Ent}", "ENT": c.ent.upper()}


def sample_entry(code: str, rng: random.Random) -> dict[str, object]:
    n = max(20, code.count(" ") + code.count("\n"))
    mean = round(-rng.uniform(0.15, 0.9), 4)
    return {"code": code, "logprob": round(mean * n, 3), "mean_logprob": mean}


def with_input_check(code: str) -> str:
    """The same module plus a defensive clause that raises on bad input (a common extra in model output)."""
    extra = ('\n  defp ensure_list!(value) when is_list(value), do: value\n'
             '  defp ensure_list!(value), do: raise(ArgumentError, "expected a list, got: #{inspect(value)}")\n')
    head, _, _ = code.rstrip("\n").rpartition("\nend")
    return head + "\n" + extra + "end\n"


OUTLIER_RATE = 0.35  # clear items where one of five samples strays from the spec, as samplers do


BROKEN = "defmodule Broken do\n  def half(x) do\n    case x do\n      {:ok, v} -> v\n"  # what an unfinished sample looks like


def build_items(seed: int = 11) -> list[dict[str, object]]:
    """All items, in a fixed order."""
    rng = random.Random(seed)
    items: list[dict[str, object]] = []
    counter = 0

    def add(kind: str, label: str, typ: str | None, prompt: str, codes: list[str], scenario: str, spec: str, choices: list[str]) -> None:
        samples = [sample_entry(code, rng) for code in codes]
        items.append({
            "id": f"{kind}-{len(items):03d}", "kind": kind, "label": label, "type": typ, "scenario": scenario,
            "spec": spec, "choices": choices, "prompt": prompt, "samples": samples,
        })

    # Ambiguous: every scenario, several entities and prompt wordings, a sampler-like split.
    for name, (build, choices, prompts, _clear, typ) in SCENARIOS.items():
        for k in range(4):  # each scenario's inconsistent wording (listed last but one or last) is used once
            counter += 1
            c = make_ctx(counter, rng)
            template = prompts[k % len(prompts)]
            spec = "inconsistent" if template.startswith(INCONSISTENT) else "incomplete"
            template = template.removeprefix(INCONSISTENT)
            split = SPLITS[counter % len(SPLITS)]
            order = choices[:]
            rng.shuffle(order)
            split = split[: len(order)] if len(split) > len(order) else split
            if sum(split) < 5:  # fewer choices than the split has parts: the last one takes the rest
                split = (*split[:-1], 5 - sum(split[:-1]))
            picked: list[str] = []
            for choice, count in zip(order, split):
                picked += [choice] * count
            rng.shuffle(picked)
            codes = [build(choice, c) for choice in picked]
            if counter % 9 == 0:  # a sixth, unfinished sample: invalid, left out of clustering
                codes.append(BROKEN)
            add("ambiguous", "ask", typ, fill(template, **prompt_names(c)), codes, name, spec, picked)

    # Clear: the same scenarios with the choice spelled out, five stylistic variants of it.
    for name, (build, choices, _prompts, clear, typ) in SCENARIOS.items():
        for choice in list(clear)[:2]:
            counter += 1
            c = make_ctx(counter, rng)
            codes = [build(choice, c) for _ in range(5)]
            if rng.random() < OUTLIER_RATE:  # one sample ignores the spec and makes another choice
                codes[rng.randrange(5)] = build(rng.choice([x for x in choices if x != choice]), c)
            if counter % 7 == 0:
                codes.append(BROKEN)
            add("clear", "proceed", typ, fill(clear[choice], **prompt_names(c)), codes, name, "complete", [choice] * 5)

    # Clear: pure computations, no behavioural choice at all.
    for name, (build, prompts) in PURE.items():
        for _ in range(2):
            counter += 1
            c = make_ctx(counter, rng)
            codes = [build("", c) for _ in range(5)]
            if rng.random() < OUTLIER_RATE:
                k = rng.randrange(5)
                codes[k] = with_input_check(codes[k])
            add("clear", "proceed", None, fill(prompts[0], **prompt_names(c)), codes, name, "complete", [""] * 5)

    # Traps: ambiguous-sounding, fully specified.
    for scenario, choice, template in TRAPS:
        counter += 1
        build, _choices, _prompts, _clear, typ = SCENARIOS[scenario]
        c = make_ctx(counter, rng)
        if scenario == "err_lookup" and choice == "raise":
            codes = [err_lookup("raise", c, bang_name=True) for _ in range(5)]
        else:
            codes = [build(choice, c) for _ in range(5)]
        if rng.random() < OUTLIER_RATE:
            k = rng.randrange(5)
            codes[k] = build(rng.choice([x for x in _choices if x != choice]), c)
        add("trap", "proceed", typ, fill(template, **prompt_names(c)), codes, scenario, "complete", [choice] * 5)

    # Split: half of each (kind, type) group, drawn at random (seeded), to tune; the rest held out.
    groups: dict[tuple[str, object], list[dict[str, object]]] = {}
    for item in items:
        groups.setdefault((str(item["kind"]), item["type"]), []).append(item)
    for members in groups.values():
        order = list(range(len(members)))
        rng.shuffle(order)
        for rank, k in enumerate(order):
            members[k]["split"] = "tune" if rank % 2 == 0 else "test"
    return items


def check(items: list[dict[str, object]]) -> int:
    """Parse every program with the Elixir helper; returns the number that fail (BROKEN ones expected)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from elixir_coder_lsp.elixir.client import ElixirHelper

    bad = 0
    with ElixirHelper(timeout=30) as helper:
        for item in items:
            for i, s in enumerate(item["samples"]):  # type: ignore[union-attr]
                code = s["code"]
                if code == BROKEN:
                    continue
                result = helper.parse(code)
                if not result.ok:
                    bad += 1
                    print(f"{item['id']} sample {i}: {result.message} (line {result.line})\n{code}", file=sys.stderr)
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="parse every program with Elixir")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = build_items()
    if args.check and check(items):
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"version": 1, "items": items}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item["kind"])] = counts.get(str(item["kind"]), 0) + 1
    print(f"{len(items)} items {counts} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
