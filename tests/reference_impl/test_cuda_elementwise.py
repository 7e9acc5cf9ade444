"""Generated elementwise kernels against numpy itself: every statement, the dtypes numpy
resolves, strided and broadcast operands, and ``out=`` writes into views.

Each case calls the numpy ufunc on DeviceArrays, so this checks the whole route an op
takes on a CUDA tensor: ``__array_ufunc__``, numpy's dtype rules, the kernel, the layout.
"""


import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_impl.cuda import elementwise, kernels, runtime
from reference_impl.cuda.device_array import DeviceArray

from .cuda_backend import BACKEND, cuda_backend, record_kernel_lookups, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend


VALUES = np.array([-7.5, -2.0, -0.5, 0.0, 0.25, 1.0, 3.0, 6.5, np.nan, np.inf, -np.inf, 100.0])
INTEGERS = np.array([-7, -3, -1, 0, 1, 2, 3, 5, 8, 13, 21, 34])
FLOAT_TYPES = [np.float32, np.float64]
FLOAT_UFUNCS = [name for name in elementwise.STATEMENTS if hasattr(np, name) and isinstance(getattr(np, name), np.ufunc)
                and name not in ("left_shift", "right_shift", "bitwise_and", "bitwise_or", "bitwise_xor", "invert")]
INT_UFUNCS = ["add", "subtract", "multiply", "floor_divide", "remainder", "fmod", "power", "maximum", "minimum",
              "equal", "less", "greater_equal", "bitwise_and", "bitwise_xor", "invert", "left_shift", "right_shift",
              "negative", "absolute", "sign", "true_divide", "logical_and", "square"]


def operands(ufunc, dtype):
    base = VALUES if np.dtype(dtype).kind == "f" else INTEGERS
    first = base.astype(dtype)
    if ufunc.nin == 1:
        return (first,)
    second = np.roll(base, 5).astype(dtype)
    if ufunc.__name__ in ("left_shift", "right_shift", "power") and np.dtype(dtype).kind != "f":
        second = np.abs(second) % 5
    return first, second


def check(ufunc, *host):
    with np.errstate(all="ignore"):
        expected = ufunc(*host)
        actual = ufunc(*(DeviceArray.from_host(a) if isinstance(a, np.ndarray) else a for a in host))
    assert isinstance(actual, DeviceArray), f"{ufunc.__name__} ran on the host"
    got = actual.get()
    call = f"np.{ufunc.__name__}{tuple(getattr(a, 'dtype', type(a).__name__) for a in host)}"
    assert got.dtype == expected.dtype, call
    if expected.dtype.kind == "f":
        tolerance = {2: 1e-3, 4: 2e-6, 8: 1e-13}[expected.dtype.itemsize]
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance, equal_nan=True,
                                   err_msg=call)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=call)


@pytest.mark.parametrize("dtype", FLOAT_TYPES)
@pytest.mark.parametrize("name", FLOAT_UFUNCS)
def test_float_ufuncs_match_numpy(name, dtype):
    check(getattr(np, name), *operands(getattr(np, name), dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8])
@pytest.mark.parametrize("name", INT_UFUNCS)
def test_integer_ufuncs_match_numpy_including_wraparound_and_python_style_division(name, dtype):
    ufunc = getattr(np, name)
    host = operands(ufunc, dtype)
    if name in ("floor_divide", "remainder", "fmod"):  # numpy warns on zero divisors; torch raises
        host = (host[0], np.where(host[1] == 0, 3, host[1]).astype(dtype))
    if name in ("negative", "absolute", "sign", "subtract") and dtype == np.uint8:
        pytest.skip("numpy's unsigned negation is the only rule there; torch refuses it before the kernel")
    check(ufunc, *host)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "logical_or", "logical_xor", "invert", "equal"])
def test_bool_ufuncs_are_logical(name):
    ufunc = getattr(np, name)
    host = (np.array([True, False, True, False]), np.array([True, True, False, False]))[:ufunc.nin]
    check(ufunc, *host)


@pytest.mark.parametrize("name", ["add", "multiply", "true_divide", "exp", "sqrt", "maximum", "less"])
def test_float16_computes_through_float(name):
    ufunc = getattr(np, name)
    check(ufunc, *(a.astype(np.float16) for a in operands(ufunc, np.float32)))


@pytest.mark.parametrize("first, second", [
    (np.arange(4, dtype=np.int64), np.float32(0.5)),
    (np.arange(4, dtype=np.int8), np.arange(4, dtype=np.float64)),
    (np.arange(4, dtype=np.uint8), np.array(300, dtype=np.int64)),
    (np.arange(4, dtype=np.int32), 2.5),
    (np.array([True, False, True, True]), np.arange(4, dtype=np.int16)),
])
def test_mixed_dtypes_promote_as_numpy_does(first, second):
    check(np.add, first, second)
    check(np.true_divide, first, second)


@st.composite
def strided_pairs(draw):
    """Two operands of broadcastable shapes, each a transposed and/or step-sliced view."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    other = tuple(1 if draw(st.booleans()) else size for size in shape)[draw(st.integers(0, len(shape) - 1)):]

    def view(of_shape):
        doubled = tuple(2 * s for s in of_shape)
        base = np.arange(int(np.prod(doubled)), dtype=np.float64).reshape(doubled) - 7
        sliced = base[tuple(slice(None, None, 2) for _ in doubled)]
        return sliced, np.transpose(sliced) if draw(st.booleans()) else sliced

    return view(shape), view(other)


@settings(max_examples=40, deadline=None)
@given(strided_pairs())
def test_strided_and_broadcast_operands(pairs):
    (a, a_view), (b, b_view) = pairs
    device_a = DeviceArray.from_host(a)
    device_b = DeviceArray.from_host(b)
    if a_view is not a:
        device_a = device_a.transpose()
    if b_view is not b:
        device_b = device_b.transpose()
    try:
        expected = np.subtract(a_view, b_view)
    except ValueError:
        return
    np.testing.assert_array_equal(np.subtract(device_a, device_b).get(), expected)


def test_out_writes_into_a_transposed_view_and_handles_aliasing_like_numpy():
    host = np.arange(9.0).reshape(3, 3)
    device = DeviceArray.from_host(host)
    np.add(device, device.transpose(), out=device)  # reads elements it also writes
    np.add(host, host.T.copy(), out=host)
    np.testing.assert_array_equal(device.get(), host)
    target = DeviceArray.from_host(np.zeros((3, 2)))
    np.multiply(DeviceArray.from_host(np.arange(6.0).reshape(2, 3)), 2, out=target.transpose())
    np.testing.assert_array_equal(target.get(), (np.arange(6.0).reshape(2, 3) * 2).T)


def test_launches_reuse_their_plans_until_the_plans_are_cleared(monkeypatch):
    a = DeviceArray.from_host(np.arange(6.0))
    np.add(a, a)  # a plan now holds the compiled kernel
    looked_up = record_kernel_lookups(monkeypatch)
    np.add(a, a)
    assert looked_up == []
    runtime.clear_plans()
    np.testing.assert_array_equal(np.add(a, a).get(), np.arange(6.0) * 2)
    assert len(looked_up) == 1 and looked_up[0].startswith("ri_ew_add_")


def test_the_walk_follows_the_outputs_memory_order_and_merges_dims():
    every_dim_transposed = (1, 2, 6)  # a (2, 3, 4) array stored as a (4, 3, 2) one
    layout = elementwise.layout_arguments((2, 3, 4), [every_dim_transposed] * 3)
    assert layout.contiguous and layout.shape == (24,)
    sliced = elementwise.layout_arguments((2, 3, 4), [(24, 4, 1), (12, 4, 1)])  # x[::2] into a new array
    assert sliced.shape == (2, 12) and sliced.strides == (24, 1, 12, 1) and not sliced.contiguous
    into_transposed = elementwise.layout_arguments((3, 4), [(4, 1), (1, 3)])
    assert into_transposed.shape == (4, 3) and into_transposed.strides == (1, 4, 3, 1)


@pytest.mark.parametrize("axes", list(itertools.permutations(range(3))))
def test_results_land_right_in_outputs_of_any_dim_order(axes):
    host = np.arange(60.0).reshape(3, 4, 5)
    storage = DeviceArray.from_host(np.zeros(tuple(host.shape[a] for a in axes)))
    out = storage.transpose(tuple(np.argsort(axes)))  # host's shape, stored in the order ``axes``
    source = DeviceArray.from_host(host[:, ::-1])
    np.multiply(source[:, ::-1], 3.0, out=out)
    np.testing.assert_array_equal(storage.get(), np.transpose(host * 3.0, axes))


@pytest.mark.parametrize("first, second", [("float16", "float16"), ("int8", "float32"), ("bool", "int64")])
def test_an_operand_transposed_against_the_result_goes_through_the_tiled_entry(first, second, monkeypatch):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal((40, 35)) * 9).astype(first)
    b = (rng.standard_normal((35, 40)) * 9).astype(second)
    condition = rng.standard_normal((40, 35)) > 0
    entries = record_kernel_lookups(monkeypatch)
    runtime.clear_plans()
    result = np.add(DeviceArray.from_host(b), DeviceArray.from_host(a).transpose())
    np.testing.assert_array_equal(result.get(), np.add(b, a.T))
    chosen = np.where(DeviceArray.from_host(condition).transpose(), DeviceArray.from_host(b),
                      DeviceArray.from_host(a).transpose())
    np.testing.assert_array_equal(chosen.get(), np.where(condition.T, b, a.T))
    assert sum(name.endswith("_tiled") for name in entries) == 2


def test_copyto_where_and_clip():
    target = DeviceArray.from_host(np.zeros(5, dtype=np.int32))
    np.copyto(target, DeviceArray.from_host(np.array([1.9, -2.7, 3.5, 4.0, 5.2])), casting="unsafe")
    assert target.get().tolist() == [1, -2, 3, 4, 5]
    condition = DeviceArray.from_host(np.array([True, False, True, False, True]))
    chosen = np.where(condition, target, np.float32(0.5))
    assert chosen.get().tolist() == [1, 0.5, 3, 0.5, 5] and chosen.dtype == np.float64
    clipped = np.clip(DeviceArray.from_host(np.array([-3.0, 0.5, np.nan, 9.0])), -1.0, 2.0)
    np.testing.assert_array_equal(clipped.get(), [-1.0, 0.5, np.nan, 2.0])


def test_the_32_bit_index_path_is_taken_only_when_offsets_fit():
    name, source = elementwise.elementwise_source("copy", "out0 = in0", [np.dtype(np.float32)],
                                                  [np.dtype(np.float32)], [np.dtype(np.float32)],
                                                  [np.dtype(np.float32)], "int")
    assert "typedef int index_t" in source and name.endswith("_int")
    assert "strided_offsets32<2>(i, ndim, dividers, strides, at[u])" in source
    small = elementwise.layout_arguments((3, 4), [(1, 3), (4, 1)])
    assert small.index_type == "int" and not small.contiguous and small.strides == (1, 3, 4, 1)
    assert elementwise.layout_arguments((2**16, 2**16), [(2**16, 1)] * 2).index_type == "i64"
    assert elementwise.layout_arguments((3, 4), [(4, 1), (4, 1)]).contiguous


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10, 641, 8192, 65535, 2**20 + 7, 2**31 - 1])
def test_the_multiply_shift_dividers_divide_exactly(size):
    size, magic, shift = kernels.divider(size)
    numerators = np.array([0, 1, size - 1, size, size + 1, 2**31 - 1, 123456789 % 2**31], dtype=np.uint64)
    quotients = (((numerators * magic) >> 32) + numerators) >> shift
    np.testing.assert_array_equal(quotients, numerators // size)


def test_launches_of_one_shape_in_other_layouts_and_dtypes_each_get_their_own_plan():
    """A launch reuses what it worked out for the same shape, layouts and dtypes only: one
    shape walked contiguous, transposed, broadcast and in another dtype, in turn, gives
    numpy's values every time."""
    host = np.arange(12.0).reshape(3, 4)
    a = DeviceArray.from_host(host)
    transposed = DeviceArray.from_host(np.ascontiguousarray(host.T)).transpose()
    row = DeviceArray.from_host(host[:1])
    for _ in range(2):
        for left, expected in ((a, host + host), (transposed, host + host), (row, host[:1] + host)):
            np.testing.assert_array_equal(np.add(left, a).get(), expected)
        as_int = DeviceArray.from_host(host.astype(np.int32))
        result = np.add(as_int, as_int)
        assert result.dtype == np.int32
        np.testing.assert_array_equal(result.get(), (host + host).astype(np.int32))
