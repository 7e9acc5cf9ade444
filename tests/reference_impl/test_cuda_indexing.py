"""CUDA indexing against numpy itself: getitem and setitem with every
kind of key over strided, reversed and broadcast layouts; ``np.add.at``, ``np.take``,
``np.take_along_axis``, ``np.nonzero`` and ``np.fill_diagonal``; numpy's layout functions
(views that share memory, joins with numpy's dtype promotion); and end to end, indexing ops
on CUDA tensors against the same ops on CPU tensors.

Every test runs with ``REFERENCE_IMPL_CUDA_STRICT=1``: a numpy call with no kernel fails
rather than running on the host. Runs on the CUDA emulation (g++);
``REFERENCE_IMPL_CUDA=cupy`` runs it on a GPU instead.
"""

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch
from reference_impl.cuda import indexing
from reference_impl.cuda.device_array import DeviceArray

from .cuda_backend import BACKEND, count_device_reads, cuda_backend, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend


@pytest.fixture(autouse=True, scope="module")
def strict():
    """No host fallbacks: every numpy call here must run as a kernel."""
    previous = os.environ.get("REFERENCE_IMPL_CUDA_STRICT")
    os.environ["REFERENCE_IMPL_CUDA_STRICT"] = "1"
    yield
    if previous is None:
        del os.environ["REFERENCE_IMPL_CUDA_STRICT"]
    else:
        os.environ["REFERENCE_IMPL_CUDA_STRICT"] = previous


def device(host):
    return DeviceArray.from_host(np.asarray(host))


def host_of(value):
    """A key or value with its device arrays copied back to the host."""
    if isinstance(value, DeviceArray):
        return value.get()
    if isinstance(value, tuple):
        return tuple(host_of(part) for part in value)
    return value


def assert_same(actual, expected):
    assert isinstance(actual, DeviceArray), "the result is not on the device"
    got = actual.get()
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape, expected.dtype,
                                                                        expected.shape)
    np.testing.assert_array_equal(got, expected)


def raises_like(expected_error, call):
    """``call`` raises numpy's exception: the same type and message."""
    with pytest.raises(type(expected_error), match=f"^{re.escape(str(expected_error))}$"):
        call()


def values_of(shape, dtype):
    """Small distinct-ish values of ``dtype`` (exact in float16), never all zero."""
    count = int(np.prod(shape, dtype=np.int64))
    return ((np.arange(count) * 7 % 11) - 3).astype(dtype).reshape(shape)


# -- layouts and keys ------------------------------------------------------------------------------

DTYPES = [np.float32, np.int64, np.bool_, np.float16, np.int8]


@st.composite
def layouts(draw, dtype=None, broadcast=True):
    """(host base, device base, host view, device view): a view permuted, stepped (maybe
    backwards) and maybe broadcast along a new leading dim, the same on both sides."""
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    host_base = values_of(shape, dtype)
    device_base = device(host_base)
    order = draw(st.permutations(range(len(shape))))
    steps = tuple(slice(None, None, draw(st.sampled_from([1, 1, 2, -1]))) for _ in shape)
    host, dev = host_base.transpose(order)[steps], device_base.transpose(order)[steps]
    if broadcast and draw(st.booleans()):
        copies = draw(st.integers(1, 3))
        host, dev = np.broadcast_to(host, (copies,) + host.shape), np.broadcast_to(dev, (copies,) + dev.shape)
    return host_base, device_base, host, dev


@st.composite
def keys(draw, shape):
    """A key for an array of ``shape`` mixing every kind of part numpy takes; its arrays are
    on the host or the device. Index arrays mostly share one length, so they broadcast."""
    length = draw(st.integers(1, 3))
    ellipsis = draw(st.none() | st.integers(0, len(shape)))  # covers dims [ellipsis, ellipsis + spanned)
    spanned = draw(st.integers(0, len(shape) - ellipsis)) if ellipsis is not None else 0
    end = len(shape) if ellipsis is not None else draw(st.integers(0, len(shape)))
    parts, dim = [], 0
    while dim < end or ellipsis == dim:
        if ellipsis == dim:
            parts.append(Ellipsis)
            dim, ellipsis = dim + spanned, None
            continue
        if draw(st.integers(0, 5)) == 0:
            parts.append(draw(st.sampled_from([None, True, False])))
        kind = draw(st.sampled_from(["int", "slice", "list", "array", "array", "mask"]))
        size = shape[dim]
        if kind == "mask":
            limit = (ellipsis if ellipsis is not None else end) - dim
            span = draw(st.integers(1, max(1, limit)))
            mask = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape[dim:dim + span])),
                                          max_size=int(np.prod(shape[dim:dim + span]))))).reshape(shape[dim:dim + span])
            parts.append(device(mask) if draw(st.booleans()) else mask)
            dim += span
            continue
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-size - 1, size + 1)
            parts.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))))
        else:
            count = draw(st.sampled_from([length, length, 1, 2]))
            index = np.array(draw(st.lists(st.integers(-size, size - 1), min_size=count, max_size=count)))
            if kind == "list":
                parts.append(index.tolist())
            else:
                index = index.astype(draw(st.sampled_from([np.int64, np.int32, np.int8])))
                if draw(st.integers(0, 3)) == 0:
                    index = index.reshape(-1, 1)  # broadcasts against the others
                parts.append(device(index) if draw(st.booleans()) else index)
        dim += 1
    return tuple(parts)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_getitem_matches_numpy(data):
    _, _, host, dev = data.draw(layouts())
    key = data.draw(keys(host.shape))
    try:
        expected = host[host_of(key)]
    except IndexError as error:
        raises_like(error, lambda: dev[key])
        return
    assert_same(dev[key], expected)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_setitem_matches_numpy(data):
    host_base, device_base, host, dev = data.draw(layouts(broadcast=False))
    key = data.draw(keys(host.shape))
    host_key = host_of(key)
    try:
        positions = np.arange(host.size).reshape(host.shape)[host_key]
    except IndexError as error:
        raises_like(error, lambda: dev.__setitem__(key, 1))
        return
    if data.draw(st.booleans()) or np.unique(positions).size < positions.size:
        value = data.draw(st.integers(-3, 3))  # repeated positions: a GPU writes them in any order
    else:
        value = values_of(positions.shape, np.float64) + 10
        if value.size and data.draw(st.booleans()):
            value = value[(0,) * data.draw(st.integers(0, value.ndim))]  # a trailing part broadcasts
        value = device(value) if data.draw(st.booleans()) else value
    host[host_key] = host_of(value)
    dev[key] = value
    np.testing.assert_array_equal(device_base.get(), host_base)


A = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("key", [
    (0, slice(None), [0, 1]),  # the integer and the list are apart: their dim goes first
    ([0, 1], slice(None), 0),
    (slice(None), 0, 0, [1, 2]),  # adjacent: it stays in place
    (slice(None), 0, slice(None), [1, 2]),
    (slice(None), [0, 1], None, [0, 1]),  # a new axis parts them too
    ([0, 1], Ellipsis, [0, 1]),
    (slice(None), [[0], [2]], [1, 3]),
    (Ellipsis, [[0, 1], [2, 3]]),
    (True,), (False,), (slice(None), True, [0, 1]),
    (np.array(1),), (np.array([True, False]),),
    ([],), (slice(None), []),
    (slice(None), A[0, :, :, 0] > 30),
    (A[..., 0] > 60, slice(None, None, -2)),
    (np.ones((2, 3, 4, 5), bool),),
    ([-1, -2], slice(1, None), [[-1], [0]]),
], ids=str)
def test_numpys_placement_of_advanced_dims(key):
    device_key = tuple(device(part) if isinstance(part, np.ndarray) and part.ndim else part for part in key)
    assert_same(device(A)[device_key], A[key])


@pytest.mark.parametrize("dtype, index_dtype", [
    ("bool", np.uint8), ("uint8", np.int16), ("int8", np.int64), ("int16", np.int32), ("int32", np.int8),
    ("int64", np.uint8), ("float16", np.int16), ("float32", np.int64), ("float64", np.int32),
])
def test_every_dtype_gathers_and_scatters(dtype, index_dtype):
    host = values_of((4, 3), dtype)
    index = np.array([[3, 0], [1, 3]], index_dtype)
    assert_same(device(host)[device(index), 1:], host[index, 1:])
    target = device(host)
    target[device(index[0]), :] = device(values_of((3,), dtype)[::-1])
    expected = host.copy()
    expected[index[0], :] = values_of((3,), dtype)[::-1]
    assert_same(target, expected)


@pytest.mark.parametrize("key, make_error", [
    ([5], lambda h: h[[5]]),
    ([-4], lambda h: h[[-4]]),
    ((slice(None), [0, 9]), lambda h: h[:, [0, 9]]),
    ((0, slice(None), 7), None),  # no index array: a basic view
    (([0], 5), lambda h: h[[0], 5]),
    ((np.ones(4, bool),), lambda h: h[np.ones(4, bool)]),
    ((slice(None), np.ones((3, 5), bool)), lambda h: h[:, np.ones((3, 5), bool)]),
    (([0, 1], [0, 1, 2]), lambda h: h[[0, 1], [0, 1, 2]]),
    ((0, 0, 0, 0, 0), lambda h: h[0, 0, 0, 0, 0]),
    ((Ellipsis, 0, Ellipsis), lambda h: h[..., 0, ...]),
    (([1.0],), lambda h: h[[1.0]]),
])
@pytest.mark.parametrize("on_device", [False, True])
def test_bad_keys_raise_numpys_errors(key, make_error, on_device):
    host = values_of((2, 3, 4), np.float32)
    if make_error is None:
        with pytest.raises(IndexError, match="index 7 is out of bounds for axis 2 with size 4"):
            device(host)[key]
        return
    try:
        make_error(host)
    except (IndexError, ValueError) as error:
        expected = error
    key = key if isinstance(key, tuple) else (key,)
    if on_device:
        key = tuple(device(part) if isinstance(part, (list, np.ndarray)) and np.asarray(part).dtype.kind in "biu"
                    else part for part in key)
    raises_like(expected, lambda: device(host)[key])
    raises_like(expected, lambda: device(host).__setitem__(key, 0))


def test_setitem_checks_bounds_before_writing_and_values_shapes():
    target = device(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        target[device(np.array([0, 3]))] = 1.0
    assert not target.get().any()
    for key, value in (([0, 1], np.ones(3)), (0, np.ones(3)), (slice(None), np.ones((2, 4)))):
        try:
            np.zeros((3, 4))[key] = value
        except ValueError as error:
            raises_like(error, lambda key=key, value=value: target.__setitem__(key, value))


@pytest.mark.parametrize("mask, value", [
    ([[1, 0, 1], [0, 0, 0]], np.ones(3)), ([[1, 0, 1], [0, 0, 0]], np.ones((1, 3))), ([[1, 0, 1], [0, 0, 0]], [5.0]),
    ([1, 0], np.ones(2)), ([1, 0], np.ones((1, 3))),
])
def test_assigning_through_a_mask_follows_numpys_rules(mask, value):
    mask = np.array(mask, bool)
    host, target = np.zeros((2, 3)), device(np.zeros((2, 3)))
    try:
        host[mask] = value
    except (TypeError, ValueError) as error:
        raises_like(error, lambda: target.__setitem__(device(mask), value))
        return
    target[device(mask)] = device(np.asarray(value))
    assert_same(target, host)


def test_setitem_reads_an_overlapping_value_before_writing():
    host = np.arange(6.0)
    target = device(host)
    target[[1, 2, 3, 4, 5]] = target[0:5]
    host[[1, 2, 3, 4, 5]] = host[0:5].copy()
    assert_same(target, host)


def test_index_arrays_on_the_device_are_checked_on_the_device():
    index = device(np.array([[0, 1], [2, -7]]))
    with pytest.raises(IndexError, match="index -7 is out of bounds for axis 0 with size 3"):
        device(np.zeros(3))[index]
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        device(np.zeros(3))[device(np.array(3))]


# -- np.add.at ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                                   "float64"])
def test_add_at_adds_repeated_indices(dtype):
    # adjacent 1- and 2-byte elements share one 4-byte word: the compare-and-swap keeps the others
    indices = np.array([0, 1, 2, 3, 3, 2, 5, 0, 0, 7, 6, 6, 6, 1])
    values = values_of(indices.shape, dtype)
    host = values_of((9,), dtype)
    target = device(host)
    np.add.at(target, device(indices), device(values))
    np.add.at(host, indices, values)
    assert_same(target, host)


def test_add_at_computes_in_numpys_loop_type_and_broadcasts():
    host = np.zeros((3, 4), np.int64)
    target = device(host)
    np.add.at(target, (slice(None), [0, 0, 3]), 1.7)  # float64 loop: each add truncates to 1
    np.add.at(host, (slice(None), [0, 0, 3]), 1.7)
    assert_same(target, host)
    host, target = np.zeros((3, 4), np.float32), device(np.zeros((3, 4), np.float32))
    np.add.at(target, ([2, 2, 0], [1, 1, 3]), device(np.array([1.0, 2.0, 4.0])))
    np.add.at(host, ([2, 2, 0], [1, 1, 3]), np.array([1.0, 2.0, 4.0]))
    assert_same(target, host)
    np.add.at(target, slice(1, None), device(np.ones(4, np.float32)))  # a basic key
    np.add.at(host, slice(1, None), np.ones(4, np.float32))
    assert_same(target, host)


def test_add_at_errors_are_numpys():
    with pytest.raises(ValueError, match="array is not broadcastable to correct shape"):
        np.add.at(device(np.zeros((3, 4))), [0, 1], device(np.ones(3)))
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3"):
        np.add.at(device(np.zeros(3)), [5], 1.0)
    with pytest.raises(TypeError, match="cannot be written into host memory"):
        np.add.at(np.zeros(3), device(np.array([0])), 1.0)


# -- take, take_along_axis, nonzero, fill_diagonal ---------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_take_along_axis_matches_numpy(data):
    _, _, host, dev = data.draw(layouts(dtype=np.float32))
    axis = data.draw(st.integers(-host.ndim, host.ndim - 1))
    shape = tuple(data.draw(st.sampled_from([1, n])) if d != axis % host.ndim else data.draw(st.integers(0, 3))
                  for d, n in enumerate(host.shape))
    size = host.shape[axis]
    index = np.array(data.draw(st.lists(st.integers(-size, size - 1), min_size=int(np.prod(shape)),
                                        max_size=int(np.prod(shape)))), np.int64).reshape(shape)
    assert_same(np.take_along_axis(dev, device(index), axis), np.take_along_axis(host, index, axis))


def test_take_along_axis_broadcasts_and_raises_numpys_errors():
    host = values_of((1, 4), np.float32)
    index = np.array([[3, 0], [1, 1]])
    assert_same(np.take_along_axis(device(host), device(index), 1), np.take_along_axis(host, index, 1))
    assert_same(np.take_along_axis(device(host), device(np.array([2, -1])), None),
                np.take_along_axis(host, np.array([2, -1]), None))
    for arr, idx in ((np.zeros((3, 4)), np.zeros((3, 4))), (np.zeros((3, 4)), np.zeros(3, int)),
                     (np.zeros((3, 4)), np.zeros((2, 4), int)), (np.zeros((3, 4)), np.full((3, 1), 4))):
        try:
            np.take_along_axis(arr, idx, 1)
        except (IndexError, ValueError) as error:
            raises_like(error, lambda arr=arr, idx=idx: np.take_along_axis(device(arr), device(idx), 1))


def test_an_arg_reductions_and_argsorts_indices_are_used_without_a_bounds_check(monkeypatch):
    """A bounds check reads the device (waiting for every queued kernel); the indices argmax
    or argsort just made are known to fit their axis, so max(dim) and sort gather their values
    without one. The same indices copied (no longer known to fit) are checked again."""
    host = values_of((5, 7), np.float32)
    dev = device(host)
    picked = np.argmax(dev, axis=1, keepdims=True)
    reads = count_device_reads(monkeypatch)
    values = np.take_along_axis(dev, picked, 1)
    assert reads == []
    np.take_along_axis(dev, picked.copy(), 1)
    assert len(reads) == 1
    assert_same(values, np.take_along_axis(host, np.argmax(host, axis=1, keepdims=True), 1))
    assert np.argmax(dev, axis=None).index_bound == 35 and picked.reshape(5).index_bound is None
    order = np.argsort(dev, axis=0)
    reads.clear()
    assert_same(np.take_along_axis(dev, order, 0), np.sort(host, axis=0))
    assert len(reads) == 1  # assert_same's own read of the result, no bounds check


@pytest.mark.parametrize("axis, mode", [(None, "raise"), (0, "raise"), (1, "raise"), (-1, "wrap"), (0, "clip")])
def test_take_matches_numpy(axis, mode):
    host = values_of((3, 4), np.int16)
    for index in ([2, 0, -1, 2], [[1], [0]], np.array(1), np.array([True, False]), [7, -9], [], [1.0, True]):
        try:
            expected = np.take(host, index, axis=axis, mode=mode)
        except IndexError as error:
            raises_like(error, lambda index=index: np.take(device(host), device(index), axis=axis, mode=mode))
            continue
        on_device = device(index) if isinstance(index, np.ndarray) else index
        assert_same(np.take(device(host), on_device, axis=axis, mode=mode), expected)
    with pytest.raises(TypeError, match="according to the rule 'same_kind'"):
        np.take(device(host), device(np.array([1.0])))
    out = device(np.zeros(2, np.int16))
    assert np.take(device(host), [0, 5], out=out) is out
    assert_same(out, np.take(host, [0, 5]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_nonzero_matches_numpy(data):
    _, _, host, dev = data.draw(layouts())
    expected = np.nonzero(host)
    actual = np.nonzero(dev)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert_same(got, want)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int16", "int32", "float16", "float64"])
def test_nonzero_of_every_dtype_and_special_values(dtype):
    host = np.array([[0, 1, 0], [2, 0, 0]]).astype(dtype)
    if dtype.startswith("float"):
        host = np.array([[0.0, -0.0, np.nan], [1.0, 0.0, -np.inf]], dtype)
    for got, want in zip(np.nonzero(device(host)), np.nonzero(host)):
        assert_same(got, want)
    assert indexing.count_nonzero(device(host)) == np.count_nonzero(host)


def test_nonzero_over_many_segments_scans_tile_after_tile():
    # more segments than the scan's block has threads: its carry runs over several tiles
    count = 17 * (indexing.THREADS * indexing.SEGMENT * 3 // 17 + 1)
    host = (np.arange(count) * 7919 % 13 == 0).reshape(-1, 17)
    for got, want in zip(np.nonzero(device(host)[:, ::-1]), np.nonzero(host[:, ::-1])):
        assert_same(got, want)


@pytest.mark.skipif(BACKEND != "emulate", reason="thread orders are the emulation's")
def test_nonzero_scan_does_not_depend_on_the_thread_order():
    from reference_impl.cuda import emulation

    name, source = indexing.nonzero_sources(np.bool_)[1]
    counts = np.arange(3 * indexing.THREADS + 5, dtype=np.int64) % 7

    def make_args():
        starts = np.empty(counts.size + 1, np.int64)
        return (np.int64(counts.size), emulation.HostPointer(counts), emulation.HostPointer(starts)), [starts]

    starts, = emulation.run_in_both_orders(emulation.HostKernel(source, name), 1, indexing.THREADS, make_args)
    assert starts.tolist() == [0] + np.cumsum(counts).tolist()


def test_nonzero_of_empty_and_0d_arrays():
    for got, want in zip(np.nonzero(device(np.zeros((0, 3)))), np.nonzero(np.zeros((0, 3)))):
        assert_same(got, want)
    for got, want in zip(np.nonzero(device(np.zeros((2, 3)))), np.nonzero(np.zeros((2, 3)))):
        assert_same(got, want)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        with pytest.raises(ValueError, match="Calling nonzero on 0d arrays is not allowed"):
            np.nonzero(device(np.array(1.0)))
    assert_same(np.where(device(np.array([0, 3, 0, 4])))[0], np.array([1, 3]))


@pytest.mark.parametrize("shape, wrap", [((4, 4), False), ((7, 3), False), ((7, 3), True), ((3, 7), False),
                                         ((3, 3, 3), False)])
@pytest.mark.parametrize("value", [5, [1, 2]])
def test_fill_diagonal_writes_in_place(shape, wrap, value):
    host = np.zeros(shape[::-1], np.int32).T  # a transposed layout
    target = np.transpose(device(np.zeros(shape[::-1], np.int32)))
    np.fill_diagonal(target, device(np.array(value)), wrap=wrap)
    np.fill_diagonal(host, value, wrap=wrap)
    assert_same(target, host)


def test_fill_diagonal_errors_are_numpys():
    with pytest.raises(ValueError, match="array must be at least 2-d"):
        np.fill_diagonal(device(np.zeros(3)), 1)
    with pytest.raises(ValueError, match="All dimensions of input must be of equal length"):
        np.fill_diagonal(device(np.zeros((2, 2, 3))), 1)


# -- layout functions ------------------------------------------------------------------------------

VIEWS = [
    ("transpose", lambda np_, a: np_.transpose(a)),
    ("transpose axes", lambda np_, a: np_.transpose(a, (1, 2, 0))),
    ("moveaxis", lambda np_, a: np_.moveaxis(a, 0, -1)),
    ("moveaxis many", lambda np_, a: np_.moveaxis(a, [0, 2], [2, 0])),
    ("swapaxes", lambda np_, a: np_.swapaxes(a, 0, 2)),
    ("flip", lambda np_, a: np_.flip(a, 1)),
    ("flip all", lambda np_, a: np_.flip(a)),
    ("flip axes", lambda np_, a: np_.flip(a, (0, -1))),
    ("squeeze", lambda np_, a: np_.squeeze(a[:, :1])),
    ("squeeze axis", lambda np_, a: np_.squeeze(a[:1, :1], axis=1)),
    ("expand_dims", lambda np_, a: np_.expand_dims(a, (0, -1))),
    ("broadcast_to", lambda np_, a: np_.broadcast_to(a[:, :1], (5, 2, 3, 4))),
    ("diagonal", lambda np_, a: np_.diagonal(a, 1, 1, 2)),
    ("diagonal negative", lambda np_, a: np_.diagonal(a, -1, 2, 0)),
    ("reshape view", lambda np_, a: np_.reshape(a, (6, -1))),
    ("ravel view", lambda np_, a: np_.ravel(a)),
]


@pytest.mark.parametrize("name, view", VIEWS, ids=[name for name, _ in VIEWS])
def test_view_functions_share_memory_and_match_numpy(name, view):
    host = values_of((2, 3, 4), np.float64)
    base = device(host)
    result = view(np, base)
    assert_same(result, view(np, host))
    assert result.memory is base.memory


@pytest.mark.parametrize("call", [
    lambda a: np.squeeze(a, axis=0), lambda a: np.moveaxis(a, 3, 0), lambda a: np.transpose(a, (0, 1)),
    lambda a: np.broadcast_to(a, (3, 3)), lambda a: np.reshape(a, (5, -1)), lambda a: np.expand_dims(a, 4),
    lambda a: np.diagonal(a, 0, 1, 1), lambda a: np.flip(a, 3),
])
def test_view_functions_raise_numpys_errors(call):
    host = np.zeros((2, 3, 4))
    try:
        call(host)
    except (ValueError, IndexError) as error:
        raises_like(error, lambda: call(device(host)))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_reshape_and_ravel_match_numpy_in_every_order(data):
    _, _, host, dev = data.draw(layouts(dtype=np.int32))
    order = data.draw(st.sampled_from(["C", "F", "A"]))
    assert_same(np.reshape(dev, (-1,) + host.shape[1:][::-1], order=order),
                np.reshape(host, (-1,) + host.shape[1:][::-1], order=order))
    order = data.draw(st.sampled_from(["C", "F", "A", "K"]))
    if order == "K" and 0 in host.strides:
        return  # numpy's K order of a broadcast array is its own
    assert_same(np.ravel(dev, order), np.ravel(host, order))


def test_reshape_copies_only_when_it_must():
    base = device(values_of((3, 4), np.int64))
    assert np.reshape(base, (2, 6)).memory is base.memory
    copied = np.reshape(base.T, 12)
    assert copied.memory is not base.memory
    assert_same(copied, values_of((3, 4), np.int64).T.reshape(12))
    if np.lib.NumpyVersion(np.__version__) >= "2.1.0":  # reshape's copy= is numpy 2.1's
        with pytest.raises(ValueError, match="Unable to avoid creating a copy while reshaping"):
            np.reshape(base.T, 12, copy=False)


def test_broadcast_arrays_and_metadata():
    a, b = values_of((3, 1), np.float32), values_of((4,), np.int8)
    got = np.broadcast_arrays(device(a), device(b))
    assert type(got) is type(np.broadcast_arrays(a, b))
    for actual, expected in zip(got, np.broadcast_arrays(a, b)):
        assert_same(actual, expected)
    transposed = device(values_of((3, 4), np.int16)).T
    assert (np.shape(transposed), np.ndim(transposed), np.size(transposed)) == ((4, 3), 2, 12)
    assert np.size(transposed, 1) == 3
    assert np.result_type(device(a), device(b), np.int16) == np.result_type(a, b, np.int16)
    assert np.can_cast(device(b), np.int16) and not np.can_cast(device(a), np.int8)


def test_array_equal():
    a = np.array([1.0, np.nan, 3.0])
    assert np.array_equal(device(a), device(a)) is False
    assert np.array_equal(device(a), device(a), equal_nan=True) is True
    assert np.array_equal(device(a[:2]), device(a)) is False
    assert np.array_equal(device(np.arange(4)), np.arange(4)) is True
    assert np.array_equal(device(np.arange(4)), device(np.arange(4.0)[::-1])) is False


@pytest.mark.parametrize("function, args", [(np.empty_like, ()), (np.zeros_like, ()), (np.ones_like, ()),
                                            (np.full_like, (2.7,))])
@pytest.mark.parametrize("dtype, order, shape", [(None, "K", None), (np.int8, "C", None), (None, "F", None),
                                                 (np.float16, "K", (2, 5)), (None, "A", None)])
def test_like_functions_make_device_arrays_in_numpys_layout(function, args, dtype, order, shape):
    host = values_of((3, 4, 2), np.float32).transpose(2, 0, 1)[:, ::-1]
    dev = device(values_of((3, 4, 2), np.float32)).transpose(2, 0, 1)[:, ::-1]
    expected = function(host, *args, dtype=dtype, order=order, shape=shape)
    result = function(dev, *args, dtype=dtype, order=order, shape=shape)
    assert isinstance(result, DeviceArray) and result.dtype == expected.dtype and result.shape == expected.shape
    assert result.strides == expected.strides
    if function is not np.empty_like:
        assert_same(result, expected)


@pytest.mark.parametrize("dtypes", [("int8", "float16"), ("uint8", "int8"), ("bool", "int32"), ("int64", "float32"),
                                    ("float16", "float16", "bool")])
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concatenate_and_stack_promote_as_numpy_does(dtypes, axis):
    hosts = [values_of((2, 3), dtype)[:, ::(-1) ** k] for k, dtype in enumerate(dtypes)]
    devices = [device(values_of((2, 3), dtype))[:, ::(-1) ** k] for k, dtype in enumerate(dtypes)]
    assert_same(np.concatenate(devices, axis=axis), np.concatenate(hosts, axis=axis))
    if axis is not None:
        assert_same(np.stack(devices, axis=axis), np.stack(hosts, axis=axis))
    assert_same(np.concatenate(devices, axis=0, dtype=np.float64), np.concatenate(hosts, axis=0, dtype=np.float64))


def test_concatenate_and_stack_errors_and_out():
    a, b = np.zeros((3, 3)), np.zeros((3, 2))
    for call in (lambda x, y: np.concatenate([x, y]), lambda x, y: np.concatenate([x, y[:, 0]]),
                 lambda x, y: np.stack([x, y]), lambda x, y: np.concatenate([x, y], axis=2),
                 lambda x, y: np.stack([x, x], axis=3), lambda x, y: np.concatenate([x, y], axis=1, dtype=np.int64)):
        try:
            call(a, b)
        except (ValueError, TypeError, IndexError) as error:
            raises_like(error, lambda call=call: call(device(a), device(b)))
    out = device(np.zeros((3, 5), np.float32))
    assert np.concatenate([device(a), device(b)], axis=1, out=out) is out
    assert_same(out, np.zeros((3, 5), np.float32))
    assert_same(np.concatenate([device(np.arange(2)), np.array([7, 8])]), np.array([0, 1, 7, 8]))


@pytest.mark.parametrize("reps", [2, (2, 1), (1, 3), (2, 1, 2), (0, 2)])
def test_tile_matches_numpy(reps):
    host = values_of((2, 3), np.int32)[::-1]
    assert_same(np.tile(device(values_of((2, 3), np.int32))[::-1], reps), np.tile(host, reps))


@pytest.mark.parametrize("repeats, axis", [(2, None), (3, 0), (2, -1), ([1, 0, 2], 1), (np.array([2]), 0), (0, 1)])
def test_repeat_matches_numpy(repeats, axis):
    host = values_of((2, 3), np.float32).T.T
    got = np.repeat(device(host).T.T, device(repeats) if isinstance(repeats, np.ndarray) else repeats, axis)
    assert_same(got, np.repeat(host, repeats, axis))


# -- end to end through tensors -------------------------------------------------------------------------


def _grad_of_index(x, device):
    x = x.clone().requires_grad_()
    x[[0, 0, 2]].sum().backward()
    return x.grad


def _assign(x, key, value):
    x[key] = value
    return x


END_TO_END = [
    ("x[[0, 2]]", lambda x, d: x[[0, 2]]),
    ("x[x > 3]", lambda x, d: x[x > 3]),
    ("x[:, 1] = 0", lambda x, d: _assign(x, (slice(None), 1), 0.0)),
    ("x[[0, 0], [1, 1]] += 1", lambda x, d: _assign(x, ([0, 0], [1, 1]), x[[0, 0], [1, 1]] + 1)),
    ("x[index] = ones", lambda x, d: _assign(x, torch.tensor([0, 2], device=d), torch.ones(4, device=d))),
    ("x[x > 5] = 0.5", lambda x, d: _assign(x, x > 5, 0.5)),
    ("torch.cat", lambda x, d: torch.cat([x, x * 2], 1)),
    ("torch.stack", lambda x, d: torch.stack([x, x.flip(1)], 2)),
    ("x.flip(0)", lambda x, d: x.flip(0)),
    ("x.t().flip(1)", lambda x, d: x.t().flip(1)),
    ("x.nonzero()", lambda x, d: x.nonzero()),
    ("0-dim nonzero", lambda x, d: torch.tensor(5.0, device=d).nonzero()),
    ("torch.gather", lambda x, d: torch.gather(x, 1, torch.tensor([[0, 0], [1, 0], [3, 2]], device=d))),
    ("index_select", lambda x, d: torch.index_select(x, 0, torch.tensor([2, 0, 2], device=d))),
    ("masked_select", lambda x, d: torch.masked_select(x, x > 5)),
    ("x.repeat", lambda x, d: x.repeat(2, 1, 2)),
    ("x[..., None].expand", lambda x, d: x[..., None].expand(3, 4, 2).contiguous()),
    ("movedim", lambda x, d: x.reshape(3, 2, 2).movedim(0, -1).contiguous()),
    ("grad of x[[0, 0, 2]]", _grad_of_index),
]


@pytest.mark.parametrize("name, op", END_TO_END)
def test_indexing_ops_on_cuda_tensors_match_cpu(name, op):
    expected = op(torch.arange(12.0).reshape(3, 4), "cpu")
    actual = op(torch.arange(12.0, device="cuda").reshape(3, 4), "cuda")
    assert actual.is_cuda
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual.cpu().numpy(), expected.numpy())
