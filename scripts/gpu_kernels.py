"""On a GPU: our CUDA kernels (reference_impl/cuda/kernels.py) launched through CuPy's
RawKernel, checked against torch.cuda and timed against it and against the measured
device-to-device copy bandwidth. Writes a markdown table to the path given (or stdout).

    python scripts/gpu_kernels.py [RESULTS.md]
"""

import sys
from pathlib import Path

import cupy as cp
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reference_impl.cuda import kernels  # noqa: E402

THREADS = 256
_compiled = {}


def kernel(name_and_source):
    name, source = name_and_source
    if name not in _compiled:
        _compiled[name] = cp.RawKernel(source, name, options=("-std=c++17",))
    return _compiled[name]


def as_cupy(tensor):
    """A CuPy view of the whole storage of a torch CUDA tensor, plus its layout."""
    storage = tensor.untyped_storage()
    count = storage.nbytes() // tensor.element_size()
    memory = cp.cuda.UnownedMemory(storage.data_ptr(), storage.nbytes(), tensor)
    flat = cp.ndarray((count,), dtype=np.dtype(str(tensor.dtype).removeprefix("torch.")),
                      memptr=cp.cuda.MemoryPointer(memory, 0))
    return flat, tensor.stride(), tensor.storage_offset()


def broadcast_strides(tensor, shape):
    lead = len(shape) - tensor.dim()
    strides = [0] * lead + list(tensor.stride())
    return [0 if tensor.dim() and tensor.shape[d - lead] == 1 and shape[d] != 1 and d >= lead else s
            for d, s in enumerate(strides)]


def grid(n):
    return (min(65535 * 4, (n + THREADS - 1) // THREADS),)


def run_binary(op, a, b, out_dtype, compute_dtype):
    shape = torch.broadcast_shapes(a.shape, b.shape)
    out = torch.empty(shape, dtype=out_dtype, device="cuda")
    names = [str(t).removeprefix("torch.") for t in (a.dtype, b.dtype, out_dtype, compute_dtype)]
    k = kernel(kernels.binary_source(op, *names))
    (fa, _, oa), (fb, _, ob), (fo, so, oo) = as_cupy(a), as_cupy(b), as_cupy(out)
    shape_arr = cp.asarray(list(shape) or [1], dtype=cp.int64)
    n = out.numel()
    k(grid(n), (THREADS,), (fa, cp.asarray(broadcast_strides(a, shape) or [0], dtype=cp.int64), cp.int64(oa),
                            fb, cp.asarray(broadcast_strides(b, shape) or [0], dtype=cp.int64), cp.int64(ob),
                            fo, cp.asarray(list(so) or [0], dtype=cp.int64), cp.int64(oo),
                            shape_arr, cp.int32(len(shape)), cp.int64(n),
                            cp.int32(all(t.is_contiguous() and t.shape == shape for t in (a, b, out)))))
    return out


def run_unary(op, a):
    out = torch.empty(a.shape, dtype=a.dtype, device="cuda")
    name = str(a.dtype).removeprefix("torch.")
    k = kernel(kernels.unary_source(op, name, name))
    (fa, sa, oa), (fo, so, oo) = as_cupy(a), as_cupy(out)
    n = out.numel()
    k(grid(n), (THREADS,), (fa, cp.asarray(list(sa), dtype=cp.int64), cp.int64(oa), fo,
                            cp.asarray(list(so), dtype=cp.int64), cp.int64(oo),
                            cp.asarray(list(a.shape), dtype=cp.int64), cp.int32(a.dim()), cp.int64(n),
                            cp.int32(a.is_contiguous())))
    return out


def run_sum(a, acc_dtype):
    out = torch.zeros((), dtype=acc_dtype, device="cuda")
    k = kernel(kernels.sum_source(str(a.dtype).removeprefix("torch."), str(acc_dtype).removeprefix("torch.")))
    (fa, sa, oa), (fo, _, _) = as_cupy(a), as_cupy(out)
    n = a.numel()
    k((min(1024, (n + THREADS - 1) // THREADS),), (THREADS,),
      (fa, cp.asarray(list(sa), dtype=cp.int64), cp.int64(oa), cp.asarray(list(a.shape), dtype=cp.int64),
       cp.int32(a.dim()), cp.int64(n), fo, cp.int32(a.is_contiguous())))
    return out


def run_matmul(a, b, tile=16):
    m, k_ = a.shape
    n = b.shape[1]
    out = torch.empty(m, n, dtype=a.dtype, device="cuda")
    k = kernel(kernels.matmul_source(str(a.dtype).removeprefix("torch."), tile))
    (fa, sa, oa), (fb, sb, ob), (fo, _, _) = as_cupy(a), as_cupy(b), as_cupy(out)
    k(((n + tile - 1) // tile, (m + tile - 1) // tile), (tile, tile),
      (fa, cp.int64(sa[0]), cp.int64(sa[1]), cp.int64(oa), fb, cp.int64(sb[0]), cp.int64(sb[1]), cp.int64(ob),
       fo, cp.int64(m), cp.int64(k_), cp.int64(n)))
    return out


def check_correctness():
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(300, 200, device="cuda", generator=g)
    y = torch.randn(200, 300, device="cuda", generator=g)
    row = torch.randn(200, device="cuda", generator=g)
    ints = torch.randint(-50, 50, (300, 200), device="cuda", generator=g)
    half = torch.randn(64, 64, device="cuda", generator=g).half()
    checks = {
        "add contiguous f32": (run_binary("add", x, x, torch.float32, torch.float32), x + x),
        "mul transposed x broadcast row": (run_binary("mul", y.t(), row, torch.float32, torch.float32), y.t() * row),
        "sub sliced with steps": (run_binary("sub", x[::2, 1::3], x[1::2, ::3], torch.float32, torch.float32),
                                  x[::2, 1::3] - x[1::2, ::3]),
        "add int64 + float32 (promotion)": (run_binary("add", ints, x, torch.float32, torch.float32), ints + x),
        "div int64 / int64 -> float32": (run_binary("div", ints, ints.abs() + 1, torch.float32, torch.float32),
                                         ints / (ints.abs() + 1)),
        "lt -> bool": (run_binary("lt", x, x.t().contiguous().t(), torch.bool, torch.float32), x < x),
        "maximum f16": (run_binary("maximum", half, half.t(), torch.float16, torch.float16),
                        torch.maximum(half, half.t())),
        "exp transposed": (run_unary("exp", x.t()), x.t().exp()),
        "sigmoid f64": (run_unary("sigmoid", x.double()), x.double().sigmoid()),
        "sum f32 strided": (run_sum(x[:, ::2], torch.float32), x[:, ::2].sum()),
        "sum f64": (run_sum(x.double(), torch.float64), x.double().sum()),
        "sum int64": (run_sum(ints, torch.int64), ints.sum()),
        "matmul f32 (odd sizes, transposed B)": (run_matmul(x[:257, :129], y[:65, :129].t()),
                                                 x[:257, :129] @ y[:65, :129].t()),
        "matmul f64": (run_matmul(x.double(), y.double()), x.double() @ y.double()),
    }
    rows = []
    for label, (ours, theirs) in checks.items():
        same_dtype = ours.dtype == theirs.dtype and ours.shape == theirs.shape
        tolerance = {torch.float16: (1e-3, 1e-3), torch.float32: (1e-4, 1e-4)}.get(theirs.dtype, (1e-7, 1e-7))
        ok = same_dtype and torch.allclose(ours.to(theirs.dtype), theirs, *tolerance) if theirs.is_floating_point() \
            else same_dtype and torch.equal(ours, theirs)
        rows.append((label, "ok" if ok else f"MISMATCH (dtype {ours.dtype}/{theirs.dtype})"))
    return rows


def timed(function, repeat=20):
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    function()
    torch.cuda.synchronize()
    start.record()
    for _ in range(repeat):
        function()
    stop.record()
    stop.synchronize()
    return cp.cuda.get_elapsed_time(start, stop) / repeat / 1000


def benchmarks():
    n = 64 * 2 ** 20
    a = torch.randn(n, device="cuda")
    b = torch.randn(n, device="cuda")
    bmat, brow = a.view(8192, 8192), b[:8192]
    out = torch.empty_like(a)
    copy_time = timed(lambda: out.copy_(a))
    copy_bandwidth = 2 * 4 * n / copy_time
    rows = [("device copy (reference)", 2 * 4 * n, copy_time, copy_time)]
    rows.append(("add 64M f32", 3 * 4 * n, timed(lambda: run_binary("add", a, b, torch.float32, torch.float32)),
                 timed(lambda: a + b)))
    rows.append(("broadcast add 8192x8192 + row", 2 * 4 * n, timed(
        lambda: run_binary("add", bmat, brow, torch.float32, torch.float32)), timed(lambda: bmat + brow)))
    rows.append(("exp 64M f32", 2 * 4 * n, timed(lambda: run_unary("exp", a)), timed(lambda: a.exp())))
    rows.append(("sum 64M f32", 4 * n, timed(lambda: run_sum(a, torch.float32)), timed(lambda: a.sum())))
    m = torch.randn(2048, 2048, device="cuda")
    rows.append(("matmul 2048 f32 (tiled, no tensor cores)", None, timed(lambda: run_matmul(m, m), 5),
                 timed(lambda: m @ m, 5)))
    return copy_bandwidth, rows


def main():
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    device = torch.cuda.get_device_name()
    lines = [f"# GPU kernel check on {device} (torch {torch.__version__}, CuPy {cp.__version__})",
             "", "| correctness vs torch.cuda | result |", "|---|---|"]
    lines += [f"| {label} | {result} |" for label, result in check_correctness()]
    bandwidth, rows = benchmarks()
    lines += ["", f"Measured device-to-device copy bandwidth: {bandwidth / 1e9:.0f} GB/s", "",
              "| kernel | ours (ms) | torch.cuda (ms) | ours / torch | ours, % of copy bandwidth |",
              "|---|---|---|---|---|"]
    for label, moved, ours, theirs in rows:
        share = f"{100 * moved / ours / bandwidth:.0f}%" if moved else "-"
        lines.append(f"| {label} | {ours * 1e3:.3f} | {theirs * 1e3:.3f} | {ours / theirs:.2f} | {share} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if target:
        target.write_text(text)


if __name__ == "__main__":
    main()
