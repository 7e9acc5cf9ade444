"""reference_impl against torch on the CPU: each workload timed on both in the same process,
reported as the ratio reference time / torch time, with issue 9's targets.

Each workload is a function of the library (``torch`` or ``reference_impl``) and prepared
inputs; both run the same code on the same values. Times are the median of repeated timed
batches after a warm-up (``timeit``-style, batch sizes chosen per workload so a batch takes
about 50 ms), so ratios from one run compare like with like.
"""

import math
import os
import statistics
import sys
import time
from pathlib import Path

# One thread each, set before numpy loads its BLAS: torch gets set_num_threads(1) below, and
# OpenBLAS's spinning worker threads make a loaded 2-core machine 100x slower at matmul.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

import torch  # noqa: E402

import reference_impl  # noqa: E402

MILLION = 1 << 20
LIBRARIES = {"torch": torch, "reference": reference_impl}


def _data(lib, shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.tensor(values)


def _mlp_inputs(lib):
    x = _data(lib, (64, 256), 1)
    w1 = _data(lib, (256, 128), 2).mul_(0.05).requires_grad_()
    w2 = _data(lib, (128, 10), 3).mul_(0.05).requires_grad_()
    return x, w1, w2


def _mlp_step(lib, x, w1, w2):
    hidden = (x @ w1).relu()
    loss = (hidden @ w2).pow(2).mean()
    w1.grad = w2.grad = None
    loss.backward()
    return loss


def _chain(lib, x):
    y = ((x + 2) * (x + 2) * 3).mean()
    x.grad = None
    y.backward()
    return y


# name, group (the target it counts towards), make inputs (lib -> tuple), run (lib, *inputs)
WORKLOADS = [
    ("add 1M f32", "large", lambda lib: (_data(lib, MILLION), _data(lib, MILLION, 1)), lambda lib, a, b: a + b),
    ("exp 1M f32", "large", lambda lib: (_data(lib, MILLION),), lambda lib, a: a.exp()),
    ("broadcast add 1024x1024 + 1024", "large", lambda lib: (_data(lib, (1024, 1024)), _data(lib, 1024, 1)),
     lambda lib, a, b: a + b),
    ("add transposed 1024x1024", "large", lambda lib: (_data(lib, (1024, 1024)), _data(lib, (1024, 1024), 1)),
     lambda lib, a, b: a.t() + b),
    ("in-place add 1M f32", "large", lambda lib: (_data(lib, MILLION), _data(lib, MILLION, 1)),
     lambda lib, a, b: a.add_(b)),
    ("sum 1M f32", "large", lambda lib: (_data(lib, MILLION),), lambda lib, a: a.sum()),
    ("sum dim 0 of 1024x1024", "large", lambda lib: (_data(lib, (1024, 1024)),), lambda lib, a: a.sum(0)),
    ("rand 1M", "large", lambda lib: (), lambda lib: lib.rand(MILLION)),
    ("randn 1M", "large", lambda lib: (), lambda lib: lib.randn(MILLION)),
    ("matmul 256x256", "matmul", lambda lib: (_data(lib, (256, 256)), _data(lib, (256, 256), 1)),
     lambda lib, a, b: a @ b),
    ("add 3x3", "overhead", lambda lib: (_data(lib, (3, 3)), _data(lib, (3, 3), 1)), lambda lib, a, b: a + b),
    ("view + slice 4x4", "overhead", lambda lib: (_data(lib, (4, 4)),), lambda lib, a: a.view(16)[2:10:2]),
    ("repr 5x3", "repr", lambda lib: (_data(lib, (5, 3)),), lambda lib, a: repr(a)),
    ("backward ((x+2)*(x+2)*3).mean()", "autograd",
     lambda lib: (lib.ones(2, 2, requires_grad=True),), _chain),
    ("MLP 64x256 -> 128 -> 10, forward + backward", "autograd", _mlp_inputs, _mlp_step),
]

TARGETS = {  # group -> (limit on each ratio, limit on the group's geometric mean or None)
    "large": (3.0, 1.5),
    "matmul": (1.5, None),
    "overhead": (5.0, None),
    "autograd": (4.0, None),
    "repr": (2.0, None),
}


def _time(function, budget):
    """Median seconds per call: batches sized to take ``budget`` seconds, after a warm-up."""
    function()
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget / once))
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def measure(budget):
    """{workload name: (group, torch seconds, reference seconds)}."""
    torch.set_num_threads(1)  # one thread each, as numpy's BLAS has above
    rows = {}
    for name, group, make, run in WORKLOADS:
        times = {}
        for label, lib in LIBRARIES.items():
            lib.manual_seed(0)
            inputs = make(lib)
            times[label] = _time(lambda lib=lib, inputs=inputs, run=run: run(lib, *inputs), budget)
        rows[name] = (group, times["torch"], times["reference"])
        print(f"{name:48s} torch {times['torch'] * 1e6:10.1f} us   reference {times['reference'] * 1e6:10.1f} us"
              f"   ratio {times['reference'] / times['torch']:7.2f}", flush=True)
    return rows


def table(rows):
    """The results as markdown, with each target's verdict."""
    lines = ["| workload | torch (µs) | reference_impl (µs) | ratio | target | met |", "|---|---|---|---|---|---|"]
    by_group = {}
    for name, (group, theirs, ours) in rows.items():
        ratio = ours / theirs
        by_group.setdefault(group, []).append(ratio)
        limit = TARGETS[group][0]
        lines.append(f"| {name} | {theirs * 1e6:.1f} | {ours * 1e6:.1f} | {ratio:.2f} | ≤ {limit}× | "
                     f"{'yes' if ratio <= limit else 'no'} |")
    lines += ["", "| group | geometric mean | target | met |", "|---|---|---|---|"]
    for group, ratios in by_group.items():
        mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        limit = TARGETS[group][1] or TARGETS[group][0]
        lines.append(f"| {group} | {mean:.2f} | ≤ {limit}× | {'yes' if mean <= limit else 'no'} |")
    return "\n".join(lines)
