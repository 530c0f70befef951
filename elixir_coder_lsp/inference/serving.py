"""Serving.new: a causal LM and its tokenizer loaded for batched generation (the seed's `Serving.new/2`)."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.inference.options import ServingOptions
from elixir_coder_lsp.inference.types import FailureCategory, GenerationError

if TYPE_CHECKING:
    from elixir_coder_lsp.inference.engine import Engine

log = logging.getLogger(__name__)
_MASK_LOCK = threading.Lock()
_STEERING_LOCK = threading.Lock()

DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "fp16": "float16"}


def resolve_device(device: str) -> str:
    """'auto' -> cuda when available, else cpu; anything else is taken as given."""
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """'auto' -> bfloat16 on cuda, float32 elsewhere."""
    import torch

    if dtype in ("", "auto"):
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    name = DTYPES.get(dtype)
    if name is None:
        raise GenerationError(f"Unknown dtype {dtype!r} (expected auto, float32, bfloat16 or float16)", kind="unavailable")
    return getattr(torch, name)


def classify_load_error(exc: BaseException) -> FailureCategory:
    """A short category for a load failure: 'out of memory', 'CUDA error' or 'bad checkpoint'."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if "out of memory" in text or isinstance(exc, MemoryError) or "outofmemory" in text:
        return "out of memory"
    if "cuda" in text:
        return "CUDA error"
    return "bad checkpoint"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


def _source(checkpoint: str, allow_download: bool) -> tuple[str, dict[str, Any]]:
    """Check a checkpoint reference before transformers sees it; return it with from_pretrained kwargs."""
    path = Path(checkpoint).expanduser()
    looks_like_path = checkpoint.startswith((".", "/", "~"))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise GenerationError(
                f"Cannot load model from {path}: no config.json there (not a transformers checkpoint directory)",
                kind="unavailable",
            )
        return str(path), {"local_files_only": True}
    if looks_like_path or path.exists():
        raise GenerationError(f"Cannot load model: {checkpoint} does not exist or is not a directory", kind="unavailable")
    # A hub id: read the local cache only, so an offline machine fails at once instead of hanging on the network.
    return checkpoint, {"local_files_only": not allow_download}


def check_checkpoint(checkpoint: str, allow_download: bool = False) -> None:
    """Cheap filesystem checks (no torch import): raise GenerationError(kind="unavailable") for a bad local path."""
    if not checkpoint:
        raise GenerationError("No checkpoint configured (models.NAME.checkpoint)", kind="unavailable")
    _source(checkpoint, allow_download)


@dataclass
class Serving:
    """A loaded model + tokenizer with the batching options; `engine()` runs requests against it."""

    model: Any
    tokenizer: Any
    options: ServingOptions
    device: str
    dtype: Any
    checkpoint: str = ""
    load_s: float = 0.0
    eos_token_ids: frozenset[int] = frozenset()
    _mask_store: Any = None
    _steering_vocab: Any = None

    @classmethod
    def new(cls, model: Any, tokenizer: Any = None, *, options: ServingOptions | None = None, **opts: Any) -> Serving:
        """Load ``model``/``tokenizer`` (a local dir, a cached hub id, or loaded objects); raises GenerationError(kind="unavailable").

        ``opts`` are ServingOptions fields; they override ``options`` where both are given.
        """
        options = replace(options, **opts) if options is not None else ServingOptions(**opts)
        started = time.monotonic()
        import torch

        if options.num_threads:
            torch.set_num_threads(options.num_threads)
        device = resolve_device(options.device)
        dtype = resolve_dtype(options.dtype, device)
        checkpoint = model if isinstance(model, (str, os.PathLike)) else getattr(getattr(model, "config", None), "_name_or_path", "")
        try:
            tok = _load_tokenizer(tokenizer if tokenizer is not None else model, options)
            lm = _load_model(model, options, device, dtype)
            if options.adapters:
                lm = _attach_adapters(lm, options.adapters)
        except GenerationError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every load failure becomes one readable line
            if isinstance(exc, KeyboardInterrupt):
                raise
            category = classify_load_error(exc)
            raise GenerationError(f"Cannot load model {checkpoint} ({category}): {_one_line(exc)}", kind="unavailable") from exc
        if tok.pad_token_id is None:
            # Padding never reaches the model (rows are padded in the KV cache, masked out), any id will do.
            tok.pad_token = tok.eos_token or tok.unk_token
        eos = set()
        if tok.eos_token_id is not None:
            eos.add(int(tok.eos_token_id))
        gen_eos = getattr(getattr(lm, "generation_config", None), "eos_token_id", None)
        if isinstance(gen_eos, int):
            eos.add(gen_eos)
        elif gen_eos:
            eos.update(int(i) for i in gen_eos)
        serving = cls(
            model=lm,
            tokenizer=tok,
            options=options,
            device=device,
            dtype=dtype,
            checkpoint=str(checkpoint),
            load_s=time.monotonic() - started,
            eos_token_ids=frozenset(eos),
        )
        log.info("loaded %s on %s (%s) in %.1fs", checkpoint, device, str(dtype).replace("torch.", ""), serving.load_s)
        return serving

    def mask_store(self) -> Any:
        """The grammar mask store for this tokenizer (built once)."""
        from elixir_coder_lsp.inference import constraints  # llguidance loads only where grammars are used

        with _MASK_LOCK:
            if self._mask_store is None:
                self._mask_store = constraints.build_mask_store(self.tokenizer)
            return self._mask_store

    def steering_vocab(self) -> Any:
        """The vocabulary facts the engine steers constrained rows with (built once)."""
        from elixir_coder_lsp.inference.steering_vocab import SteeringVocab

        store = self.mask_store()
        with _STEERING_LOCK:
            if self._steering_vocab is None:
                self._steering_vocab = SteeringVocab(store.vocab.texts, self.eos_token_ids)
            return self._steering_vocab

    def prepare_grammar(self) -> None:
        """Build what the first constrained step needs (the worker calls this in the background after loading).

        The llguidance tokenizer, the decoded vocabulary and its steering facts, and the whole-file
        grammar with its first mask: on a large vocabulary each takes a fraction of a second, which the
        engine would otherwise spend inside a step, holding up every row of the batch.
        """
        try:
            self.mask_store().constraint("start")
            self.steering_vocab()
        except Exception as exc:  # noqa: BLE001 - constrained requests will report it when they come
            log.info("grammar support not prepared: %s", exc)

    def engine(self) -> Engine:
        """A fresh engine (scheduler + runner + sampler) over this model."""
        # imported here: the engine pulls in torch, and the parent process imports this module for
        # check_checkpoint without ever loading a model
        from elixir_coder_lsp.inference.engine import Engine

        return Engine(self)


def _load_tokenizer(source: Any, options: ServingOptions) -> Any:
    if not isinstance(source, (str, os.PathLike)):
        return source
    from transformers import AutoTokenizer

    where, kwargs = _source(str(source), options.allow_download)
    try:
        return AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as exc:
        if not Path(where).is_dir() and kwargs.get("local_files_only"):
            raise GenerationError(
                f"Cannot load model {where}: it is not a local directory and not in the Hugging Face cache "
                "(downloads are off; fetch it first, e.g. `huggingface-cli download "
                f"{where}`, or point models.NAME.checkpoint at a local directory)",
                kind="unavailable",
            ) from exc
        raise


def _load_model(source: Any, options: ServingOptions, device: str, dtype: Any) -> Any:
    import torch

    if isinstance(source, (str, os.PathLike)):
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        where, kwargs = _source(str(source), options.allow_download)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, attn_implementation=options.attn_implementation, **kwargs)
    else:
        model = source
    model = model.to(device=device, dtype=dtype)
    model.eval()
    if options.compile and device.startswith("cuda"):
        model.forward = torch.compile(model.forward, dynamic=True)
    return model


def _attach_adapters(model: Any, adapters: dict[str, str]) -> Any:
    """Load every role's LoRA adapter once on top of the base model (switched per row at run time)."""
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise GenerationError("Role adapters need the 'peft' package (pip install peft)", kind="unavailable") from exc
    peft_model = None
    for role, path in adapters.items():
        if not Path(path).expanduser().is_dir():
            raise GenerationError(f"Adapter for role {role!r} not found: {path}", kind="unavailable")
        if peft_model is None:
            peft_model = PeftModel.from_pretrained(model, str(Path(path).expanduser()), adapter_name=role, is_trainable=False)
        else:
            peft_model.load_adapter(str(Path(path).expanduser()), adapter_name=role, is_trainable=False)
    peft_model.eval()
    return peft_model
