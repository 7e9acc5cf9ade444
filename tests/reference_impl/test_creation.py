"""Factories and conversions, without torch. Range values are checked against the
definitions of torch's CPU kernels (fused multiply-adds), computed exactly with fractions."""

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch


def _normal_or_zero(low, high):
    """Floats whose products stay clear of underflow (where fma64() promises exactness)."""
    return st.floats(low, high).filter(lambda x: x == 0 or abs(x) > 1e-100)


def test_arange_matches_torchs_vector_kernel_near_zero():
    # torch gives 2**-51 here, not 0.0: its kernel fuses step * 80 + start.
    assert torch.arange(-8.0, 8.0, 0.1)[80].item() == 2.0 ** -51
    assert torch.arange(5).dtype is torch.int64 and torch.arange(0.0, 1.0, 0.25).tolist() == [0, 0.25, 0.5, 0.75]


@settings(max_examples=50)
@given(st.floats(-100, 100), st.floats(1e-3, 10), st.integers(1, 200))
def test_arange_tail_elements_are_single_fused_steps(start, step, count):
    values = torch.arange(start, start + step * count, step, dtype=torch.float64).numpy()
    tail = len(values) - len(values) % 8  # float64: blocks of 2 vectors x 4 lanes
    for index in range(tail, len(values)):
        assert values[index] == float(Fraction(step) * index + Fraction(start))


@settings(max_examples=50)
@given(_normal_or_zero(-100, 100), _normal_or_zero(-100, 100), st.integers(2, 100))
def test_linspace_ends_are_exact_and_halves_come_from_the_nearer_end(start, end, steps):
    values = torch.linspace(start, end, steps, dtype=torch.float64).numpy()
    assert values[0] == start and values[-1] == end
    step = (end - start) / (steps - 1)
    middle = steps // 2
    if 0 < middle < steps - 1:
        assert values[middle] == float(Fraction(end) - Fraction(step) * (steps - 1 - middle))


def test_range_errors():
    with pytest.raises(RuntimeError, match="invalid size, possible overflow?"):
        torch.arange(0, 1, 1e-320)
    with pytest.raises(RuntimeError, match="unsupported range: 0 -> inf"):
        torch.arange(0, float("inf"))
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        torch.linspace(0, 1, -1)


def test_factories_and_their_dtypes():
    assert torch.full((2,), 7).dtype is torch.int64 and torch.full((2,), True).dtype is torch.bool
    assert torch.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert torch.zeros(2, dtype=float).dtype is torch.float64 and torch.zeros(2, dtype=int).dtype is torch.int64
    with pytest.raises(TypeError, match="zeros\\(\\): argument 'dtype' must be torch.dtype, not str"):
        torch.zeros(2, dtype="float32")
    with pytest.raises(TypeError, match=r"ones\(\): argument 'size' \(position 1\) must be tuple of ints, not float"):
        torch.ones(2.5)
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -2: \\[3, -2\\]"):
        torch.empty(3, -2)


def test_like_and_new_factories_keep_what_they_should():
    x = torch.arange(6.0).view(2, 3)
    transposed = torch.Tensor._make(x._storage, (3, 2), (1, 3))
    assert torch.zeros_like(transposed).stride() == (1, 3)
    ints = torch.zeros(2, dtype=torch.int32)
    assert ints.new_ones(3).dtype is torch.int32 and ints.new_full((2,), 5).tolist() == [5, 5]
    assert ints.new_tensor([1.5]).tolist() == [1]


def test_tensor_inference_promotes_element_dtypes():
    assert torch.tensor([np.float64(2.5)]).dtype is torch.float64
    assert torch.tensor([np.int32(1), 2]).dtype is torch.int64
    assert torch.tensor([np.float16(1), 2]).dtype is torch.float16
    assert torch.tensor(np.int32(1)).dtype is torch.int32
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        torch.tensor([2 ** 63])
    with pytest.warns(UserWarning, match="rather than torch.tensor\\(sourceTensor\\)"):
        torch.tensor(torch.ones(1))


def test_as_tensor_shares_when_it_can():
    array = np.ones(3)
    assert torch.as_tensor(array).data_ptr() == array.ctypes.data
    assert torch.as_tensor(array, dtype=torch.float32).data_ptr() != array.ctypes.data
    t = torch.ones(2)
    assert torch.as_tensor(t) is t


def test_deterministic_empty_fills_like_torch():
    torch.use_deterministic_algorithms(True)
    try:
        assert np.isnan(torch.empty(2).numpy()).all()
        assert torch.empty(2, dtype=torch.int32).tolist() == [2 ** 31 - 1] * 2
        assert torch.empty(1, dtype=torch.bool).tolist() == [True]
    finally:
        torch.use_deterministic_algorithms(False)


def test_conversions_and_protocol():
    x = torch.arange(6.0).view(2, 3)
    assert x.to(torch.float32) is x and x.to(x) is x and x.to("cpu") is x
    assert x.to(torch.float32, copy=True) is not x
    assert x.to(torch.int32).dtype is torch.int32 and x.long().dtype is torch.int64
    assert x.type() == "torch.FloatTensor" and x.type("torch.DoubleTensor").dtype is torch.float64
    assert [row.tolist() for row in x] == [[0, 1, 2], [3, 4, 5]]
    assert np.asarray(x).ctypes.data == x.data_ptr()
    assert int(torch.tensor([2.7])) == 2 and range(5)[torch.tensor(3)] == 3
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
        float(x)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(torch.tensor(1))
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        x.to("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.tensor([float("nan")]).long().dtype is torch.int64  # no numpy cast warning
