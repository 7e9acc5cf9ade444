"""Reduction and scan kernels (reference_impl/cuda/reduction.py) against numpy itself.

Each case calls the numpy function on DeviceArrays, so this checks the whole route an op
takes on a CUDA tensor: ``__array_function__``/``__array_ufunc__``, numpy's dtype rules and
errors, the launch layout and the kernel. Inputs are contiguous, transposed, sliced with
steps (negative too) and broadcast (stride 0); then the same ops through tensors and
autograd, compared with the CPU.

Runs on the CUDA emulation (g++); ``REFERENCE_IMPL_CUDA=cupy`` runs it on a GPU instead.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch
from reference_impl.cuda import nvrtc, reduction
from reference_impl.cuda.device_array import DeviceArray, host_fallbacks

from .cuda_backend import BACKEND, cuda_backend, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend


ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
REDUCTION_NAMES = {"sum", "prod", "max", "amax", "min", "amin", "mean", "any", "all", "count_nonzero", "argmax",
                   "argmin", "trace", "cumsum", "cumprod"} | {f"{u}.{m}" for u in ("add", "multiply", "maximum",
                                                                                    "minimum", "logical_and",
                                                                                    "logical_or")
                                                          for m in ("reduce", "accumulate")}


def sample(shape, dtype, seed=0, nan=False):
    """Small integer values (so float sums are exact and ties are common), NaNs if asked."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    low = 0 if dtype.kind in "ub" else -4
    values = rng.integers(low, 5, size=shape).astype(dtype)
    if nan and values.size:
        values.reshape(-1)[rng.integers(0, values.size, size=max(1, values.size // 5))] = np.nan
    return values


def layouts(host):
    """(host view, device view of the same layout): contiguous, transposed, stepped (every
    other element, reversed) and broadcast along a new dim."""
    device = DeviceArray.from_host(host)
    cases = [(host, device)]
    if host.ndim >= 2:
        cases.append((host.T, device.T))
    if host.ndim >= 1:
        key = tuple(slice(None, None, 2) if d % 2 == 0 else slice(None, None, -1) for d in range(host.ndim))
        cases.append((host[key], device[key]))
        shape = host.shape[:1] + (3,) + host.shape[1:]
        strides = device.estrides[:1] + (0,) + device.estrides[1:]
        cases.append((np.broadcast_to(host[:, None], shape), device.view_as(shape, strides)))
    return cases


def compare(actual, expected, what=""):
    """``actual`` (a DeviceArray) is numpy's ``expected``: dtype, shape, values (NaN where NaN)."""
    assert isinstance(actual, DeviceArray), f"{what}: ran on the host"
    expected = np.asarray(expected)
    got = actual.get()
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, numpy's {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, numpy's {expected.shape}"
    if expected.dtype.kind == "f":
        tolerance = {2: 2e-3, 4: 1e-6, 8: 1e-12}[expected.dtype.itemsize]
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


def both(function, host, device, *args, **kwargs):
    """``function`` on host and device inputs: compared, or the same exception type raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = function(host, *args, **kwargs)
    except Exception as error:  # noqa: BLE001 (numpy's error, whichever it is, must be the device's too)
        with pytest.raises(type(error)):
            function(device, *args, **kwargs)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = function(device, *args, **kwargs)
    compare(actual, expected, f"{getattr(function, '__name__', function)}({host.dtype}{host.shape} strides "
                              f"{host.strides}, {args}, {kwargs})")


# -- every dtype, every layout --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_sum_of_every_dtype_over_every_layout_and_axis(dtype):
    host = sample((3, 4, 5), dtype)
    for h, d in layouts(host):
        for axis in (None, 0, -1, (0, 2), ()):
            for keepdims in (False, True):
                both(np.sum, h, d, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("dtype", ["bool", "int8", "float16", "float32", "float64"])
def test_max_and_argmax_of_every_layout(dtype):
    host = sample((4, 6), dtype, seed=1)
    for h, d in layouts(host):
        for axis in (None, 0, -1):
            both(np.max, h, d, axis=axis)
            both(np.argmax, h, d, axis=axis)
            both(np.argmax, h, d, axis=axis, keepdims=True)


@pytest.mark.parametrize("function, dtype", [
    (np.min, "float32"), (np.min, "int8"), (np.amax, "float64"), (np.amin, "int64"),
    (np.argmin, "float32"), (np.argmin, "int64"),
    (np.prod, "float64"), (np.prod, "int32"),
    (np.mean, "float32"), (np.mean, "int32"), (np.mean, "float16"),
    (np.any, "float32"), (np.any, "bool"), (np.all, "bool"), (np.all, "int8"),
    (np.count_nonzero, "float32"), (np.count_nonzero, "bool"),
])
def test_reductions_over_layouts_and_axes(function, dtype):
    host = sample((3, 4, 2), dtype, seed=2)
    single = function in (np.argmin,)  # arg reductions take one axis or None
    for h, d in layouts(host):
        for axis in (None, 1, -1) if single else (None, 1, -3, (0, 2)):
            for keepdims in (False, True):
                both(function, h, d, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("ufunc, dtype", [
    (np.add, "int8"), (np.add, "float32"), (np.multiply, "int32"), (np.maximum, "float32"), (np.minimum, "int8"),
    (np.logical_and, "bool"), (np.logical_or, "int8"), (np.logical_or, "float32"),
])
def test_ufunc_reduce(ufunc, dtype):
    host = sample((3, 4, 2), dtype, seed=3)
    for h, d in layouts(host):
        both(ufunc.reduce, h, d)  # axis 0 by default
        for axis in (None, -1, (0, 1), ()):
            both(ufunc.reduce, h, d, axis=axis, keepdims=True)


def test_dtype_and_out_follow_numpy():
    host = sample((3, 5), "int8", seed=4)
    device = DeviceArray.from_host(host)
    both(np.sum, host, device, axis=1, dtype=np.int8)  # wraps in int8
    both(np.sum, host.astype(np.float32), DeviceArray.from_host(host.astype(np.float32)), dtype=np.float16)
    both(np.add.reduce, host, device, axis=0, dtype=np.float64)
    both(np.mean, host, device, axis=0, dtype=np.float32)
    both(np.sum, host.astype(np.float64), DeviceArray.from_host(host.astype(np.float64)), dtype=np.int64)  # no cast
    out = DeviceArray.from_host(np.zeros((2, 5), np.float32))[1]
    result = np.sum(device, axis=0, out=out)
    assert result is out
    np.testing.assert_array_equal(out.get(), host.sum(axis=0, dtype=np.float32))
    indices = DeviceArray.from_host(np.zeros(3, np.int64))
    np.argmax(device, axis=1, out=indices)
    np.testing.assert_array_equal(indices.get(), host.argmax(axis=1))
    reduced = DeviceArray.from_host(np.zeros((1, 5), np.int64))
    np.add.reduce(device, axis=0, keepdims=True, out=(reduced,))
    np.testing.assert_array_equal(reduced.get(), np.add.reduce(host, axis=0, keepdims=True))
    with pytest.raises(ValueError):
        np.sum(device, axis=0, out=DeviceArray.from_host(np.zeros(4, np.int64)))


def test_out_aliasing_the_input():
    host = sample((4, 4), "float64", seed=5)
    device = DeviceArray.from_host(host)
    np.sum(device, axis=0, out=device[0])
    expected = host.copy()
    np.sum(host, axis=0, out=expected[0])
    np.testing.assert_array_equal(device.get(), expected)
    np.cumsum(device, axis=1, out=device)  # in place, the same layout
    np.cumsum(expected, axis=1, out=expected)
    np.testing.assert_array_equal(device.get(), expected)


def test_trace():
    host = sample((4, 5, 3), "int32", seed=6)
    for h, d in layouts(host)[:3]:
        for offset in (0, 2, -1, 7):
            both(np.trace, h, d, offset)
            both(np.trace, h, d, offset, 0, 2, np.float64)
            both(np.trace, h, d, offset, -1, 1)


# -- NaN, empty, 0-d --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_nan_propagates_through_max_min_and_is_picked_first_by_arg_reductions(dtype):
    host = sample((5, 7), dtype, seed=7, nan=True)
    host[2] = np.nan  # a row of NaNs: the first one wins
    device = DeviceArray.from_host(host)
    for function in (np.max, np.min, np.argmax, np.argmin, np.maximum.reduce, np.minimum.reduce):
        for axis in (None, 0, 1):
            both(function, host, device, axis=axis)
    for function in (np.maximum.accumulate, np.minimum.accumulate, np.cumsum):
        both(function, host, device, axis=1)


def test_ties_go_to_the_first_index():
    host = np.array([[1, 3, 3, 0, 3], [-2, -2, 5, 5, -2]], np.int16)
    for h, d in layouts(host):
        for axis in (None, 0, 1):
            both(np.argmax, h, d, axis=axis)
            both(np.argmin, h, d, axis=axis)
    # more elements than a group has threads, ties spread across lanes and chunks
    long = np.zeros(40000, np.float32)
    long[[123, 20000, 39999]] = 1
    both(np.argmax, long, DeviceArray.from_host(long))
    both(np.argmin, -long, DeviceArray.from_host(-long))


@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 0), ((0, 3), 1), ((3, 0), 1), ((0, 0), 1),
                                         ((2, 0, 3), (0, 2)), ((2, 0, 3), 1)])
def test_empty_inputs(shape, axis):
    host = np.zeros(shape, np.float32)
    device = DeviceArray.from_host(host)
    arg_axis = axis if not isinstance(axis, tuple) else None
    for function in (np.sum, np.prod, np.mean, np.any, np.all, np.count_nonzero, np.max, np.min):
        both(function, host, device, axis=axis)
    both(np.argmax, host, device, axis=arg_axis)
    both(np.add.reduce, host, device, axis=axis)
    both(np.maximum.reduce, host, device, axis=axis)
    both(np.cumsum, host, device, axis=arg_axis)
    with warnings.catch_warnings(record=True) as caught:  # numpy's warnings, from its stand-in
        warnings.simplefilter("always")
        np.mean(DeviceArray.from_host(np.zeros((3, 0), np.float32)), axis=1)
    assert any("Mean of empty slice" in str(warning.message) for warning in caught)


def test_zero_dim_and_bad_axes():
    host = np.array(2.5, np.float32)
    device = DeviceArray.from_host(host)
    for function in (np.sum, np.max, np.argmax, np.mean, np.cumsum, np.any):
        both(function, host, device)
    both(np.add.reduce, host, device)
    both(np.add.accumulate, host, device)  # numpy refuses a scalar
    matrix = sample((2, 3), "float32")
    for axis in (2, -3, (0, 0)):
        both(np.sum, matrix, DeviceArray.from_host(matrix), axis=axis)
    both(np.argmax, matrix, DeviceArray.from_host(matrix), axis=2)
    both(np.trace, host, device)  # needs two dims


# -- launch layouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, axis", [
    ((3, 700), 1),           # a group of a whole block per output, lanes side by side
    ((700, 5), 0),           # column sums: neighbouring threads on neighbouring outputs
    ((50, 3), 1),            # groups of a few threads, several outputs to a block
    ((5, 6, 7, 8), (0, 2)),  # reduced dims that do not merge
    ((40000,), None),        # two passes: chunk accumulators, then one group
    ((3, 20000), 1),         # two passes, several outputs
    ((20000, 3), 0),         # two passes, outputs innermost
])
def test_launch_layouts(shape, axis):
    host = sample(shape, "float32", seed=8)
    for h, d in layouts(host)[:2]:
        both(np.sum, h, d, axis=axis)
        both(np.max, h, d, axis=axis)
        both(np.argmax if not isinstance(axis, tuple) else np.mean, h, d, axis=axis)


def test_reductions_split_until_a_gpu_wave_of_threads_has_work():
    assert reduction._chunks(1, 2**26, False) == 1024  # the sum of 64M: 1024 blocks of 256 lanes
    assert reduction._chunks(8192, 8192, True) == 4  # column sums: 8 lanes an output, 4 chunks
    assert reduction._chunks(8192, 8192, False) == 1  # row sums: a block a row is work enough
    assert reduction._chunks(1, 2 * reduction.REDUCE_CHUNK - 1, False) == 1  # too short to split
    assert reduction._chunks(3, 10 * reduction.REDUCE_CHUNK, True) == 10  # chunks of REDUCE_CHUNK at least


def test_two_pass_reductions_of_float16_accumulate_in_float():
    host = np.ones(50000, np.float16)  # beyond float16's exact integers (2048): numpy sums in float too
    compare(np.sum(DeviceArray.from_host(host)), np.sum(host))
    compare(np.mean(DeviceArray.from_host(host)), np.mean(host))


def test_results_do_not_depend_on_thread_order(monkeypatch):
    """The emulation runs a block's threads forward or in reverse; a missing __syncthreads
    would make the two differ."""
    if BACKEND != "emulate":
        pytest.skip("thread order is the emulation's")
    host = np.random.default_rng(9).standard_normal((37, 300)).astype(np.float32)
    device = DeviceArray.from_host(host)
    long = DeviceArray.from_host(np.random.default_rng(9).standard_normal(40000).astype(np.float32))
    calls = [lambda: np.sum(device, axis=1), lambda: np.sum(device.T, axis=1), lambda: np.argmax(device, axis=1),
             lambda: np.sum(device), lambda: np.max(device, axis=0), lambda: np.cumsum(device, axis=1),
             lambda: np.cumsum(long)]
    results = {}
    for order in ("forward", "reverse"):
        monkeypatch.setenv("REFERENCE_IMPL_CUDA_EMULATION_ORDER", order)
        results[order] = [call().get() for call in calls]
    for forward, reverse in zip(results["forward"], results["reverse"]):
        assert forward.tobytes() == reverse.tobytes()


# -- scans ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "float16", "float32"])
def test_cumsum_of_every_layout(dtype):
    host = sample((3, 4, 5), dtype, seed=10)
    for h, d in layouts(host):
        for axis in (None, 0, -1):
            both(np.cumsum, h, d, axis=axis)


@pytest.mark.parametrize("function, dtype", [
    (np.cumprod, "float64"), (np.cumprod, "int32"), (np.add.accumulate, "int16"), (np.multiply.accumulate, "float32"),
    (np.maximum.accumulate, "float32"), (np.minimum.accumulate, "int8"),
])
def test_scans(function, dtype):
    host = sample((4, 6), dtype, seed=11)
    for h, d in layouts(host):
        for axis in (0, 1, -1):
            both(function, h, d, axis=axis)
    if function is np.cumprod and dtype == "int32":
        both(function, host, DeviceArray.from_host(host), axis=1, dtype=np.float64)


def test_scans_round_as_numpy_does():
    """float16 running sums round at every step (numpy's loop stores each); short float32
    rows (one thread each) are bit-exact with numpy's, which adds in the same order."""
    half = np.full(3000, 0.1, np.float16)
    np.testing.assert_array_equal(np.cumsum(DeviceArray.from_host(half)).get(), np.cumsum(half))
    single = np.random.default_rng(12).standard_normal((3, reduction.SCAN_PARALLEL - 1)).astype(np.float32)
    np.testing.assert_array_equal(np.cumsum(DeviceArray.from_host(single), axis=1).get(), np.cumsum(single, axis=1))


@pytest.mark.parametrize("shape, axis", [
    ((3, 300), 1),          # a block per row, one partial tile
    ((2, 5000), -1),        # several tiles, carried from tile to tile
    ((700, 5), 0),          # rows innermost
    ((4, 5, 30), None),     # the flattened array, dims that do not merge once stepped
    ((40000,), 0),          # one long row in chunks: totals, their scan, then the chunks
    ((20000, 3), 0),        # a few long rows in chunks, rows innermost
])
@pytest.mark.parametrize("function, dtype", [(np.cumsum, "int64"), (np.cumsum, "float32"),
                                             (np.maximum.accumulate, "float64"), (np.multiply.accumulate, "int8")])
def test_block_scans(shape, axis, function, dtype):
    host = sample(shape, dtype, seed=13, nan=dtype == "float64")  # small integers: float sums are exact
    if function is np.multiply.accumulate:
        host = np.where(host == 0, 1, np.sign(host)).astype(dtype)  # products that stay small
    for h, d in layouts(host)[:3]:
        both(function, h, d, **({"axis": axis} if axis is not None or function is np.cumsum else {"axis": 0}))


# -- random layouts -----------------------------------------------------------------------------

@st.composite
def strided_cases(draw):
    """A float32 array viewed permuted and stepped (negative steps too), with an axis choice."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    host = np.random.default_rng(draw(st.integers(0, 99))).integers(-3, 4, size=shape).astype(np.float32)
    device = DeviceArray.from_host(host)
    order = draw(st.permutations(range(len(shape))))
    steps = [draw(st.sampled_from([1, 2, -1])) for _ in shape]
    key = tuple(slice(None, None, step) for step in steps)
    host, device = host.transpose(order)[key], device.transpose(order)[key]
    dims = list(range(host.ndim))
    axis = draw(st.one_of(st.none(), st.sampled_from(dims or [None]),
                          st.lists(st.sampled_from(dims), unique=True).map(tuple) if dims else st.none()))
    return host, device, axis, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(strided_cases())
def test_random_layouts(case):
    host, device, axis, keepdims = case
    both(np.sum, host, device, axis=axis, keepdims=keepdims)
    both(np.max, host, device, axis=axis, keepdims=keepdims)
    if not isinstance(axis, tuple):
        both(np.argmax, host, device, axis=axis, keepdims=keepdims)
        both(np.cumsum, host, device, axis=axis)


# -- through tensors --------------------------------------------------------------------------------

def on_both_devices(build):
    """``build(device)`` on the CPU and on CUDA: the two results, the CUDA one copied back."""
    return build("cpu"), build("cuda")


@pytest.mark.parametrize("build", [
    lambda device: torch.arange(12., device=device).reshape(3, 4).t().sum(0),
    lambda device: torch.arange(12., device=device).reshape(3, 4).max(dim=1).values,
    lambda device: torch.arange(12., device=device).reshape(3, 4).max(dim=1).indices,
    lambda device: torch.arange(12., device=device).reshape(3, 4).t().argmax(),
    lambda device: torch.arange(12., device=device).reshape(3, 4).mean(),
    lambda device: torch.arange(12., device=device).reshape(3, 4).t().cumsum(0),
    lambda device: torch.arange(12, device=device).reshape(3, 4).prod(1),
    lambda device: torch.arange(12., device=device).reshape(3, 4).amin(dim=(0, 1), keepdim=True),
    lambda device: (torch.arange(12, device=device).reshape(3, 4) > 5).any(1),
    lambda device: torch.arange(12., device=device).reshape(3, 4).sum(dtype=torch.float64),
], ids=["sum-t", "max-values", "max-indices", "argmax", "mean", "cumsum", "prod-int", "amin", "any", "sum-dtype"])
def test_tensor_reductions_match_the_cpu(build):
    before = dict(host_fallbacks)
    expected, actual = on_both_devices(build)
    assert actual.device.type == "cuda"
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual.cpu().numpy(), expected.numpy())
    hosted = {name for name, count in host_fallbacks.items() if count != before.get(name, 0)}
    assert not hosted & REDUCTION_NAMES, f"reductions ran on the host: {hosted & REDUCTION_NAMES}"


def test_autograd_of_a_sum_on_cuda():
    grads = []
    for device in ("cpu", "cuda"):
        x = torch.arange(6., device=device).reshape(2, 3)
        x.requires_grad_(True)
        (x * x).sum().backward()
        grads.append(x.grad)
    assert grads[1].device.type == "cuda"
    np.testing.assert_array_equal(grads[1].cpu().numpy(), grads[0].numpy())


# -- the compile tier -------------------------------------------------------------------------------

def test_compile_tier_sources_cover_every_reduction_and_scan():
    sources = reduction.compile_tier_sources()
    names = [name for name, _ in sources]
    assert len(names) == len(set(names))
    for part in ("sum", "prod", "max", "min", "all", "any", "count_nonzero", "mean", "argmax", "argmin"):
        assert any(name.startswith(f"ri_reduce_{part}_full") for name in names), part
    for mode in ("partial", "final"):
        assert any(f"_{mode}_" in name for name in names), mode
    for op in reduction.SCAN_STEPS:
        assert any(name.startswith(f"ri_scan_{op}_") for name in names), op
        assert any(name.startswith(f"ri_blockscan_{op}_") for name in names), op
    for name, source in sources:
        assert "strided_offset(i, ndim, shape" in source, name
        assert "extern __shared__" not in source, name  # static shared memory only


def test_a_compile_tier_sample_compiles_with_nvrtc():
    try:
        nvrtc.include_dirs()
        nvrtc._library()
    except nvrtc.NvrtcUnavailable as missing:
        pytest.skip(f"{missing}; the compile tier (test_cuda_compile.py) runs every variant")
    for name, source in reduction.compile_tier_sources()[::7]:
        assert f".entry {name}(" in nvrtc.compile_ptx(source, name, "sm_80")
