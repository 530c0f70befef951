"""Catalogue entries for the built-in Sobelow-mirroring security rules, written in our own words.

Each entry is a dict of the `Rule` fields (see rules/rule.py); `RULES` holds them as `Rule` objects. Confidence is the rating a finding gets outside a controller (Sobelow raises most rules
to medium/high inside one); `autofix` says whether the built-in rule attaches a deterministic fix.
"""

from __future__ import annotations

from typing import Any

from elixir_coder_lsp.rules import cwe as _cwe
from elixir_coder_lsp.rules.rule import Rule

SOBELOW_DOCS = "https://hexdocs.pm/sobelow/readme.html"


def _refs(cwe_id: int, *more: str) -> tuple[str, ...]:
    return (_cwe.url(cwe_id), *more, SOBELOW_DOCS)


_CONFIDENCE_NOTE = (
    " Sobelow rates it low outside Phoenix controllers; in a file with `use MyAppWeb, :controller` "
    "it is high when the value comes straight from an argument of the action (or `conn.params`) "
    "and medium otherwise."
)

ENTRIES: list[dict[str, Any]] = [
    # ------------------------------------------------------------------ DOS
    {
        "id": "Sobelow.DOS.StringToAtom",
        "category": "security",
        "title": "Unsafe `String.to_atom`",
        "confidence": "low",
        "cwe": 400,
        "autofix": True,
        "what": "`String.to_atom/1` is called on a value that is not a literal string."
        + _CONFIDENCE_NOTE,
        "why": "Atoms live in a global table that is never garbage-collected and has a fixed size "
        "(about a million entries by default). Turning request data into atoms lets a client fill "
        "the table, and when it is full the whole VM stops, not just the request.",
        "how_to_fix": "Use `String.to_existing_atom/1`, which only returns atoms the code already "
        "knows and raises otherwise, or map the allowed strings to atoms explicitly with a `case`.",
        "bad_example": 'def sort(conn, %{"by" => by}) do\n  field = String.to_atom(by)\n  json(conn, Repo.all(order_by(Item, ^field)))\nend',
        "good_example": 'def sort(conn, %{"by" => by}) do\n  field = String.to_existing_atom(by)\n  json(conn, Repo.all(order_by(Item, ^field)))\nend',
        "references": _refs(400, "https://hexdocs.pm/elixir/String.html#to_existing_atom/1"),
    },
    {
        "id": "Sobelow.DOS.ListToAtom",
        "category": "security",
        "title": "Unsafe `List.to_atom`",
        "confidence": "low",
        "cwe": 400,
        "autofix": True,
        "what": "`List.to_atom/1` is called on a charlist that is not a literal." + _CONFIDENCE_NOTE,
        "why": "Each distinct charlist creates a new, permanent atom. Input-driven atom creation "
        "can exhaust the atom table and bring down the node.",
        "how_to_fix": "Use `List.to_existing_atom/1`, or translate the known values with a `case`.",
        "bad_example": "def mode(chars), do: List.to_atom(chars)",
        "good_example": "def mode(chars), do: List.to_existing_atom(chars)",
        "references": _refs(400, "https://hexdocs.pm/elixir/List.html#to_existing_atom/1"),
    },
    {
        "id": "Sobelow.DOS.BinToAtom",
        "category": "security",
        "title": "Unsafe atom interpolation",
        "confidence": "low",
        "cwe": 400,
        "autofix": True,
        "what": "An atom is built at runtime from a variable, either with `:erlang.binary_to_atom/2` "
        'or with an interpolated atom literal such as `:"user_#{id}"`.' + _CONFIDENCE_NOTE,
        "why": "Interpolated atoms are compiled to `binary_to_atom` calls, so every new value adds "
        "a permanent atom; enough distinct inputs exhaust the atom table.",
        "how_to_fix": "Use `:erlang.binary_to_existing_atom/2` or `String.to_existing_atom/1` "
        "(the fix rewrites `:\"a#{b}\"` to `String.to_existing_atom(\"a#{b}\")`), or keep the "
        "value as a string.",
        "bad_example": 'def topic(id), do: :"room_#{id}"',
        "good_example": 'def topic(id), do: String.to_existing_atom("room_#{id}")',
        "references": _refs(400, "https://www.erlang.org/doc/man/erlang.html#binary_to_existing_atom-2"),
    },
    # ------------------------------------------------------------------ Misc
    {
        "id": "Sobelow.Misc.BinToTerm",
        "category": "security",
        "title": "Unsafe `binary_to_term`",
        "confidence": "high",
        "cwe": 502,
        "autofix": True,
        "what": "`:erlang.binary_to_term/1,2` decodes a value that is not a literal. Sobelow rates "
        "this high everywhere. Unlike Sobelow, the built-in rule accepts a call whose options list "
        "contains `:safe` (that is what its autofix writes).",
        "why": "The external term format can encode new atoms, which exhausts the atom table, and "
        "functions, which run when the caller later invokes what it believes is plain data.",
        "how_to_fix": "Never decode untrusted bytes with the plain call. Pass `[:safe]` to refuse "
        "unknown atoms, and for data from clients prefer `Plug.Crypto.non_executable_binary_to_term/2` "
        "(which also refuses functions) or a data format such as JSON.",
        "bad_example": "def restore(blob), do: :erlang.binary_to_term(blob)",
        "good_example": "def restore(blob), do: :erlang.binary_to_term(blob, [:safe])",
        "references": _refs(
            502,
            "https://www.erlang.org/doc/man/erlang.html#binary_to_term-2",
            "https://hexdocs.pm/plug_crypto/Plug.Crypto.html#non_executable_binary_to_term/2",
        ),
    },
    # ------------------------------------------------------------------ CI
    {
        "id": "Sobelow.CI.System",
        "category": "security",
        "title": "Command injection via `System` function",
        "confidence": "low",
        "cwe": 78,
        "autofix": False,
        "what": "The command given to `System.cmd/2,3` or `System.shell/1,2` is not a literal. Only "
        "the command (first argument) is checked; variables in the argument list are fine."
        + _CONFIDENCE_NOTE,
        "why": "Whoever controls the command chooses which program runs with the application's "
        "privileges; `System.shell` additionally hands the whole string to a shell, so any "
        "interpolated value can add further commands.",
        "how_to_fix": "Keep the executable a literal (or pick it from a fixed allow-list) and pass "
        "user data only as separate arguments in the list, never through a shell string.",
        "bad_example": 'def export(conn, %{"tool" => tool}) do\n  {out, 0} = System.cmd(tool, ["--csv"])\n  text(conn, out)\nend',
        "good_example": 'def export(conn, %{"file" => file}) do\n  {out, 0} = System.cmd("csvtool", ["--csv", file])\n  text(conn, out)\nend',
        "references": _refs(78, "https://hexdocs.pm/elixir/System.html#cmd/3"),
    },
    {
        "id": "Sobelow.CI.OS",
        "category": "security",
        "title": "Command injection in `:os.cmd`",
        "confidence": "low",
        "cwe": 78,
        "autofix": False,
        "what": "`:os.cmd/1,2` runs a command line that is not a literal." + _CONFIDENCE_NOTE,
        "why": "`:os.cmd` passes its argument to the system shell, so metacharacters in any part "
        "built from input (`;`, `&&`, `$(...)`) run extra commands.",
        "how_to_fix": "Use `System.cmd/3` with a literal executable and the input as a separate "
        "list argument, which starts the program directly without a shell.",
        "bad_example": 'def print(path), do: :os.cmd(String.to_charlist("lp " <> path))',
        "good_example": 'def print(path), do: System.cmd("lp", [path])',
        "references": _refs(78, "https://www.erlang.org/doc/man/os.html#cmd-1"),
    },
    # ------------------------------------------------------------------ RCE
    {
        "id": "Sobelow.RCE.CodeModule",
        "category": "security",
        "title": "Code execution in `Code` eval function",
        "confidence": "low",
        "cwe": 95,
        "autofix": False,
        "what": "`Code.eval_string/1..3`, `Code.eval_file/1,2` or `Code.eval_quoted/1..3` "
        "evaluates something that is not a literal." + _CONFIDENCE_NOTE,
        "why": "Evaluated code can do anything the node can: read secrets, call other nodes, run "
        "shell commands. Input that reaches eval is full remote code execution.",
        "how_to_fix": "Do not evaluate input. Parse it into data (numbers, a small expression "
        "tree) and interpret that data with code you wrote.",
        "bad_example": 'def preview(conn, %{"formula" => f}) do\n  {value, _} = Code.eval_string(f)\n  json(conn, %{value: value})\nend',
        "good_example": 'def preview(conn, %{"formula" => f}) do\n  json(conn, %{value: Calculator.evaluate(Calculator.parse!(f))})\nend',
        "references": _refs(95, "https://hexdocs.pm/elixir/Code.html#eval_string/3"),
    },
    {
        "id": "Sobelow.RCE.EEx",
        "category": "security",
        "title": "Code execution in EEx template eval",
        "confidence": "low",
        "cwe": 94,
        "autofix": False,
        "what": "`EEx.eval_string/1..3` or `EEx.eval_file/1..3` evaluates a template that is not a "
        "literal." + _CONFIDENCE_NOTE,
        "why": "An EEx template is Elixir code: `<%= %>` tags run arbitrary expressions. A template "
        "taken from input, or read from a path built from input, lets the caller run code.",
        "how_to_fix": "Compile templates from files in the release (`EEx.function_from_file/5`, "
        "Phoenix views) and pass user data only as assigns.",
        "bad_example": "def render_note(template, assigns), do: EEx.eval_string(template, assigns: assigns)",
        "good_example": 'require EEx\nEEx.function_from_file(:def, :render_note, "priv/note.eex", [:assigns])',
        "references": _refs(94, "https://hexdocs.pm/eex/EEx.html#eval_string/3"),
    },
    # ------------------------------------------------------------------ SQL
    {
        "id": "Sobelow.SQL.Query",
        "category": "security",
        "title": "SQL injection",
        "confidence": "low",
        "cwe": 89,
        "autofix": False,
        "what": "The SQL text of `Ecto.Adapters.SQL.query/query!/query_many/query_many!` (second "
        "argument) or `Repo.query...` (first argument) contains a variable, usually through "
        "string interpolation." + _CONFIDENCE_NOTE,
        "why": "Values spliced into SQL text are parsed as SQL, so a crafted value can read or "
        "change any data the database user can reach.",
        "how_to_fix": "Keep the SQL a literal with `$1`, `$2` placeholders and pass the values in "
        "the parameter list, or build the query with `Ecto.Query` and `^pinned` values.",
        "bad_example": 'SQL.query!(Repo, "SELECT * FROM refunds WHERE id = #{id}", [])',
        "good_example": 'SQL.query!(Repo, "SELECT * FROM refunds WHERE id = $1", [id])',
        "references": _refs(89, "https://hexdocs.pm/ecto_sql/Ecto.Adapters.SQL.html#query/4"),
    },
    {
        "id": "Sobelow.SQL.Stream",
        "category": "security",
        "title": "SQL injection in `SQL.stream`",
        "confidence": "low",
        "cwe": 89,
        "autofix": False,
        "what": "The SQL text (second argument) of `Ecto.Adapters.SQL.stream/4` contains a variable."
        + _CONFIDENCE_NOTE,
        "why": "As with `query`, interpolated values become part of the statement and can change "
        "what it does.",
        "how_to_fix": "Use placeholders in a literal SQL string and pass the values as the "
        "parameter list.",
        "bad_example": 'SQL.stream(Repo, "COPY (SELECT * FROM #{table}) TO STDOUT", [])',
        "good_example": 'SQL.stream(Repo, "SELECT * FROM events WHERE day = $1", [day])',
        "references": _refs(89, "https://hexdocs.pm/ecto_sql/Ecto.Adapters.SQL.html#stream/4"),
    },
    # ------------------------------------------------------------------ Traversal
    {
        "id": "Sobelow.Traversal.FileModule",
        "category": "security",
        "title": "Directory traversal in `File` function",
        "confidence": "low",
        "cwe": 22,
        "autofix": False,
        "what": "A path given to a `File` function (`read`, `write`, `rm`, `rm_rf`, `open`, "
        "`chmod`, `chown`, `mkdir`, `mkdir_p`, and both paths of `cp`, `copy`, `cp_r`, `ln`, "
        "`ln_s`, with their bang variants) is not a literal or module attribute." + _CONFIDENCE_NOTE,
        "why": "A path that contains `..` segments or is absolute escapes the intended directory, "
        "exposing or destroying files such as configuration and secrets.",
        "how_to_fix": "Reduce input to a bare file name (`Path.basename/1`) or check it with "
        "`Path.safe_relative/2` (Elixir 1.14+) before joining it to a fixed base directory."
        " Any non-literal path is reported (as by Sobelow), so once the path is checked, mark the "
        "function with `# sobelow_skip [\"Traversal.FileModule\"]` and say why in a comment.",
        "bad_example": 'def receipt(conn, params) do\n  json(conn, %{body: File.read!("receipts/" <> params["file"])})\nend',
        "good_example": '# The name is confined to receipts/ by Path.safe_relative/2.\n# sobelow_skip ["Traversal.FileModule"]\ndef receipt(conn, %{"file" => file}) do\n  {:ok, rel} = Path.safe_relative(file)\n  json(conn, %{body: File.read!(Path.join("receipts", rel))})\nend',
        "references": _refs(22, "https://hexdocs.pm/elixir/Path.html#safe_relative/2"),
    },
    {
        "id": "Sobelow.Traversal.SendFile",
        "category": "security",
        "title": "Directory traversal in `send_file`",
        "confidence": "low",
        "cwe": 22,
        "autofix": False,
        "what": "The path (third argument) of `Plug.Conn.send_file/3..5` is not a literal."
        + _CONFIDENCE_NOTE,
        "why": "The client receives whatever file the path names, so a traversal sequence lets "
        "it download any file the server can read.",
        "how_to_fix": "Serve files by an id looked up in your own records, or validate the name "
        "with `Path.safe_relative/2` against a fixed directory. Any non-literal path is reported, "
        "so after that, mark the function with `# sobelow_skip [\"Traversal.SendFile\"]` and say "
        "why.",
        "bad_example": 'def show(conn, %{"name" => name}), do: send_file(conn, 200, "uploads/" <> name)',
        "good_example": '# The path comes from our own upload records, never from the request.\n# sobelow_skip ["Traversal.SendFile"]\ndef show(conn, %{"id" => id}) do\n  upload = Uploads.get!(id)\n  send_file(conn, 200, upload.stored_path)\nend',
        "references": _refs(22, "https://hexdocs.pm/plug/Plug.Conn.html#send_file/5"),
    },
    {
        "id": "Sobelow.Traversal.SendDownload",
        "category": "security",
        "title": "Directory traversal in `send_download`",
        "confidence": "low",
        "cwe": 22,
        "autofix": False,
        "what": "`Phoenix.Controller.send_download/3` sends `{:file, path}` with a path that is "
        "not a literal. `{:binary, data}` downloads are not checked." + _CONFIDENCE_NOTE,
        "why": "The path decides which server file is sent to the client; traversal sequences "
        "reach files outside the download directory.",
        "how_to_fix": "Look the file up by id, or validate the name with `Path.safe_relative/2` "
        "and join it to a fixed directory; then mark the function with "
        "`# sobelow_skip [\"Traversal.SendDownload\"]` and say why, since any non-literal path "
        "is reported.",
        "bad_example": 'def get(conn, %{"f" => f}), do: send_download(conn, {:file, "exports/" <> f})',
        "good_example": '# The name is confined to exports/ by Path.safe_relative/2.\n# sobelow_skip ["Traversal.SendDownload"]\ndef get(conn, %{"f" => f}) do\n  {:ok, rel} = Path.safe_relative(f)\n  send_download(conn, {:file, Path.join("exports", rel)})\nend',
        "references": _refs(22, "https://hexdocs.pm/phoenix/Phoenix.Controller.html#send_download/3"),
    },
    # ------------------------------------------------------------------ XSS
    {
        "id": "Sobelow.XSS.Raw",
        "category": "security",
        "title": "XSS via `raw`",
        "confidence": "low",
        "cwe": 79,
        "autofix": False,
        "what": "`raw/1` (`Phoenix.HTML.raw/1`) marks a non-literal value as safe HTML, in a module "
        "that is not a controller (views, components, helpers). In controllers Sobelow follows "
        "`render` into the .eex templates instead, which a single buffer cannot see.",
        "why": "`raw` switches off Phoenix's HTML escaping; any markup in the value, including "
        "`<script>`, reaches the page as is.",
        "how_to_fix": "Let Phoenix escape the value (drop `raw`), or sanitize the HTML with an "
        "allow-list sanitizer before marking it safe.",
        "bad_example": "def bio(user), do: raw(user.bio)",
        "good_example": "def bio(user), do: user.bio",
        "references": _refs(79, "https://hexdocs.pm/phoenix_html/Phoenix.HTML.html#raw/1"),
    },
    {
        "id": "Sobelow.XSS.SendResp",
        "category": "security",
        "title": "XSS in `send_resp`",
        "confidence": "medium",
        "cwe": 79,
        "autofix": False,
        "what": "The body (third argument) of `send_resp/3` contains a variable. Unlike most rules "
        "this is rated in every module: high when the body comes from a function argument, "
        "medium otherwise; it drops to low when the function sets a non-literal or mixed content "
        "type and is not reported when it only sets non-HTML content types.",
        "why": "`send_resp` writes the body unescaped; if the response is served as HTML (the "
        "default for browsers sniffing content), input in it can run script.",
        "how_to_fix": "Set an explicit non-HTML content type (`put_resp_content_type(conn, "
        '"application/json")`), use `json/2` or `text/2`, or escape the value with '
        "`Phoenix.HTML.html_escape/1`.",
        "bad_example": 'def echo(conn, %{"msg" => msg}), do: send_resp(conn, 200, msg)',
        "good_example": 'def echo(conn, %{"msg" => msg}) do\n  conn |> put_resp_content_type("text/plain") |> send_resp(200, msg)\nend',
        "references": _refs(79, "https://hexdocs.pm/plug/Plug.Conn.html#send_resp/3"),
    },
    {
        "id": "Sobelow.XSS.ContentType",
        "category": "security",
        "title": "XSS in `put_resp_content_type`",
        "confidence": "low",
        "cwe": 79,
        "autofix": False,
        "what": "The content type given to `put_resp_content_type/2,3` is not a literal."
        + _CONFIDENCE_NOTE,
        "why": "If a caller can choose the content type of a response that echoes their data, "
        "they can ask for `text/html` and turn harmless JSON into a script-carrying page.",
        "how_to_fix": "Use a literal content type, or choose among fixed ones based on the input.",
        "bad_example": 'def raw_export(conn, %{"type" => type, "data" => data}) do\n  conn |> put_resp_content_type(type) |> send_resp(200, data)\nend',
        "good_example": 'def raw_export(conn, %{"data" => data}) do\n  conn |> put_resp_content_type("text/csv") |> send_resp(200, data)\nend',
        "references": _refs(79, "https://hexdocs.pm/plug/Plug.Conn.html#put_resp_content_type/3"),
    },
    {
        "id": "Sobelow.XSS.HTML",
        "category": "security",
        "title": "XSS in `html`",
        "confidence": "low",
        "cwe": 79,
        "autofix": False,
        "what": "The body given to `Phoenix.Controller.html/2` contains a variable." + _CONFIDENCE_NOTE,
        "why": "`html/2` sends its argument as a `text/html` response without escaping, so markup "
        "in a value from the request runs in the user's browser.",
        "how_to_fix": "Render a template (which escapes assigns), or escape the value with "
        "`Phoenix.HTML.html_escape/1` and `Phoenix.HTML.safe_to_string/1` before sending it.",
        "bad_example": 'def hello(conn, %{"name" => name}), do: html(conn, "<p>Hello #{name}</p>")',
        "good_example": 'def hello(conn, %{"name" => name}), do: render(conn, :hello, name: name)',
        "references": _refs(79, "https://hexdocs.pm/phoenix/Phoenix.Controller.html#html/2"),
    },
    # ------------------------------------------------------------------ Config
    {
        "id": "Sobelow.Config.CSRF",
        "category": "security",
        "title": "Missing CSRF protection",
        "confidence": "high",
        "cwe": 352,
        "autofix": False,
        "what": "A router pipeline (in a file with `use MyAppWeb, :router` or named router.ex) "
        "plugs `:fetch_session` but not `:protect_from_forgery`.",
        "why": "Routes behind a session-fetching pipeline act on the logged-in user's cookie. "
        "Without a CSRF token check, any other site can make the user's browser submit forms to "
        "them.",
        "how_to_fix": "Add `plug :protect_from_forgery` to the pipeline (after `:fetch_session`), "
        "and keep `csrf_meta_tag`/form helpers in the templates.",
        "bad_example": "pipeline :browser do\n  plug :accepts, [\"html\"]\n  plug :fetch_session\nend",
        "good_example": "pipeline :browser do\n  plug :accepts, [\"html\"]\n  plug :fetch_session\n  plug :protect_from_forgery\nend",
        "references": _refs(352, "https://hexdocs.pm/phoenix/Phoenix.Controller.html#protect_from_forgery/2"),
    },
    {
        "id": "Sobelow.Config.Headers",
        "category": "security",
        "title": "Missing secure browser headers",
        "confidence": "high",
        "cwe": 693,
        "autofix": False,
        "what": "A router pipeline whose first plug accepts \"html\" does not plug "
        "`:put_secure_browser_headers`.",
        "why": "That plug sets headers which stop other sites framing your pages (clickjacking), "
        "stop browsers guessing content types, and limit referrer leaks; HTML pipelines without "
        "it lose those defences.",
        "how_to_fix": "Add `plug :put_secure_browser_headers` to every pipeline that serves HTML.",
        "bad_example": "pipeline :browser do\n  plug :accepts, [\"html\"]\n  plug :fetch_session\n  plug :protect_from_forgery\nend",
        "good_example": "pipeline :browser do\n  plug :accepts, [\"html\"]\n  plug :fetch_session\n  plug :protect_from_forgery\n  plug :put_secure_browser_headers\nend",
        "references": _refs(693, "https://hexdocs.pm/phoenix/Phoenix.Controller.html#put_secure_browser_headers/2"),
    },
    {
        "id": "Sobelow.Config.CSP",
        "category": "security",
        "title": "Missing Content-Security-Policy",
        "confidence": "high",
        "cwe": 693,
        "autofix": False,
        "what": "`plug :put_secure_browser_headers` in a router pipeline sets no "
        "`content-security-policy` header: high for the bare plug or a literal/module-attribute "
        "map without that key, low when the headers come from elsewhere and cannot be read.",
        "why": "A Content-Security-Policy tells the browser which scripts and resources a page may "
        "load; without one, any script injected through an XSS bug runs unhindered.",
        "how_to_fix": "Pass a policy to the plug, for example "
        "`plug :put_secure_browser_headers, %{\"content-security-policy\" => \"default-src 'self'\"}`, "
        "and tighten it to what the pages need.",
        "bad_example": "plug :put_secure_browser_headers",
        "good_example": "plug :put_secure_browser_headers, %{\"content-security-policy\" => \"default-src 'self'\"}",
        "references": _refs(693, "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP"),
    },
    {
        "id": "Sobelow.Config.Secrets",
        "category": "security",
        "title": "Hard-coded secret",
        "confidence": "high",
        "cwe": 798,
        "autofix": False,
        "what": "A config file (`config/*.exs` except dev/test ones) sets a key containing "
        "`password` or `secret` (and `secret_key_base` outside config.exs) to a non-empty string "
        "literal. As an addition to Sobelow, module attributes named like `@api_secret` or "
        "`@db_password` that hold a string literal are reported too (parameter "
        "`module_attributes`).",
        "why": "Secrets in source end up in every clone, backup and CI log of the repository; "
        "anyone who can read the code can sign sessions or reach the database, and changing the "
        "secret requires a code change.",
        "how_to_fix": "Read secrets at runtime in `config/runtime.exs` with "
        '`System.fetch_env!("SECRET_KEY_BASE")` (or a secrets manager) and keep the values out '
        "of the repository.",
        "bad_example": 'config :shop, ShopWeb.Endpoint,\n  secret_key_base: "x8Fv1...long literal..."',
        "good_example": 'config :shop, ShopWeb.Endpoint,\n  secret_key_base: System.fetch_env!("SECRET_KEY_BASE")',
        "references": _refs(798, "https://hexdocs.pm/elixir/Config.html"),
    },
]


RULES: list[Rule] = [Rule(tool="sobelow", priority=None, **entry) for entry in ENTRIES]
