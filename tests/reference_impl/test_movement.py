"""Movement ops and indexing, without torch: values are checked against numpy, and torch's
strides, error texts and warnings are spelled out as facts."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as torch
from reference_impl import _layout

from .strategies import strided_tensors


def shares(a, b):
    return np.shares_memory(a._array(), b._array())


# -- views ----------------------------------------------------------------------------------------


@given(strided_tensors(), st.data())
def test_permute_reorders_like_numpy_and_shares_memory(tensor, data):
    order = data.draw(st.permutations(range(tensor.dim())))
    view = tensor.permute(*order) if order else tensor.permute(())
    np.testing.assert_array_equal(view._array(), np.transpose(tensor._array(), order))
    assert view.stride() == tuple(tensor.stride()[d] for d in order) and shares(view, tensor)


@given(strided_tensors(), st.data())
def test_reshape_is_a_view_exactly_when_view_strides_allow_one(tensor, data):
    shape = data.draw(st.permutations(tuple(tensor.shape))) if tensor.dim() else ()
    result = tensor.reshape(tuple(shape))
    np.testing.assert_array_equal(result._array(), tensor._array().reshape(tuple(shape)))
    viewable = _layout.view_strides(tensor.shape, tensor.stride(), tuple(shape)) is not None
    assert shares(result, tensor) == (viewable and tensor.numel() > 0)
    assert result.is_contiguous() or viewable


def test_transpose_family_strides():
    x = torch.arange(24.0).view(2, 3, 4)
    assert x.transpose(0, 2).stride() == (1, 4, 12)
    assert x.permute(2, 0, 1).stride() == (1, 12, 4)
    assert x.movedim(0, -1).stride() == (4, 1, 12)
    assert x.mT.stride() == (12, 1, 4)
    assert x[0].t().stride() == (1, 4)
    assert torch.tensor(1.0).transpose(0, -1).shape == ()


def test_t_and_permute_errors_match_torch():
    with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"):
        torch.zeros(2, 3, 4).t()
    with pytest.raises(RuntimeError, match=r"input.dim\(\) = 2 is not equal to len\(dims\) = 1"):
        torch.zeros(2, 3).permute(0)
    with pytest.raises(RuntimeError, match=r"permute\(\): duplicate dims are not allowed."):
        torch.zeros(2, 3).permute(1, -1)
    with pytest.raises(TypeError, match='permute\\(\\) missing 1 required positional arguments: "dims"'):
        torch.zeros(2, 3).permute()
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in `source` \(\[0, -3\]\)"):
        torch.zeros(2, 3, 4).movedim((0, -3), (1, 2))


def test_reversed_dims_warn_beyond_matrices_and_mT_needs_two_dims():
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        assert torch.zeros(2, 3, 4).T.shape == (4, 3, 2)
    scalar = torch.tensor(1.0)
    with pytest.warns(UserWarning, match="Tensor.mT is deprecated on 0-D tensors"):
        assert scalar.mT is scalar
    with pytest.raises(RuntimeError, match="tensor.mT is only supported on matrices or batches of matrices"):
        _ = torch.zeros(3).mT
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.zeros(2, 3).T.shape == (3, 2)


def test_flatten_views_copies_and_identity():
    x = torch.arange(12.0).view(3, 4)
    assert shares(x.flatten(), x) and x.flatten(1) is x
    assert not shares(x.t().flatten(), x)
    assert x[:, ::2].flatten(0, 1).stride() == (2,)
    assert torch.tensor(3.0).flatten().shape == (1,)
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        torch.zeros(2, 3, 4).flatten(2, 1)


def test_contiguous_returns_self_or_a_row_major_copy():
    x = torch.arange(6.0).view(2, 3)
    assert x.contiguous() is x
    copy = x.t().contiguous()
    assert copy.stride() == (2, 1) and not shares(copy, x) and copy.tolist() == [[0, 3], [1, 4], [2, 5]]


def test_squeeze_and_unsqueeze():
    x = torch.zeros(1, 3, 1, 2)
    assert x.squeeze().shape == (3, 2) and x.squeeze(1).shape == (1, 3, 1, 2)
    assert x.squeeze((0, 2)).shape == (3, 2) and torch.tensor(1.0).squeeze(-1).shape == ()
    # torch strides a new dim like the extent of the dim it lands before
    y = torch.arange(6.0).view(2, 3)[:, ::2]
    assert y.unsqueeze(1).stride() == (3, 4, 2) and y.unsqueeze(2).stride() == (3, 2, 1)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.squeeze((0, 0))
    in_place = torch.zeros(3)
    assert in_place.unsqueeze_(0) is in_place and in_place.shape == (1, 3) and in_place._version == 1


@given(st.lists(st.integers(1, 3), min_size=0, max_size=3), st.data())
def test_expand_matches_numpy_broadcasting_with_stride_zero(shape, data):
    base = torch.arange(float(np.prod(shape, dtype=int))).view(*shape) if shape else torch.tensor(1.0)
    lead = data.draw(st.lists(st.integers(0, 3), max_size=2))
    target = [data.draw(st.sampled_from([-1, size, 4] if size == 1 else [-1, size])) for size in shape]
    expanded = base.expand(tuple(lead) + tuple(target))
    numpy_shape = tuple(lead) + tuple(size if t == -1 else t for size, t in zip(shape, target))
    np.testing.assert_array_equal(expanded._array(), np.broadcast_to(base._array(), numpy_shape))
    assert all(stride == 0 for size, stride in zip(expanded.shape[:len(lead)], expanded.stride()) if size != 1)


def test_expand_errors_match_torch():
    with pytest.raises(RuntimeError, match=r"expand\(torch.FloatTensor\{\[2, 3\]\}, size=\[3\]\): the number of sizes"):
        torch.zeros(2, 3).expand(3)
    with pytest.raises(RuntimeError, match=r"isn't allowed in a leading, non-existing dimension 0"):
        torch.zeros(2, 3).expand(-1, 2, 3)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the existing size \(2\)"):
        torch.zeros(2, 3).expand(4, 3)
    assert torch.zeros(2, 3).expand(1, 2, 3).stride() == (6, 3, 1)
    assert torch.tensor(5.0).expand(2, 1).stride() == (0, 0)


def test_split_chunk_unbind_narrow_select_are_views():
    x = torch.arange(10.0)
    assert [p.shape[0] for p in x.split(4)] == [4, 4, 2]
    assert [p.storage_offset() for p in torch.split(x, [2, 3, 5])] == [0, 2, 5]
    assert [p.shape[0] for p in torch.arange(6).chunk(4)] == [2, 2, 2]  # torch gives fewer chunks
    assert len(torch.zeros(0).chunk(3)) == 3
    m = x.view(2, 5)
    assert [r.tolist() for r in m.unbind(1)][1] == [1.0, 6.0]
    assert m.narrow(-1, -2, 2).storage_offset() == 3 and m.select(1, -1).tolist() == [4.0, 9.0]
    assert all(shares(piece, x) for piece in x.chunk(3) + m.unbind())


def test_part_errors_match_torch():
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly to 3"):
        torch.zeros(2, 3).split([1, 1], 1)
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        torch.zeros(3).split(0)
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)."):
        torch.zeros(2, 3).narrow(1, 2, 2)
    with pytest.raises(IndexError, match=r"start out of range \(expected to be in range of \[-3, 3\], but got -4\)"):
        torch.zeros(2, 3).narrow(1, -4, 1)
    with pytest.raises(IndexError, match=r"select\(\): index 3 out of range for tensor of size \[2, 3\] at dim"):
        torch.zeros(2, 3).select(-1, 3)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        torch.zeros(3).chunk(0)
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        torch.tensor(1.0).unbind()


# -- copies -----------------------------------------------------------------------------------------


@given(st.lists(st.integers(0, 3), min_size=1, max_size=3), st.integers(1, 3), st.data())
def test_cat_and_stack_match_numpy(shape, count, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    parts = []
    for i in range(count):
        part_shape = list(shape)
        part_shape[dim] = data.draw(st.integers(0, 2))
        parts.append(torch.full(part_shape, float(i)))
    np.testing.assert_array_equal(torch.cat(parts, dim)._array(), np.concatenate([p._array() for p in parts], dim))
    same = [torch.full(shape, float(i)) for i in range(count)]
    np.testing.assert_array_equal(torch.stack(same, dim)._array(), np.stack([p._array() for p in same], dim))


def test_cat_promotes_and_skips_legacy_empty_tensors():
    ints = torch.arange(6).view(2, 3)
    assert torch.cat([torch.arange(6.0).view(2, 3), ints]).dtype is torch.float32
    joined = torch.cat([torch.zeros(0, dtype=torch.int64), ints.bool()])
    assert joined.dtype is torch.int64 and joined.shape == (2, 3)
    assert torch.cat([torch.zeros(0), torch.zeros(0)], dim=5).shape == (0,)
    with pytest.raises(RuntimeError, match="Expected size 3 but got size 2 for tensor number 1 in the list."):
        torch.cat([torch.zeros(2, 3), torch.zeros(2, 2)])
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 0\) cannot be concatenated"):
        torch.cat([torch.tensor(1.0)])
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        torch.cat([])
    with pytest.raises(RuntimeError, match=r"but got \[2, 3\] at entry 0 and \[3, 2\] at entry 1"):
        torch.stack([torch.zeros(2, 3), torch.zeros(3, 2)])


@given(strided_tensors(), st.data())
def test_flip_matches_numpy_and_keeps_a_dense_layout(tensor, data):
    dims = data.draw(st.lists(st.integers(0, max(tensor.dim() - 1, 0)), unique=True)) if tensor.dim() else []
    flipped = tensor.flip(dims) if dims else tensor.flip(())
    np.testing.assert_array_equal(flipped._array(), np.flip(tensor._array(), dims) if dims else tensor._array())
    assert flipped.stride() == tensor.clone().stride() and not shares(flipped, tensor)


def test_repeat_tiles_and_checks_its_sizes():
    x = torch.arange(6.0).view(2, 3)
    np.testing.assert_array_equal(x.repeat(2, 1, 2)._array(), np.tile(x._array(), (2, 1, 2)))
    assert torch.tensor(3).repeat(2).tolist() == [3, 3]
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions of tensor"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -2: \[-2, 3\]"):
        x.repeat(-1, 1)


def test_index_select_gather_masked_select():
    x = torch.arange(6.0).view(2, 3)
    assert x.index_select(1, torch.tensor([2, 0, 2])).tolist() == [[2, 0, 2], [5, 3, 5]]
    assert torch.tensor(5.0).index_select(0, torch.tensor([0])).shape == ()
    assert x.gather(1, torch.tensor([[0, 0], [2, 1]])).tolist() == [[0, 0], [5, 4]]
    assert x.masked_select(torch.tensor([True, False, True])).tolist() == [0, 2, 3, 5]
    # torch's kernels word an out-of-range index differently depending on the path
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(0, torch.tensor([-1]))
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=3 axis_dim=3"):
        x.index_select(1, torch.tensor([3]))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, torch.tensor([[3], [2]]))
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        x.masked_select(torch.tensor([1, 0, 1]))


def test_nonzero_is_laid_out_column_by_column():
    x = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0]])
    positions = torch.nonzero(x)
    assert positions.tolist() == [[0, 1], [0, 2], [1, 0], [1, 2]] and positions.stride() == (1, 4)
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 0, 1, 1] and cols.storage_offset() == 4
    assert torch.tensor(5.0).nonzero().shape == (1, 0) and torch.zeros(0, 3).nonzero().stride() == (1, 0)


# -- indexing -------------------------------------------------------------------------------------------


def test_basic_indexing_strides_follow_torchs_order():
    x = torch.arange(12.0).view(3, 4)
    assert x[None, :, 1].stride() == (12, 4)  # None before the select sees all of x
    assert x[:, None, ::2].stride() == (4, 4, 2)
    assert x[..., None].stride() == (4, 1, 1)
    assert x[torch.tensor(1)].storage_offset() == 4 and shares(x[torch.tensor(1)], x)
    assert x[...] is not x and shares(x[...], x)


index_parts = st.one_of(
    st.integers(-2, 1).map(lambda i: ("int", i)),
    st.sampled_from([slice(None), slice(1, None), slice(None, None, 2)]).map(lambda s: ("slice", s)),
    st.lists(st.integers(-2, 1), min_size=1, max_size=3).map(lambda values: ("list", values)),
)


@given(st.lists(index_parts, min_size=1, max_size=3))
def test_mixed_indexing_matches_torchs_rule_computed_with_numpy(parts):
    """torch applies ints and slices first, one by one, then all list indices together on
    what is left (numpy would treat the ints as index arrays too)."""
    base = np.arange(24.0).reshape(2, 2, 6)
    try:
        view, dim, advanced = base, 0, {}
        for kind, value in parts:
            if kind == "list":
                advanced[dim] = np.array(value)
            else:
                view = view[(slice(None),) * dim + (value,)]
            dim += kind != "int"
        expected = view[tuple(advanced.get(d, slice(None)) for d in range(view.ndim))]
    except IndexError:
        with pytest.raises(IndexError):
            torch.tensor(base)[tuple(value for _, value in parts)]
        return
    np.testing.assert_array_equal(torch.tensor(base)[tuple(value for _, value in parts)]._array(), expected)


def test_advanced_indexing_copies_and_places_dims_like_numpy():
    x = torch.arange(24.0).view(2, 3, 4)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    assert x[mask, 1].tolist() == [1.0, 9.0, 17.0, 21.0]
    assert x[[0, 1], :, [1, 2]].shape == (2, 3) and x[:, [0, 2], [1, 3]].shape == (2, 2)
    assert x[True, [0, 1]].shape == (2, 3, 4) and x[False].shape == (0, 2, 3, 4)
    assert not shares(x[[0]], x) and x[[]].shape == (0, 3, 4)


def test_advanced_indexing_result_follows_the_inputs_memory_order():
    # torch's index kernel is a TensorIterator: its output takes the input's layout
    y = torch.arange(24.0).view(2, 3, 4).permute(2, 0, 1)
    assert y[1:, torch.tensor([-1])].stride() == (1, 3, 3)
    assert y[[0, 2]].stride() == (6, 3, 1) and y[:, :, [1, 0]].stride() == (2, 8, 1)
    assert torch.tensor(3.0)[False, None].stride() == (1, 1)


def test_tensor_iterator_outputs_follow_their_inputs_layout():
    transposed = ((3, 2), (1, 3))
    assert _layout.iteration_output_strides((3, 2), [transposed]) == (1, 3)
    assert _layout.iteration_output_strides((3, 2), [((3, 2), (2, 1)), transposed]) == (2, 1)  # first input decides
    assert _layout.iteration_output_strides((3, 2), [((2,), (1,))]) == (2, 1)  # broadcast: row-major
    assert _layout.iteration_order((2, 3, 4), [((2, 3, 4), (1, 8, 2))]) == [0, 2, 1]


def test_assignment_stops_at_the_first_bad_index_after_writing_the_ones_before():
    x = torch.arange(6.0).view(2, 3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        x[[1, 0, 5]] = 5.0
    assert x.tolist() == [[5.0] * 3] * 2 and x._version == 0
    x = torch.arange(6.0).view(2, 3)
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 3"):
        x[:, [2, 7]] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[0.0, 1.0, 1.0], [3.0, 4.0, 5.0]]


def test_indexing_errors_match_torch():
    x = torch.zeros(2, 3)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[:, [0, 3]]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 2"):
        x[None, 5]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        torch.tensor(1.0)[0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        torch.tensor(1.0)[0, ]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x[torch.tensor([1.0])]
    with pytest.raises(IndexError, match=r"The shape of the mask \[2\] at index 0 does not match the shape of"
                                         r" the indexed tensor \[2, 3\] at index 1"):
        x[:, torch.tensor([True, False])]
    with pytest.raises(IndexError, match=r"could not be broadcast together with shapes \[2\], \[3\]"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="index is out of bounds for dimension with size 0"):
        torch.zeros(2, 0)[:, [0]]
    with pytest.warns(UserWarning, match="Using a non-tuple sequence for multidimensional indexing"):
        assert x[[slice(None), 0]].shape == (2,)
    with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
        assert x[torch.tensor([0, 1], dtype=torch.uint8)].shape == (1, 3)


# -- assignment -------------------------------------------------------------------------------------------


def test_setitem_strips_leading_ones_casts_and_checks_scalars():
    x = torch.zeros(2, 3)
    x[0] = torch.tensor([[[1.0, 2.0, 3.0]]])
    x[1] = torch.tensor([7, 8, 9])
    assert x.tolist() == [[1, 2, 3], [7, 8, 9]] and x._version == 2
    small = torch.zeros(3, dtype=torch.uint8)
    small[0] = -1  # integers wrap into unsigned types from below, as in torch
    assert small.tolist() == [255, 0, 0]
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t without overflow"):
        small[1] = 300
    with pytest.raises(RuntimeError, match="value cannot be converted to type int64_t without overflow"):
        torch.zeros(1, dtype=torch.int64)[0] = float("nan")
    with pytest.raises(TypeError, match="can't assign a list to a torch.FloatTensor"):
        x[0] = [1, 2, 3]
    with pytest.raises(RuntimeError, match=r"expand\(torch.FloatTensor\{\[2, 3\]\}, size=\[3\]\)"):
        x[0] = torch.ones(2, 3)


def test_setitem_through_masks_and_index_tensors():
    x = torch.zeros(2, 3)
    x[torch.tensor([True, False])] = torch.tensor([5.0])
    x[[1, 1], [0, 2]] = torch.tensor([[6.0, 7.0]])
    x[x > 5.5] = 0
    x[False] = torch.ones(7)  # writes nothing, checks nothing
    assert x.tolist() == [[5, 5, 5], [0, 0, 0]] and x._version == 3
    x[[0, 0]] = torch.tensor([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])  # the last write wins
    assert x[0].tolist() == [2, 2, 2]
    with pytest.raises(RuntimeError, match="got Float for the destination and Long for the source."):
        x[[0, 1]] = torch.tensor([7, 8, 9])
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[3, 3\] cannot be broadcast to indexing"
                                           r" result of shape \[2, 3\]"):
        x[[0, 1]] = torch.ones(3, 3)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor"):
        x[[0, 1]] = x


def test_setitem_on_an_expanded_tensor_warns_then_writes():
    base = torch.zeros(3)
    rows = base.expand(2, 3)
    with pytest.warns(UserWarning, match="Use of index_put_ on expanded tensors is deprecated"):
        rows[[0]] = torch.tensor([1.0, 2.0, 3.0])
    assert base.tolist() == [1.0, 2.0, 3.0]


# -- autograd -------------------------------------------------------------------------------------------


def test_gradients_flow_back_to_where_elements_came_from():
    x = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], requires_grad=True)
    y = torch.cat([x[[0, 0]], x.t().reshape(2, 3), x.flip(1)[1:]])
    assert y.grad_fn.name() == "CatBackward0"
    y.backward(torch.ones(5, 3))
    assert x.grad.tolist() == [[3.0, 3.0, 3.0], [2.0, 2.0, 2.0]]


def test_view_ops_record_torchs_node_names():
    x = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], requires_grad=True)
    names = [x.t(), x.T, x.mT, x[0], x[:, 1:], x[None], x.reshape(3, 2), x.t().reshape(6), x.squeeze(0),
             x.expand(2, 2, 3), x.split(1)[0], x.unbind()[0], x[[0]], x.index_select(0, torch.tensor([1]))]
    assert [v.grad_fn.name() for v in names] == [
        "TBackward0", "PermuteBackward0", "TransposeBackward0", "SelectBackward0", "SliceBackward0",
        "UnsqueezeBackward0", "ViewBackward0", "UnsafeViewBackward0", "SqueezeBackward1", "ExpandBackward0",
        "SplitBackward0", "UnbindBackward0", "IndexBackward0", "IndexSelectBackward0"]
    assert x[0, 1:].grad_fn.next_functions[0][0].name() == "SelectBackward0"
