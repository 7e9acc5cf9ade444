"""The host emulation runs reference_impl's real CUDA kernels on numpy buffers, in both
thread orders, and catches what a GPU would leave undefined (a missing barrier, barrier
divergence, ill-typed arguments)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reference_impl.cuda import emulation, kernels
from reference_impl.cuda.emulation import (
    EmulationCompileError,
    EmulationRuntimeError,
    HostKernel,
    HostPointer,
    OrderDependenceError,
    run_in_both_orders,
)

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="the CUDA host emulation compiles with g++")

BLOCK = 64
GRID = 3  # fewer threads than most test sizes, so the grid-stride loops go round


def i64(values):
    return HostPointer(np.asarray(values, dtype=np.int64))


def operand(view):
    """A kernel's (pointer, strides, offset) triple for a numpy view: the pointer is the
    view's base array, so views into it (slices, transposes) carry a storage offset."""
    base = view
    while isinstance(base.base, np.ndarray):
        base = base.base
    itemsize = view.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // itemsize
    return HostPointer(base), i64([s // itemsize for s in view.strides]), np.int64(offset)


def kernel(source_and_name):
    name, source = source_and_name
    return HostKernel(source, name)


def elementwise_args(operands, out):
    """Arguments of kernels.binary_source/unary_source kernels: each operand, then out, then
    the shape; the contiguous fast path where every view is dense and offset-free."""
    dense = all(v.flags.c_contiguous and v.shape == out.shape and v.base is None for v in (*operands, out))
    args = [part for view in (*operands, out) for part in operand(view)]
    return (*args, i64(out.shape), np.int32(out.ndim), np.int64(out.size), np.int32(dense))


def run_binary(op, a, b, out, compute):
    k = kernel(kernels.binary_source(op, a.dtype.name, b.dtype.name, out.dtype.name, compute))

    def make_args():
        fresh = np.zeros_like(out)
        return elementwise_args((a, b), fresh), [fresh]

    return run_in_both_orders(k, GRID, BLOCK, make_args)[0]


RNG = np.random.default_rng(0)


# ---- elementwise ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "int8", "float16"])
def test_binary_add_contiguous(dtype):
    a = (RNG.random((5, 7)) * 50).astype(dtype)
    b = (RNG.random((5, 7)) * 50).astype(dtype)
    out = run_binary("add", a, b, np.empty((5, 7), dtype), dtype)
    np.testing.assert_array_equal(out, a + b)


def test_binary_on_transposed_sliced_and_broadcast_operands():
    storage = RNG.standard_normal((9, 12)).astype(np.float32)
    a = storage[1:8, 2:11].T  # transposed, with a storage offset: shape (9, 7)
    b = RNG.standard_normal(7).astype(np.float32)
    b_wide = np.broadcast_to(b, (9, 7))  # stride 0 along the first dim
    out = run_binary("mul", a, b_wide, np.empty((9, 7), np.float32), "float32")
    np.testing.assert_array_equal(out, a * b)


def test_binary_writes_a_strided_output():
    a = RNG.standard_normal((4, 6))
    b = RNG.standard_normal((4, 6))
    k = kernel(kernels.binary_source("sub", "float64", "float64", "float64", "float64"))
    storage = np.full((6, 4), 7.0)
    out = storage.T  # the kernel must write through out's strides
    k(GRID, BLOCK, elementwise_args((a, b), out))
    np.testing.assert_array_equal(out, a - b)


def test_binary_promotes_and_compares():
    a = np.arange(-6, 6, dtype=np.int64).reshape(3, 4)
    b = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(run_binary("add", a, b, np.empty((3, 4), np.float32), "float32"),
                                  (a.astype(np.float32) + b))
    c = np.array([[1, 5, 3, 2]] * 3, dtype=np.int64)
    np.testing.assert_array_equal(run_binary("lt", a, c, np.empty((3, 4), np.bool_), "int64"), a < c)


def test_float16_goes_through_float():
    a = (RNG.standard_normal(40) * 100).astype(np.float16)
    b = (RNG.standard_normal(40) * 100).astype(np.float16)
    out = run_binary("div", a, b, np.empty(40, np.float16), "float16")
    np.testing.assert_array_equal(out, (a.astype(np.float32) / b.astype(np.float32)).astype(np.float16))


@pytest.mark.parametrize("op, reference", [
    ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("tanh", np.tanh),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("relu", lambda x: np.maximum(x, 0)), ("neg", np.negative),
])
@pytest.mark.parametrize("dtype, rtol", [("float32", 3e-7), ("float64", 1e-15), ("float16", 1e-3)])
def test_unary(op, reference, dtype, rtol):
    x = (RNG.random((6, 5)) * 4 + 0.1).astype(dtype)
    if op in ("tanh", "sigmoid", "relu", "neg"):
        x = x - np.asarray(2, dtype)
    x_view = x[::2].T  # strided
    k = kernel(kernels.unary_source(op, dtype, dtype))

    def make_args():
        out = np.zeros(x_view.shape, dtype)
        return elementwise_args((x_view,), out), [out]

    (out,) = run_in_both_orders(k, GRID, BLOCK, make_args)
    expected = reference(x_view.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=0)


def test_math_overloads_compute_float_in_float():
    # exp(float) and the rest must be CUDA's float overloads, not C's double functions
    source = r"""extern "C" __global__ void probe(const float* x, float* out, int* widths) {
        out[0] = exp(x[0]);
        out[1] = nextafter(x[0], x[1]);
        widths[0] = sizeof(exp(x[0]));
        widths[1] = sizeof(nextafter(x[0], x[1]));
        widths[2] = sizeof(hypot(x[0], x[1]));
        widths[3] = sizeof(pow(x[0], x[1]));
    }"""
    x = np.array([3.5, 4.0], np.float32)
    out, widths = np.zeros(2, np.float32), np.zeros(4, np.int32)
    HostKernel(source, "probe")(1, 1, (HostPointer(x), HostPointer(out), HostPointer(widths)))
    assert widths.tolist() == [4, 4, 4, 4]
    np.testing.assert_allclose(out[0], np.exp(x[0]), rtol=2e-7)
    assert out[1] == np.nextafter(x[0], x[1])


# ---- reductions and atomics -------------------------------------------------------------------


def sum_args(a, out):
    """Arguments of a kernels.sum_source kernel over the view ``a``."""
    pointer, strides, offset = operand(a)
    dense = a.flags.c_contiguous and a.base is None
    return pointer, strides, offset, i64(a.shape), np.int32(a.ndim), np.int64(a.size), HostPointer(out), np.int32(dense)


def run_sum(in_dtype, acc_dtype, a, block=256, grid=GRID):
    k = kernel(kernels.sum_source(in_dtype, acc_dtype, block))

    def make_args():
        out = np.zeros(1, acc_dtype)
        return sum_args(a, out), [out]

    return run_in_both_orders(k, grid, block, make_args)[0][0]


def test_int64_sum_with_negative_values_is_exact():
    a = RNG.integers(-(2**40), 2**40, size=3000, dtype=np.int64)
    assert run_sum("int64", "int64", a) == a.sum()


@pytest.mark.parametrize("in_dtype, acc_dtype, rtol", [("float32", "float32", 1e-5), ("float64", "float64", 1e-13),
                                                       ("float16", "float32", 1e-5)])
def test_float_sums(in_dtype, acc_dtype, rtol):
    a = RNG.standard_normal(2000).astype(in_dtype) + 1
    np.testing.assert_allclose(run_sum(in_dtype, acc_dtype, a), a.astype(np.float64).sum(), rtol=rtol)


def test_sum_of_a_strided_view():
    storage = RNG.integers(-100, 100, size=(40, 30), dtype=np.int64)
    view = storage[3:37:2, ::-3].T
    assert run_sum("int64", "int64", view) == view.sum()


def test_a_reduction_missing_its_barrier_depends_on_thread_order():
    name, source = kernels.sum_source("int64", "int64", 64)
    broken = source.replace("__syncthreads();", "", 1)  # partial[] is read before every thread wrote it
    assert broken != source
    a = np.arange(1, 1001, dtype=np.int64)

    def make_args():
        out = np.zeros(1, np.int64)
        return sum_args(a, out), [out]

    with pytest.raises(OrderDependenceError, match="depends on the thread order"):
        run_in_both_orders(HostKernel(broken, name), GRID, 64, make_args)
    totals = {}
    for order in ("forward", "reverse"):
        args, (out,) = make_args()
        HostKernel(broken, name, order=order)(GRID, 64, args)
        totals[order] = int(out[0])
    assert a.sum() in totals.values() and totals["forward"] != totals["reverse"]


def test_the_environment_sets_the_default_order(monkeypatch):
    source = r"""extern "C" __global__ void order(unsigned int* counter, unsigned int* seen) {
        seen[threadIdx.x] = atomicAdd(counter, 1u);
    }"""
    k = HostKernel(source, "order")
    runs = {}
    for order in ("forward", "reverse"):
        monkeypatch.setenv("REFERENCE_IMPL_CUDA_EMULATION_ORDER", order)
        counter, seen = np.zeros(1, np.uint32), np.zeros(5, np.uint32)
        k(1, 5, (HostPointer(counter), HostPointer(seen)))
        runs[order] = seen.tolist()
    assert runs == {"forward": [0, 1, 2, 3, 4], "reverse": [4, 3, 2, 1, 0]}
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_EMULATION_ORDER", "sideways")
    with pytest.raises(ValueError, match="'forward' or 'reverse'"):
        k(1, 5, (HostPointer(counter), HostPointer(seen)))


# ---- matmul: tiles in shared memory, two barriers a tile --------------------------------------


def run_matmul(a, b, dtype, tile=16):
    k = kernel(kernels.matmul_source(dtype, tile))
    m, kk = a.shape
    n = b.shape[1]
    a_pointer, a_strides, a_offset = operand(a)
    b_pointer, b_strides, b_offset = operand(b)

    def make_args():
        c = np.zeros((m, n), dtype)
        return (a_pointer, np.int64(a_strides.array[0]), np.int64(a_strides.array[1]), a_offset,
                b_pointer, np.int64(b_strides.array[0]), np.int64(b_strides.array[1]), b_offset,
                HostPointer(c), np.int64(m), np.int64(kk), np.int64(n)), [c]

    grid = (-(-n // tile), -(-m // tile))
    return run_in_both_orders(k, grid, (tile, tile), make_args)[0]


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (17, 33, 9), (5, 40, 31)])
def test_matmul_with_odd_sizes(m, k, n):
    a, b = RNG.standard_normal((m, k)), RNG.standard_normal((k, n))
    np.testing.assert_allclose(run_matmul(a, b, "float64"), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_of_transposed_and_offset_float32_operands():
    a = RNG.standard_normal((30, 20)).astype(np.float32)[2:25].T  # (20, 23), column-major, offset
    b = RNG.standard_normal((23, 19)).astype(np.float32)[:, 1:]
    np.testing.assert_allclose(run_matmul(a, b, "float32"), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


# ---- warp intrinsics --------------------------------------------------------------------------

WARP_KERNELS = r"""
// a block's sum: shuffle down within each warp, then warp 0 adds the warps' totals
extern "C" __global__ void warp_sum(const float* x, float* out, int n) {
    __shared__ float warp_totals[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = i < n ? x[i] : 0.0f;
    for (int offset = warpSize / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < blockDim.x / warpSize ? warp_totals[lane] : 0.0f;
        for (int offset = warpSize / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
        if (lane == 0) atomicAdd(out, v);
    }
}

// butterfly: every lane ends with its warp's total; and each lane's ballot of x > 0
extern "C" __global__ void warp_all(const int* x, int* totals, unsigned int* ballots) {
    int v = x[threadIdx.x];
    for (int mask = 16; mask > 0; mask /= 2) v += __shfl_xor_sync(0xffffffffu, v, mask);
    totals[threadIdx.x] = v;
    ballots[threadIdx.x] = __ballot_sync(0xffffffffu, x[threadIdx.x] > 0);
}

// broadcast lane 3 of each 8-lane segment; shift up by one
extern "C" __global__ void warp_moves(const double* x, double* from_lane_3, double* shifted_up) {
    double v = x[threadIdx.x];
    from_lane_3[threadIdx.x] = __shfl_sync(0xffffffffu, v, 3, 8);
    shifted_up[threadIdx.x] = __shfl_up_sync(0xffffffffu, v, 1);
}

// a shuffle down by 16 in a block of 40: warp 1 has 8 lanes, so its lanes read lanes that do not exist
extern "C" __global__ void warp_partial(float* out) {
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (float)threadIdx.x, 16);
}

extern "C" __global__ void warp_lane_exits(float* out) {
    if (threadIdx.x == 3) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}
"""


def test_warp_shuffle_reduction():
    x = RNG.integers(-50, 50, size=1000).astype(np.float32)

    def make_args():
        out = np.zeros(1, np.float32)
        return (HostPointer(x), HostPointer(out), np.int32(x.size)), [out]

    blocks = -(-x.size // 128)
    (out,) = run_in_both_orders(HostKernel(WARP_KERNELS, "warp_sum"), blocks, 128, make_args)
    assert out[0] == x.sum()


def test_xor_butterfly_and_ballot():
    x = RNG.integers(-9, 9, size=64).astype(np.int32)

    def make_args():
        totals, ballots = np.zeros(64, np.int32), np.zeros(64, np.uint32)
        return (HostPointer(x), HostPointer(totals), HostPointer(ballots)), [totals, ballots]

    totals, ballots = run_in_both_orders(HostKernel(WARP_KERNELS, "warp_all"), 1, 64, make_args)
    for warp in range(2):
        lanes = slice(32 * warp, 32 * warp + 32)
        assert (totals[lanes] == x[lanes].sum()).all()
        assert (ballots[lanes] == sum(1 << lane for lane in range(32) if x[lanes][lane] > 0)).all()


def test_shuffle_from_a_lane_and_up():
    x = np.arange(32, dtype=np.float64) * 1.5
    from_lane_3, shifted_up = np.zeros(32), np.zeros(32)
    HostKernel(WARP_KERNELS, "warp_moves")(1, 32, (HostPointer(x), HostPointer(from_lane_3), HostPointer(shifted_up)))
    np.testing.assert_array_equal(from_lane_3, np.repeat(x[3::8], 8))
    np.testing.assert_array_equal(shifted_up, np.concatenate([x[:1], x[:-1]]))


def test_a_shuffle_from_a_missing_lane_reads_nan():
    out = np.zeros(40, np.float32)
    HostKernel(WARP_KERNELS, "warp_partial")(1, 40, (HostPointer(out),))
    np.testing.assert_array_equal(out[:16], np.arange(16, 32))
    np.testing.assert_array_equal(out[16:32], np.arange(16, 32))  # beyond the warp: their own value
    assert np.isnan(out[32:]).all()


def test_a_lane_exiting_before_a_shuffle_is_reported():
    with pytest.raises(EmulationRuntimeError, match=r"warp_lane_exits: thread \(3,0,0\) of block \(0,0,0\) exited"):
        HostKernel(WARP_KERNELS, "warp_lane_exits")(1, 32, (HostPointer(np.zeros(32, np.float32)),))


# ---- barrier divergence, shared memory --------------------------------------------------------

DIVERGENT = r"""
extern "C" __global__ void early_exit(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = 1.0f;
    __syncthreads();
}

extern "C" __global__ void two_barriers(float* out) {
    if (threadIdx.x % 2) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1.0f;
}

extern "C" __global__ void uniform(float* out) {
    __syncthreads();
    out[threadIdx.x] = 2.0f;
}
"""


def test_a_thread_exiting_while_others_wait_at_a_barrier_is_reported():
    out = np.zeros(8, np.float32)
    with pytest.raises(EmulationRuntimeError, match=r"early_exit: barrier divergence: thread \(5,0,0\) of block "
                                                    r"\(0,0,0\) exited while other threads wait at the __syncthreads"):
        HostKernel(DIVERGENT, "early_exit")((2,), (8,), (HostPointer(np.zeros(16, np.float32)),))
    HostKernel(DIVERGENT, "uniform")(1, 8, (HostPointer(out),))  # the library runs on after a fault
    assert (out == 2).all()
    with pytest.raises(EmulationRuntimeError, match="barrier divergence"):
        HostKernel(DIVERGENT, "early_exit")(1, 8, (HostPointer(out),), order="reverse")


def test_threads_at_different_barriers_are_reported():
    with pytest.raises(EmulationRuntimeError, match=r"barrier divergence: .* on line \d+, others at the one on line"):
        HostKernel(DIVERGENT, "two_barriers")(1, 4, (HostPointer(np.zeros(4, np.float32)),))


SHARED = r"""
extern "C" __global__ void uninitialised(float* f, int* i) {
    __shared__ float fs[4];
    __shared__ int is[4];
    if (blockIdx.x == 0) { fs[threadIdx.x] = 1.0f; is[threadIdx.x] = 1; }  // block 1 must not see these
    f[blockIdx.x * 4 + threadIdx.x] = fs[threadIdx.x];
    i[blockIdx.x * 4 + threadIdx.x] = is[threadIdx.x];
}

extern "C" __global__ void reverse_in_dynamic(const double* x, double* out) {
    extern __shared__ double staged[];
    staged[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    out[threadIdx.x] = staged[blockDim.x - 1 - threadIdx.x];
}
"""


def test_shared_memory_starts_each_block_poisoned():
    f, i = np.zeros(8, np.float32), np.zeros(8, np.int32)
    HostKernel(SHARED, "uninitialised")(2, 4, (HostPointer(f), HostPointer(i)))
    np.testing.assert_array_equal(f[:4], 1)
    np.testing.assert_array_equal(i[:4], 1)
    assert np.isnan(f[4:]).all() and (i[4:] == -1).all()


def test_dynamic_shared_memory():
    x, out = np.arange(50.0), np.zeros(50)
    HostKernel(SHARED, "reverse_in_dynamic")(1, 50, (HostPointer(x), HostPointer(out)), shared_mem=50 * 8)
    np.testing.assert_array_equal(out, x[::-1])


# ---- arguments, launch shapes, compiling ------------------------------------------------------

SCALARS = r"""
#include <cuda_fp16.h>
typedef unsigned long long u64;
extern "C" __global__ void scalars(bool flag, __half h, u64 big, signed char c, unsigned char b, short s,
                                   float f, double d, int i, double* out) {
    out[0] = flag; out[1] = h; out[2] = (double)big; out[3] = c; out[4] = b; out[5] = s;
    out[6] = f; out[7] = d; out[8] = i;
}
"""
SCALAR_VALUES = (np.bool_(True), np.float16(1.5), np.uint64(2**40), np.int8(-3), np.uint8(200), np.int16(-300),
                 np.float32(0.25), np.float64(-1e300), np.int32(-7))


def test_every_scalar_type_reaches_the_kernel():
    out = np.zeros(9)
    HostKernel(SCALARS, "scalars")(1, 1, (*SCALAR_VALUES, HostPointer(out)))
    np.testing.assert_array_equal(out, [1, 1.5, 2**40, -3, 200, -300, 0.25, -1e300, -7])


@pytest.mark.parametrize("position, value, message", [
    (8, 7, r"argument 8 `i` \(int\): expected a numpy scalar, got int"),
    (8, np.int64(7), r"argument 8 `i` \(int\): expected a 4-byte signed integer numpy scalar, got int64"),
    (2, np.int64(7), r"argument 2 `big` \(u64\): expected a 8-byte unsigned integer numpy scalar, got int64"),
    (6, np.float64(1), r"argument 6 `f` \(float\): expected a 4-byte floating numpy scalar, got float64"),
    (1, np.int16(1), r"argument 1 `h` \(__half\): expected a 2-byte floating numpy scalar, got int16"),
    (0, np.uint8(1), r"argument 0 `flag` \(bool\): expected a 1-byte bool numpy scalar, got uint8"),
    (9, np.zeros(9), r"argument 9 `out` \(double \*\): expected an object with an integer .ptr, got ndarray"),
])
def test_ill_typed_arguments_are_refused(position, value, message):
    args = [*SCALAR_VALUES, HostPointer(np.zeros(9))]
    args[position] = value
    with pytest.raises(TypeError, match="kernel scalars, " + message):
        HostKernel(SCALARS, "scalars")(1, 1, tuple(args))


def test_launch_shapes_are_checked():
    k = HostKernel(SCALARS, "scalars")
    with pytest.raises(TypeError, match="takes 10 arguments, got 1"):
        k(1, 1, (np.int32(1),))
    with pytest.raises(ValueError, match="exceeds CUDA's limits"):
        k(1, (32, 64), ())
    with pytest.raises(ValueError, match="positive int"):
        k(0, 1, ())
    with pytest.raises(ValueError, match="no `__global__ void missing"):
        HostKernel(SCALARS, "missing")


def test_a_compile_error_carries_gccs_log_and_the_kernel_name():
    source = 'extern "C" __global__ void broken(float* out) { out[0] = undefined_thing; }'
    with pytest.raises(EmulationCompileError, match=r"(?s)kernel broken.*undefined_thing"):
        HostKernel(source, "broken")(1, 1, (HostPointer(np.zeros(1, np.float32)),))


def test_the_disk_cache_is_keyed_by_source_and_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_CACHE", str(tmp_path))
    monkeypatch.delenv("REFERENCE_IMPL_CUDA_SANITIZE", raising=False)
    name, source = kernels.unary_source("neg", "float64", "float64")
    built = emulation._build(source, name, emulation._flags(()))
    assert built.parent == tmp_path and built.suffix == ".so"
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cpp", ".so"]  # no scratch left behind

    def no_compiler(*args, **kwargs):
        raise AssertionError("a cached kernel was compiled again")

    monkeypatch.setattr(subprocess, "run", no_compiler)
    assert emulation._build(source, name, emulation._flags(())) == built
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_SANITIZE", "1")
    assert "-fsanitize=address,undefined" in emulation._flags(())
    with pytest.raises(AssertionError, match="compiled again"):
        emulation._build(source, name, emulation._flags(()))


def test_nvrtc_only_options_are_ignored():
    assert emulation._flags(("--use_fast_math", "-arch=sm_90", "-DX=1")) == emulation._flags(("-DX=1",))


def test_sanitized_kernels_refuse_to_load_without_asan(tmp_path, monkeypatch):
    with open("/proc/self/maps") as maps:
        if "libasan" in maps.read():
            pytest.skip("this process was started with ASan preloaded")
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_SANITIZE", "1")
    with pytest.raises(EmulationCompileError, match="LD_PRELOAD="):
        emulation._load(tmp_path / "never-built.so")


FAULTY = r"""
__device__ float at(const float* p, int i) { return p[i]; }

extern "C" __global__ void heap_overflow(float* out) { out[threadIdx.x + 1] = 1.0f; }

extern "C" __global__ void shared_overflow(float* out) {
    __shared__ float staged[8];
    __shared__ float other[8];
    staged[threadIdx.x] = other[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = at(staged, threadIdx.x + 1);  // through a pointer, where UBSan cannot see the bound
}

extern "C" __global__ void oversized_shift(float* out) { out[threadIdx.x] = (float)(1 << (25 + threadIdx.x)); }
"""


@pytest.mark.parametrize("name, report", [
    ("heap_overflow", "AddressSanitizer: heap-buffer-overflow"),
    ("shared_overflow", "global variable 'staged'"),
    ("oversized_shift", "runtime error: shift exponent 32 is too large"),
])
def test_the_sanitizer_build_reports_faults(name, report):
    libasan = subprocess.run(["g++", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(libasan):
        pytest.skip("g++ has no ASan runtime")
    script = (
        "import numpy as np, sys\n"
        "from reference_impl.cuda.emulation import HostKernel, HostPointer\n"
        "HostKernel(sys.stdin.read(), sys.argv[1])(1, 8, (HostPointer(np.zeros(8, np.float32)),))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "REFERENCE_IMPL_CUDA_SANITIZE": "1", "LD_PRELOAD": libasan,
           "ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "halt_on_error=1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", script, name], input=FAULTY, capture_output=True, text=True,
                            env=env, cwd=root)
    assert result.returncode != 0 and report in result.stderr, result.stderr
