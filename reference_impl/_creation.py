"""Factory functions: tensors from Python data, from numpy, and filled with constants."""

import math

import numpy as np

from . import _dtype, _errors, _layout
from ._storage import Storage
from ._tensor import Tensor

__all__ = ["arange", "empty", "from_numpy", "ones", "tensor", "zeros"]


def _filled(shape, dtype, fill, op_name):
    if any(size < 0 for size in shape):
        raise _errors.negative_dimension(op_name)
    dtype = dtype or _dtype.get_default_dtype()
    storage = Storage.allocate(_layout.numel(shape), dtype, fill)
    return Tensor._make(storage, shape, _layout.contiguous_strides(shape))


def empty(*size, dtype=None):
    """A tensor whose values are whatever the fresh buffer held (unspecified)."""
    return _filled(_layout.normalize_shape(size), dtype, None, "empty")


def zeros(*size, dtype=None):
    return _filled(_layout.normalize_shape(size), dtype, 0, "zeros")


def ones(*size, dtype=None):
    return _filled(_layout.normalize_shape(size), dtype, 1, "ones")


def arange(start, end=None, step=1, *, dtype=None):
    """Values ``start + i * step`` for every i that stays below ``end`` (or above it for step < 0)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise _errors.arange_zero_step()
    if (end - start) * step < 0:
        raise _errors.arange_bad_bounds()
    if dtype is None:
        any_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dtype.get_default_dtype() if any_float else _dtype.int64
    count = math.ceil((end - start) / step)
    values = start + np.arange(count, dtype=np.float64) * step
    return Tensor._from_fresh_array(values.astype(dtype.numpy_dtype), dtype)


def from_numpy(array):
    """A tensor that shares ``array``'s memory, keeping its strides."""
    dtype = _dtype.from_numpy_dtype(array.dtype)
    if dtype is None:
        if array.dtype.kind in "biufc":
            raise _errors.dtype_not_implemented(array.dtype.type.__name__)
        raise _errors.unsupported_numpy_dtype(array.dtype.type.__name__)
    itemsize = array.itemsize
    if any(stride < 0 for stride in array.strides):
        raise _errors.negative_numpy_strides()
    if any(stride % itemsize for stride in array.strides):
        raise _errors.unaligned_numpy_strides()
    strides = tuple(stride // itemsize for stride in array.strides)
    span = _layout.storage_span(array.shape, strides)
    # With no negative strides, the array's data pointer is its lowest address.
    flat = np.lib.stride_tricks.as_strided(array, shape=(span,), strides=(itemsize,))
    return Tensor._make(Storage(flat, dtype), array.shape, strides)


def tensor(data, *, dtype=None):
    """A new tensor that copies ``data`` (nested sequences, numpy arrays, scalars, tensors)."""
    if isinstance(data, Tensor):
        values, inferred = data._array(), data.dtype
    elif isinstance(data, np.ndarray):
        inferred = _dtype.from_numpy_dtype(data.dtype)
        if inferred is None:
            raise _errors.unsupported_numpy_dtype(data.dtype.type.__name__)
        values = data
    elif isinstance(data, str):
        raise _errors.invalid_data_type(data)
    else:
        shape = _nested_shape(data)
        flat = []
        _flatten_checked(data, shape, 0, flat)
        inferred = _infer_scalar_dtype(flat)
        values = np.array(flat, dtype=inferred.numpy_dtype).reshape(shape)
    dtype = dtype or inferred
    return Tensor._from_fresh_array(np.array(values, dtype=dtype.numpy_dtype, copy=True), dtype)


def _is_sequence(value):
    return isinstance(value, (list, tuple)) or (isinstance(value, Tensor) and value.dim() > 0)


def _nested_shape(data):
    """The shape implied by following the first element at each nesting level."""
    shape = []
    while _is_sequence(data):
        shape.append(len(data))
        if len(data) == 0:
            break
        data = data[0]
    return tuple(shape)


def _flatten_checked(data, shape, depth, flat):
    """Collect scalars in order, raising torch's errors for ragged or invalid data."""
    if depth == len(shape):
        if _is_sequence(data):
            raise _errors.sequence_as_integer(type(data).__name__)
        flat.append(_scalar_of(data))
        return
    if not _is_sequence(data):
        raise TypeError("not a sequence")
    if len(data) != shape[depth]:
        raise _errors.ragged_sequence(shape[depth], depth, len(data))
    for element in data:
        _flatten_checked(element, shape, depth + 1, flat)


def _scalar_of(value):
    if isinstance(value, Tensor):
        return value.item()
    if isinstance(value, (bool, int, float, np.generic)):
        return value
    raise _errors.uninferable_dtype(value)


def _infer_scalar_dtype(scalars):
    """bool if every value is a bool, int64 if all are integral, else the default float."""
    if scalars and all(isinstance(v, (bool, np.bool_)) for v in scalars):
        return _dtype.bool
    if all(isinstance(v, (bool, int, np.bool_, np.integer)) for v in scalars) and scalars:
        return _dtype.int64
    return _dtype.get_default_dtype()
