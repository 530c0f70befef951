#!/usr/bin/env bash
# GPU timings (issue figures "typical prompts < 5 s p50 on one GPU with a 1.5B model"): build a
# 1.5B-parameter random-weight checkpoint with the 100k code tokenizer, then time "Generate code"
# through the real server at concurrency 1 and 10 (fixed output length, clarification off) and the
# serving layer, constrained and not. Results go to $OUT (the device tool's folder) or bench/results.
#
# Usage: bench/gpu.sh            (needs a CUDA GPU and a set-up venv; scripts/setup.sh on the GPU box)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RESULTS="${OUT:-bench/results}"
MODEL="${MODEL_DIR:-/tmp/elixir-coder-1p5b}"
mkdir -p "$RESULTS"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.cuda.get_device_name(0))'
"$PY" bench/code_bpe.py >/dev/null
"$PY" bench/gpu_model.py "$MODEL"
"$PY" bench/generate_latency.py --model "$MODEL" --device cuda --concurrency 1 10 --max-new-tokens 128 --candidates 5 \
    --out "$RESULTS/generate_latency_gpu.json"
"$PY" bench/serving.py --checkpoint "$MODEL" --device cuda --dtype bfloat16 --constrained --mask-overlap auto,off \
    --max-new-tokens 128 --levels 1,4,16,64 --repeats 2 --threads 0 --out "$RESULTS/serving_gpu.json"
