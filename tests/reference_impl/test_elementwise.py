"""Elementwise ops: promotion, out=, in-place and overlap rules, without torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as torch
from reference_impl import _dtype

from .strategies import strided_tensors

DTYPES = [d for d in _dtype.ALL]


@pytest.mark.parametrize("a", DTYPES, ids=repr)
@pytest.mark.parametrize("b", DTYPES, ids=repr)
def test_add_result_dtype_is_promote_types(a, b):
    assert (torch.ones(2, dtype=a) + torch.ones(2, dtype=b)).dtype is torch.promote_types(a, b)


def test_scalars_and_zero_dim_tensors_only_raise_the_category():
    ints = torch.tensor([1, 2], dtype=torch.int32)
    assert (ints + 2).dtype is torch.int32
    assert (ints + 2.5).dtype is torch.float32
    assert (ints + torch.tensor(2, dtype=torch.int64)).dtype is torch.int32
    assert (ints + torch.tensor(2.0, dtype=torch.float64)).dtype is torch.float64
    assert (torch.tensor([250], dtype=torch.uint8) + 10).tolist() == [4]  # wraps, like torch


def test_division_family_signs():
    i = torch.tensor([7, -7])
    assert (i // 2).tolist() == [3, -4]
    assert torch.div(i, 2, rounding_mode="trunc").tolist() == [3, -3]
    assert (i % 3).tolist() == [1, 2]
    assert torch.fmod(i, 3).tolist() == [1, -1]
    assert (i / 2).dtype is torch.float32
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i // 0
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor' but found 'up'"):
        torch.div(i, 2, rounding_mode="up")


def test_integer_powers():
    assert (torch.tensor([2, 1, -1, -1]) ** torch.tensor([-1, -5, -3, -2])).tolist() == [0, 1, -1, 1]
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        torch.tensor([2]) ** -1
    assert (2 ** torch.arange(4)).tolist() == [1, 2, 4, 8]


def test_unary_float_math_promotes_integers_and_bools():
    assert torch.exp(torch.tensor([0, 1])).dtype is torch.float32
    assert torch.sqrt(torch.tensor([True])).dtype is torch.float32
    assert torch.exp(torch.tensor([0.0], dtype=torch.float16)).dtype is torch.float16
    assert torch.floor(torch.tensor([3])).dtype is torch.int64
    with pytest.raises(NotImplementedError, match="\"abs_cpu\" not implemented for 'Bool'"):
        torch.abs(torch.tensor([True]))


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20))
def test_sigmoid_is_stable_and_matches_its_formula(values):
    x = torch.tensor(values, dtype=torch.float64)
    expected = 1 / (1 + np.exp(-np.array(values)))
    np.testing.assert_allclose(torch.sigmoid(x).numpy(), expected, rtol=1e-12)


def test_out_and_in_place_return_their_target_and_bump_the_version():
    a = torch.tensor([1.0, 2.0])
    out = torch.zeros(2)
    assert torch.mul(a, 2, out=out) is out and out._version == 1
    assert a.mul_(3) is a and a._version == 1
    view = a[:1]
    view += 1
    assert a._version == 2 and a.tolist() == [4.0, 6.0]
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        torch.ones(2, dtype=torch.long).mul_(1.5)


@given(strided_tensors(), st.sampled_from(["add", "sub", "mul", "div", "maximum", "pow", "remainder"]))
def test_results_written_in_place_or_into_out_equal_the_out_of_place_ones(tensor, op):
    """In place and ``out=`` write straight into the target (no temporary): same values,
    the target's own layout kept, one version bump."""
    other = tensor * 0.5 + 1
    expected = getattr(torch, op)(tensor, other)
    target = tensor.clone()
    assert getattr(target, op + "_")(other) is target and target._version == 1
    out = torch.empty_like(tensor.t()).t() if tensor.dim() == 2 else torch.empty_like(tensor)  # a transposed target
    assert getattr(torch, op)(tensor, other, out=out) is out and out._version == 1
    for written in (target, out):
        np.testing.assert_array_equal(written.numpy(), expected.numpy())
    assert target.stride() == tensor.clone().stride()


def test_in_place_keeps_torchs_shape_error_and_out_of_place_results_follow_the_input_layout():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        torch.zeros(3).add_(torch.ones(2, 3))
    a = torch.arange(6.0).view(2, 3)
    assert (a.t() + a.t()).stride() == (1, 3) and (a.t() + a.t().contiguous()).stride() == (1, 3)
    assert (a.t() + a.t()).tolist() == (a.t() * 2).tolist()


@pytest.mark.parametrize("name", ["exp", "expm1", "log", "log2", "log10"])
def test_float32_math_rounded_from_float64_block_by_block_equals_the_whole_computation(name):
    """Large inputs go through float64 a cache-sized block at a time: every block boundary,
    a ragged last block and a strided input give what one whole float64 pass gives."""
    values = np.random.default_rng(5).uniform(0.1, 10, size=(3 * 2**14 + 5, 2)).astype(np.float32)
    strided = torch.tensor(values).t()[:, ::1]  # non-contiguous: read through the transposed view
    expected = getattr(np, name)(values.T.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(getattr(torch, name)(strided).numpy(), expected)


def test_overlap_rules_for_writes():
    x = torch.arange(4.0)
    assert x.add_(x) is x  # exactly the same elements: allowed
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor"):
        x[1:].add_(x[:3])
    expanded = torch.Tensor._make(x._storage, (2, 4), (0, 1))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        expanded.add_(1)
    assert expanded.fill_(1) is expanded  # filling is idempotent: torch checks no overlap


def test_comparisons_logic_and_operators():
    x = torch.tensor([1.0, float("nan")])
    assert (x == x).tolist() == [True, False]
    assert (~torch.tensor([True, False])).tolist() == [False, True]
    assert (~torch.tensor([5])).tolist() == [-6]
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        _ = ~x
    assert torch.equal(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))
    assert torch.allclose(x, x, equal_nan=True) and not torch.allclose(x, x)
    assert hash(x) == hash(x)  # defining == keeps tensors hashable, by identity


def test_isclose_version_follows_torchs_construction():
    x = torch.tensor([1.0, 2.0])
    assert torch.isclose(x, x)._version == 1
    assert torch.isclose(x, x, equal_nan=True)._version == 2
    assert torch.isclose(x, x, rtol=0, atol=0)._version == 0


def test_where_and_clamp_promote():
    x = torch.tensor([-2, 0, 3])
    assert torch.where(x > 0, x, 0.5).dtype is torch.float32
    assert torch.clamp(x, min=0.5).tolist() == [0.5, 0.5, 3.0]
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, but got a tensor"
                                           " with dtype Long"):
        torch.where(x, x, x)


def test_numpy_scalars_defer_to_tensor_operators():
    result = np.float64(0.5) * torch.tensor([2, 4], dtype=torch.int32)
    assert isinstance(result, torch.Tensor) and result.dtype is torch.float32
