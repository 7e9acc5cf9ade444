"""The host emulation runs reference_impl's real CUDA kernels on numpy buffers, in both
thread orders, and catches what a GPU would leave undefined (a missing barrier, barrier
divergence, ill-typed arguments).

The kernel tests launch the generated kernels themselves (``elementwise.elementwise_source``,
``reduction.reduction_source``, ``indexing.advanced_source``, ``linalg.matmul_source``) through
``HostKernel``, with the arguments their launchers pass, on numpy views: a pointer is the
view's first element, its layout the view's element strides. The ops above them are tested
through CUDA tensors in the other test_cuda_*.py files.
"""

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_impl.cuda import elementwise, emulation, indexing, linalg, reduction
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


def estrides(view):
    """A numpy view's strides in elements, as a DeviceArray's ``estrides``."""
    return tuple(s // view.itemsize for s in view.strides)


def row_major(shape):
    return tuple(math.prod(shape[d + 1:]) for d in range(len(shape)))


def kernel(name_and_source):
    name, source = name_and_source
    return HostKernel(source, name)


RNG = np.random.default_rng(0)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="counts the process's mappings in /proc (Linux)")
def test_fiber_stacks_are_given_back_after_each_launch():
    """A barrier kernel's library maps a stack for each fiber, two mappings a fiber with its
    guard page. Kept after the launch, a hundred kernels of 256 threads would reach Linux's
    limit on a process's mappings (65530), and every allocation would then fail."""
    def mappings():
        return len(Path("/proc/self/maps").read_text().splitlines())

    kernels = [HostKernel(f'extern "C" __global__ void k{i}(float* x) {{ __syncthreads(); x[threadIdx.x] = {i}; }}',
                          f"k{i}") for i in range(8)]
    x = np.zeros(256, np.float32)
    kernels[0](1, 256, (HostPointer(x),))
    before = mappings()
    for kernel in kernels[1:]:
        kernel(1, 256, (HostPointer(x),))
    assert mappings() - before < 7 * 64  # each library's own few mappings; kept stacks would add 512 apiece
    assert (x == 7).all()


# ---- elementwise ------------------------------------------------------------------------------


def elementwise_kernel(name, in_dtypes, compute, out_dtype, index_type="i64", entry=""):
    """The kernel ``elementwise.elementwise`` generates for ufunc ``name``: every input
    converted to ``compute`` on load, the statement for that compute type, the output
    computed in its own dtype; its entry point for any layout, or ``entry`` ("_dense",
    "_tiled")."""
    compute, out_dtype = np.dtype(compute), np.dtype(out_dtype)
    tiled = entry == "_tiled"  # a source of its own, named by its one entry point
    name, source = elementwise.elementwise_source(
        name, elementwise.statement(name, compute), [np.dtype(d) for d in in_dtypes], [compute] * len(in_dtypes),
        [out_dtype], [out_dtype], index_type, tiled)
    return HostKernel(source, name if tiled else name + entry)


def layout_of(inputs, out):
    """``elementwise.launch``'s Layout for ``inputs`` broadcast to ``out``."""
    views = [np.broadcast_to(x, out.shape) for x in inputs] + [out]
    return elementwise.layout_arguments(out.shape, [estrides(view) for view in views])


def elementwise_args(inputs, out):
    """``elementwise.launch``'s arguments (its ``layout_arguments``): the inputs broadcast to
    ``out``'s shape (stride 0 along broadcast dims), each view's first element as a pointer."""
    layout = layout_of(inputs, out)
    return (np.int64(out.size), np.int32(len(layout.shape)), HostPointer(np.asarray(layout.dividers, np.uint32)),
            i64(layout.shape), i64(layout.strides), *(HostPointer(np.broadcast_to(x, out.shape)) for x in inputs),
            HostPointer(out))


def run_elementwise(name, inputs, compute, out_dtype, index_type="i64"):
    """The kernel run as ``elementwise.launch`` runs it: the dense entry where the layout allows."""
    shape = np.broadcast_shapes(*(x.shape for x in inputs))
    dense = layout_of(inputs, np.zeros(shape, out_dtype)).contiguous
    k = elementwise_kernel(name, [x.dtype for x in inputs], compute, out_dtype, index_type, "_dense" if dense else "")

    def make_args():
        out = np.zeros(shape, out_dtype)
        return elementwise_args(inputs, out), [out]

    return run_in_both_orders(k, GRID, BLOCK, make_args)[0]


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"])
def test_add_on_the_dense_path(dtype):
    values = RNG.random(80) * 120  # small ints wrap around, as numpy's do
    a = values.astype(dtype)[3:38].reshape(5, 7)  # dense, at an offset into its buffer
    b = (RNG.random((5, 7)) * 120).astype(dtype)
    out = run_elementwise("add", [a, b], dtype, dtype, "int")
    np.testing.assert_array_equal(out, np.add(a, b))


@pytest.mark.parametrize("index_type", ["int", "i64"])
def test_multiply_on_transposed_sliced_and_broadcast_operands(index_type):
    storage = RNG.standard_normal((9, 12)).astype(np.float32)
    a = storage[1:8, 2:11].T  # transposed, at an offset: shape (9, 7)
    b = RNG.standard_normal(7).astype(np.float32)  # broadcast along the first dim: stride 0
    out = run_elementwise("multiply", [a, b], np.float32, np.float32, index_type)
    np.testing.assert_array_equal(out, a * b)


def test_subtract_writes_a_strided_output():
    a = RNG.standard_normal((4, 6))
    b = RNG.standard_normal((4, 6))
    storage = np.full((6, 4), 7.0)
    out = storage.T  # the kernel must write through out's strides
    elementwise_kernel("subtract", [np.float64, np.float64], np.float64, np.float64)(
        GRID, BLOCK, elementwise_args([a, b], out))
    np.testing.assert_array_equal(out, a - b)


@st.composite
def layouts(draw, ndim):
    """(dim order, step per dim) of a view: dims permuted in memory, each stepped by a
    positive or negative stride."""
    return draw(st.permutations(range(ndim))), [draw(st.sampled_from((1, 2, -1, -3))) for _ in range(ndim)]


def laid_out(layout, values):
    """A view equal to ``values`` whose memory has ``layout``: a slice of a larger buffer,
    holding the values at the view's positions and 0 elsewhere."""
    order, steps = layout
    sizes = [values.shape[d] for d in order]
    storage = np.zeros([abs(step) * size + 1 for step, size in zip(steps, sizes)], values.dtype)
    view = storage[tuple(slice(1, 1 + step * size, step) if step > 0 else slice(-step * size, 0, step)
                         for step, size in zip(steps, sizes)) + (Ellipsis,)]  # a view even with no dims
    view = view.transpose(np.argsort(order))
    view[...] = values
    return view


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_layout_of_inputs_and_output(data):
    """Permuted, stepped, reversed (negative strides) and broadcast operands, into an output
    laid out the same ways: the strided path's offsets come from ``strided_offsets``."""
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    b_shape = tuple(data.draw(st.sampled_from((size, 1))) for size in shape)[data.draw(st.integers(0, len(shape))):]
    a = laid_out(data.draw(layouts(len(shape))), RNG.standard_normal(shape))
    b = laid_out(data.draw(layouts(len(b_shape))), RNG.standard_normal(b_shape))
    out_layout = data.draw(layouts(len(shape)))
    k = elementwise_kernel("subtract", [np.float64, np.float64], np.float64, np.float64)

    def make_args():
        out = laid_out(out_layout, np.full(shape, np.nan))
        return elementwise_args([a, b], out), [out.base, out]

    np.testing.assert_array_equal(run_in_both_orders(k, GRID, BLOCK, make_args)[1], a - b)


@pytest.mark.parametrize("rows, columns", [(45, 70), (32, 32), (2, 33), (70, 3)])
def test_the_tiled_entry_stages_inputs_that_run_against_the_output(rows, columns):
    """``A.t() + B`` and alike: an input whose memory runs along the rows goes through a shared
    tile, the others are read in place; sizes that are no multiple of the tile, a reversed
    input, and both thread orders (the tile is shared, so a missing barrier shows)."""
    a = RNG.standard_normal((columns, rows)).T  # runs along the rows: staged
    b = RNG.standard_normal((rows, columns))[:, ::-1]  # along the columns, reversed: read in place
    out = np.zeros((rows, columns))
    layout = layout_of([a, b], out)
    assert elementwise._against_the_output(layout, 2)
    k = elementwise_kernel("subtract", [np.float64, np.float64], np.float64, np.float64, layout.index_type, "_tiled")

    def make_args():
        target = np.zeros((rows, columns))
        return elementwise_args([a, b], target), [target]

    np.testing.assert_array_equal(run_in_both_orders(k, GRID, BLOCK, make_args)[0], a - b)


def test_only_two_dim_layouts_with_an_input_against_the_output_are_tiled():
    out = np.zeros((6, 5))
    assert not elementwise._against_the_output(layout_of([np.ones((6, 5)), np.ones(5)], out), 2)  # broadcast
    assert not elementwise._against_the_output(layout_of([np.ones((6, 5)), np.ones((6, 5))], out), 2)  # dense
    cube = np.zeros((2, 3, 4))
    assert not elementwise._against_the_output(layout_of([np.ones((4, 3, 2)).T], cube[:, ::-1]), 1)  # 3 dims


def test_inputs_convert_on_load_to_numpys_promoted_type():
    a = np.arange(-6, 6, dtype=np.int64).reshape(3, 4)
    b = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    in_compute, out_dtype = elementwise.resolve("add", np.add, [a, b])
    assert out_dtype == np.float64
    np.testing.assert_array_equal(run_elementwise("add", [a, b], in_compute[0], out_dtype), a + b)
    small = np.array([0, 200, 255, 7], np.uint8)
    signed = np.array([[-5], [100], [127]], np.int8)  # broadcast along the second dim
    in_compute, out_dtype = elementwise.resolve("less", np.less, [small, signed])
    assert (in_compute[0], out_dtype) == (np.int16, np.bool_)  # compared as int16: 200 > -5
    np.testing.assert_array_equal(run_elementwise("less", [small, signed], in_compute[0], out_dtype),
                                  small < signed)


def test_float16_goes_through_float():
    a = (RNG.standard_normal(40) * 100).astype(np.float16)
    b = (RNG.standard_normal(40) * 100).astype(np.float16)
    np.testing.assert_array_equal(run_elementwise("true_divide", [a, b], np.float16, np.float16), a / b)


@pytest.mark.parametrize("name, reference", [
    ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("tanh", np.tanh), ("negative", np.negative),
])
@pytest.mark.parametrize("dtype, rtol", [("float32", 3e-7), ("float64", 1e-15), ("float16", 1e-3)])
def test_unary(name, reference, dtype, rtol):
    x = (RNG.random((6, 5)) * 4 + 0.1).astype(dtype)
    if name in ("tanh", "negative"):
        x = x - np.asarray(2, dtype)
    x_view = x[::2].T  # strided
    out = run_elementwise(name, [x_view], dtype, dtype)
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


def reduction_args(source, target, *, outputs, count, n, chunk, chunks, group, lane_stride, kept_shape,
                   kept_strides, out_strides, shape, strides):
    """``reduction._launch``'s arguments, the layout lists as given (each at least one entry)."""
    return (np.int64(outputs), np.int64(count), np.int64(n), np.int64(chunk), np.int64(chunks), np.int32(group),
            np.int32(lane_stride), np.int32(len(kept_shape)), i64(kept_shape), i64(kept_strides), i64(out_strides),
            np.int32(len(shape)), i64(shape), i64(strides), HostPointer(source), HostPointer(target))


def reduce_on_host(each, a, axes, compute, out_dtype, *, chunks=1):
    """``reduction.reduce``'s launches of the Reduction ``each`` over the ``axes`` of the numpy
    view ``a``: one pass, or with ``chunks`` > 1 the split reduction's two (an accumulator per
    chunk, then each output from its chunks'). Groups and blocks are ``reduction._plan``'s, the
    grid at most 2 blocks (so blocks loop over outputs); every launch runs in both thread
    orders. The kept and reduced dims go to the kernel unmerged: it walks any number of each."""
    compute, out_dtype = np.dtype(compute), np.dtype(out_dtype)
    kept = [d for d in range(a.ndim) if d not in axes]
    result_shape = tuple(a.shape[d] for d in kept)
    outputs, n = math.prod(result_shape), math.prod(a.shape[d] for d in axes)
    kept_shape, kept_strides = list(result_shape) or [1], [estrides(a)[d] for d in kept] or [0]
    shape, strides = [a.shape[d] for d in axes] or [1], [estrides(a)[d] for d in axes] or [0]
    outputs_inner = outputs > 1 and min(map(abs, kept_strides)) < min(map(abs, strides))

    def launch(mode, source, make_target, *, n, chunk, chunks, kept_strides, shape, strides, outputs_inner):
        name, code = reduction.reduction_source(each, mode, source.dtype, compute, out_dtype)
        group, lane_stride, block, grid = reduction._plan(outputs * chunks, chunk, outputs_inner)

        def make_args():
            target = make_target()
            return reduction_args(source, target, outputs=outputs, count=math.prod(a.shape[d] for d in axes), n=n,
                                  chunk=chunk, chunks=chunks, group=group, lane_stride=lane_stride,
                                  kept_shape=kept_shape, kept_strides=kept_strides,
                                  out_strides=list(row_major(result_shape)) or [0], shape=shape,
                                  strides=strides), [target]

        return run_in_both_orders(HostKernel(code, name), min(grid, 2), block, make_args)[0]

    if chunks == 1:
        return launch("full", a, lambda: np.zeros(result_shape, out_dtype), n=n, chunk=n, chunks=1,
                      kept_strides=kept_strides, shape=shape, strides=strides, outputs_inner=outputs_inner)
    chunk = -(-n // chunks)
    chunks = -(-n // chunk)
    partial_bytes = chunks * outputs * reduction._acc_itemsize(each, compute)
    partials = launch("partial", a, lambda: np.zeros(partial_bytes, np.uint8), n=n, chunk=chunk, chunks=chunks,
                      kept_strides=kept_strides, shape=shape, strides=strides, outputs_inner=outputs_inner)
    return launch("final", partials, lambda: np.zeros(result_shape, out_dtype), n=chunks, chunk=chunks, chunks=1,
                  kept_strides=list(row_major(kept_shape)), shape=[chunks], strides=[outputs],
                  outputs_inner=outputs > 1)


def test_int64_sums_with_negative_values_are_exact_in_one_pass_and_in_two():
    a = RNG.integers(-(2**40), 2**40, size=3000, dtype=np.int64)
    assert reduce_on_host(reduction.SUM, a, (0,), np.int64, np.int64) == a.sum()
    assert reduce_on_host(reduction.SUM, a, (0,), np.int64, np.int64, chunks=5) == a.sum()


@pytest.mark.parametrize("in_dtype, compute, rtol", [("float32", "float32", 1e-5), ("float64", "float64", 1e-13),
                                                     ("float16", "float32", 1e-5)])
def test_float_sums(in_dtype, compute, rtol):
    a = RNG.standard_normal(2000).astype(in_dtype) + 1
    np.testing.assert_allclose(reduce_on_host(reduction.SUM, a, (0,), compute, compute), a.astype(np.float64).sum(),
                               rtol=rtol)


def test_sum_of_a_strided_view_over_two_dims():
    storage = RNG.integers(-100, 100, size=(40, 30), dtype=np.int64)
    view = storage[3:37:2, ::-3].T  # transposed, stepped, reversed: the reduced dims walk strided_offset
    assert reduce_on_host(reduction.SUM, view, (0, 1), np.int64, np.int64) == view.sum()


def test_column_sums_put_neighbouring_outputs_on_neighbouring_threads():
    a = RNG.integers(-1000, 1000, size=(300, 40), dtype=np.int64)
    np.testing.assert_array_equal(reduce_on_host(reduction.SUM, a, (0,), np.int64, np.int64), a.sum(axis=0))


def test_argmax_takes_the_first_extreme_and_the_first_nan():
    a = RNG.integers(0, 5, size=(37, 50)).astype(np.float64)  # many ties
    a[5, [30, 7]] = np.nan
    a[9, 40] = np.nan
    np.testing.assert_array_equal(reduce_on_host(reduction.ARGMAX, a, (1,), np.float64, np.int64),
                                  np.argmax(a, axis=1))
    long = np.zeros(6000)
    long[[5000, 3500, 2500]] = 7.0  # the first in the second of three chunks
    assert reduce_on_host(reduction.ARGMAX, long, (0,), np.float64, np.int64, chunks=3) == 2500


def test_a_reduction_missing_its_barrier_depends_on_thread_order():
    name, source = reduction.reduction_source(reduction.SUM, "full", "int64", "int64", "int64")
    staged = "partial[t] = a;\n        __syncthreads();"
    assert staged in source
    broken = source.replace(staged, "partial[t] = a;")  # the tree reads slots before their lanes wrote them
    a = np.arange(1, 1001, dtype=np.int64)

    def make_args():
        out = np.zeros((), np.int64)
        return reduction_args(a, out, outputs=1, count=a.size, n=a.size, chunk=a.size, chunks=1, group=64,
                              lane_stride=1, kept_shape=[1], kept_strides=[0], out_strides=[0], shape=[a.size],
                              strides=[1]), [out]

    with pytest.raises(OrderDependenceError, match="depends on the thread order"):
        run_in_both_orders(HostKernel(broken, name), GRID, 64, make_args)
    totals = {}
    for order in ("forward", "reverse"):
        args, (out,) = make_args()
        HostKernel(broken, name, order=order)(GRID, 64, args)
        totals[order] = int(out)
    assert a.sum() in totals.values() and totals["forward"] != totals["reverse"]


@pytest.mark.parametrize("dtype", ["int64", "int16"])
def test_add_at_sums_repeated_indices_atomically(dtype):
    """``np.add.at``'s kernel: int64 through CUDA's 64-bit atomicAdd (negative values too),
    int16 through a compare-and-swap of the 4-byte word that also holds its neighbour."""
    index = RNG.integers(-7, 7, size=500)  # negative indices count from the end
    values = RNG.integers(-(2**40), 2**40, size=500).astype(dtype)
    expected = np.zeros(7, dtype)
    np.add.at(expected, index, values)
    k = kernel(indexing.advanced_source("add", dtype, dtype, ("int64",), dtype))

    def make_args():
        storage = np.zeros(8, dtype)  # device allocations are padded to whole words
        # the result's dim is the index's: the array's stride over it is 0, the axis' stride 1
        return (np.int64(index.size), np.int32(1), i64([index.size]), i64([0, 1, 1]), i64([1, 7]),
                HostPointer(storage), HostPointer(values), HostPointer(index)), [storage]

    np.testing.assert_array_equal(run_in_both_orders(k, GRID, BLOCK, make_args)[0][:7], expected)


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


def run_matmul(a, b, out_dtype, tile=16):
    """``linalg._batched_product``'s launch of the tiled kernel (the one integer and bool
    products run) on numpy views: batch dims broadcast (stride 0), a block per tile, with
    gridDim.y and gridDim.z 1 and 2 so that blocks loop over row tiles and over the batch."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k = a.shape[-2:]
    n = b.shape[-1]
    count = math.prod(batch)

    def batch_strides(x):
        own = x.shape[:-2]
        lead = len(batch) - len(own)
        return [0 if d < lead or own[d - lead] == 1 else estrides(x)[d - lead] for d in range(len(batch))]

    def make_args():
        c = np.zeros(batch + (m, n), out_dtype)
        layout = [np.int64(s) for x in (a, b, c) for s in estrides(x)[-2:]]
        return (HostPointer(a), HostPointer(b), HostPointer(c), np.int64(m), np.int64(k), np.int64(n), *layout,
                np.int64(count), np.int32(len(batch)), i64(list(batch) or [1]),
                i64(batch_strides(a) + batch_strides(b) + batch_strides(c) or [0])), [c]

    k_ = kernel(linalg.matmul_source(a.dtype, b.dtype, out_dtype, tile))
    return run_in_both_orders(k_, (-(-n // tile), 1, min(count, 2)), (tile, tile), make_args)[0]


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (17, 33, 9), (5, 40, 31)])
def test_matmul_with_odd_sizes(m, k, n):
    a, b = RNG.standard_normal((m, k)), RNG.standard_normal((k, n))
    np.testing.assert_allclose(run_matmul(a, b, np.float64), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_of_transposed_and_offset_float32_operands():
    a = RNG.standard_normal((30, 20)).astype(np.float32)[2:25].T  # (20, 23), column-major, offset
    b = RNG.standard_normal((23, 19)).astype(np.float32)[:, 1:]
    np.testing.assert_allclose(run_matmul(a, b, np.float32), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_batched_matmul_broadcasts_a_matrix_over_the_batch():
    a = RNG.standard_normal((5, 3, 20))[:, :, 1:].transpose(1, 0, 2)  # batch of 3 (5, 19) matrices
    b = RNG.standard_normal((19, 4))  # the same for every matrix of the batch
    np.testing.assert_allclose(run_matmul(a, b, np.float64), a @ b, rtol=1e-12, atol=1e-12)


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
    name, source = elementwise.elementwise_source("negative", "out0 = -in0", [np.dtype(np.float64)],
                                                  [np.dtype(np.float64)], [np.dtype(np.float64)],
                                                  [np.dtype(np.float64)])
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
