#!/usr/bin/env bash
# One call on a GPU machine (the device tool): compile tier, kernel correctness against
# torch.cuda, and timings. Results land in $OUT (or ./gpu-results).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-results}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
python scripts/gpu_kernels.py "$out/gpu_results.md" 2>&1 | tee "$out/gpu_kernels.log"
python -m pytest -q -p no:cacheprovider --noconftest tests/reference_impl/test_tensor.py tests/reference_impl/test_elementwise.py \
    2>&1 | tail -3 | tee "$out/tests.log"
