"""reference_impl's tensor core, checked without torch (facts about torch are spelled out)."""

import numpy as np
import pytest
from hypothesis import given

import reference_impl as torch
from reference_impl import _dtype

from .strategies import strided_tensors


def address_range(array):
    low, high = np.byte_bounds(array) if hasattr(np, "byte_bounds") else np.lib.array_utils.byte_bounds(array)
    return low, high


def test_dtypes_print_like_torch_and_aliases_are_the_same_objects():
    assert repr(torch.float32) == "torch.float32"
    assert torch.float is torch.float32 and torch.long is torch.int64 and torch.double is torch.float64
    assert torch.half is torch.float16 and torch.int is torch.int32 and torch.short is torch.int16


def test_size_is_a_tuple_that_prints_like_torch():
    x = torch.zeros(5, 3)
    assert x.size() == (5, 3) and x.shape == x.size()
    assert repr(x.shape) == "torch.Size([5, 3])"
    assert isinstance(x.shape[1:], torch.Size)


def test_data_ptr_is_the_real_address_of_the_first_element():
    x = torch.arange(12).view(3, 4)
    row = x[1]
    assert x.data_ptr() == x.numpy().__array_interface__["data"][0]
    assert row.data_ptr() == x.data_ptr() + 4 * x.element_size()
    assert row.storage_offset() == 4 and row.stride() == (1,)


def test_views_and_slices_share_storage_and_see_writes():
    x = torch.zeros(5, 3)
    v = x.view(15)
    row = x[0, :]
    block = x[1:3]
    row += 1
    block[:] = 7
    assert v.tolist()[:3] == [1.0, 1.0, 1.0]
    assert v.tolist()[3:9] == [7.0] * 6
    assert x._storage is v._storage is row._storage is block._storage


def test_clone_copies_and_keeps_a_dense_permuted_layout():
    x = torch.ones(2, 3)
    c = x.clone()
    c += 1
    assert x.tolist() == [[1.0] * 3] * 2
    transposed = torch.Tensor._make(x._storage, (3, 2), (1, 3))
    assert transposed.clone().stride() == (1, 3)
    assert x[:, ::2].clone().stride() == (2, 1)


@given(strided_tensors())
def test_clone_equals_original_values_on_any_layout(tensor):
    copy = tensor.clone()
    np.testing.assert_array_equal(copy.numpy(), tensor.numpy())
    assert copy._storage is not tensor._storage


def test_three_forms_of_addition_and_identity_of_in_place_results():
    x = torch.tensor([1.0, 2.0])
    y = torch.tensor([3.0, 4.0])
    assert (x + y).tolist() == [4.0, 6.0]
    result = torch.empty(2)
    assert torch.add(x, y, out=result) is result and result.tolist() == [4.0, 6.0]
    assert y.add_(x) is y and y.tolist() == [4.0, 6.0]
    before = y
    y += 1
    assert y is before


def test_add_broadcasts_and_promotes_like_torch():
    row = torch.arange(1, 3).view(1, 2)
    column = torch.arange(1, 4).view(3, 1)
    assert (row + column).tolist() == [[2, 3], [3, 4], [4, 5]]
    assert (torch.ones(2, dtype=torch.int32) + 2.5).dtype is torch.float32
    assert (torch.ones(2, dtype=torch.uint8) + torch.tensor(300)).dtype is torch.uint8
    assert (torch.ones(2, dtype=torch.int64) + torch.ones(2, dtype=torch.float16)).dtype is torch.float16
    assert (torch.ones(2, dtype=torch.bool) + True).dtype is torch.bool
    assert (torch.ones(2, dtype=torch.int8) + torch.ones(2, dtype=torch.uint8)).dtype is torch.int16


def test_promote_types_is_symmetric_and_never_lowers_the_category():
    for a in _dtype.ALL:
        for b in _dtype.ALL:
            result = torch.promote_types(a, b)
            assert result is torch.promote_types(b, a)
            assert result.category == max(a.category, b.category)


def test_in_place_and_out_refuse_a_lossy_result_type():
    longs = torch.zeros(3, dtype=torch.long)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        longs.add_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        torch.add(torch.ones(3), torch.ones(3), out=longs)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        torch.ones(3).add_(torch.ones(2, 3))


def test_out_with_the_wrong_shape_is_resized_with_torchs_warning():
    out = torch.zeros(2)
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        torch.add(torch.ones(2, 3), 1, out=out)
    assert out.shape == (2, 3) and out.tolist() == [[2.0] * 3] * 2


def test_subtraction_and_its_bool_errors():
    x = torch.tensor([5, 7])
    assert (x - 2).tolist() == [3, 5] and (10 - x).tolist() == [5, 3]
    assert torch.sub(x, x, alpha=2).tolist() == [-5, -7]
    with pytest.raises(RuntimeError, match="with two bool tensors is not supported"):
        torch.tensor([True]) - torch.tensor([False])
    with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
        x - True


def test_view_errors_match_torch():
    x = torch.zeros(5, 3)
    with pytest.raises(RuntimeError, match=r"shape '\[4\]' is invalid for input of size 15"):
        x.view(4)
    transposed = torch.Tensor._make(x._storage, (3, 5), (1, 3))
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        transposed.view(15)


def test_indexing_errors_match_torch():
    x = torch.zeros(5, 3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 5"):
        x[5]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    assert x[None, ..., 1].shape == (1, 5)
    assert x[-1].storage_offset() == 12


def test_numpy_shares_memory_both_ways():
    a = torch.ones(5)
    b = a.numpy()
    a += 1
    b += 1
    assert a.tolist() == [3.0] * 5
    n = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = torch.from_numpy(n)
    assert t.stride() == (4, 2) and t.dtype is torch.float64
    n += 1
    assert t.tolist() == n.tolist()
    assert address_range(t.numpy()) == address_range(n)


def test_numpy_gives_a_new_view_each_time_so_reshaping_it_cannot_change_the_tensor():
    a = torch.arange(6.0).view(2, 3)
    first, second = a.numpy(), a.numpy()
    assert first is not second  # as torch: a new ndarray per call
    first.shape = (3, 2)  # in place, on the user's object only
    assert a.shape == (2, 3) and a.numpy().shape == (2, 3) and (a + 0).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_a_tensor_that_changes_layout_in_place_reads_its_new_elements():
    a = torch.arange(6.0)
    a.numpy()  # the tensor's numpy view exists now
    a.resize_(2, 2)
    assert a.numpy().shape == (2, 2) and (a * 1).tolist() == [[0, 1], [2, 3]]
    a.t_()
    assert (a * 1).tolist() == [[0, 2], [1, 3]]
    b = torch.zeros(3)
    a.data = b
    assert (a + 1).tolist() == [1.0, 1.0, 1.0]


def test_from_numpy_refuses_negative_strides():
    with pytest.raises(ValueError, match="At least one stride in the given numpy array is negative"):
        torch.from_numpy(np.ones(4)[::-1])


def test_tensor_always_copies_and_infers_dtypes_like_torch():
    n = np.ones(3)
    c = torch.tensor(n)
    n += 1
    assert c.tolist() == [1.0, 1.0, 1.0]
    assert torch.tensor([5.5, 3]).dtype is torch.float32
    assert torch.tensor([1, 2]).dtype is torch.int64
    assert torch.tensor([True, False]).dtype is torch.bool
    assert torch.tensor([True, 2]).dtype is torch.int64
    assert torch.tensor(3).dim() == 0
    with pytest.raises(ValueError, match=r"expected sequence of length 2 at dim 1 \(got 3\)"):
        torch.tensor([[1, 2], [3, 4, 5]])


def test_arange_counts_and_dtypes():
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert torch.arange(1, 3).dtype is torch.int64
    assert torch.arange(0.0, 1.0, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert torch.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        torch.arange(0, 10, 0)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        torch.arange(10, 0, 1)


def test_repr_follows_torch_formatting_rules():
    assert repr(torch.tensor([5.5, 3])) == "tensor([5.5000, 3.0000])"
    assert repr(torch.ones(2, 2, dtype=torch.float64)) == "tensor([[1., 1.],\n        [1., 1.]], dtype=torch.float64)"
    assert repr(torch.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(torch.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(torch.tensor(2.5)) == "tensor(2.5000)"
    assert repr(torch.arange(3, dtype=torch.int32)) == "tensor([0, 1, 2], dtype=torch.int32)"
    assert repr(torch.arange(2000)).startswith("tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")


def test_direct_construction_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="use reference_impl.tensor"):
        torch.Tensor([1, 2])


def test_result_type_refuses_what_is_neither_a_tensor_nor_a_number():
    assert torch.result_type(torch.tensor([1]), 2.5) is torch.float32
    with pytest.raises(TypeError, match=r"invalid combination of arguments - got \(Tensor, list\)"):
        torch.result_type(torch.tensor(1), [1])


def test_results_from_host_values_stay_on_the_cpu_whatever_kind_of_values():
    from reference_impl import _ops

    for values in ([1.0, 2.0], np.array([1.0, 2.0]), np.float32(1.5), 2.5):
        result = _ops.new_tensor(values, torch.float32)
        assert result.device == torch.device("cpu") and result.dtype is torch.float32
        np.testing.assert_array_equal(result.numpy(), np.asarray(values, np.float32))
