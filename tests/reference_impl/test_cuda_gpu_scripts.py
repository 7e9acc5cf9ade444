"""scripts/gpu_check.sh and its timing script scripts/gpu_kernels.py, as far as a machine without
a GPU can run them: the verdicts as pure functions, gpu_kernels.py on the emulated device (every
op agrees with torch; timings are marked meaningless, host work is measured), and gpu_check.sh's
steps, each recorded whether it fails or not, within its time budget."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .cuda_backend import BACKEND, cuda_backend  # noqa: F401 (an autouse fixture: ops() names the backend)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_kernels.py"
CHECK = ROOT / "scripts" / "gpu_check.sh"
CHECK_STEPS = ["gpu", "versions", "gpu_kernels", "spec_cuda_vs_cuda", "probe_errors", "cuda_tests",
               "spec_explicit_cuda", "spec_cuda_vs_cpu"]
no_gpu_here = pytest.mark.skipif(BACKEND != "emulate", reason="on a GPU, gpu_check.sh runs these scripts itself")


@pytest.fixture(scope="module")
def gpu_kernels():
    pytest.importorskip("torch", reason="the script compares against torch")
    spec = importlib.util.spec_from_file_location("gpu_kernels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(gpu_kernels, kind, moved, ours, kernels, torch):
    op = gpu_kernels.Op("op", kind, moved, lambda lib, data: None, lambda ours, theirs, data: None)
    return gpu_kernels.Row(op, "yes", ours=ours, kernels=kernels, torch=torch)


def test_the_whole_op_and_its_kernels_get_verdicts_of_their_own(gpu_kernels):
    bandwidth = 1000.0  # GB/s: 1 MB moved in 1 µs is all of it
    # kernels at 80% of the bandwidth and 1.2x torch; host work makes the whole op 2x torch
    add = row(gpu_kernels, "elementwise", 8 * 10**6, ours=0.02, kernels=0.01, torch=0.0083)
    assert gpu_kernels.verdict(add, bandwidth, add.kernels) == (">= 70% copy BW, <= 1.5x torch", "pass")
    assert gpu_kernels.verdict(add, bandwidth, add.ours)[1] == "FAIL"
    # a reduction needs only half the bandwidth, but still 1.5x torch
    total = row(gpu_kernels, "reduction", 5 * 10**6, ours=0.01, kernels=0.01, torch=0.005)
    assert gpu_kernels.verdict(total, bandwidth, total.ours) == (">= 50% copy BW, <= 1.5x torch", "FAIL")
    total.torch = 0.0067
    assert gpu_kernels.verdict(total, bandwidth, total.ours)[1] == "pass"
    # compute ops have the torch ratio alone; cuBLAS records no kernel of ours: no verdict
    product = row(gpu_kernels, "compute", None, ours=1.4, kernels=None, torch=1.0)
    assert gpu_kernels.verdict(product, bandwidth, product.ours) == ("<= 1.5x torch", "pass")
    assert gpu_kernels.verdict(product, bandwidth, product.kernels)[1] == "-"


@no_gpu_here
@pytest.mark.skipif(shutil.which("g++") is None, reason="the emulation compiles our kernels with g++")
def test_the_script_runs_every_op_on_the_emulated_device(gpu_kernels, tmp_path):
    results = tmp_path / "gpu_results.md"
    done = subprocess.run([sys.executable, str(SCRIPT), str(results), "--trials", "1"], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "REFERENCE_IMPL_CUDA": "emulate"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text()
    assert "**Timings here are meaningless**" in text and re.search(r"Total \d+ s\.", text)
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(gpu_kernels.ops(gpu_kernels.SMALL))
    for cells in rows:
        assert cells[1] == "yes", cells
        assert float(cells[4]) > 0  # host work, in µs
        assert cells[11:13] == ["n/a", "n/a"], cells  # no verdicts without a GPU


def run_gpu_check(out, budget):
    """gpu_check.sh writing to ``out`` with ``budget`` seconds: its steps as (name, exit code), and
    its summary."""
    pytest.importorskip("torch", reason="gpu_check.sh's steps run torch")
    done = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OUT": str(out), "GPU_CHECK_BUDGET": str(budget)})
    assert done.returncode == 0, done.stderr[-3000:]  # whatever its steps do
    rows = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines()]
    assert rows[0] == ["step", "exit", "seconds"]
    return [(name, code) for name, code, _ in rows[1:]], (out / "summary.txt").read_text()


@no_gpu_here
def test_gpu_check_runs_every_step_whatever_the_ones_before_did(tmp_path):
    """Without a GPU most steps fail (no nvidia-smi, no CuPy): each is recorded with its exit code
    and the next still runs; the emulated timings pass, and the report merges the spec runs."""
    steps, summary = run_gpu_check(tmp_path, 380)
    assert [name for name, _ in steps] == CHECK_STEPS + ["report"]
    outcomes = dict(steps)
    assert outcomes["gpu"] != "0" and outcomes["spec_cuda_vs_cuda"] != "0"
    assert outcomes["gpu_kernels"] == "0" and outcomes["report"] == "0"
    assert re.search(r"== total \d+ s", summary)


@no_gpu_here
def test_gpu_check_skips_what_its_budget_leaves_no_time_for(tmp_path):
    """A step starts only with 15 s of the budget left; the rest are recorded as skipped."""
    steps, summary = run_gpu_check(tmp_path, 14)
    assert steps == [(name, "skipped") for name in CHECK_STEPS]
    assert "== spec_cuda_vs_cpu: skipped" in summary
