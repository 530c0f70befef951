"""elixir-coder-lsp: a language server that puts a code model behind LSP for Elixir."""

__version__ = "0.1.0"
