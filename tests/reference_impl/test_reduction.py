"""Reductions, scans and sorting, checked without torch (facts about torch are spelled out)."""

import copy
import math
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch

from .strategies import strided_tensors


def dims_of(tensor, data):
    """A drawn set of distinct dims of ``tensor`` (possibly negative), as a tuple."""
    if tensor.dim() == 0:
        return ()
    chosen = data.draw(st.lists(st.integers(0, tensor.dim() - 1), unique=True, min_size=1))
    return tuple(d - tensor.dim() if data.draw(st.booleans()) else d for d in chosen)


# -- sum, mean, prod ----------------------------------------------------------------------------

@settings(max_examples=60)
@given(strided_tensors(), st.data())
def test_sum_and_mean_over_any_dims_match_numpy_with_torchs_shapes(tensor, data):
    dims = dims_of(tensor, data)
    keepdim = data.draw(st.booleans())
    expected = tensor.numpy().astype(np.float64).sum(axis=dims, keepdims=keepdim)
    total = tensor.sum(dims, keepdim=keepdim)
    assert total.shape == expected.shape and total.dtype is torch.float32 and total.is_contiguous()
    np.testing.assert_allclose(total.numpy(), expected, rtol=1e-6)
    count = max(1, int(np.prod([tensor.shape[d] for d in dims])))
    np.testing.assert_allclose(tensor.mean(axis=dims, keepdims=keepdim).numpy(), expected / count, rtol=1e-6)


# -- the order float sums add in ------------------------------------------------------------------
# torch's CPU sum (cascade_sum in aten/src/ATen/native/cpu/SumKernel.cpp) adds in a fixed order,
# written out below loop for loop, one float at a time, as a reference independent of the
# library's reshaped-view version. AVX2 vectors hold 8 float32 (4 float64, 16 float16).

def cascade(values):
    """multi_row_sum for one column: level 0 takes elements in order; every ``step`` of them it
    is emptied into level 1, level 1 into level 2 every ``step`` of those, and level 2 into
    level 3; at the end levels 1, 2, 3 are added to what level 0 holds."""
    n, zero = len(values), values.dtype.type(0)
    power = max(4, (1 if n <= 2 else (n - 1).bit_length()) // 4)
    step = 1 << power
    acc = [zero] * 4
    i = 0
    while i + step <= n:
        for _ in range(step):
            acc[0] = acc[0] + values[i]
            i += 1
        for j in range(1, 4):
            acc[j], acc[j - 1] = acc[j] + acc[j - 1], zero
            if i & ((step - 1) << (j * power)):
                break
    for value in values[i:]:
        acc[0] = acc[0] + value
    for j in range(1, 4):
        acc[0] = acc[0] + acc[j]
    return acc[0]


def row_sum(values):
    """row_sum: cascade k takes elements k, k + 4, k + 8, ...; the elements past the last whole
    group of 4 go into cascade 0; then the 4 are added in order."""
    groups = len(values) // 4
    partial = [cascade(values[k:4 * groups:4]) for k in range(4)]
    for value in values[4 * groups:]:
        partial[0] = partial[0] + value
    return partial[0] + partial[1] + partial[2] + partial[3]


def inner_sum(values, vector=8, lanes=8):
    """vectorized_inner_sum of one contiguous row: lane l of vector i holds element i * vector + l
    (float16: plus element i * vector + lanes + l, in float32); each lane is a row_sum over the
    vectors; then 0 + the elements past the last whole vector + the lanes, in order."""
    count = len(values) // vector
    wide = values.astype(np.float32) if values.dtype == np.float16 else values
    vectors = wide[:count * vector].reshape(count, vector)
    if vector != lanes:
        vectors = vectors[:, :lanes] + vectors[:, lanes:]
    total = wide.dtype.type(0)
    for value in wide[count * vector:]:
        total = total + value
    for lane in range(lanes):
        total = total + row_sum(vectors[:, lane])
    return total


def order_sensitive(shape, seed):
    """float32 values of sizes 1e-3 to 1e3 with both signs: a different order almost always
    rounds differently somewhere."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(np.float32)


def test_sum_over_leading_dim_is_a_cascade_down_each_column_with_row_sum_past_the_last_32():
    values = order_sensitive((1000, 70), 0)
    total = torch.tensor(values).sum(0).numpy()
    expected = [cascade(values[:, j]) if j < 64 else row_sum(values[:, j]) for j in range(70)]
    assert np.array_equal(total, np.array(expected, np.float32))
    # not numpy's order: down axis 0 numpy adds the rows one after another
    assert not np.array_equal(total, np.add.reduce(values, axis=0))
    assert torch.tensor(values).mean(0).numpy().tolist() == (total / np.float32(1000)).tolist()


def test_fewer_than_8_columns_go_down_in_cascades_of_4_columns_then_row_sums():
    values = order_sensitive((300, 7), 1)
    expected = [cascade(values[:, j]) if j < 4 else row_sum(values[:, j]) for j in range(7)]
    assert torch.tensor(values).sum(0).numpy().tolist() == expected


def test_a_contiguous_row_sums_in_32_interleaved_lanes():
    values = order_sensitive((6, 1003), 2)
    rows = torch.tensor(values).sum(1).numpy()
    assert rows.tolist() == [inner_sum(row) for row in values]
    assert torch.tensor(values[0]).sum().item() == inner_sum(values[0])
    assert rows.tolist() != np.add.reduce(values, axis=1).tolist()  # numpy's pairwise order differs
    doubles = values.astype(np.float64) * np.pi
    assert torch.tensor(doubles).sum(1).numpy().tolist() == [inner_sum(row, vector=4, lanes=4) for row in doubles]
    halves = values[:, :300].astype(np.float16)
    assert torch.tensor(halves).sum(1).numpy().tolist() == [
        np.float16(inner_sum(row, vector=16, lanes=8)) for row in halves]  # rounded once, at the end


def test_five_elements_add_the_fifth_into_the_first_of_4_partial_sums():
    # (((1e8 + 1) + 1) + -1e8) + 1: float32 rounds 1e8 + 1 back to 1e8; left to right gives 2.0
    assert torch.tensor([1e8, 1.0, -1e8, 1.0, 1.0]).sum().item() == 1.0


def test_reduced_dims_that_do_not_merge_add_their_slice_sums_one_after_another():
    values = order_sensitive((3, 4, 5), 3)
    expected = []
    for j in range(4):  # dim 2 (contiguous, 5 < 8 elements) row_sums, added over dim 0 in turn
        total = np.float32(0)
        for i in range(3):
            total = total + row_sum(values[i, j, :])
        expected.append(total)
    assert torch.tensor(values).sum((0, 2)).numpy().tolist() == expected


def test_a_transposed_tensor_sums_in_memory_order():
    values = order_sensitive((37, 100), 5)
    transposed = torch.tensor(values).t()
    assert not transposed.is_contiguous()
    assert transposed.sum().item() == inner_sum(values.reshape(-1))  # its dims merge into one
    assert transposed.sum().item() != inner_sum(values.T.reshape(-1))  # not the order of its indices
    assert transposed.sum().item() != np.add.reduce(values.T.reshape(-1))  # nor numpy's pairwise one


def test_sums_start_from_positive_zero():
    assert not np.signbit(torch.tensor([-0.0, -0.0]).sum().item())
    assert not np.signbit(torch.tensor([[-0.0], [-0.0]]).sum(0).numpy()).any()
    assert not np.signbit(torch.tensor([-0.0], dtype=torch.float16).mean().item())


def test_large_sums_down_columns_follow_torch_and_the_rest_stay_within_float32_rounding():
    values = order_sensitive((40000, 20), 5)
    total = torch.tensor(values).sum(0).numpy()  # row_sum for each of these 20 columns, at any size
    assert [total[0], total[19]] == [row_sum(values[:, 0]), row_sum(values[:, 19])]
    flat = values.reshape(-1)  # 800000 contiguous elements: numpy's order above 32768
    exact = np.sum(flat.astype(np.float64))
    assert abs(torch.tensor(flat).sum().item() - exact) <= 1e-6 * np.sum(np.abs(flat.astype(np.float64)))


def peak_bytes_allocated(function):
    """The most memory ``function`` held at once while it ran (numpy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reducing_a_leading_dim_makes_no_copy_of_the_input():
    x = torch.tensor(order_sensitive((1024, 1024), 6))
    size = x.numel() * x.element_size()
    for reduce in (lambda: x.sum(0), lambda: x.mean(0), lambda: x.amax(0), lambda: x.amin(0),
                   lambda: x.max(), lambda: (x.sum(0, keepdim=True), x.sum((0,)))):
        assert peak_bytes_allocated(reduce) < size / 8


def test_sum_widens_bool_and_integers_to_int64_and_casts_to_dtype_first():
    assert torch.tensor([True, True, False]).sum().dtype is torch.int64
    assert torch.tensor([1, 2, 250], dtype=torch.uint8).sum().item() == 253
    assert torch.tensor([1, 2, 250], dtype=torch.uint8).sum(dtype=torch.uint8).dtype is torch.uint8
    assert torch.tensor([100, 100], dtype=torch.int8).sum(dtype=torch.int8).item() == -56  # wraps, as in torch
    assert torch.tensor([1.5, 2.5]).sum(dtype=torch.int64).item() == 3  # cast to 1 and 2 before summing
    assert torch.tensor([1.0, 2.0]).sum(dtype=torch.bool).item() is True


def test_sum_dim_forms_all_mean_every_dim_and_out_sets_the_dtype():
    x = torch.arange(6.0).view(2, 3)
    for every in ((), [], None, (0, 1), (-1, 0)):
        assert x.sum(every).item() == 15.0
    assert x.sum(dim=None, keepdim=True).shape == (1, 1)
    assert x.sum(0, True).tolist() == [[3.0, 5.0, 7.0]]
    out = torch.empty(2, dtype=torch.int64)
    assert torch.sum(x, 1, out=out) is out and out.tolist() == [3, 12]
    with pytest.raises(RuntimeError, match="^dim 0 appears multiple times in the list of dims$"):
        x.sum((0, -2))
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        x.sum(2)


def test_float16_sums_accumulate_in_float32_and_mean_divides_before_rounding():
    h = torch.tensor([60000.0, 60000.0, -60000.0], dtype=torch.float16)
    assert h.sum().item() == 60000.0  # float16 arithmetic would overflow to inf
    assert h.mean().item() == 20000.0
    # float32 sums stay in float32: 1e8 + 1 rounds back to 1e8, as in torch
    assert torch.tensor([1e8, 1.0, -1e8]).sum().item() == 0.0


def test_mean_refuses_integer_input_and_integer_dtypes_with_torchs_words():
    with pytest.raises(RuntimeError, match=r"^mean\(\): could not infer output dtype\. Input dtype must be either a "
                                           r"floating point or complex dtype\. Got: Long$"):
        torch.tensor([1, 2, 4]).mean()
    with pytest.raises(RuntimeError, match=r"Optional dtype must be either a floating point or complex dtype\. "
                                           r"Got: Int$"):
        torch.ones(2).mean(dtype=torch.int32)
    assert torch.tensor([1, 2]).mean(dtype=torch.float64).item() == 1.5
    assert math.isnan(torch.zeros(0, 3).mean().item())
    assert torch.zeros(0, 3).mean(1).shape == (0,)


def test_prod_takes_one_dim_and_has_identity_one():
    x = torch.arange(1.0, 7.0).view(2, 3)
    assert x.prod(1).tolist() == [6.0, 120.0] and x.prod().item() == 720.0
    assert torch.tensor([True, False]).prod().dtype is torch.int64
    assert torch.zeros(0, 3).prod(0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError):
        x.prod((0, 1))


# -- max, min, arg- and a- forms ------------------------------------------------------------------

def test_max_with_dim_is_a_named_tuple_that_prints_like_torch():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    result = x.max(dim=1)
    assert type(result).__name__ == "max" and isinstance(result, tuple) and len(result) == 2
    assert result.values is result[0] and result.indices is result[1]
    assert result.values.tolist() == [5.0, 7.0] and result.indices.tolist() == [1, 0]  # ties: first index
    assert repr(result) == "torch.return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))"
    assert result.n_fields == 2 and copy.deepcopy(result).indices.tolist() == [1, 0]
    values, indices = x.min(axis=0, keepdims=True)
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 0]]
    with pytest.raises(AttributeError, match="^'torch.return_types.max' object has no attribute '_fields'$"):
        _ = result._fields
    with pytest.raises(TypeError, match=r"^torch\.return_types\.sort\(\) takes a 2-sequence \(3-sequence given\)$"):
        torch.return_types.sort((1, 2, 3))


def test_max_without_dim_is_a_0_dim_tensor_and_with_a_tensor_is_maximum():
    x = torch.arange(6.0).view(2, 3)
    assert x.max().shape == () and x.max().item() == 5.0
    assert torch.max(x, torch.tensor(2.0)).tolist() == [[2.0, 2.0, 2.0], [3.0, 4.0, 5.0]]
    assert torch.tensor(5.0).max(0).indices.item() == 0


def test_nan_wins_max_min_argmax_and_amax_at_its_first_position():
    x = torch.tensor([[1.0, math.nan, 3.0, math.nan], [2.0, 0.0, -1.0, 5.0]])
    assert math.isnan(x.max().item()) and math.isnan(x.amin().item())
    assert x.max(1).indices.tolist() == [1, 3] and x.min(1).indices.tolist() == [1, 2]
    assert x.argmax().item() == 1 and x.argmin().item() == 1
    assert torch.tensor([3.0, 1.0, 3.0]).argmax().item() == 0


def test_max_like_reductions_of_nothing_raise_torchs_errors():
    empty = torch.zeros(0, 3)
    with pytest.raises(RuntimeError, match=r"^max\(\): Expected reduction dim to be specified for input\.numel\(\) "
                                           r"== 0\. Specify the reduction dim with the 'dim' argument\.$"):
        empty.max()
    with pytest.raises(IndexError, match=r"^amin\(\): Expected reduction dim -2 to have non-zero size\.$"):
        empty.amin((1, -2))  # named as given; max and argmax name it wrapped
    with pytest.raises(IndexError, match=r"^max\(\): Expected reduction dim 0 to have non-zero size\.$"):
        empty.max(-2)
    with pytest.raises(IndexError, match=r"^argmax\(\): Expected reduction dim to be specified for input\.numel\(\) "
                                         r"== 0\.$"):
        empty.argmax()
    assert empty.max(1).values.shape == (0,) and empty.argmin(1).dtype is torch.int64
    with pytest.raises(RuntimeError, match=r"^argmax\(\): does not support bool input$"):
        torch.tensor([True]).argmax()


def test_argmax_flattens_by_default_and_amax_reduces_tuples():
    x = torch.arange(6.0).view(2, 3)
    assert x.argmax().item() == 5 and x.argmax(keepdim=True).shape == (1, 1)
    assert x.argmax(axis=1).tolist() == [2, 2]
    assert x.amax((0, 1)).item() == 5.0 and x.amax(0, keepdim=True).tolist() == [[3.0, 4.0, 5.0]]


# -- var, std ---------------------------------------------------------------------------------------

def test_var_and_std_corrections_and_unbiased_forms():
    x = torch.arange(6.0).view(2, 3)
    assert x.var().item() == pytest.approx(3.5)
    assert x.var(correction=0).item() == pytest.approx(35 / 12)
    assert x.std(False).item() == pytest.approx(math.sqrt(35 / 12))  # the std(unbiased) overload
    assert x.std(1, False, True).shape == (2, 1)
    assert x.var(axis=0, keepdims=True).tolist() == [[4.5, 4.5, 4.5]]
    with pytest.raises(RuntimeError, match="^std and var only support floating point and complex dtypes$"):
        torch.tensor([1, 2]).std()


def test_var_warns_when_degrees_of_freedom_run_out():
    message = ("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor"
               " (input numel divided by output numel).")
    x = torch.arange(6.0).view(2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert x.var(0, correction=2).tolist() == [math.inf] * 3
        assert math.isnan(torch.tensor([1.0]).var().item())
        assert torch.zeros(0, 3).var(1).shape == (0,)
    assert [str(w.message) for w in caught] == [message] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.var(correction=0).dtype is torch.float32


# -- any, all -----------------------------------------------------------------------------------------

def test_any_all_give_bool_except_for_uint8_and_an_empty_dim_tuple_reduces_nothing():
    x = torch.arange(6.0).view(2, 3)
    assert x.all(1).tolist() == [False, True] and x.any().item() is True
    assert x.all(()).shape == (2, 3)
    assert torch.tensor([0, 2], dtype=torch.uint8).all().dtype is torch.uint8
    assert torch.tensor([math.nan]).all().item() is True
    assert torch.zeros(0).all().item() is True and torch.zeros(0).any().item() is False


# -- scans ----------------------------------------------------------------------------------------------

def test_cumsum_dtypes_and_float32_runs_in_double():
    assert torch.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]
    assert torch.tensor([1, 2], dtype=torch.uint8).cumprod(0).dtype is torch.int64
    assert torch.arange(6.0).view(2, 3).cumsum(axis=1).tolist() == [[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]
    assert torch.tensor([0.1] * 10).cumsum(0).tolist()[-1] == 1.0  # float32 steps would give 1.0000001
    assert torch.tensor([1e8, 1.0, -1e8]).cumsum(0).tolist()[-1] == 1.0
    assert torch.tensor(3.0).cumsum(0).shape == ()
    with pytest.raises(NotImplementedError, match="^\"cumsum_out_cpu\" not implemented for 'Bool'$"):
        torch.tensor([True]).cumsum_(0)
    with pytest.raises(TypeError, match=r"^cumsum\(\): argument 'dim' \(position 1\) must be int, not tuple$"):
        torch.ones(2).cumsum((0,))


def test_in_place_scans_keep_the_dtype_and_bump_the_version():
    x = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int32)
    assert x.cumprod_(1) is x and x.dtype is torch.int32 and x._version == 1
    assert x.tolist() == [[1, 2, 6], [4, 20, 120]]


# -- sort, topk, unique -------------------------------------------------------------------------------

@settings(max_examples=60)
@given(st.lists(st.sampled_from([0.0, 1.0, -2.0, math.nan, math.inf]), min_size=1, max_size=12), st.booleans())
def test_sort_is_stable_with_nan_largest(values, descending):
    result = torch.tensor(values).sort(descending=descending)
    indices = result.indices.tolist()
    assert sorted(indices) == list(range(len(values)))
    sign = -1 if descending else 1
    key = [(sign, 0.0) if math.isnan(v) else (0, sign * v) for v in values]  # NaN after (before) every number
    assert indices == sorted(range(len(values)), key=lambda i: (key[i], i))


def test_sort_values_keep_a_dense_input_layout():
    base = torch.arange(12.0).view(3, 4)
    transposed = torch.Tensor._make(base._storage, (4, 3), (1, 4))
    values, indices = transposed.sort(0, descending=True)
    assert values.stride() == (1, 4) and indices.stride() == (1, 4)
    assert values[:, 0].tolist() == [3.0, 2.0, 1.0, 0.0]
    assert type(transposed.sort()).__name__ == "sort"
    assert torch.tensor([3, 1, 2, 1]).argsort(descending=True).tolist() == [0, 2, 1, 3]


def test_topk_values_and_errors():
    x = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0])
    assert x.topk(2).values.tolist() == [5.0, 4.0] and x.topk(2).indices.tolist() == [4, 2]
    assert x.topk(2, largest=False).indices.tolist() == [1, 3]
    assert torch.tensor([3.0, math.nan, 4.0]).topk(1).indices.tolist() == [1]
    assert x.topk(0).values.shape == (0,)
    with pytest.raises(RuntimeError, match="^selected index k out of range$"):
        x.topk(6)
    with pytest.raises(RuntimeError, match="^topk does not support bool dtypes on CPU$"):
        torch.tensor([True]).topk(1)


def test_unique_sorts_and_returns_inverse_and_counts():
    x = torch.tensor([[3, 1], [2, 1]])
    values, inverse, counts = torch.unique(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [[2, 0], [1, 0]] and counts.tolist() == [2, 1, 1]
    assert torch.tensor([3, 1, 2]).unique(sorted=False).tolist() == [1, 2, 3]
    assert len(torch.tensor([1.0, math.nan, math.nan]).unique()) == 3  # NaNs are never equal
    assert torch.tensor(5).unique().shape == (1,)


def test_unique_along_a_dim_moves_it_back_as_torch_does():
    x = torch.arange(24).view(2, 3, 4)
    result = x.unique(dim=2)
    assert result.shape == (2, 3, 4) and result.stride() == (3, 1, 6)
    rows, inverse, counts = torch.tensor([[1, 2], [1, 2], [0, 5]]).unique(dim=0, return_inverse=True,
                                                                         return_counts=True)
    assert rows.tolist() == [[0, 5], [1, 2]] and inverse.tolist() == [1, 1, 0] and counts.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="There are 0 sized dimensions, and they aren't selected"):
        torch.zeros(3, 0).unique(dim=0)


# -- autograd ------------------------------------------------------------------------------------------

def grad_of(make, values=((1.0, 3.0, 3.0), (2.0, 0.0, 2.0))):
    """The gradient that ``make(x)`` (summed with weights 1, 2, 3 …) sends to a leaf ``x``."""
    x = torch.tensor([list(row) for row in values], requires_grad=True) if isinstance(values[0], tuple) \
        else torch.tensor(list(values), requires_grad=True)
    result = make(x)
    weights = torch.arange(1.0, result.numel() + 1.0).view(result.shape)
    (result * weights).sum().backward()
    return x.grad.tolist()


def test_reductions_record_torchs_nodes():
    x = torch.ones(2, 3, requires_grad=True)
    names = {
        "SumBackward0": x.sum(), "SumBackward1": x.sum(0), "MeanBackward1": x.mean(1), "ProdBackward1": x.prod(1),
        "MaxBackward1": x.max(), "MinBackward0": x.min(0).values, "AmaxBackward0": x.amax(),
        "VarBackward0": x.var(0), "StdBackward0": x.std(), "CumsumBackward0": x.cumsum(1),
        "SortBackward0": x.sort().values, "TopkBackward0": x.topk(1).values,
    }
    for name, result in names.items():
        assert type(result.grad_fn).__name__ == name
    assert x.max(0).indices.grad_fn is None and x.argmax().grad_fn is None
    with torch.no_grad():
        assert x.sum().grad_fn is None


def test_gradients_of_sum_mean_and_prod_with_zeros():
    assert grad_of(lambda x: x.sum(1, keepdim=True)) == [[1.0] * 3, [2.0] * 3]
    np.testing.assert_allclose(grad_of(lambda x: x.mean()), [[1 / 6] * 3] * 2, rtol=1e-6)
    assert grad_of(lambda x: x.prod(1)) == [[9.0, 3.0, 3.0], [0.0, 8.0, 0.0]]  # a zero gets the others' product
    assert grad_of(lambda x: x.prod(), (2.0, 0.0, 3.0, 0.0)) == [0.0] * 4
    assert grad_of(lambda x: x.prod(), (2.0, 0.0, 3.0, 4.0)) == [0.0, 24.0, 0.0, 0.0]


def test_extremes_share_the_gradient_among_ties_but_max_dim_picks_its_index():
    assert grad_of(lambda x: x.max()) == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    assert grad_of(lambda x: x.amax(1)) == [[0.0, 0.5, 0.5], [1.0, 0.0, 1.0]]
    assert grad_of(lambda x: x.max(1).values) == [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]


def test_gradients_of_variance_and_scans():
    np.testing.assert_allclose(grad_of(lambda x: x.var(1)), [[-4 / 3, 2 / 3, 2 / 3], [4 / 3, -8 / 3, 4 / 3]],
                               rtol=1e-6)
    assert grad_of(lambda x: x.cumsum(1)) == [[6.0, 5.0, 3.0], [15.0, 11.0, 6.0]]
    # torch's values: the first zero gets the product before it times what follows; later ones get 0
    assert grad_of(lambda x: x.cumprod(0), (2.0, 0.0, 3.0, 0.0, 5.0)) == [1.0, 22.0, 0.0, 0.0, 0.0]
    assert grad_of(lambda x: x.cumprod(0), (2.0, 1.0, 0.0, 3.0)) == [3.0, 4.0, 30.0, 0.0]


def test_sort_and_topk_send_gradients_back_where_values_came_from():
    assert grad_of(lambda x: x.sort(1).values) == [[1.0, 2.0, 3.0], [5.0, 4.0, 6.0]]
    assert grad_of(lambda x: x.topk(2).values, ((1.0, 4.0, 3.0), (2.0, 0.0, 5.0))) == [[0.0, 1.0, 2.0], [4.0, 0.0, 3.0]]
