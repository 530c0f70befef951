"""The runner: forward passes over a running batch whose KV cache rows join and leave between steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import inspect

import torch

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in per-row adapter_names
# Test-only: "path/to/file.py:factory" (or "module:factory"); factory(model) returns an object with
# prefill(seq_ids, logits) and decode(seq_ids, logits) that may rewrite the next-token logits per row.
TEST_LOGITS_PROCESSOR_ENV = "ELIXIR_CODER_TEST_LOGITS_PROCESSOR"


def _test_logits_processor(model: Any) -> Any:
    """The test-only logits processor named by the environment, or None (always None in normal use)."""
    import os

    spec = os.environ.get(TEST_LOGITS_PROCESSOR_ENV, "")
    if not spec:
        return None
    import importlib
    import importlib.util

    where, _, attr = spec.rpartition(":")
    if where.endswith(".py"):
        loader = importlib.util.spec_from_file_location("elixir_coder_test_logits", where)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, attr)(model)


def _pad_left(t: torch.Tensor, n: int) -> torch.Tensor:
    """Prepend ``n`` zero positions on the sequence axis (-2) of a [B, H, T, D] cache tensor."""
    if n <= 0:
        return t
    pad = t.new_zeros(*t.shape[:-2], n, t.shape[-1])
    return torch.cat([pad, t], dim=-2)


class ModelRunner:
    """Owns the batch's KV cache, attention mask and positions; rows are identified by sequence ids.

    Every row is left-padded to the batch's common cache length; padded positions hold zeros and are masked
    out, and each row keeps its own position ids, so a row computes the same logits alone or in any batch
    (up to float reduction order). New sequences are prefilled on their own, then merged into the batch.
    """

    def __init__(self, model: Any, device: str, *, use_adapters: bool = False) -> None:
        self.model = model
        self.device = device
        self.use_adapters = use_adapters
        self.row_ids: list[int] = []
        self.cache: Any = None  # DynamicCache over all rows
        self.mask: torch.Tensor | None = None  # [B, T] 1 = real token
        self.positions: torch.Tensor | None = None  # [B] position id of each row's next token
        self.adapters: list[str] = []  # per row
        # transformers 5.x renamed the forward argument `past_key_values` to `cache`.
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(base.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self.logits_processor = _test_logits_processor(model)

    @property
    def batch_size(self) -> int:
        return len(self.row_ids)

    def _forward(self, input_ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any, adapters: list[str]) -> Any:
        kwargs: dict[str, Any] = {self._cache_arg: cache}
        if self.use_adapters:
            kwargs["adapter_names"] = adapters
        return self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **kwargs,
        )

    @torch.inference_mode()
    def prefill(self, seq_ids: Sequence[int], prompt_ids: Sequence[int], adapter: str | None = None) -> torch.Tensor:
        """Prefill one prompt for one or more sequence ids (samples); returns [len(seq_ids), V] logits."""
        return self.prefill_many([(list(seq_ids), list(prompt_ids), adapter)])

    @torch.inference_mode()
    def prefill_many(self, items: Sequence[tuple[list[int], list[int], str | None]]) -> torch.Tensor:
        """Prefill several prompts in one left-padded forward pass and merge them into the batch.

        ``items`` are (sequence ids, prompt ids, adapter); a prompt's cache row is repeated once per
        sequence id. Returns the next-token logits [total sequence ids, V] in item order.
        """
        from transformers import DynamicCache

        width = max(len(ids) for _, ids, _ in items)
        rows = len(items)
        ids = torch.zeros((rows, width), dtype=torch.long, device=self.device)
        mask = torch.zeros((rows, width), dtype=torch.long, device=self.device)
        for row, (_, prompt, _) in enumerate(items):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long, device=self.device)
            mask[row, width - len(prompt) :] = 1
        # per-row positions count real tokens only; pad positions get 0 (their outputs are never used)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        names = [adapter or BASE_ADAPTER for _, _, adapter in items]
        cache = DynamicCache(config=getattr(self.model, "config", None))
        out = self._forward(ids, mask, positions, cache, names)
        logits = out.logits[:, -1, :].float()
        copies = torch.tensor([len(seq_ids) for seq_ids, _, _ in items], device=self.device)
        if bool((copies != 1).any()):
            logits = logits.repeat_interleave(copies, dim=0)
            mask = mask.repeat_interleave(copies, dim=0)
            for layer in cache.layers:
                layer.keys = layer.keys.repeat_interleave(copies, dim=0)
                layer.values = layer.values.repeat_interleave(copies, dim=0)
        lengths = torch.tensor([len(p) for seq_ids, p, _ in items for _ in seq_ids], device=self.device)
        # zero the padded cache positions so every row's cache is exactly what a solo prefill would leave
        pad = mask == 0
        if bool(pad.any()):
            keep = (~pad)[:, None, :, None]
            for layer in cache.layers:
                layer.keys = torch.where(keep, layer.keys, 0.0)
                layer.values = torch.where(keep, layer.values, 0.0)
        seq_all = [sid for seq_ids, _, _ in items for sid in seq_ids]
        adapters = [name for (seq_ids, _, _), name in zip(items, names) for _ in seq_ids]
        self._merge(cache, mask, lengths, seq_all, adapters)
        if self.logits_processor is not None:
            logits = self.logits_processor.prefill(seq_all, logits)
        return logits.clone()

    def _merge(self, cache: Any, mask: torch.Tensor, positions: torch.Tensor, seq_ids: list[int], adapters: list[str]) -> None:
        if self.cache is None or not self.row_ids:
            self.cache, self.mask, self.positions = cache, mask.clone(), positions.clone()
            self.row_ids, self.adapters = list(seq_ids), list(adapters)
            return
        old_len, new_len = self.mask.shape[1], mask.shape[1]
        width = max(old_len, new_len)
        for mine, theirs in zip(self.cache.layers, cache.layers):
            mine.keys = torch.cat([_pad_left(mine.keys, width - old_len), _pad_left(theirs.keys, width - new_len)], dim=0)
            mine.values = torch.cat([_pad_left(mine.values, width - old_len), _pad_left(theirs.values, width - new_len)], dim=0)
        self.mask = torch.cat(
            [
                torch.nn.functional.pad(self.mask, (width - old_len, 0)),
                torch.nn.functional.pad(mask, (width - new_len, 0)),
            ],
            dim=0,
        )
        self.positions = torch.cat([self.positions, positions])
        self.row_ids.extend(seq_ids)
        self.adapters.extend(adapters)

    @torch.inference_mode()
    def decode(self, tokens: Sequence[int]) -> torch.Tensor:
        """Feed one token per row (in row order) and return the next-token logits [B, V]."""
        if len(tokens) != self.batch_size:
            raise ValueError(f"decode got {len(tokens)} tokens for {self.batch_size} rows")
        ids = torch.tensor(list(tokens), dtype=torch.long, device=self.device).unsqueeze(1)
        mask = torch.cat([self.mask, self.mask.new_ones(self.batch_size, 1)], dim=1)
        out = self._forward(ids, mask, self.positions.unsqueeze(1), self.cache, self.adapters)
        self.mask = mask
        self.positions = self.positions + 1
        logits = out.logits[:, -1, :].float()
        if self.logits_processor is not None:
            logits = self.logits_processor.decode(list(self.row_ids), logits)
        return logits

    def remove(self, seq_ids: set[int] | Sequence[int]) -> None:
        """Drop rows from the batch, then trim cache columns that no remaining row uses."""
        drop = set(seq_ids)
        if not drop.intersection(self.row_ids):
            return
        keep = [i for i, sid in enumerate(self.row_ids) if sid not in drop]
        self.row_ids = [self.row_ids[i] for i in keep]
        self.adapters = [self.adapters[i] for i in keep]
        if not keep:
            self.cache = self.mask = self.positions = None
            return
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        mask = self.mask.index_select(0, index)
        used = mask.any(dim=0).nonzero()
        start = int(used[0]) if used.numel() else 0
        self.mask = mask[:, start:]
        self.positions = self.positions.index_select(0, index)
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[..., start:, :]
            layer.values = layer.values.index_select(0, index)[..., start:, :]
