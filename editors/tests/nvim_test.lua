-- Headless Neovim against the real server: open an Elixir file, wait for diagnostics, find the
-- "Generate code" action, run :ElixirCoderGenerate, answer the clarifying question (when the server
-- asks one) through vim.ui.select, and check that the buffer holds the generated code.
--
--   EC_REPO=... EC_PYTHON=... EC_MODEL=... EC_WORKDIR=... EC_GENERATED_PREFIX=... \
--     nvim --headless -u NONE -i NONE -c "luafile editors/tests/nvim_test.lua"
--
-- editors/tests/run_nvim.sh sets the environment. Exits 0 when every check passed, else 1.
local env = vim.env
local repo, workdir, prefix = env.EC_REPO, env.EC_WORKDIR, "  " .. env.EC_GENERATED_PREFIX
local expect_ask = env.EC_EXPECT_ASK == "1"

local function say(msg)
  io.stdout:write("[nvim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor) .. "] " .. msg .. "\n")
end

local function fail(msg)
  say("FAIL: " .. msg)
  io.stdout:flush()
  vim.cmd("cquit 1")
end

local function wait(what, ms, check)
  if not vim.wait(ms, check, 100) then
    fail("timed out waiting for " .. what)
  end
end

local ok, err = pcall(function()
  vim.opt.runtimepath:append(repo .. "/editors/neovim")
  vim.cmd("filetype on")

  local ec = require("elixir_coder")
  ec.setup({
    cmd = { env.EC_PYTHON, "-m", "elixir_coder_lsp" },
    api = env.EC_NVIM_API ~= "" and env.EC_NVIM_API or nil,
    settings = {
      models = { default = { checkpoint = env.EC_MODEL, maxNewTokens = 128 } },
      generation = { candidates = 2 },
      checks = { onChangeDebounceMs = 0 },
      clarification = { entropyThreshold = 0, clusterThreshold = 1 },
    },
  })
  say("setup path: " .. ec.path)

  -- The user's answer to the clarifying question, given asynchronously like a picker UI would: the
  -- first option, or (EC_FREE_TEXT=1) the last item, "Other", and a typed answer.
  local asked = {}
  local free_text = env.EC_FREE_TEXT == "1"
  vim.ui.select = function(items, opts, on_choice)
    local pick = free_text and #items or 1
    table.insert(asked, { prompt = opts.prompt, answer = items[pick] })
    vim.defer_fn(function()
      on_choice(items[pick], pick)
    end, 200)
  end
  vim.ui.input = function(opts, on_confirm)
    asked[#asked].answer = asked[#asked].answer .. ": return nil for an empty list"
    vim.defer_fn(function()
      on_confirm("return nil for an empty list")
    end, 200)
  end

  vim.cmd("edit " .. workdir .. "/lib/stats.ex")
  local buf = vim.api.nvim_get_current_buf()
  if vim.bo[buf].filetype ~= "elixir" then
    fail("filetype is " .. vim.bo[buf].filetype)
  end

  wait("the client to attach", 60000, function()
    return ec.client(buf) ~= nil
  end)
  wait("diagnostics", 120000, function()
    return #vim.diagnostic.get(buf) > 0
  end)
  local found
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    if code == "Credo.Check.Warning.IoInspect" then
      found = d
    end
  end
  if not found then
    fail("no IO.inspect diagnostic among " .. vim.inspect(vim.diagnostic.get(buf)))
  end
  say("diagnostic: line " .. (found.lnum + 1) .. ": " .. found.message)

  -- :ElixirCoderExplain on that line: the explanation in a floating window.
  vim.api.nvim_win_set_cursor(0, { found.lnum + 1, found.col })
  vim.cmd("ElixirCoderExplain")
  wait("the explanation", 30000, function()
    return ec.last_explanation ~= nil
  end)
  if not ec.last_explanation:find("IO.inspect", 1, true) then
    fail("explanation: " .. ec.last_explanation)
  end
  say("explain: " .. vim.split(ec.last_explanation, "\n")[1])

  -- The "Generate code" action on the TODO comment (line 2).
  vim.api.nvim_win_set_cursor(0, { 2, 10 })
  local client = ec.client(buf)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = 1, character = 10 }, ["end"] = { line = 1, character = 10 } },
    context = { diagnostics = {} },
  }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 30000) or {}
  local titles = {}
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do
      table.insert(titles, action.title)
    end
  end
  if not vim.tbl_contains(titles, "Generate code") then
    fail("no Generate code action among " .. vim.inspect(titles))
  end
  say("code actions: " .. table.concat(titles, ", "))

  vim.cmd("ElixirCoderGenerate")
  wait("the generated code in the buffer", 240000, function()
    local line = vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1] or ""
    return line:sub(1, #prefix) == prefix
  end)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  if lines[2] ~= "  # TODO: return the mean of a list of numbers" then
    fail("the comment moved: " .. vim.inspect(lines))
  end
  say("buffer line 3: " .. lines[3])
  if #asked > 0 then
    say("question: " .. tostring(asked[1].prompt) .. " -> answered " .. tostring(asked[1].answer) .. " (handler waited with " .. tostring(ec.ask_wait) .. ")")
  elseif expect_ask then
    fail("the server asked no clarifying question")
  else
    say("no clarifying question was asked")
  end
  wait("the job's end", 30000, function()
    return #ec.jobs == 0
  end)
  say("status: " .. ec.statusline())
  -- :ElixirCoderCancel once the job has ended: the server answers for the buffer's job, none runs
  local notes, notify = {}, vim.notify
  vim.notify = function(msg, level)
    table.insert(notes, msg)
    notify(msg, level)
  end
  vim.cmd("ElixirCoderCancel")
  local reply
  wait("the cancel reply", 10000, function()
    for _, note in ipairs(notes) do
      if note:find("job", 1, true) then -- status notifications go through vim.notify too
        reply = note
      end
    end
    return reply ~= nil
  end)
  vim.notify = notify
  if not reply:find("no job is running", 1, true) then
    fail("cancel: " .. reply)
  end
  say("cancel: " .. reply)
  if vim.fn.has("nvim-0.11") == 1 then
    client:stop()
  else
    client.stop()
  end
end)

if not ok then
  fail(tostring(err))
end
say("PASS")
io.stdout:flush()
vim.cmd("qall!")
