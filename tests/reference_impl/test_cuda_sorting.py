"""The radix sort of reference_impl/cuda/sorting.py against numpy's stable sort, on the CUDA
backend the other test_cuda_* files use (the g++ emulation here, CuPy on a GPU).

Rows of at least ``sorting.RADIX_MIN_COUNT`` keys of one numeric value take the radix sort;
the cases sit around that threshold and the radix tile, hold what the key mapping must get
right (NaN of either sign and any payload last, -0.0 equal to 0.0, infinities, integer
extremes, many duplicates), and compare the order itself, so a sort that is correct but
not stable fails.
"""

import numpy as np
import pytest

from reference_impl.cuda import sorting
from reference_impl.cuda.device_array import DeviceArray

from .cuda_backend import BACKEND, cuda_backend, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend

rng = np.random.default_rng(20260611)

DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.float16, np.uint32, np.int32, np.float32, np.uint64,
          np.int64, np.float64]


def up(host):
    return DeviceArray.from_host(host)


def special_values(dtype):
    """The values a key mapping can get wrong: extremes, zeros of both signs, infinities,
    NaN of both signs and other payloads."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([info.min, info.min + 1, -1 if dtype.kind == "i" else 2, 0, 1, info.max - 1, info.max],
                        dtype)
    bits = np.dtype(f"uint{8 * dtype.itemsize}")
    sign = bits.type(1) << bits.type(8 * dtype.itemsize - 1)
    quiet_nan = np.array(np.nan, dtype).view(bits)
    nans = np.array([quiet_nan, quiet_nan | sign, quiet_nan + bits.type(1), (quiet_nan + bits.type(3)) | sign],
                    bits).view(dtype)
    info = np.finfo(dtype)
    numbers = np.array([-np.inf, info.min, -1.0, -info.tiny, -0.0, 0.0, info.tiny, 1.0, info.max, np.inf], dtype)
    smallest_subnormal = np.array(1, bits).view(dtype)
    return np.concatenate([nans, numbers, [smallest_subnormal, -smallest_subnormal]]).astype(dtype)


def keys(shape, dtype):
    """Few distinct values (so many equal keys), the special values mixed in."""
    dtype = np.dtype(dtype)
    host = rng.integers(0, 2 if dtype.kind == "b" else 6, shape).astype(dtype)
    special = special_values(dtype)
    mask = rng.random(shape) < 0.3
    host[mask] = rng.choice(special, int(mask.sum()))
    return host


def assert_sorts_as_numpy(host, axis=-1, device=None):
    device = up(host) if device is None else device
    order = np.argsort(device, axis=axis, kind="stable").get()
    assert order.dtype == np.intp
    np.testing.assert_array_equal(order, np.argsort(host, axis=axis, kind="stable"))
    # bit for bit: -0.0 and 0.0 (and NaN payloads) keep their place
    assert np.sort(device, axis=axis).get().tobytes() == np.sort(host, axis=axis, kind="stable").tobytes()


@pytest.fixture
def radix_calls(monkeypatch):
    """How many sorts took the radix path."""
    calls = []
    radix_order = sorting._radix_order

    def counted(rows):
        calls.append(rows.shape)
        return radix_order(rows)

    monkeypatch.setattr(sorting, "_radix_order", counted)
    return calls


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def test_every_dtype_sorts_stably_as_numpy(dtype, radix_calls):
    tile = sorting.RADIX_TILE
    assert_sorts_as_numpy(keys((2, 2 * tile + 37), dtype))  # two rows of full tiles and a partial one
    assert radix_calls


@pytest.mark.parametrize("count_from_threshold", [-1, 0, 1])
def test_rows_around_the_threshold(count_from_threshold, radix_calls):
    """Just below the threshold the merge sort runs, at and above it the radix sort."""
    count = sorting.RADIX_MIN_COUNT + count_from_threshold
    assert_sorts_as_numpy(keys((2, count), np.float32))
    assert len(radix_calls) == (2 if count_from_threshold >= 0 else 0)  # argsort and sort


def test_many_short_rows_with_a_lower_threshold(monkeypatch, radix_calls):
    """Segments of one partial tile each: every row's places start at its own offset."""
    monkeypatch.setattr(sorting, "RADIX_MIN_COUNT", 50)
    for count in (50, 131):
        assert_sorts_as_numpy(keys((12, count), np.float32))
        assert_sorts_as_numpy(keys((12, count), np.int16))
    assert radix_calls


def test_every_float16_bit_pattern():
    """All 2**16 patterns: each NaN payload of either sign, subnormals, -0.0 and 0.0."""
    host = rng.permutation(np.arange(2**16, dtype=np.uint16)).view(np.float16)
    assert_sorts_as_numpy(host)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_bit_patterns(dtype):
    """Uniform bits: every exponent, and NaN with random payloads and signs."""
    bits = np.dtype(f"uint{8 * np.dtype(dtype).itemsize}")
    host = rng.integers(0, np.iinfo(bits).max, 3 * sorting.RADIX_TILE, dtype=bits, endpoint=True).view(dtype)
    assert_sorts_as_numpy(host)


@pytest.mark.parametrize("layout", ["transposed", "sliced", "reversed"])
def test_non_contiguous_input(layout):
    host = keys((3, sorting.RADIX_TILE + 500), np.float32)
    if layout == "transposed":  # the rows to sort run down the columns: axis 0
        assert_sorts_as_numpy(host.T, axis=0, device=up(np.ascontiguousarray(host)).T)
    elif layout == "sliced":
        big = np.zeros((3, 2 * host.shape[1]), host.dtype)
        big[:, ::2] = host
        assert_sorts_as_numpy(host, device=up(big)[:, ::2])
    else:
        assert_sorts_as_numpy(host[:, ::-1], device=up(host)[:, ::-1])


def test_flattened_and_other_axes():
    host = keys((3, 2000), np.int32)
    assert_sorts_as_numpy(host, axis=None)
    assert_sorts_as_numpy(np.ascontiguousarray(host.T), axis=0)


def test_all_equal_keys_keep_their_order():
    for host in (np.zeros(sorting.RADIX_TILE + 1, np.float32), np.full(sorting.RADIX_TILE * 2, -0.0),
                 np.full(sorting.RADIX_TILE, np.nan, np.float16)):
        np.testing.assert_array_equal(np.argsort(up(host)).get(), np.arange(host.size))


def test_unique_of_a_long_array(radix_calls):
    host = keys(sorting.RADIX_TILE + 300, np.float64)
    options = dict(return_index=True, return_inverse=True, return_counts=True)
    for equal_nan in (True, False):
        for got, want in zip(np.unique(up(host), equal_nan=equal_nan, **options),
                             np.unique(host, equal_nan=equal_nan, **options)):
            np.testing.assert_array_equal(got.get(), want)
    assert radix_calls


def test_kernels_do_not_depend_on_thread_order(monkeypatch, radix_calls):
    """The barrier kernels (ranking, block sums, the histogram) give the same bits with each
    block's threads run last to first (a GPU run gives one order, that is fine)."""
    tile = sorting.RADIX_TILE
    cases = [keys((2, tile + 900), np.float32), keys(2 * tile + 5, np.uint8), keys(tile + 3, np.int64)]

    def run():
        return [np.argsort(up(host), kind="stable").get() for host in cases]

    forward = run()
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_EMULATION_ORDER", "reverse")
    for host, first, second in zip(cases, forward, run()):
        assert first.tobytes() == second.tobytes()
        np.testing.assert_array_equal(first, np.argsort(host, axis=-1, kind="stable"))
    assert len(radix_calls) == 2 * len(cases)


@pytest.mark.skipif(BACKEND != "emulate", reason="thread orders are the emulation's")
def test_each_pass_kernel_alone_in_both_thread_orders():
    """One middle pass (histogram, scan, scatter) on made-up keys and indices, each kernel
    run forward and in reverse, against numpy's stable sort by the pass's digit; fewer
    blocks than tiles, so each block sorts several."""
    from reference_impl.cuda.emulation import HostKernel, HostPointer, run_in_both_orders

    segments, count, shift = 2, sorting.RADIX_TILE + 700, 8
    tiles = -(-count // sorting.RADIX_TILE)
    keys_in = rng.integers(0, 2**12, (segments, count)).astype(np.uint32)  # 16 digits at bit 8: long runs
    index_in = np.stack([rng.permutation(count) for _ in range(segments)]).astype(np.int32)
    digits = (keys_in >> shift) & (sorting.RADIX - 1)
    sizes = (np.int64(segments), np.int64(count), np.int32(tiles))
    grid, block = 3, sorting.RADIX_THREADS

    def launch(source_of, make_args):
        name, source = source_of
        return run_in_both_orders(HostKernel(source, name), grid, block, make_args)

    def histogram_args():
        counts = np.empty(segments * sorting.RADIX * tiles, np.int32)
        return (HostPointer(keys_in), *sizes, np.int32(shift), HostPointer(counts)), [counts]

    counts, = launch(sorting.radix_histogram_source(np.uint32), histogram_args)
    tile_of = np.arange(count) // sorting.RADIX_TILE
    expected = np.stack([np.stack([np.bincount(digits[s][tile_of == t], minlength=sorting.RADIX) for t in range(tiles)],
                                  axis=1) for s in range(segments)])  # (segment, digit, tile)
    np.testing.assert_array_equal(counts.reshape(expected.shape), expected)

    def scan_args():
        scanned, totals = counts.copy(), np.empty(segments * sorting.RADIX, np.int32)
        return (HostPointer(scanned), np.int64(totals.size), np.int32(tiles), HostPointer(totals)), [scanned, totals]

    scanned, totals = launch(sorting.radix_scan_source(), scan_args)
    np.testing.assert_array_equal(scanned.reshape(expected.shape), np.cumsum(expected, axis=2) - expected)
    np.testing.assert_array_equal(totals, expected.sum(axis=2).reshape(-1))

    def scatter_args(last):
        index_out = np.empty((segments, count), np.int64 if last else np.int32)
        keys_out = [] if last else [np.empty((segments, count), np.uint32)]
        args = (HostPointer(keys_in), HostPointer(index_in), *sizes, np.int32(shift), HostPointer(scanned),
                HostPointer(totals), *map(HostPointer, keys_out), HostPointer(index_out))
        return args, keys_out + [index_out]

    order = np.argsort(digits, axis=1, kind="stable")
    keys_out, index_out = launch(sorting.radix_scatter_source(np.uint32, False, False), lambda: scatter_args(False))
    np.testing.assert_array_equal(keys_out, np.take_along_axis(keys_in, order, axis=1))
    np.testing.assert_array_equal(index_out, np.take_along_axis(index_in, order, axis=1))
    index_out, = launch(sorting.radix_scatter_source(np.uint32, False, True), lambda: scatter_args(True))
    np.testing.assert_array_equal(index_out, np.take_along_axis(index_in, order, axis=1))


def test_compile_tier_has_every_radix_variant_once():
    names = [name for name, _ in sorting.compile_tier_sources()]
    assert len(names) == len(set(names))
    for dtype in DTYPES:
        for kernel_sources in sorting._radix_sources(dtype):
            for name, source in kernel_sources:
                assert name in names
                assert f"__global__ void {name}(" in source
