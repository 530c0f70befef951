"""A 1.5B-parameter Llama-shaped checkpoint with random weights and the 100k code tokenizer, for GPU timings.

No real checkpoint can be downloaded here, and timings need a realistic size, not a capable model: the
shape of a 1.5B code model (hidden 1536, 28 layers, 12 heads with 2 key/value heads, MLP 8960) with
bench/code_bpe.py's 100k byte-level BPE, saved in bf16 the way a user's checkpoint is.

    python bench/gpu_model.py OUT_DIR      (prints the parameter count)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def build(out: Path) -> Path:
    """Write the checkpoint (once) and return its directory."""
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from code_bpe import code_bpe

    tok = code_bpe(100_000)
    tok.pad_token = tok.eos_token
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, max_position_embeddings=4096, rope_theta=1_000_000.0, tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id, bos_token_id=None, pad_token_id=tok.eos_token_id, torch_dtype="bfloat16",
    )
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    print(f"{out}: {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters")
    return out


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/elixir-coder-1p5b"))
