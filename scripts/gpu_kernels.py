"""reference_impl's real CUDA op path against torch.cuda: agreement and timings.

    python scripts/gpu_kernels.py [RESULTS.md] [--small] [--trials N] [--budget SECONDS]

Each op runs as user code runs it: reference_impl tensors on ``cuda`` (``REFERENCE_IMPL_CUDA=cupy``:
our generated kernels through NVRTC) and torch tensors on ``cuda``, made from the same host
data. For every op the script checks that the results agree, then times, each as the median of
``--trials`` runs after a warm-up, with CUDA events and the device idle before each run:

- *ours*: the whole op (Python dispatch, dtype resolution, allocation, every launch);
- *ours, kernels only*: the kernel launches the op made, recorded (a wrapper around
  ``runtime.kernel``) and replayed back to back, so no Python runs between them;
- *ours, host work*: the whole op with every launch a no-op (``host_microseconds``), in microseconds:
  what an idle GPU waits for before the op's first kernel;
- *torch*: the whole torch op.

The reference for memory-bound ops is the measured device-to-device copy bandwidth (torch's
``copy_`` and CuPy's memcpy of 64M float32, the faster): an op's share of it is the bytes it
must move (each input read once, each output written once) over its time. Targets (the issue):
elementwise and broadcast ops >= 70% of copy bandwidth, reductions >= 50%, every op within 1.5x
of torch.cuda. Each row says whether the whole op meets them and whether its kernels alone do
(the issue words the targets per kernel; the whole op adds the host work an idle GPU waits for).

Without a GPU (no CUDA for torch) the same script runs end to end at small sizes: reference_impl
on the emulated CUDA device (``REFERENCE_IMPL_CUDA=emulate``: the same kernels compiled by g++),
torch on the CPU. Its timings are then meaningless; only the agreement and host-work columns
count (host work is the same Python as on a GPU, less CuPy's launch calls).
``--small`` picks the small sizes on a GPU too (a quick check of the script).

Writes the markdown table to RESULTS.md (and stdout). Exits 1 when a result disagrees or an op
fails, else 0: missed timing targets are reported, not errors.
"""

import argparse
import contextlib
import math
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

ON_GPU = torch.cuda.is_available()
os.environ.setdefault("REFERENCE_IMPL_CUDA", "cupy" if ON_GPU else "emulate")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reference_impl as ri  # noqa: E402
from reference_impl import cuda as ri_cuda  # noqa: E402
from reference_impl.cuda import runtime  # noqa: E402

ELEMENTWISE_TARGET = 70  # % of copy bandwidth
REDUCTION_TARGET = 50
RATIO_TARGET = 1.5  # ours / torch


@dataclass(frozen=True)
class Sizes:
    side: int  # vectors hold side**2 float32, matrices are side x side views of them
    matmul: int
    sort: int


FULL = Sizes(side=8192, matmul=2048, sort=2**20)
SMALL = Sizes(side=96, matmul=33, sort=1000)


# -- timing ----------------------------------------------------------------------------------------

class WallClock:
    """Elapsed milliseconds by the host's clock (no GPU: what runs, runs synchronously)."""

    def start(self):
        return time.perf_counter()

    def stop(self, started):
        return (time.perf_counter() - started) * 1e3


class TorchEvents:
    """Elapsed milliseconds between CUDA events on torch's current stream."""

    def start(self):
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def stop(self, started):
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        event.synchronize()
        return started.elapsed_time(event)


class CupyEvents:
    """Elapsed milliseconds between CUDA events on CuPy's current stream, the one our kernels
    launch on."""

    def __init__(self, cupy):
        self.cupy = cupy

    def start(self):
        event = self.cupy.cuda.Event()
        event.record()
        return event

    def stop(self, started):
        event = self.cupy.cuda.Event()
        event.record()
        event.synchronize()
        return self.cupy.cuda.get_elapsed_time(started, event)


def synchronize():
    if ON_GPU:
        torch.cuda.synchronize()
    ri_cuda.synchronize()


def median_ms(run, clock, trials, repeat=1):
    """The median over ``trials`` of ``run()``'s time (``repeat`` runs back to back, divided),
    each trial starting on an idle device."""
    times = []
    for _ in range(trials):
        synchronize()
        started = clock.start()
        for _ in range(repeat):
            run()
        times.append(clock.stop(started) / repeat)
    return statistics.median(times)


@contextlib.contextmanager
def launching_through(wrap):
    """While the block runs, ``runtime.kernel`` hands out ``wrap(compiled, name)`` in place of
    each compiled kernel. Launch plans hold the kernels they looked up, so they are cleared on
    the way in (launches look their kernels up again) and out (none keeps the wrapper)."""
    compile_kernel = runtime.kernel
    setattr(runtime, "kernel", lambda source, name: wrap(compile_kernel(source, name), name))
    runtime.clear_plans()
    try:
        yield
    finally:
        setattr(runtime, "kernel", compile_kernel)
        runtime.clear_plans()


class Launches:
    """The kernel launches reference_impl makes while the ``with`` block runs, recorded as
    they go through ``runtime.kernel``, with every allocation made meanwhile kept alive, so
    that ``replay()`` reruns exactly those kernels on the same memory with no Python between
    them. (cuBLAS calls do not go through ``runtime.kernel``: they are not recorded.)"""

    def __init__(self):
        self.launches = []
        self.allocations = []
        self._backend = runtime.backend()
        self._kernels = launching_through(self._recording)

    def _recording(self, compiled, name):
        def launch(grid, block, args, *rest, **options):
            self.launches.append((name, compiled, grid, block, args, rest, options))
            return compiled(grid, block, args, *rest, **options)

        return launch

    def __enter__(self):
        allocate = self._backend.allocate

        def recording_allocate(nbytes):
            memory = allocate(nbytes)
            self.allocations.append(memory)
            return memory

        setattr(self._backend, "allocate", recording_allocate)
        self._kernels.__enter__()
        return self

    def __exit__(self, *exc):
        self._kernels.__exit__(*exc)
        del self._backend.allocate  # the instance attribute: the class's method shows again

    def replay(self):
        for _, compiled, grid, block, args, rest, options in self.launches:
            compiled(grid, block, args, *rest, **options)

    def summary(self):
        """The kernels launched, short names in order of first launch, with counts."""
        counts: dict = {}
        for name, *_ in self.launches:
            short = "_".join(name.split("_")[1:4])  # ri_reduce_sum_partial_... -> reduce_sum_partial
            counts[short] = counts.get(short, 0) + 1
        return ", ".join(f"{short} x{count}" if count > 1 else short for short, count in counts.items())


def _idle(compiled, name):
    """A launch that does nothing (the kernel is compiled, outside any timing)."""
    return lambda *args, **options: None


def host_microseconds(run, seconds=0.05, trials=5):
    """``run()``'s host work in microseconds: the fastest of ``trials`` batches of about
    ``seconds`` each, with every launch a no-op. That is what an op costs the host (dtype
    rules, planning, allocation, launch arguments), which a GPU left idle waits for before
    the op's first kernel; it needs no GPU."""
    with launching_through(_idle):
        run()  # plans and compiles
        repeat = 1
        while True:
            started = time.perf_counter()
            for _ in range(repeat):
                run()
            elapsed = time.perf_counter() - started
            if elapsed >= seconds / 10 or repeat >= 10**5:
                break
            repeat *= 10
        repeat = max(1, int(repeat * seconds / max(elapsed, 1e-9)))
        best = math.inf
        for _ in range(trials):
            started = time.perf_counter()
            for _ in range(repeat):
                run()
            best = min(best, (time.perf_counter() - started) / repeat)
    return best * 1e6


# -- agreement -------------------------------------------------------------------------------------

def as_torch(result, device):
    """A reference_impl result (a tensor or a tuple of them) as torch tensors on ``device``."""
    if isinstance(result, tuple):
        return tuple(as_torch(each, device) for each in result)
    return torch.from_numpy(result.cpu().numpy()).to(device)


def mismatch(ours, theirs, rtol=0.0, atol=0.0):
    """None where ``ours`` matches ``theirs`` (dtype, shape, values within the tolerance),
    else what differs."""
    if ours.dtype != theirs.dtype or ours.shape != theirs.shape:
        return f"{ours.dtype}{tuple(ours.shape)} vs {theirs.dtype}{tuple(theirs.shape)}"
    if theirs.is_floating_point():
        error = (ours.double() - theirs.double()).abs()
        allowed = atol + rtol * theirs.double().abs()
        if not bool((error <= allowed).all()):
            return f"max error {error.max().item():.3g}"
        return None
    if not torch.equal(ours, theirs):
        return f"{int((ours != theirs).sum())} of {theirs.numel()} differ"
    return None


def close(rtol):
    return lambda ours, theirs, data: mismatch(ours, theirs, rtol=rtol)


def sums_close(dim):
    """A float32 sum agrees within 1e-6 of the sum of magnitudes it adds (rounding differs
    with the order of additions; a lost or doubled chunk does not fit)."""
    def check(ours, theirs, data):
        magnitude = data["A"].abs().double().sum(dim) if dim is not None else data["a"].abs().double().sum()
        return mismatch(ours, theirs, atol=1e-6 * magnitude.max().item() + 1e-6)
    return check


def equal_pairs(ours, theirs, data):
    """max(dim=1): values and first-occurrence indices exactly."""
    return mismatch(ours[0], theirs[0]) or mismatch(ours[1], theirs[1])


def sorted_alike(ours, theirs, data):
    """The same sorted values, and indices that pick them out of the input (ties may come in
    either order: torch's CUDA sort is not stable, ours is)."""
    return mismatch(ours[0], theirs[0]) or mismatch(data["s"][ours[1]], theirs[0])


def matmul_close(ours, theirs, data):
    k = data["M"].shape[0]
    return mismatch(ours, theirs, rtol=1e-4, atol=2e-3 * math.sqrt(k))


# -- the ops ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    label: str
    kind: str  # "elementwise", "reduction" (bandwidth targets) or "compute" (torch ratio only)
    moved: int | None  # bytes the op must read and write, for memory-bound ops
    run: Callable[[Any, dict], Any]  # (library, data) -> result: one expression for reference_impl and torch
    check: Callable[[Any, Any, dict], str | None]  # (ours as torch, theirs, torch data) -> a mismatch or None
    env: tuple = ()  # environment settings while our op runs


def ops(sizes):
    n, side, f32 = sizes.side ** 2, sizes.side, 4
    matrix = f"{side}x{side}"
    cublas = "" if runtime.backend().name == "cupy" else " (emulated: our kernel ran)"
    return [
        Op(f"clone {n:,} f32", "elementwise", 2 * f32 * n, lambda lib, d: d["a"].clone(), close(0)),
        Op(f"add {n:,} f32", "elementwise", 3 * f32 * n, lambda lib, d: d["a"] + d["b"], close(0)),
        Op(f"exp {n:,} f32", "elementwise", 2 * f32 * n, lambda lib, d: d["a"].exp(), close(1e-6)),
        Op(f"broadcast add {matrix} + ({side},)", "elementwise", 2 * f32 * n + f32 * side,
           lambda lib, d: d["A"] + d["x"], close(0)),
        Op(f"outer add x[None, :] + y[:, None] -> {matrix}", "elementwise", f32 * n + 2 * f32 * side,
           lambda lib, d: d["x"][None, :] + d["y"][:, None], close(0)),
        Op(f"add transposed {matrix}: A.t() + B", "elementwise", 3 * f32 * n,
           lambda lib, d: d["A"].t() + d["B"], close(0)),
        Op(f"sum {n:,} f32", "reduction", f32 * n, lambda lib, d: d["a"].sum(), sums_close(None)),
        Op(f"sum dim 0 of {matrix}", "reduction", f32 * n + f32 * side, lambda lib, d: d["A"].sum(0),
           sums_close(0)),
        Op(f"max dim 1 of {matrix} (values, indices)", "reduction", f32 * n + 12 * side,
           lambda lib, d: tuple(d["A"].max(1)), equal_pairs),
        Op(f"argmax {n:,} f32", "reduction", f32 * n, lambda lib, d: d["a"].argmax(), close(0)),
        Op(f"matmul {sizes.matmul} f32 (our register-blocked kernel)", "compute", None,
           lambda lib, d: lib.matmul(d["M"], d["M"]), matmul_close),
        Op(f"matmul {sizes.matmul} f32 (REFERENCE_IMPL_CUDA_CUBLAS=1{cublas})", "compute", None,
           lambda lib, d: lib.matmul(d["M"], d["M"]), matmul_close, (("REFERENCE_IMPL_CUDA_CUBLAS", "1"),)),
        Op(f"sort {sizes.sort:,} f32", "compute", None, lambda lib, d: tuple(lib.sort(d["s"])), sorted_alike),
    ]


def host_data(sizes):
    rng = np.random.default_rng(0)
    n = sizes.side ** 2
    return {"a": rng.standard_normal(n, dtype=np.float32), "b": rng.standard_normal(n, dtype=np.float32),
            "x": rng.standard_normal(sizes.side, dtype=np.float32),
            "y": rng.standard_normal(sizes.side, dtype=np.float32),
            "M": rng.standard_normal((sizes.matmul, sizes.matmul), dtype=np.float32),
            "s": rng.standard_normal(sizes.sort, dtype=np.float32)}


def on_device(library, host, sizes, device):
    """The host data as ``library``'s tensors on ``device``; "A", "B" are matrix views of "a", "b"."""
    data = {name: library.from_numpy(values).to(device) for name, values in host.items()}
    data["A"] = data["a"].view(sizes.side, sizes.side)
    data["B"] = data["b"].view(sizes.side, sizes.side)
    return data


# -- measuring -------------------------------------------------------------------------------------

@dataclass
class Row:
    op: Op
    agrees: str = ""
    ours: float | None = None
    kernels: float | None = None
    torch: float | None = None
    host: float | None = None  # microseconds of host work (host_microseconds)
    notes: str = ""


def with_env(settings, run):
    """``run()`` with the environment ``settings`` applied, then restored."""
    saved = {key: os.environ.get(key) for key, _ in settings}
    os.environ.update(dict(settings))
    try:
        return run()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure(op, ours_data, their_data, device, clocks, trials, repeat):
    row = Row(op)
    ours_clock, their_clock = clocks
    fallbacks = dict(ri_cuda.host_fallbacks())
    result = with_env(op.env, lambda: op.run(ri, ours_data))  # compiles what the op needs
    theirs = op.run(torch, their_data)
    problem = op.check(as_torch(result, device), theirs, their_data)
    row.agrees = "yes" if problem is None else f"NO: {problem}"
    del result
    with_env(op.env, lambda: op.run(ri, ours_data))  # warm-up
    row.ours = with_env(op.env, lambda: median_ms(lambda: op.run(ri, ours_data), ours_clock, trials))
    with Launches() as launches:
        kept = with_env(op.env, lambda: op.run(ri, ours_data))
    if launches.launches:
        row.kernels = median_ms(launches.replay, ours_clock, trials, repeat)
        row.notes = launches.summary()
    else:
        row.notes = "no kernel of ours (cuBLAS)"
    del kept, launches
    row.host = with_env(op.env, lambda: host_microseconds(lambda: op.run(ri, ours_data)))
    op.run(torch, their_data)
    row.torch = median_ms(lambda: op.run(torch, their_data), their_clock, trials)
    ran_on_host = {name: count - fallbacks.get(name, 0) for name, count in ri_cuda.host_fallbacks().items()
                   if count > fallbacks.get(name, 0)}
    if ran_on_host:
        row.notes += "; ON THE HOST: " + ", ".join(f"{name} x{count}" for name, count in ran_on_host.items())
    return row


def copy_bandwidth(their_data, clocks, trials, n):
    """(GB/s of torch's copy_, GB/s of CuPy's memcpy or None, the faster) for n float32."""
    source = their_data["a"]
    target = torch.empty_like(source)
    moved = 2 * 4 * n
    torch_ms = median_ms(lambda: target.copy_(source), clocks[1], trials)
    cupy_ms = None
    if runtime.backend().name == "cupy":
        backend = runtime.backend()
        source_memory, target_memory = backend.allocate(4 * n), backend.allocate(4 * n)
        try:
            cupy_ms = median_ms(lambda: target_memory.pointer.copy_from_device_async(source_memory.pointer, 4 * n),
                                clocks[0], trials)
        except Exception:  # torch's copy alone is reference enough
            traceback.print_exc()
    rates = [moved / ms / 1e6 for ms in (torch_ms, cupy_ms) if ms]
    return rates[0], (rates[1] if len(rates) > 1 else None), max(rates)


def verdict(row, bandwidth, ms):
    """The row's targets, and whether the op meets them taking ``ms`` for it: the whole op's
    time, or its kernels' alone (the issue words its targets per kernel). "-" without a time."""
    floor = {"elementwise": ELEMENTWISE_TARGET, "reduction": REDUCTION_TARGET}.get(row.op.kind)  # compute: none
    targets = ", ".join(([f">= {floor}% copy BW"] if floor else []) + [f"<= {RATIO_TARGET}x torch"])
    if ms is None:
        return targets, "-"
    met = ms / row.torch <= RATIO_TARGET and (floor is None or share(row.op.moved, ms, bandwidth) >= floor)
    return targets, "pass" if met else "FAIL"


def share(moved, ms, bandwidth):
    return 100 * moved / (ms * 1e6) / bandwidth


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def table(rows, bandwidth, meaningful):
    lines = ["| op | agrees | ours (ms) | ours, kernels only (ms) | ours, host work (µs) | torch (ms) | ours / torch | "
             "% copy BW: ours | kernels only | torch | targets | whole op | kernels only | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.ours is None:
            lines.append(f"| {row.op.label} | {row.agrees} | - | - | - | - | - | - | - | - | - | - | - | {row.notes} |")
            continue
        moved = row.op.moved
        shares = [fmt(share(moved, ms, bandwidth) if moved and ms else None, ".0f") for ms in
                  (row.ours, row.kernels, row.torch)]
        targets, whole = verdict(row, bandwidth, row.ours)
        kernels = verdict(row, bandwidth, row.kernels)[1]
        if not meaningful:
            whole = kernels = "n/a"  # see the note above the table
        lines.append(f"| {row.op.label} | {row.agrees} | {fmt(row.ours, '.3f')} | {fmt(row.kernels, '.3f')} | "
                     f"{fmt(row.host, '.0f')} | {fmt(row.torch, '.3f')} | {row.ours / row.torch:.2f} | "
                     f"{' | '.join(shares)} | {targets} | "
                     f"{whole} | {kernels} | {row.notes} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, help="markdown file to write (also printed)")
    parser.add_argument("--small", action="store_true", help="small sizes (always so without a GPU)")
    parser.add_argument("--trials", type=int, default=None, help="timed runs per op (default 10 on a GPU, 2 not)")
    parser.add_argument("--budget", type=float, default=150.0,
                        help="seconds; ops not started by then are skipped (default 150)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    backend = runtime.backend()
    meaningful = ON_GPU and backend is not None and backend.name == "cupy" and not args.small
    sizes = SMALL if args.small or not ON_GPU else FULL
    trials = args.trials or (10 if ON_GPU else 2)
    device = "cuda" if ON_GPU else "cpu"
    if ON_GPU:
        torch.backends.cuda.matmul.allow_tf32 = False  # full float32 products, as ours
        clocks = (CupyEvents(backend.cupy) if backend.name == "cupy" else WallClock(), TorchEvents())
        where = f"{torch.cuda.get_device_name()}, torch {torch.__version__} (CUDA {torch.version.cuda})"
    else:
        clocks = (WallClock(), WallClock())
        where = f"no GPU: torch {torch.__version__} on the CPU"
    if backend.name == "cupy":
        where += f", CuPy {backend.cupy.__version__}"
    host = host_data(sizes)
    ours_data = on_device(ri, host, sizes, "cuda")
    their_data = on_device(torch, host, sizes, device)
    n = sizes.side ** 2
    torch_rate, cupy_rate, bandwidth = copy_bandwidth(their_data, clocks, trials, n)
    head = [f"# reference_impl's CUDA op path vs torch ({where})", ""]
    if not meaningful:
        head += ["**Timings here are meaningless**: " + (
            "no GPU, so reference_impl ran on the emulated CUDA device (REFERENCE_IMPL_CUDA=emulate, the same "
            "kernels compiled by g++ and run on the CPU) and torch on the CPU, at small sizes."
            if not ON_GPU else f"small sizes or backend {backend.name}.")
            + " Only the agreement and host-work columns count.", ""]
    head += [
        f"reference_impl backend: REFERENCE_IMPL_CUDA={backend.name}; sizes: vectors of {n:,} float32 "
        f"({sizes.side}x{sizes.side} matrices), matmul {sizes.matmul}, sort {sizes.sort:,}; median of {trials} "
        f"runs after a warm-up, {'CUDA events' if ON_GPU else 'wall clock'}, the device idle before each run.",
        "",
        f"Measured device-to-device copy bandwidth ({n:,} float32): torch copy_ {torch_rate:.4g} GB/s"
        + (f", CuPy memcpy {cupy_rate:.4g} GB/s" if cupy_rate else "") + f"; reference {bandwidth:.4g} GB/s.",
        "",
    ]
    legend = ("ours: the whole op as user code calls it; kernels only: the same op's recorded kernel launches "
              "replayed back to back (ours minus that is Python and launch overhead); host work: the whole op with "
              "every launch a no-op, the fastest of 5 batches (meaningful without a GPU too: the time an idle GPU "
              "waits before the op's first kernel, less the launch calls themselves); % copy BW: the bytes the op "
              "must move over its time, against the reference bandwidth. The two verdicts: the whole op's time, and "
              "its kernels' alone, against the targets.")

    def text(rows, done):
        status = f"Total {time.perf_counter() - began:.0f} s." if done else "(still running)"
        return "\n".join(head + table(rows, bandwidth, meaningful) + ["", legend, "", status]) + "\n"

    rows: list[Row] = []
    for op in ops(sizes):
        if time.perf_counter() - began > args.budget:
            rows.append(Row(op, agrees="skipped", notes=f"the {args.budget:.0f} s budget was spent"))
            continue
        try:
            rows.append(measure(op, ours_data, their_data, device, clocks, trials, repeat=3 if ON_GPU else 1))
        except Exception as error:  # one failing op must not hide the others' numbers
            traceback.print_exc()
            rows.append(Row(op, agrees=f"ERROR: {type(error).__name__}: {str(error).splitlines()[0][:200]}"))
        if args.output:  # written as it goes: a run stopped by a time limit leaves the rows it has
            args.output.write_text(text(rows, False))
    final = text(rows, True)
    print(final)
    if args.output:
        args.output.write_text(final)
    return 1 if any(not row.agrees.startswith(("yes", "skipped")) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
