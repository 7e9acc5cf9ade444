"""Matmul, sorting and linear algebra kernels (reference_impl/cuda/linalg.py, sorting.py)
against numpy itself, on the emulated CUDA device.

Each case calls the numpy function on DeviceArrays, so it checks the route an op takes on a
CUDA tensor (numpy's dispatch, our dtype and shape rules, the kernel, the layout); the last
section runs the tensor ops that use these kernels against the same ops on CPU tensors.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch
from reference_impl.cuda import linalg, runtime, sorting
from reference_impl.cuda.device_array import DeviceArray, host_fallbacks

from .cuda_backend import BACKEND, count_device_reads, cuda_backend, record_kernel_lookups, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend

rng = np.random.default_rng(1234)


def up(host):
    return DeviceArray.from_host(host)


def laid_out(host, layout):
    """``host``'s values on the device in another memory layout."""
    host = np.asarray(host)
    if layout == "contiguous" or host.ndim == 0:
        return up(host)
    if layout == "transposed":  # column-major: every stride reversed
        return up(np.ascontiguousarray(host.transpose())).transpose()
    if layout == "sliced":  # every other element of a larger array
        every_other = (slice(None, None, 2),) * host.ndim
        big = np.zeros(tuple(2 * n for n in host.shape), host.dtype)
        big[every_other] = host
        return up(big)[every_other]
    if layout == "reversed":  # negative strides: the first element is the last in memory
        flipped = up(np.ascontiguousarray(host[(slice(None, None, -1),) * host.ndim]))
        last = sum((n - 1) * s for n, s in zip(flipped.shape, flipped.estrides))
        return flipped.view_as(host.shape, [-s for s in flipped.estrides], last)
    raise ValueError(layout)


LAYOUTS = ["contiguous", "transposed", "sliced", "reversed"]


def numbers(shape, dtype, low=-4, high=5):
    """Small integers as ``dtype`` (exact in every dtype, so products compare exactly)."""
    return rng.integers(low, high, shape).astype(dtype)


# -- matmul ------------------------------------------------------------------------------------

SHAPES = [
    ((7,), (7, 3)), ((5, 7), (7,)), ((6,), (6,)), ((17, 33), (33, 19)), ((1, 1), (1, 1)),
    ((2, 1, 5, 17), (3, 17, 20)), ((4, 3, 6), (6, 2)), ((3, 6), (2, 6, 4)), ((2, 3, 6), (6,)), ((6,), (2, 6, 3)),
    ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((2, 0, 3), (3, 5)),
]


@pytest.mark.parametrize("a_shape, b_shape", SHAPES, ids=str)
def test_matmul_shapes_follow_numpy(a_shape, b_shape):
    a, b = numbers(a_shape, np.float64), numbers(b_shape, np.float64)
    result = np.matmul(up(a), up(b))
    assert isinstance(result, DeviceArray)
    np.testing.assert_array_equal(result.get(), np.matmul(a, b))


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.int64, np.float32])
def test_matmul_dtypes_accumulate_as_numpy(dtype):
    low, high = (0, 2) if dtype == np.bool_ else (-100, 100)
    a, b = numbers((9, 40), dtype, low, high), numbers((40, 5), dtype, low, high)
    result = np.matmul(up(a), up(b)).get()
    assert result.dtype == np.matmul(a, b).dtype
    np.testing.assert_array_equal(result, np.matmul(a, b))  # int8/uint8/int16 wrap around


def test_matmul_int64_wraps_around():
    a = np.array([[2 ** 62, 2 ** 62, 3]], np.int64)
    b = np.array([[4], [4], [-5]], np.int64)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(np.matmul(up(a), up(b)).get(), a @ b)


def test_matmul_float16_accumulates_in_float():
    a = rng.standard_normal((8, 300)).astype(np.float16)
    b = rng.standard_normal((300, 6)).astype(np.float16)
    result = np.matmul(up(a), up(b)).get()
    assert result.dtype == np.float16
    expected = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_allclose(result.astype(np.float32), expected.astype(np.float32), rtol=2e-3, atol=2e-3)


def test_matmul_mixed_dtypes_promote():
    a, b = numbers((3, 4), np.int32), rng.standard_normal((4, 2)).astype(np.float32)
    result = np.matmul(up(a), up(b)).get()
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, a @ b, rtol=1e-6)


@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", LAYOUTS)
def test_matmul_reads_any_layout(layout_a, layout_b):
    a, b = numbers((2, 5, 18), np.float64), numbers((2, 18, 3), np.float64)
    result = np.matmul(laid_out(a, layout_a), laid_out(b, layout_b))
    np.testing.assert_array_equal(result.get(), a @ b)


def test_matmul_broadcasts_a_stride_0_batch():
    a = numbers((4, 7), np.float64)
    b = numbers((3, 7, 2), np.float64)
    batch_of_a = up(a).view_as((3, 4, 7), (0, 7, 1))  # one matrix seen three times
    np.testing.assert_array_equal(np.matmul(batch_of_a, up(b)).get(), np.broadcast_to(a, (3, 4, 7)) @ b)


@given(m=st.integers(1, 20), k=st.integers(0, 20), n=st.integers(1, 20),
       batch=st.lists(st.integers(1, 3), max_size=2), layout=st.sampled_from(LAYOUTS))
@settings(max_examples=25, deadline=None)
def test_matmul_any_sizes(m, k, n, batch, layout):
    a, b = numbers(tuple(batch) + (m, k), np.float64), numbers((k, n), np.float64)
    np.testing.assert_array_equal(np.matmul(laid_out(a, layout), laid_out(b, layout)).get(), a @ b)


def test_matmul_operator_and_out():
    a, b = numbers((3, 4), np.float32), numbers((4, 2), np.float32)
    np.testing.assert_array_equal((up(a) @ up(b)).get(), a @ b)
    out = up(np.zeros((3, 2), np.float64))
    assert np.matmul(up(a), up(b), out=out) is out
    np.testing.assert_array_equal(out.get(), a @ b)


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (2, 3)), ((), (3,)), ((2, 3, 4), (5, 4, 2)), ((3,), (4,))])
def test_matmul_raises_numpys_errors(a_shape, b_shape):
    a, b = np.ones(a_shape), np.ones(b_shape)
    with pytest.raises(ValueError) as expected:
        np.matmul(a, b)
    with pytest.raises(ValueError, match=None) as actual:
        np.matmul(up(a), up(b))
    assert str(actual.value) == str(expected.value)



# -- the blocked kernel of floating-point products: both tilings ---------------------------------

@pytest.fixture(params=["big", "small"])
def tiling(request, monkeypatch):
    """Makes float16 and float32 products of any size run in one tiling (float64 always runs
    in the small one)."""
    monkeypatch.setattr(linalg, "BIG_TILES_FROM", 0 if request.param == "big" else float("inf"))
    chosen = linalg.BIG if request.param == "big" else linalg.SMALL
    assert linalg._tiling(np.dtype(np.float32), 1, 1, 1) == chosen
    return chosen


def test_tiling_follows_the_size_and_dtype():
    assert linalg._tiling(np.dtype(np.float32), 2048, 2048, 1) == linalg.BIG
    assert linalg._tiling(np.dtype(np.float16), 128, 128, 200) == linalg.BIG
    assert linalg._tiling(np.dtype(np.float32), 1024, 1024, 1) == linalg.SMALL
    assert linalg._tiling(np.dtype(np.float64), 4096, 4096, 1) == linalg.SMALL


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (7, 5, 3), (129, 7, 130), (65, 129, 63), (3, 0, 4), (2, 17, 200)],
                         ids=str)
def test_blocked_matmul_edge_tiles(tiling, m, k, n):
    """Sizes off the tiles' multiples in every dimension: the loads past an edge give 0, the
    sums past it are not stored (the NaN border around ``out`` would show a stray store)."""
    a, b = numbers((m, k), np.float32), numbers((k, n), np.float32)
    whole = up(np.full((m + 1, n + 1), np.nan, np.float32))
    np.matmul(up(a), up(b), out=whole[:m, :n])
    np.testing.assert_array_equal(whole.get()[:m, :n], a @ b)
    assert np.isnan(whole.get()[m]).all() and np.isnan(whole.get()[:, n]).all()


@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", LAYOUTS)
def test_blocked_matmul_reads_any_layout(tiling, layout_a, layout_b):
    """Each operand is loaded along its closer-spaced axis: k for a row-major a, m for a
    transposed one (n and k for b); sliced and reversed operands walk either."""
    a, b = numbers((2, 70, 19), np.float32), numbers((2, 19, 66), np.float32)
    np.testing.assert_array_equal(np.matmul(laid_out(a, layout_a), laid_out(b, layout_b)).get(), a @ b)


def test_blocked_matmul_broadcasts_batches_and_vectors(tiling):
    a, b = numbers((4, 9), np.float32), numbers((3, 1, 9, 5), np.float32)
    batch_of_a = up(a).view_as((2, 4, 9), (0, 9, 1))  # one matrix seen twice (stride 0)
    np.testing.assert_array_equal(np.matmul(batch_of_a, up(b)).get(), np.broadcast_to(a, (2, 4, 9)) @ b)
    vector = numbers((9,), np.float32)
    np.testing.assert_array_equal(np.matmul(up(vector), up(b)).get(), vector @ b)
    np.testing.assert_array_equal(np.matmul(up(b.swapaxes(-1, -2)), up(vector)).get(), b.swapaxes(-1, -2) @ vector)


def test_blocked_matmul_float16_accumulates_in_float(tiling):
    a = rng.standard_normal((2, 33, 150)).astype(np.float16)
    b = rng.standard_normal((150, 20)).astype(np.float16)
    result = np.matmul(up(a), up(b)).get()
    assert result.dtype == np.float16
    expected = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_allclose(result.astype(np.float32), expected.astype(np.float32), rtol=2e-3, atol=2e-3)


def test_blocked_matmul_propagates_inf_and_nan(tiling):
    a, b = numbers((9, 11), np.float32), numbers((11, 10), np.float32)
    a[8, 10], a[0, 3], b[10, 0] = np.inf, np.nan, 0.0  # inf * 0 is NaN, as numpy has it
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(np.matmul(up(a), up(b)).get(), a @ b)


def test_blocked_matmul_takes_a_launch_per_grid_chunk(monkeypatch):
    """Past the grid's limit (made 2 here) in row tiles and in matrices, the product takes a
    launch per chunk."""
    monkeypatch.setattr(linalg, "GRID_LIMIT", 2)
    a, b = numbers((5, 130, 6), np.float64), numbers((6, 3), np.float64)  # 3 row tiles of 64, 5 matrices
    np.testing.assert_array_equal(np.matmul(up(a), up(b)).get(), a @ b)


@pytest.mark.skipif(BACKEND != "emulate", reason="thread orders are the emulation's")
@pytest.mark.parametrize("which", ["big", "small"])
def test_blocked_matmul_does_not_depend_on_the_thread_order(which):
    """Both tilings with a slice left over and edges in m and n, the threads of each phase run
    forward and in reverse: a missing barrier reads a slot not yet (or no longer) written. Both
    operands are column-major, so a's loads walk m and b's walk k."""
    from reference_impl.cuda import emulation

    chosen = linalg.BIG if which == "big" else linalg.SMALL
    name, source = linalg.blocked_matmul_source(np.float32, np.float32, np.float32, chosen)
    m, k, n = chosen.rows + 3, 3 * chosen.depth + 5, 9
    a = np.asfortranarray(rng.standard_normal((m, k)).astype(np.float32))
    b = np.asfortranarray(rng.standard_normal((k, n)).astype(np.float32))

    def make_args():
        c = np.zeros((m, n), np.float32)
        layout = [np.int64(s // 4) for array in (a, b, c) for s in array.strides]
        no_batch = (np.int32(0), *(emulation.HostPointer(np.full(1, value, np.int64)) for value in (1, 0)))
        return (emulation.HostPointer(a), emulation.HostPointer(b), emulation.HostPointer(c), np.int64(m),
                np.int64(k), np.int64(n), *layout, *no_batch, np.int64(0), np.int64(0)), [c]

    grid = (-(-n // chosen.columns), -(-m // chosen.rows), 1)
    c, = emulation.run_in_both_orders(emulation.HostKernel(source, name), grid, linalg.BLOCKED_THREADS, make_args)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


# -- sort, argsort -----------------------------------------------------------------------------

def with_ties_and_nans(shape, dtype):
    values = rng.integers(-3, 4, shape).astype(dtype)
    if np.dtype(dtype).kind == "f" and values.size:
        values[rng.random(shape) < 0.2] = np.nan
        values[rng.random(shape) < 0.1] = -0.0
    return values


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple), data=st.data(),
       dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]), layout=st.sampled_from(LAYOUTS))
@settings(max_examples=30, deadline=None)
def test_sort_and_stable_argsort_follow_numpy(shape, data, dtype, layout):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    host = with_ties_and_nans(shape, dtype)
    device = laid_out(host, layout)
    np.testing.assert_array_equal(np.sort(device, axis=axis).get(), np.sort(host, axis=axis))
    order = np.argsort(device, axis=axis, kind="stable").get()
    np.testing.assert_array_equal(order, np.argsort(host, axis=axis, kind="stable"))
    assert order.dtype == np.intp


@pytest.mark.parametrize("n", [511, 512, 513, 1500, 2048])
def test_long_rows_are_merged_stably(n):
    """Rows longer than a tile: sorted tiles, then merge passes; ties keep their order across tiles."""
    host = with_ties_and_nans((2, n), np.float32)
    np.testing.assert_array_equal(np.argsort(up(host), kind="stable").get(), np.argsort(host, kind="stable"))
    np.testing.assert_array_equal(np.sort(up(host)).get(), np.sort(host))


@pytest.mark.parametrize("dtype", [np.float16, np.uint8])
def test_sort_small_dtypes(dtype):
    host = with_ties_and_nans((3, 40), dtype)
    np.testing.assert_array_equal(np.sort(up(host), axis=0).get(), np.sort(host, axis=0))
    np.testing.assert_array_equal(np.argsort(up(host), axis=0, kind="stable").get(),
                                  np.argsort(host, axis=0, kind="stable"))


def test_sort_edge_cases():
    host = np.array([[3.0, np.nan, -0.0], [0.0, 1.0, np.nan]])
    np.testing.assert_array_equal(np.sort(up(host), axis=None).get(), np.sort(host, axis=None))
    np.testing.assert_array_equal(np.argsort(up(host), axis=None, kind="stable").get(),
                                  np.argsort(host, axis=None, kind="stable"))
    np.testing.assert_array_equal(np.argsort(up(np.array([0.0, -0.0, 0.0]))).get(), [0, 1, 2])  # equal: kept
    np.testing.assert_array_equal(np.argsort(up(np.array(5.0))).get(), np.argsort(np.array(5.0)))
    assert np.sort(up(np.zeros((0, 3))), axis=0).shape == (0, 3)
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        np.sort(up(np.array(5.0)))
    assert "argsort" not in host_fallbacks and "sort" not in host_fallbacks


# -- unique ------------------------------------------------------------------------------------

def assert_unique_matches(host, **kwargs):
    options = dict(return_index=True, return_inverse=True, return_counts=True, **kwargs)
    actual, expected = np.unique(up(host), **options), np.unique(host, **options)
    for got, want in zip(actual, expected):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got.get(), want)


@pytest.mark.parametrize("equal_nan", [True, False])
def test_unique_of_values(equal_nan):
    assert_unique_matches(with_ties_and_nans((6, 7), np.float64), equal_nan=equal_nan)


def test_unique_of_integers_and_long_inputs():
    assert_unique_matches(rng.integers(0, 50, 1300).astype(np.int64))
    assert_unique_matches(np.zeros(0, np.int64))
    np.testing.assert_array_equal(np.unique(up(np.array([3, 1, 3]))).get(), [1, 3])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unique_of_slices(axis):
    host = rng.integers(0, 2, (3, 12, 2)).astype(np.float64)
    host[1, 4, 1] = np.nan  # a slice with NaN is distinct even from an equal-looking one
    host[1, 5, 1] = np.nan
    host[0, 0, 0] = -0.0  # equal to 0.0
    assert_unique_matches(host, axis=axis)


# -- LU: inv, det, slogdet, solve --------------------------------------------------------------

def well_conditioned(shape, dtype=np.float64):
    n = shape[-1]
    return (rng.standard_normal(shape) + 2 * np.sqrt(n) * np.eye(n) * rng.choice([-1, 1], shape[:-1])[..., None]
            ).astype(dtype)


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (3, 4, 4), (2, 1, 7, 7), (0, 3, 3), (0, 0)], ids=str)
def test_inv_det_slogdet(shape):
    host = well_conditioned(shape)
    np.testing.assert_allclose(np.linalg.inv(up(host)).get(), np.linalg.inv(host), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(up(host)).get(), np.linalg.det(host), rtol=1e-10)
    sign, logabsdet = np.linalg.slogdet(up(host))
    expected = np.linalg.slogdet(host)
    np.testing.assert_array_equal(sign.get(), expected.sign)
    np.testing.assert_allclose(logabsdet.get(), expected.logabsdet, rtol=1e-10)


def test_lu_pivots_rows_with_zeros_on_the_diagonal():
    host = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [3.0, 1.0, 0.0]])
    np.testing.assert_allclose(np.linalg.inv(up(host)).get(), np.linalg.inv(host), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.linalg.det(up(host)).get(), np.linalg.det(host), rtol=1e-12)


def test_lu_in_float32_and_from_integers():
    single = well_conditioned((6, 6), np.float32)
    assert np.linalg.inv(up(single)).dtype == np.float32
    np.testing.assert_allclose(np.linalg.inv(up(single)).get(), np.linalg.inv(single), rtol=1e-4, atol=1e-5)
    integers = np.array([[2, 1], [7, 4]], np.int32)
    assert np.linalg.det(up(integers)).dtype == np.float64
    np.testing.assert_allclose(np.linalg.det(up(integers)).get(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(up(integers)).get(), [[4, -1], [-7, 2]], atol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape", [((4, 4), (4,)), ((4, 4), (4, 3)), ((2, 4, 4), (4,)), ((2, 4, 4), (2, 4)),
                                              ((2, 4, 4), (1, 4, 2)), ((4, 4), (3, 4, 1)), ((4, 4), (3,))], ids=str)
def test_solve(a_shape, b_shape):
    """Which right-hand sides are vectors is numpy's version's rule; so are the errors."""
    a, b = well_conditioned(a_shape), rng.standard_normal(b_shape)
    try:
        expected = np.linalg.solve(a, b)
    except ValueError as error:
        with pytest.raises(ValueError, match="^" + re.escape(str(error)) + "$"):
            np.linalg.solve(up(a), up(b))
        return
    result = np.linalg.solve(up(a), up(b)).get()
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-12)


def test_singular_matrices_as_numpy():
    singular = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    for function in (np.linalg.inv, lambda a: np.linalg.solve(a, up(np.ones((2, 2))))):
        with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
            function(up(singular))
    np.testing.assert_array_equal(np.linalg.det(up(singular)).get(), [0.0, 1.0])
    sign, logabsdet = np.linalg.slogdet(up(singular))
    np.testing.assert_array_equal(sign.get(), [0.0, 1.0])
    np.testing.assert_array_equal(logabsdet.get(), [-np.inf, 0.0])


@pytest.mark.parametrize("function", [np.linalg.inv, np.linalg.det, np.linalg.slogdet, np.linalg.svd])
@pytest.mark.parametrize("host", [np.ones(3), np.ones((2, 3)), np.ones((2, 2), np.float16)], ids=["1-D", "2x3", "half"])
def test_linalg_errors_are_numpys(function, host):
    try:
        function(host)
    except (np.linalg.LinAlgError, TypeError) as error:
        with pytest.raises(type(error), match="^" + re.escape(str(error)) + "$"):
            function(up(host))
    else:  # svd of a 2x3 matrix is fine
        function(up(host))


# -- SVD ---------------------------------------------------------------------------------------

def check_svd(host, full_matrices, tolerance):
    u, s, vh = (part.get() for part in np.linalg.svd(up(host), full_matrices=full_matrices))
    expected = np.linalg.svd(host, full_matrices=full_matrices)
    assert (u.shape, s.shape, vh.shape) == (expected.U.shape, expected.S.shape, expected.Vh.shape)
    assert u.dtype == s.dtype == vh.dtype == expected.S.dtype
    np.testing.assert_allclose(s, expected.S, rtol=tolerance, atol=tolerance)
    k = s.shape[-1]
    np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], host, atol=10 * tolerance)
    for q in (u, np.swapaxes(vh, -1, -2)):  # orthonormal columns
        gram = np.swapaxes(q, -1, -2) @ q
        np.testing.assert_allclose(gram, np.broadcast_to(np.eye(q.shape[-1]), gram.shape), atol=10 * tolerance)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 6, 6), (5, 1), (1, 5), (3, 0), (0, 3), (9, 7)], ids=str)
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd(shape, full_matrices):
    check_svd(rng.standard_normal(shape), full_matrices, 1e-12)


def test_svd_of_rank_deficient_and_float32_matrices():
    rank_two = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))
    check_svd(rank_two, True, 1e-12)
    check_svd(np.zeros((3, 2)), False, 1e-12)
    check_svd(rng.standard_normal((5, 4)).astype(np.float32), False, 1e-5)
    np.testing.assert_allclose(np.linalg.svd(up(rank_two), compute_uv=False).get(),
                               np.linalg.svd(rank_two, compute_uv=False), atol=1e-12)


def test_svd_of_nan_does_not_converge():
    with pytest.raises(np.linalg.LinAlgError, match="SVD did not converge"):
        np.linalg.svd(up(np.array([[np.nan, 1.0], [1.0, 1.0]])))


# -- barriers: the same results with the threads of each block run in reverse --------------------

def test_kernels_do_not_depend_on_thread_order(monkeypatch):
    a, b = rng.standard_normal((3, 20, 37)), rng.standard_normal((37, 18))
    keys = with_ties_and_nans((3, 700), np.float64)
    square = well_conditioned((2, 6, 6))

    def run():
        return [np.matmul(up(a), up(b)).get(), np.argsort(up(keys), kind="stable").get(),
                np.linalg.inv(up(square)).get(), np.linalg.svd(up(square[0])).S.get()]

    forward = run()
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_EMULATION_ORDER", "reverse")
    for first, second in zip(forward, run()):
        assert first.tobytes() == second.tobytes()


# -- the tensor ops built on these kernels, CUDA against CPU ------------------------------------

def pair(host, requires_grad=False):
    return (torch.tensor(host, requires_grad=requires_grad),
            torch.tensor(host, device="cuda", requires_grad=requires_grad))


def same(cuda_tensor, cpu_tensor, tolerance=1e-12):
    assert cuda_tensor.is_cuda and cuda_tensor.dtype == cpu_tensor.dtype and cuda_tensor.shape == cpu_tensor.shape
    np.testing.assert_allclose(cuda_tensor.detach().cpu().numpy(), cpu_tensor.detach().numpy(), rtol=tolerance,
                               atol=tolerance)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                                              ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2))], ids=str)
def test_tensor_matmul_and_its_gradients(a_shape, b_shape):
    (a, a_cuda), (b, b_cuda) = pair(rng.standard_normal(a_shape), True), pair(rng.standard_normal(b_shape), True)
    product, product_cuda = a @ b, a_cuda @ b_cuda
    same(product_cuda, product)
    product.sum().backward()
    product_cuda.sum().backward()
    same(a_cuda.grad, a.grad)
    same(b_cuda.grad, b.grad)


def test_tensor_sort_topk_unique():
    host = with_ties_and_nans((3, 9), np.float32)
    cpu, cuda = pair(host)
    for descending in (False, True):
        for dim in (0, 1):
            expected, actual = torch.sort(cpu, dim=dim, descending=descending), torch.sort(cuda, dim=dim,
                                                                                           descending=descending)
            np.testing.assert_array_equal(actual.values.cpu().numpy(), expected.values.numpy())
            np.testing.assert_array_equal(actual.indices.cpu().numpy(), expected.indices.numpy())
    expected, actual = torch.topk(cpu, 4), torch.topk(cuda, 4)
    np.testing.assert_array_equal(actual.values.cpu().numpy(), expected.values.numpy())
    np.testing.assert_array_equal(actual.indices.cpu().numpy(), expected.indices.numpy())
    integers, integers_cuda = pair(rng.integers(0, 4, (5, 3)))
    for dim in (None, 0, 1):
        for got, want in zip(torch.unique(integers_cuda, return_inverse=True, return_counts=True, dim=dim),
                             torch.unique(integers, return_inverse=True, return_counts=True, dim=dim)):
            np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("descending", [False, True])
def test_tensor_sort_and_topk_never_read_the_device(monkeypatch, descending):
    """A device read waits for every queued kernel. Gathering the sorted values with indices
    fresh from argsort needs no bounds check, in either direction (a descending order computed
    as n - 1 - flip(order) has no known bound, so the values are gathered before that step)."""
    _, cuda = pair(with_ties_and_nans((3, 9), np.float32))
    reads = count_device_reads(monkeypatch)
    torch.sort(cuda, dim=0, descending=descending)
    torch.topk(cuda, 4, largest=descending)
    assert reads == []


def test_tensor_sort_of_a_contiguous_input_copies_nothing(monkeypatch):
    """The values and indices a sort computes become its results as they are (they already
    have the input's layout): its launches are the sort's own kernels and the gather."""
    _, cuda = pair(with_ties_and_nans((3, 9), np.float32))
    launched = record_kernel_lookups(monkeypatch)
    runtime.clear_plans()  # so that cached launch plans look their kernels up again
    values, indices = torch.sort(cuda)
    assert launched and not [name for name in launched if "sort" not in name and "gather" not in name], launched
    assert values.is_contiguous() and indices.is_contiguous()


def test_tensor_nuclear_norm_and_its_gradient():
    (cpu, cuda) = pair(rng.standard_normal((5, 3)), True)
    norm, norm_cuda = torch.norm(cpu, p="nuc"), torch.norm(cuda, p="nuc")
    same(norm_cuda, norm)
    norm.backward()
    norm_cuda.backward()
    same(cuda.grad, cpu.grad, 1e-10)


def test_these_ops_run_no_numpy_function_of_ours_on_the_host():
    host_fallbacks.clear()
    test_tensor_matmul_and_its_gradients((2, 3, 4), (4, 5))
    test_tensor_sort_topk_unique()
    test_tensor_nuclear_norm_and_its_gradient()
    ours = {"matmul", "sort", "argsort", "unique", "svd", "inv", "det", "slogdet", "solve"}
    assert not ours & set(host_fallbacks)


def test_compile_tier_lists_every_family_once():
    sources = linalg.compile_tier_sources() + sorting.compile_tier_sources()
    names = [name for name, _ in sources]
    assert len(names) == len(set(names))
    for prefix in ("ri_matmul_batched", "ri_matmul_blocked", "ri_lu_factor", "ri_lu_solve", "ri_lu_determinant",
                   "ri_jacobi_svd", "ri_sort_tile", "ri_sort_merge", "ri_sort_gather", "ri_unique_marks",
                   "ri_unique_scatter", "ri_unique_counts"):
        assert any(name.startswith(prefix) for name in names), prefix
    for name, source in sources:
        assert f"__global__ void {name}(" in source
