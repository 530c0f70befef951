-- elixir-coder-lsp for Neovim 0.7 and later.
--
--   require("elixir_coder").setup({
--     cmd = { "elixir-coder-lsp" },                   -- the server, stdio
--     settings = { models = { default = { checkpoint = "/models/qwen-coder" } } },   -- docs/protocol.md
--   })
--
-- 0.11+ uses vim.lsp.config/vim.lsp.enable, 0.8-0.10 vim.lsp.start from a FileType autocommand, 0.7
-- vim.lsp.start_client + vim.lsp.buf_attach_client. elixirCoder/ask goes through vim.ui.select (and
-- vim.ui.input for a free-text answer); elixirCoder/status through vim.notify and
-- require("elixir_coder").statusline(). Commands: :ElixirCoderGenerate [prompt] (with a range: the
-- selected lines are the request), :ElixirCoderExplain, :ElixirCoderCancel.
local M = {}

local NAME = "elixir_coder"
local FILETYPES = { "elixir", "eelixir", "heex" }
local ROOT_MARKERS = { "mix.exs", ".git" }
local OTHER = "Other (type an answer)"

M.jobs = {} -- job ids started from this Neovim and not known to have ended, oldest first
M.status = {} -- instance -> { state =, message = }

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

-- vim.json/json_encode turn {} into [], which the server reads as a list, not a settings object.
local function as_object(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

-- --- elixirCoder/ask ---------------------------------------------------------------------------

-- Ask with vim.ui.select (plus "Other" and vim.ui.input when free text is allowed) and call done(reply).
local function ask_user(params, done)
  local labels = {}
  for _, option in ipairs(params.options or {}) do
    table.insert(labels, option.label)
  end
  local descriptions = {}
  for _, option in ipairs(params.options or {}) do
    descriptions[option.label] = option.description
  end
  if params.allowFreeText then
    table.insert(labels, OTHER)
  end
  vim.ui.select(labels, {
    prompt = params.question,
    format_item = function(label)
      local d = descriptions[label]
      return d and d ~= "" and (label .. " - " .. d) or label
    end,
  }, function(choice)
    if choice == nil then
      done({ cancelled = true })
    elseif choice == OTHER then
      vim.ui.input({ prompt = params.question .. " " }, function(text)
        if text == nil or vim.trim(text) == "" then
          done({ cancelled = true })
        else
          done({ answer = vim.trim(text) })
        end
      end)
    else
      done({ answer = choice })
    end
  end)
end

-- A server request handler must return its reply. Neovim 0.10+ runs it in a coroutine, so we yield
-- until the UI answers; 0.7-0.9 run it in a scheduled callback, where we wait with vim.wait (which keeps
-- processing events, so an asynchronous vim.ui.select can finish).
local function ask_handler(_, params)
  if type(params) ~= "table" or type(params.question) ~= "string" then
    return { cancelled = true }
  end
  local co = coroutine.running()
  if co and coroutine.isyieldable and coroutine.isyieldable() then
    M.ask_wait = "coroutine"
    local reply, waiting = nil, false
    ask_user(params, function(r)
      reply = r
      if waiting then
        coroutine.resume(co)
      end
    end)
    if reply == nil then
      waiting = true
      coroutine.yield()
    end
    return reply
  end
  M.ask_wait = "vim.wait"
  local reply
  ask_user(params, function(r)
    reply = r
  end)
  vim.wait(10 * 60 * 1000, function()
    return reply ~= nil
  end, 50)
  return reply or { cancelled = true }
end

-- --- elixirCoder/status and progress -------------------------------------------------------------

local function status_handler(_, params)
  if type(params) ~= "table" or not params.instance then
    return
  end
  local before = M.status[params.instance]
  M.status[params.instance] = { state = params.state, message = params.message }
  vim.g.elixir_coder_status = M.statusline()
  if before and before.state == params.state and before.message == params.message then
    return
  end
  local text = "elixir-coder: " .. params.instance .. " " .. params.state
  if params.message and params.message ~= "" then
    text = text .. " (" .. params.message .. ")"
  end
  if params.state == "failed" then
    vim.notify(text, vim.log.levels.ERROR)
  elseif params.state == "loading" then
    vim.notify(text, vim.log.levels.INFO)
  end
  pcall(vim.cmd, "redrawstatus")
end

--- The models' states for a statusline, e.g. "EC: default idle".
function M.statusline()
  local parts = {}
  for instance, s in pairs(M.status) do
    table.insert(parts, instance .. " " .. s.state)
  end
  table.sort(parts)
  return #parts > 0 and ("EC: " .. table.concat(parts, ", ")) or ""
end

local function forget_job(job_id)
  for i, j in ipairs(M.jobs) do
    if j == job_id then
      table.remove(M.jobs, i)
      return
    end
  end
end

-- The server ends each job's work-done progress; a job is over then. Neovim's own handler runs too.
local function progress_handler(err, result, ctx, config)
  if type(result) == "table" and type(result.token) == "string" and type(result.value) == "table" then
    local job_id = result.token:match("^elixir%-coder/(.+)$")
    if job_id and result.value.kind == "end" then
      forget_job(job_id)
    end
  end
  local default = vim.lsp.handlers["$/progress"]
  if default then
    return default(err, result, ctx, config)
  end
end

-- --- client ----------------------------------------------------------------------------------

local function root_dir_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.fn.getcwd()
  for _, marker in ipairs(ROOT_MARKERS) do
    local found = vim.fn.findfile(marker, dir .. ";")
    if found == "" then
      found = vim.fn.finddir(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h"):gsub("/%.git/?$", "")
    end
  end
  return dir
end

local function client_config(opts)
  local settings = opts.settings or {}
  local init = vim.deepcopy(settings)
  init.clientUi = { ask = true }
  -- Inline completion: Neovim's own where it has vim.lsp.inline_completion (0.12+), else the server's
  -- completion-item fallback, unless the user chose either way.
  if vim.lsp.inline_completion == nil and (init.inline == nil or init.inline.asCompletionItem == nil) then
    init.inline = vim.tbl_extend("force", init.inline or {}, { asCompletionItem = true })
  end
  return {
    name = NAME,
    cmd = opts.cmd or { "elixir-coder-lsp" },
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes or FILETYPES,
    init_options = init,
    settings = { elixirCoder = as_object(settings) },
    handlers = {
      ["elixirCoder/ask"] = ask_handler,
      ["elixirCoder/status"] = status_handler,
      ["$/progress"] = progress_handler,
    },
    on_attach = function(client, bufnr)
      if vim.lsp.inline_completion ~= nil then
        pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client.id })
      end
      if opts.on_attach then
        opts.on_attach(client, bufnr)
      end
    end,
    capabilities = opts.capabilities,
  }
end

--- The running elixir-coder client attached to a buffer (default: the current one), or nil.
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr, name = NAME })
    or vim.lsp.buf_get_clients(bufnr)
  for _, client in pairs(clients) do
    if client.name == NAME then
      return client
    end
  end
  return nil
end

-- 0.7: one client per root directory, attached to each Elixir buffer below it.
local clients_by_root = {}
local function start_07(config, bufnr)
  local root = root_dir_for(bufnr)
  local id = clients_by_root[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    local c = vim.deepcopy(config)
    c.root_dir = root
    c.workspace_folders = { { uri = vim.uri_from_fname(root), name = root } }
    id = vim.lsp.start_client(c)
    clients_by_root[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

-- 0.11 made client methods take self (client:request); earlier ones are plain functions.
local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function execute(client, bufnr, command, argument, on_result)
  request(client, "workspace/executeCommand", { command = command, arguments = { argument } }, function(err, result)
    if err then
      vim.notify("elixir-coder: " .. command .. ": " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end, bufnr)
end

local function need_client()
  local client = M.client()
  if not client then
    vim.notify("elixir-coder: no server attached to this buffer", vim.log.levels.WARN)
  end
  return client
end

--- Generate code for the request at the cursor (a # comment block, a @doc) or in lines l1..l2.
function M.generate(opts)
  opts = opts or {}
  local client = need_client()
  if not client then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local range
  if opts.range and opts.range > 0 then
    local last = vim.api.nvim_buf_get_lines(bufnr, opts.line2 - 1, opts.line2, false)[1] or ""
    range = { start = { line = opts.line1 - 1, character = 0 }, ["end"] = { line = opts.line2 - 1, character = #last } }
  else
    local row, col = unpack(vim.api.nvim_win_get_cursor(0))
    range = { start = { line = row - 1, character = col }, ["end"] = { line = row - 1, character = col } }
  end
  local argument = { uri = vim.uri_from_bufnr(bufnr), range = range }
  if opts.args and opts.args ~= "" then
    argument.prompt = opts.args
  end
  execute(client, bufnr, "elixirCoder.generate", argument, function(result)
    if type(result) == "table" and result.jobId then
      table.insert(M.jobs, result.jobId)
    end
  end)
end

--- Cancel the job running on this buffer (one started from a code action too, whose id only the
--- code-action machinery saw) and every job started here by :ElixirCoderGenerate that has not ended.
function M.cancel()
  local client = need_client()
  if not client then
    return
  end
  local pending, cancelled = #M.jobs + 1, 0
  local function count(result)
    if type(result) == "table" and result.cancelled == true then
      cancelled = cancelled + 1
    end
    pending = pending - 1
    if pending == 0 then
      local text = cancelled > 0 and ("cancelled " .. cancelled .. " job(s)") or "no job is running"
      vim.notify("elixir-coder: " .. text, vim.log.levels.INFO)
    end
  end
  for _, job_id in ipairs(vim.deepcopy(M.jobs)) do
    execute(client, 0, "elixirCoder.cancel", { jobId = job_id }, function(result)
      forget_job(job_id)
      count(result)
    end)
  end
  execute(client, 0, "elixirCoder.cancel", { uri = vim.uri_from_bufnr(0) }, count)
end

-- The LSP form of a vim.diagnostic. 0.10+ keep the whole LSP diagnostic in user_data.lsp; 0.7-0.9
-- keep only code, codeDescription, tags, relatedInformation and data there, so the rest is rebuilt.
local function to_lsp_diagnostic(bufnr, d, client)
  local encoding = client.offset_encoding or "utf-16"
  local function character(lnum, col)
    local ok, n = pcall(vim.lsp.util.character_offset, bufnr, lnum, col, encoding)
    return ok and n or col
  end
  local rebuilt = {
    range = {
      start = { line = d.lnum, character = character(d.lnum, d.col) },
      ["end"] = { line = d.end_lnum or d.lnum, character = character(d.end_lnum or d.lnum, d.end_col or d.col) },
    },
    severity = d.severity,
    message = d.message,
    source = d.source,
    code = d.code,
  }
  return vim.tbl_extend("keep", (d.user_data and d.user_data.lsp) or {}, rebuilt)
end

--- Explain the finding at the cursor in a floating window.
function M.explain()
  local client = need_client()
  if not client then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local ns = vim.lsp.diagnostic.get_namespace(client.id)
  local best
  for _, d in ipairs(vim.diagnostic.get(bufnr, { namespace = ns, lnum = row - 1 })) do
    if best == nil or (d.col <= col and col <= d.end_col) then
      best = to_lsp_diagnostic(bufnr, d, client)
    end
  end
  if not best then
    vim.notify("elixir-coder: no finding on this line", vim.log.levels.INFO)
    return
  end
  execute(client, bufnr, "elixirCoder.explain", { uri = vim.uri_from_bufnr(bufnr), diagnostic = best }, function(result)
    if type(result) == "table" and result.markdown then
      M.last_explanation = result.markdown
      vim.lsp.util.open_floating_preview(vim.split(result.markdown, "\n"), "markdown", { border = "rounded" })
    end
  end)
end

local function create_commands()
  vim.api.nvim_create_user_command("ElixirCoderGenerate", function(o)
    M.generate(o)
  end, { nargs = "?", range = true, desc = "elixir-coder: generate code for the request at the cursor or in the range" })
  vim.api.nvim_create_user_command("ElixirCoderCancel", function()
    M.cancel()
  end, { desc = "elixir-coder: cancel the running job" })
  vim.api.nvim_create_user_command("ElixirCoderExplain", function()
    M.explain()
  end, { desc = "elixir-coder: explain the finding at the cursor" })
end

function M.setup(opts)
  opts = opts or {}
  local config = client_config(opts)
  create_commands()
  -- opts.api forces an older path ("start", "start_client") on a newer Neovim (the tests use it).
  local api = opts.api or (vim.lsp.config and vim.lsp.enable and has("0.11") and "config") or (vim.lsp.start and "start") or "start_client"
  if api == "config" then
    config.root_markers = opts.root_markers or ROOT_MARKERS
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    M.path = "vim.lsp.config"
    return
  end
  local group = vim.api.nvim_create_augroup("ElixirCoder", { clear = true })
  if api == "start" then
    M.path = "vim.lsp.start"
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = config.filetypes,
      callback = function(args)
        local c = vim.deepcopy(config)
        c.root_dir = root_dir_for(args.buf)
        vim.lsp.start(c, { bufnr = args.buf })
      end,
    })
  else
    M.path = "vim.lsp.start_client"
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = config.filetypes,
      callback = function(args)
        start_07(config, args.buf)
      end,
    })
  end
end

return M
