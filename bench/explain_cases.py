"""One realistic user file per catalogue rule, for the explanation tests and bench/hover.py.

Each case is (rule id, code, filename, function, fixed): `function` is the name the Example must show
(the enclosing function, or the module for module-level rules) and `fixed` a piece of text the fixed
code contains, for rules with a deterministic autofix. The code is ours, not the catalogue's examples,
so retrieval is not asked to find text it indexed verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    """A user file that triggers `rule`."""

    rule: str
    code: str
    filename: str = "lib/shop/orders.ex"
    function: str = ""
    fixed: str = ""


def _mod(body: str, name: str = "Shop.Orders", doc: bool = True) -> str:
    head = f"defmodule {name} do\n" + ('  @moduledoc "Orders."\n\n' if doc else "")
    return head + body + "end\n"


def _ctl(body: str, name: str = "ShopWeb.OrderController") -> str:
    return f'defmodule {name} do\n  @moduledoc "Orders."\n  use ShopWeb, :controller\n\n' + body + "end\n"


W, R, F, D = "Credo.Check.Warning.", "Credo.Check.Readability.", "Credo.Check.Refactor.", "Credo.Check.Design."

CASES: list[Case] = [
    # -- warnings
    Case(W + "IoInspect", _mod("  def total(order) do\n    order.lines\n    |> Enum.map(& &1.price)\n    |> Enum.sum()\n    |> IO.inspect(label: \"total\")\n  end\n"), function="total", fixed="|> Enum.sum()\nend"),
    Case(W + "Dbg", _mod("  def shipping(order) do\n    order\n    |> Map.get(:address)\n    |> dbg()\n  end\n"), function="shipping", fixed="|> Map.get(:address)\nend"),
    Case(W + "IExPry", _mod("  def refund(order) do\n    require IEx\n    IEx.pry()\n    Payments.refund(order.payment_id)\n  end\n"), function="refund", fixed="require IEx\n  Payments.refund"),
    Case(W + "UnusedEnumOperation", _mod("  def prices(order) do\n    Enum.map(order.lines, & &1.price)\n    order.lines\n  end\n"), function="prices"),
    Case(W + "UnusedStringOperation", _mod("  def label(name) do\n    String.upcase(name)\n    \"Order for #{name}\"\n  end\n"), function="label"),
    Case(W + "UnusedListOperation", _mod("  def skus(lines) do\n    List.flatten(lines)\n    lines\n  end\n"), function="skus"),
    Case(W + "UnusedKeywordOperation", _mod("  def fetch(opts) do\n    Keyword.put(opts, :timeout, 5_000)\n    Http.get(\"/orders\", opts)\n  end\n"), function="fetch"),
    Case(W + "UnusedMapOperation", _mod("  def mark_paid(order) do\n    Map.put(order, :paid, true)\n    order\n  end\n"), function="mark_paid"),
    Case(W + "UnusedTupleOperation", _mod("  def row(order) do\n    Tuple.append({order.id}, order.total)\n    {order.id}\n  end\n"), function="row"),
    Case(W + "UnusedPathOperation", _mod("  def invoice_path(dir, order) do\n    Path.join(dir, \"#{order.id}.pdf\")\n    dir\n  end\n"), function="invoice_path"),
    Case(W + "UnusedRegexOperation", _mod("  def clean(sku) do\n    Regex.replace(~r/\\s+/, sku, \"\")\n    sku\n  end\n"), function="clean"),
    Case(W + "UnusedFileOperation", _mod("  def archive(path) do\n    File.exists?(path)\n    File.rm!(path)\n  end\n"), function="archive"),
    Case(W + "ExpensiveEmptyEnumCheck", _mod("  def empty_cart?(cart), do: length(cart.items) == 0\n"), function="empty_cart?"),
    Case(W + "OperationOnSameValues", _mod("  def changed?(total), do: total != total\n"), function="changed?"),
    Case(W + "BoolOperationOnSameValues", _mod("  def payable?(order), do: order.confirmed && order.confirmed\n"), function="payable?"),
    Case(W + "OperationWithConstantResult", _mod("  def discount(order), do: order.total * 0\n"), function="discount"),
    Case(W + "RaiseInsideRescue", _mod("  def charge(order) do\n    Payments.charge!(order)\n  rescue\n    e -> raise \"charge failed: #{inspect(e)}\"\n  end\n"), function="charge"),
    Case(W + "ApplicationConfigInModuleAttribute", _mod("  @gateway Application.get_env(:shop, :gateway)\n\n  def gateway, do: @gateway\n")),
    Case(W + "UnsafeExec", _mod("  def print_label(path), do: :os.cmd(String.to_charlist(\"lp \" <> path))\n"), function="print_label"),
    Case(W + "UnsafeToAtom", _mod("  def status(order), do: String.to_atom(order.status)\n"), function="status", fixed="String.to_existing_atom(order.status)"),
    # -- readability
    Case(R + "ModuleDoc", "defmodule Shop.Orders do\n  def count(orders), do: length(orders)\nend\n", function="Shop.Orders", fixed="@moduledoc"),
    Case(R + "ModuleNames", "defmodule Shop.Order_Export do\n  @moduledoc false\n  def run, do: :ok\nend\n", function="Shop.Order_Export"),
    Case(R + "FunctionNames", _mod("  def orderTotal(order), do: order.total\n"), function="orderTotal"),
    Case(R + "PredicateFunctionNames", _mod("  def is_paid?(order), do: order.paid\n"), function="is_paid?"),
    Case(R + "VariableNames", _mod("  def net(order) do\n    netTotal = order.total - order.tax\n    netTotal\n  end\n"), function="net"),
    Case(R + "ModuleAttributeNames", _mod("  @maxItems 50\n\n  def max_items, do: @maxItems\n")),
    Case(R + "LargeNumbers", _mod("  def free_shipping?(order), do: order.total > 1000000\n"), function="free_shipping?", fixed="1_000_000"),
    Case(R + "MaxLineLength", _mod("  def summary(id, customer_name, line_count, total_amount, currency_code, state_name, placed_at) do\n    {id, customer_name, line_count, total_amount, currency_code, state_name, placed_at, line_count * total_amount, :summary}\n  end\n"), function="summary"),
    Case(R + "TrailingWhiteSpace", _mod("  def id(order), do: order.id \n"), function="id", fixed="def id(order), do: order.id\n"),
    Case(R + "ParenthesesOnZeroArityDefs", _mod("  def currency(), do: :eur\n"), function="currency", fixed="def currency, do: :eur"),
    Case(R + "AliasOrder", _mod("  alias Shop.Payments\n  alias Shop.Carts\n\n  def pay(cart), do: Payments.charge(Carts.total(cart))\n")),
    Case(R + "PreferImplicitTry", _mod("  def parse(json) do\n    try do\n      Jason.decode!(json)\n    rescue\n      _ -> nil\n    end\n  end\n"), function="parse"),
    Case(R + "WithSingleClause", _mod("  def load(id) do\n    with {:ok, order} <- Repo.fetch(id) do\n      order\n    else\n      _ -> nil\n    end\n  end\n"), function="load"),
    Case(R + "StringSigils", _mod("  def note(order), do: Mailer.notice(\"marked \\\"paid\\\" and \\\"shipped\\\"\", order)\n"), function="note"),
    Case(R + "RedundantBlankLines", _mod("  def first(orders), do: hd(orders)\n\n\n  def last(orders), do: List.last(orders)\n"), function="Shop.Orders", fixed="def first(orders), do: hd(orders)\n\n  def last"),
    Case(R + "TrailingBlankLine", 'defmodule Shop.Orders do\n  @moduledoc "Orders."\n  def count(orders), do: length(orders)\nend', function="Shop.Orders", fixed="def count(orders)"),
    Case(R + "Semicolons", _mod("  def totals(order), do: (net = order.total - order.tax; {net, order.tax})\n"), function="totals"),
    Case(R + "ParenthesesInCondition", _mod("  def ship(order) do\n    if (order.paid) do\n      Shipping.send(order)\n    end\n  end\n"), function="ship", fixed="if order.paid do"),
    Case(R + "SpaceAfterCommas", _mod("  def line(order,sku), do: {order.id, sku}\n"), function="line", fixed="def line(order, sku)"),
    Case(R + "UnnecessaryAliasExpansion", _mod("  alias Shop.{Payments}\n\n  def pay(order), do: Payments.charge(order)\n")),
    # -- design
    Case(D + "AliasUsage", _mod("  def pay(order), do: Shop.Billing.Payments.charge(order)\n"), function="pay"),
    Case(D + "TagTODO", _mod("  # TODO: handle partial refunds\n  def refund(order), do: order\n")),
    Case(D + "TagFIXME", _mod("  # FIXME: rounding is wrong for JPY\n  def round_total(order), do: order.total\n")),
    # -- refactor
    Case(F + "Nesting", _mod("  def ship(order) do\n    if order.paid do\n      if order.address do\n        if order.items != [], do: Shipping.send(order)\n      end\n    end\n  end\n"), function="ship"),
    Case(F + "CyclomaticComplexity", _mod("  def score(o) do\n" + "".join(f"    if o.f{i}, do: {i}\n" for i in range(10)) + "  end\n"), function="score"),
    Case(F + "FunctionArity", _mod("  def create(a, b, c, d, e, f, g, h, i), do: {a, b, c, d, e, f, g, h, i}\n"), function="create"),
    Case(F + "CondStatements", _mod("  def label(order) do\n    cond do\n      order.paid -> \"paid\"\n      true -> \"open\"\n    end\n  end\n"), function="label"),
    Case(F + "NegatedConditionsWithElse", _mod("  def state(order) do\n    if !order.paid do\n      :open\n    else\n      :paid\n    end\n  end\n"), function="state", fixed="if order.paid do"),
    Case(F + "NegatedConditionsInUnless", _mod("  def remind(order), do: unless(not order.paid, do: :ok)\n"), function="remind"),
    Case(F + "UnlessWithElse", _mod("  def state(order) do\n    unless order.paid do\n      :open\n    else\n      :paid\n    end\n  end\n"), function="state", fixed="if order.paid do"),
    Case(F + "MatchInCondition", _mod("  def notify(result) do\n    if {:ok, order} = result do\n      Mailer.send(order)\n    end\n  end\n"), function="notify"),
    Case(F + "FilterFilter", _mod("  def open_paid(orders), do: orders |> Enum.filter(& &1.paid) |> Enum.filter(& &1.open)\n"), function="open_paid", fixed="Enum.filter(&(&1.paid && &1.open))"),
    Case(F + "RejectReject", _mod("  def live(orders), do: orders |> Enum.reject(& &1.cancelled) |> Enum.reject(& &1.draft)\n"), function="live"),
    Case(F + "FilterCount", _mod("  def paid_count(orders), do: orders |> Enum.filter(& &1.paid) |> Enum.count()\n"), function="paid_count"),
    Case(F + "MapJoin", _mod("  def skus(order), do: order.lines |> Enum.map(& &1.sku) |> Enum.join(\",\")\n"), function="skus", fixed="Enum.map_join"),
    Case(F + "WithClauses", _mod("  def place(params) do\n    with {:ok, cart} <- Carts.fetch(params),\n         total = Carts.total(cart) do\n      total\n    end\n  end\n"), function="place"),
    # -- security (Sobelow)
    Case("Sobelow.DOS.StringToAtom", _ctl("  def index(conn, %{\"sort\" => sort}) do\n    orders = Orders.list(order_by: String.to_atom(sort))\n    render(conn, :index, orders: orders)\n  end\n"), "lib/shop_web/controllers/order_controller.ex", "index", "String.to_existing_atom(sort)"),
    Case("Sobelow.DOS.ListToAtom", _mod("  def currency(code), do: List.to_atom(code)\n"), function="currency", fixed="List.to_existing_atom(code)"),
    Case("Sobelow.DOS.BinToAtom", _mod("  def channel(order), do: :\"order_#{order.id}\"\n"), function="channel", fixed='String.to_existing_atom("order_#{order.id}")'),
    Case("Sobelow.Misc.BinToTerm", _mod("  def load_cart(cookie), do: :erlang.binary_to_term(Base.decode64!(cookie))\n"), function="load_cart", fixed=":erlang.binary_to_term(Base.decode64!(cookie), [:safe])"),
    Case("Sobelow.CI.System", _ctl("  def export(conn, %{\"format\" => format}) do\n    {csv, 0} = System.cmd(format, [\"--orders\"])\n    text(conn, csv)\n  end\n"), "lib/shop_web/controllers/order_controller.ex", "export"),
    Case("Sobelow.CI.OS", _mod("  def print_invoice(file), do: :os.cmd(~c\"lpr \" ++ String.to_charlist(file))\n"), function="print_invoice"),
    Case("Sobelow.RCE.CodeModule", _ctl("  def price(conn, %{\"rule\" => rule}) do\n    {value, _} = Code.eval_string(rule)\n    json(conn, %{price: value})\n  end\n"), "lib/shop_web/controllers/order_controller.ex", "price"),
    Case("Sobelow.RCE.EEx", _mod("  def render_receipt(template, order), do: EEx.eval_string(template, order: order)\n"), function="render_receipt"),
    Case("Sobelow.SQL.Query", _mod("  alias Ecto.Adapters.SQL\n\n  def by_email(email) do\n    SQL.query!(Repo, \"SELECT * FROM orders WHERE email = '#{email}'\", [])\n  end\n"), function="by_email"),
    Case("Sobelow.SQL.Stream", _mod("  alias Ecto.Adapters.SQL\n\n  def dump(table) do\n    SQL.stream(Repo, \"COPY (SELECT * FROM #{table}) TO STDOUT\", [])\n  end\n"), function="dump"),
    Case("Sobelow.Traversal.FileModule", _ctl("  def invoice(conn, %{\"file\" => file}) do\n    body = File.read!(\"invoices/\" <> file)\n    send_resp(conn, 200, body)\n  end\n"), "lib/shop_web/controllers/order_controller.ex", "invoice"),
    Case("Sobelow.Traversal.SendFile", _ctl("  def label(conn, %{\"name\" => name}), do: send_file(conn, 200, \"labels/\" <> name)\n"), "lib/shop_web/controllers/order_controller.ex", "label"),
    Case("Sobelow.Traversal.SendDownload", _ctl("  def download(conn, %{\"path\" => path}), do: send_download(conn, {:file, \"exports/\" <> path})\n"), "lib/shop_web/controllers/order_controller.ex", "download"),
    Case("Sobelow.XSS.Raw", _mod("  import Phoenix.HTML\n\n  def note_html(order), do: raw(order.customer_note)\n", "ShopWeb.OrderView"), "lib/shop_web/views/order_view.ex", "note_html"),
    Case("Sobelow.XSS.SendResp", _ctl("  def echo(conn, %{\"note\" => note}), do: send_resp(conn, 200, note)\n"), "lib/shop_web/controllers/order_controller.ex", "echo"),
    Case("Sobelow.XSS.ContentType", _ctl("  def export(conn, %{\"type\" => type, \"body\" => body}) do\n    conn |> put_resp_content_type(type) |> send_resp(200, body)\n  end\n"), "lib/shop_web/controllers/order_controller.ex", "export"),
    Case("Sobelow.XSS.HTML", _ctl("  def thanks(conn, %{\"name\" => name}), do: html(conn, \"<h1>Thanks, #{name}!</h1>\")\n"), "lib/shop_web/controllers/order_controller.ex", "thanks"),
    Case("Sobelow.Config.CSRF", "defmodule ShopWeb.Router do\n  use ShopWeb, :router\n\n  pipeline :browser do\n    plug :accepts, [\"html\"]\n    plug :fetch_session\n    plug :put_secure_browser_headers\n  end\nend\n", "lib/shop_web/router.ex"),
    Case("Sobelow.Config.Headers", "defmodule ShopWeb.Router do\n  use ShopWeb, :router\n\n  pipeline :browser do\n    plug :accepts, [\"html\"]\n    plug :fetch_session\n    plug :protect_from_forgery\n  end\nend\n", "lib/shop_web/router.ex"),
    Case("Sobelow.Config.CSP", "defmodule ShopWeb.Router do\n  use ShopWeb, :router\n\n  pipeline :browser do\n    plug :accepts, [\"html\"]\n    plug :protect_from_forgery\n    plug :put_secure_browser_headers\n  end\nend\n", "lib/shop_web/router.ex"),
    Case("Sobelow.Config.Secrets", "import Config\n\nconfig :shop, ShopWeb.Endpoint,\n  secret_key_base: \"kq0Jd8cWm2Yx7VtH3pLr9sNb5FgAe1Uo6Zi4Cy\"\n", "config/prod.exs"),
]

ENABLE_ALL = [W + "UnsafeToAtom"]  # rules off by default that the cases exercise


def case_finding(case: Case, helper: Any) -> Any:
    """The case's finding of its own rule (analysed with every case rule enabled)."""
    from elixir_coder_lsp.config import Settings
    from elixir_coder_lsp.inference.check import analyze

    result = analyze(case.code, filename=case.filename, helper=helper, settings=Settings(), credo_config=CREDO_CONFIG())
    found = [f for f in result.findings if f.rule == case.rule]
    if not found:
        raise AssertionError(f"{case.rule} does not fire on its case: {[f.rule for f in result.findings]}")
    return found[0]


def CREDO_CONFIG() -> Any:
    """A `.credo.exs` equivalent that also enables the rules that are off by default."""
    from elixir_coder_lsp.rules.credo_config import CredoConfig

    return CredoConfig(enabled=tuple(ENABLE_ALL))
