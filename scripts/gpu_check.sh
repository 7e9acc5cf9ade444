#!/usr/bin/env bash
# One call on a GPU machine (the device tool), about 6.5 minutes at most. It needs torch with CUDA,
# CuPy, pytest, hypothesis and PyYAML; no network and no jsonschema (the harness then loads case
# files with a minimal check). Everything lands in $OUT (or ./gpu-results):
#
#   steps.tsv                   step, exit code, seconds (124: hit its time limit; "skipped": no time left)
#   gpu.txt, versions.txt       the GPU, driver and library versions
#   spec_cuda_vs_cuda.{txt,json,html}   the spec suite, reference_impl on CUDA (CuPy) against torch
#                               on CUDA: both default devices cuda, so device fields agree as they are;
#                               spec_cases/cuda_device_differences.txt entries for torch-cuda apply
#   cuda_tests.log              tests/reference_impl/test_cuda_*.py files that run on CuPy
#                               when REFERENCE_IMPL_CUDA=cupy
#   gpu_results.md, gpu_kernels.log     scripts/gpu_kernels.py: our kernels against torch.cuda, timed
#   spec_explicit_cuda.{txt,json,html}  the cases declared `devices: [cuda]`, both defaults the CPU
#   spec_cuda_vs_cpu.{txt,json,html}    the suite with torch on the CPU, as the emulated run does it
#                               (device fields normalised), but with real kernels
#   spec_report.html            the spec runs merged, a column per run
#
# Every step runs under its own time limit and a budget for the whole script; a failing or slow
# step never stops the next one. A spec run stopped by its limit still writes the cases it ran.
set -u -o pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-results}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
budget="${GPU_CHECK_BUDGET:-380}"  # seconds for everything below
start=$SECONDS
printf 'step\texit\tseconds\n' > "$out/steps.tsv"

# step NAME LIMIT LOG COMMAND...: run COMMAND under min(LIMIT, what is left of the budget),
# output to LOG, and record its exit code and time.
step() {
    local name=$1 limit=$2 log=$3
    shift 3
    local left=$((budget - (SECONDS - start)))
    if ((left < 15)); then
        printf '%s\tskipped\t0\n' "$name" >> "$out/steps.tsv"
        echo "== $name: skipped, $left s of the budget left" | tee -a "$out/summary.txt"
        return
    fi
    ((limit > left)) && limit=$left
    local began=$SECONDS code
    timeout -k 10 "$limit" "$@" > "$log" 2>&1
    code=$?
    printf '%s\t%s\t%s\n' "$name" "$code" "$((SECONDS - began))" >> "$out/steps.tsv"
    echo "== $name: exit $code in $((SECONDS - began)) s (limit $limit s)" | tee -a "$out/summary.txt"
    tail -n 3 "$log" | tee -a "$out/summary.txt"
}

# spec NAME LIMIT ARGS...: the spec suite with reference_impl's kernels on the GPU.
spec() {
    local name=$1 limit=$2
    shift 2
    step "$name" "$limit" "$out/$name.txt" env REFERENCE_IMPL_CUDA=cupy python -m harness run --env "$name" \
        --json "$out/$name.json" --html "$out/$name.html" --time-limit 60 "$@"
}

step gpu 20 "$out/gpu.txt" nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step versions 60 "$out/versions.txt" python -c "
import sys, numpy, torch, cupy
print('python', sys.version.split()[0]); print('numpy', numpy.__version__)
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())
print('cupy', cupy.__version__, 'devices', cupy.cuda.runtime.getDeviceCount())"


# The timings first: they are what only a GPU can give.
step gpu_kernels 120 "$out/gpu_kernels.log" python scripts/gpu_kernels.py "$out/gpu_results.md"
# Cases tagged cuda-device-assert (torch asserts on the device) run in child processes of their own.
spec spec_cuda_vs_cuda 140 --reference-device cuda --torch-device cuda
step probe_errors 30 "$out/cuda_errors.txt" python tools/probe_cuda_errors.py

# Kernel unit tests: the files that run on tests/reference_impl/cuda_backend.py's backend (CuPy
# when REFERENCE_IMPL_CUDA=cupy). The emulation's own tests and the NVRTC compile tier need no GPU.
mapfile -t cuda_tests < <(grep -l 'from .cuda_backend import' tests/reference_impl/test_cuda_*.py)
step cuda_tests 90 "$out/cuda_tests.log" env REFERENCE_IMPL_CUDA=cupy python -m pytest -q -rfEs \
    -p no:cacheprovider --noconftest "${cuda_tests[@]}"

spec spec_explicit_cuda 30 --device cuda
spec spec_cuda_vs_cpu 90 --reference-device cuda

mapfile -t runs < <(ls "$out"/spec_*.json 2>/dev/null)
if ((${#runs[@]})); then
    step report 20 "$out/report.log" python -m harness report "${runs[@]}" -o "$out/spec_report.html"
fi
echo "== total $((SECONDS - start)) s" | tee -a "$out/summary.txt"
exit 0
