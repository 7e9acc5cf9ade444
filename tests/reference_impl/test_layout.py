import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl import _layout

from .strategies import factorizations, shapes, strided_tensors


@given(shapes)
def test_contiguous_strides_match_numpy_c_order(shape):
    expected = tuple(s // 8 for s in np.empty(shape, dtype=np.float64).strides) if all(shape) else None
    strides = _layout.contiguous_strides(shape)
    if expected is not None:
        assert strides == expected
    assert _layout.is_contiguous(shape, strides)


def test_is_contiguous_ignores_size_one_dims_and_spots_transposes():
    assert _layout.is_contiguous((3, 1), (1, 1))
    assert _layout.is_contiguous((1, 3), (99, 1))
    assert not _layout.is_contiguous((3, 2), (1, 3))
    assert _layout.is_contiguous((0, 5), (7, 3))


@given(strided_tensors(), st.data())
def test_view_strides_address_the_same_elements_in_row_major_order(tensor, data):
    new_shape = data.draw(factorizations(tensor.numel()))
    strides = _layout.view_strides(tuple(tensor.shape), tensor.stride(), new_shape)
    if tensor.is_contiguous():
        assert strides is not None, "a contiguous tensor can always be viewed"
    if strides is None:
        return
    buffer = tensor._storage.buffer
    view = np.lib.stride_tricks.as_strided(
        buffer[tensor.storage_offset():], new_shape, [s * buffer.itemsize for s in strides])
    np.testing.assert_array_equal(view.reshape(-1), tensor.numpy().reshape(-1))


def test_view_strides_refuse_a_transpose_flatten():
    assert _layout.view_strides((3, 2), (1, 3), (6,)) is None
    assert _layout.view_strides((3, 2), (1, 3), (3, 2, 1)) == (1, 3, 3)


def test_infer_size_resolves_minus_one_and_rejects_bad_shapes():
    assert _layout.infer_size((-1, 5), 15) == (3, 5)
    with pytest.raises(RuntimeError, match=r"shape '\[4\]' is invalid for input of size 15"):
        _layout.infer_size((4,), 15)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        _layout.infer_size((-1, -1), 15)
    with pytest.raises(RuntimeError, match=r"invalid shape dimension -3 at index 1 of shape \[2, -3\]"):
        _layout.infer_size((2, -3), 6)


@given(shapes, shapes)
def test_broadcast_shapes_agree_with_numpy(a, b):
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            _layout.broadcast_shapes(a, b)
    else:
        assert _layout.broadcast_shapes(a, b) == expected
