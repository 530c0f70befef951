-- elixir-coder-lsp for Neovim (0.8+): require("elixir_coder").setup({ settings = { ... } })
local M = {}

local function ask_handler(err, params, ctx)
  -- elixirCoder/ask: one ranked clarifying question, answered with vim.ui.select.
  if err then return nil, err end
  local co = coroutine.running()
  local labels = {}
  for _, option in ipairs(params.options or {}) do table.insert(labels, option.label) end
  vim.ui.select(labels, { prompt = params.question }, function(choice)
    coroutine.resume(co, choice)
  end)
  local choice = coroutine.yield()
  if choice == nil then return { cancelled = true } end
  return { answer = choice }
end

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { "elixir-coder-lsp" }
  vim.api.nvim_create_autocmd("FileType", {
    pattern = { "elixir" },
    callback = function(args)
      vim.lsp.start({
        name = "elixir-coder",
        cmd = cmd,
        root_dir = vim.fs.dirname(vim.fs.find({ "mix.exs", ".git" }, { upward = true, path = vim.api.nvim_buf_get_name(args.buf) })[1]),
        init_options = vim.tbl_extend("force", opts.settings or {}, { clientUi = { ask = true } }),
        settings = { elixirCoder = opts.settings or {} },
        handlers = {
          ["elixirCoder/ask"] = function(err, params, ctx)
            return coroutine.wrap(ask_handler)(err, params, ctx)
          end,
          ["elixirCoder/status"] = function(_, params)
            vim.g.elixir_coder_status = params.instance .. ": " .. params.state
          end,
        },
      })
    end,
  })
end

return M
