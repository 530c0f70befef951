"""`python -m elixir_coder_lsp`: the stdio language server (same as `elixir-coder-lsp`)."""

import sys

from elixir_coder_lsp.cli import server_main

sys.exit(server_main())
