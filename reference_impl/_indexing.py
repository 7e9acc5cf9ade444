"""Indexing: ``tensor[key]`` and ``tensor[key] = value``, step by step as torch does them.

The key's basic parts (ints, slices, ``None``, ``...``, 0-dim integer tensors) are applied one
after the other, left to right, as the view ops select, slice and unsqueeze, so the result
is a view, with torch's strides (the stride a ``None`` gets depends on the order) and its
autograd history. Tensor parts (integer tensors, lists, boolean masks) are collected on the
way, each at the dim it indexes, and applied at the end all together, numpy-style: that is
advanced indexing, and it copies.
"""

import functools
import numbers
import warnings

import numpy as np

from . import _autograd, _dtype, _errors, _layout
from ._storage import Storage

# torch's C++ names for dtypes, as its overflow errors print them (float16 and bool never overflow)
_C_TYPE_NAMES = {
    _dtype.uint8: "uint8_t", _dtype.int8: "int8_t", _dtype.int16: "int16_t", _dtype.int32: "int",
    _dtype.int64: "int64_t", _dtype.float32: "float", _dtype.float64: "double",
}
_INDEX_DTYPES = (_dtype.int64, _dtype.int32, _dtype.uint8, _dtype.bool)
_MASK_DTYPES = (_dtype.uint8, _dtype.bool)


@functools.cache
def _views():
    """The view ops, imported when first used: ``_movement`` imports the tensor class, which
    imports this module."""
    from . import _movement

    return _movement


def getitem(tensor, key):
    """``tensor[key]``: a view for basic indices, a copy once a tensor index takes part."""
    view, indices = _apply_key(tensor, key)
    if not indices:
        return view if view is not tensor else _views().alias(tensor)
    index = _AdvancedIndex(view, indices)
    _, walked, bad = index.walk([index.input_layout(view)] + index.index_layouts())
    if bad is not None:
        raise index.bounds_error(walked, bad)
    shape, strides = index.result_shape, index.result_strides(view)
    storage = Storage.allocate(_layout.storage_span(shape, strides), view.dtype, device=view.device)
    result = type(tensor)._make(storage, shape, strides)
    if result.numel():  # torch's kernel visits no element, so checks no index, for an empty result
        result._array()[...] = view._array()[index.numpy_key]
    op = "index_mask" if any(dtype in _MASK_DTYPES for _, dtype in indices.values()) else "index_tensor"
    shape, key = view.shape, index.numpy_key
    # torch saves the indices: a second backward through a freed graph is refused
    return _autograd.record(result, op, (view,), lambda grad, k: index_backward(grad, shape, k), saved=(key,))


def index_backward(grad, shape, key):
    """The chain rule of ``tensor[indices]``: ``grad`` added into zeros of ``shape`` at the
    numpy ``key``, elements picked more than once summing their gradients (torch's
    ``_index_put_impl_`` with accumulate, in place: version 1). Its own chain rule reads
    ``key`` again."""
    result = _views().placed(grad._array(), shape, key, grad.dtype, accumulate=True, writes=1)
    return _autograd.record(result, "index_put_impl", (None, grad), lambda grad: (None, _index(grad, key)))


def _index(tensor, key):
    """``tensor[key]`` for a numpy ``key`` of index arrays, as torch's chain rules index."""
    result = type(tensor)._from_fresh_array(tensor._array()[key], tensor.dtype)
    shape = tensor.shape
    return _autograd.record(result, "index_tensor", (tensor,), lambda grad, k: index_backward(grad, shape, k),
                            saved=(key,))


def setitem(tensor, key, value):
    """``tensor[key] = value``: ``value`` (a Python scalar cast to our dtype, or a tensor) is
    broadcast into the indexed elements, in place."""
    value = _value_tensor(tensor, value)
    if key is False:
        return  # torch writes nothing and checks nothing
    if key is True:
        key = None  # a lone True only adds a dim, with no tensor index (and so no index_put_)
    view, indices = _apply_key(tensor, key, setting=True)
    if not indices:
        _copy_to(view, value)
    else:
        _index_put(view, indices, value)


# -- the key, part by part ---------------------------------------------------------------------------


def _apply_key(tensor, key, setting=False):
    """The view that the basic parts of ``key`` select (``tensor`` itself if none does), and
    the tensor parts as ``{dim of the view: (numpy index array, dtype)}``."""
    # torch's fast path for a lone int or slice: no "too many indices" check, and in a read
    # every slice is taken, even a full one (an assignment skips full slices all the same)
    fast = isinstance(key, slice) or _is_integer(key)
    parts = (key,) if fast else _key_parts(key)
    specified = sum(_dims_consumed(part) for part in parts)
    if not fast and specified > tensor.dim():
        raise _errors.too_many_indices(tensor.dim())
    result, indices, dim = tensor, {}, 0
    for position, part in enumerate(parts):
        result, dim = _apply_part(result, dim, position, part, indices, tensor.dim() - specified,
                                  fast and not setting)
    return result, indices


def _key_parts(key):
    """The key as a tuple of parts. A short list holding slices, sequences, tensors, ``None``
    or ``...`` still counts as a tuple, with torch's deprecation warning."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, (list, str)) and len(key) < 32 and any(_acts_as_part(item) for item in key):
        warnings.warn(_errors.sequence_index_warning(), UserWarning, stacklevel=5)
        return tuple(key)
    return (key,)


def _acts_as_part(item):
    return item is None or item is Ellipsis or isinstance(item, (slice, list, tuple, str)) or hasattr(item, "_storage")


def _is_integer(part):
    return isinstance(part, numbers.Integral) and not isinstance(part, (bool, np.bool_))


def _dims_consumed(part):
    """How many of the tensor's dims a part indexes: a mask as many as it has."""
    if hasattr(part, "_storage"):
        return part.dim() if part.dtype in _MASK_DTYPES else 1
    return 0 if part is None or part is Ellipsis or isinstance(part, bool) else 1


def _apply_part(result, dim, position, part, indices, ellipsis_dims, fast):
    """Apply one part at ``dim``; returns the new result and the dim the next part starts at."""
    if isinstance(part, slice):
        return _slice(result, dim, part, fast), dim + 1
    if _is_integer(part):
        return _select(result, dim, int(part), position), dim
    if part is Ellipsis:
        return result, dim + ellipsis_dims
    if part is None:
        return result.unsqueeze(dim), dim + 1
    if isinstance(part, bool):
        return _boolean_part(result, dim, part, indices)
    if hasattr(part, "_storage"):
        if part.dim() == 0 and not part.dtype.is_floating_point:
            if part.dtype in _MASK_DTYPES:
                return _boolean_part(result, dim, bool(part.item()), indices)
            return _select(result, dim, int(part.item()), position), dim
        indices[dim] = (part._array(), part.dtype)
        return result, dim + _dims_consumed(part)
    if isinstance(part, (list, tuple, np.ndarray, str)):
        array, dtype = _sequence_index(part)
        indices[dim] = (array, dtype)
        return result, dim + (array.ndim if dtype is _dtype.bool else 1)
    try:
        index = part.__index__()
    except (AttributeError, TypeError):
        raise _errors.invalid_index_type(part) from None
    return _select(result, dim, index, position), dim


def _select(result, dim, index, position):
    """``select`` for an int index; errors name the part's position in the key, as torch's do."""
    if index == 0 and dim == 0 and result.dim() == 0:
        raise _errors.zero_dim_index()
    size = result.shape[dim] if dim < result.dim() else 0
    if not -size <= index < size:
        raise _errors.index_out_of_bounds(index, position, size)
    return result.select(dim, index)


def _slice(result, dim, part, fast):
    """A slice part; in a tuple key, a slice covering the whole dim is skipped (no view)."""
    step = 1 if part.step is None else part.step.__index__()
    if step == 0:
        raise _errors.zero_slice_step()
    if step < 0:
        raise _errors.negative_slice_step()
    if result.dim() == 0:
        raise _errors.slice_zero_dim()
    dim = _layout.wrap_dim(dim, result.dim())
    start = None if part.start is None else part.start.__index__()
    stop = None if part.stop is None else part.stop.__index__()
    if not fast and start in (None, 0) and (stop is None or stop >= result.shape[dim]) and step == 1:
        return result
    return _views().slice_view(result, dim, start, stop, step)


def _boolean_part(result, dim, value, indices):
    """``True``/``False`` insert a size-1 dim and index it with ``[0]`` (keep) or ``[]`` (drop)."""
    indices[dim] = (np.zeros(1 if value else 0, dtype=np.int64), _dtype.int64)
    return result.unsqueeze(dim), dim + 1


def _sequence_index(sequence):
    """A list used as an index: bools make a mask, any other numbers become int64 indices."""
    array = np.asarray(sequence)
    if array.dtype.kind == "b":
        return array, _dtype.bool
    if array.dtype.kind not in "iuf":
        raise _errors.invalid_data_type(sequence[0] if len(sequence) else sequence)
    return array.astype(np.int64), _dtype.int64


# -- advanced indexing -------------------------------------------------------------------------------


class _AdvancedIndex:
    """Tensor indices checked and prepared as torch prepares them: masks become the positions
    of their True elements and all indices broadcast together.

    torch's kernels then run a TensorIterator over the input restrided to the result's shape
    (the indexed dims, moved to the front when not adjacent, replaced by the broadcast index
    shape at stride 0) and over each index tensor (broadcast, padded with size-1 dims). Its
    walking order decides the result's strides, which out-of-bounds index is reported, and
    how much of an assignment lands before that error; so each index tensor's own (shape,
    strides) is kept in ``layouts``.
    """

    def __init__(self, view, indices):
        slots = max(indices) + 1  # torch's list of indices, one slot per dim up to the last
        if slots > view.dim():
            raise _errors.too_many_indices_got(view.dim(), slots)
        for _, dtype in indices.values():
            if dtype not in _INDEX_DTYPES:
                raise _errors.index_tensor_dtype()
        per_dim, self.layouts = {}, []
        for dim in sorted(indices):
            array, dtype = indices[dim]
            if dtype is _dtype.uint8:
                warnings.warn(_errors.uint8_index_warning(), UserWarning, stacklevel=4)
            if dtype in _MASK_DTYPES:
                _check_mask(array, dim, view.shape)
                positions = np.nonzero(array)
                per_dim.update(zip(range(dim, dim + array.ndim), positions))
                self.layouts += [(column.shape, (1,)) for column in positions]
            else:
                per_dim[dim] = array.astype(np.int64)
                self.layouts.append((array.shape, tuple(stride // array.itemsize for stride in array.strides)))
        arrays = list(per_dim.values())
        try:
            self.shape = np.broadcast_shapes(*(array.shape for array in arrays))
        except ValueError:
            raise _errors.index_shapes_mismatch([array.shape for array in arrays]) from None
        self.dims = tuple(per_dim)
        self.sizes = [view.shape[dim] for dim in self.dims]
        if 0 in self.sizes and 0 not in self.shape:
            raise _errors.index_into_empty_dim()
        self.numpy_key = tuple(per_dim.get(dim, slice(None)) for dim in range(view.dim()))
        adjacent = self.dims == tuple(range(self.dims[0], self.dims[-1] + 1))
        self.order = list(range(view.dim())) if adjacent else \
            list(self.dims) + [d for d in range(view.dim()) if d not in self.dims]
        self.first = self.order.index(self.dims[0])  # iteration dims before the index shape
        kept = [view.shape[d] for d in self.order]
        after = len(kept) - self.first - len(self.dims)
        self.result_shape = tuple(kept[:self.first]) + tuple(self.shape) + tuple(kept[self.first + len(self.dims):])
        self.padded_shape = (1,) * self.first + tuple(self.shape) + (1,) * after  # an index among the dims

    def input_layout(self, view):
        """The view as torch's kernels see it: (shape, strides) of the result's shape."""
        strides = [view.stride()[d] for d in self.order]
        return self.result_shape, tuple(strides[:self.first]) + (0,) * len(self.shape) + \
            tuple(strides[self.first + len(self.dims):])

    def index_layouts(self):
        """Each index tensor as the kernels see it: broadcast, then padded with size-1 dims."""
        padded = self.padded_shape
        layouts = []
        for shape, strides in self.layouts:
            expanded = _layout.expanded(shape, strides, tuple(self.shape))
            reshaped = _layout.view_strides(expanded[0], expanded[1], padded) or _layout.contiguous_strides(padded)
            layouts.append((padded, reshaped))
        return layouts

    def result_strides(self, view):
        return _layout.iteration_output_strides(self.result_shape, [self.input_layout(view)] + self.index_layouts())

    def walk(self, operands):
        """The kernel's walk over the result shape for ``operands`` ((shape, strides) pairs):
        its dims, slowest first; each index's values in walking order; and the first element
        with an out-of-bounds index (None if there is none). Nothing is raised yet."""
        order = _layout.iteration_order(self.result_shape, operands)[::-1]  # slowest first
        padded = [np.broadcast_to(self.numpy_key[dim], self.shape).reshape(self.padded_shape) for dim in self.dims]
        walked = [np.transpose(np.broadcast_to(array, self.result_shape), order).reshape(-1) for array in padded]
        bad = np.zeros(walked[0].shape, dtype=bool, like=walked[0])  # where the indices live
        for array, size in zip(walked, self.sizes):
            bad |= (array < -size) | (array >= size)
        return order, walked, int(np.argmax(bad)) if bad.any() else None

    def bounds_error(self, walked, element):
        """torch's error for the first bad element: at it, the indices are checked in order."""
        which = next(i for i, (array, size) in enumerate(zip(walked, self.sizes))
                     if not -size <= array[element] < size)
        return _errors.index_out_of_bounds(int(walked[which][element]), which, self.sizes[which])


def _check_mask(mask, dim, shape):
    for at, size in enumerate(mask.shape):
        if size != shape[dim + at]:
            raise _errors.mask_shape_mismatch(mask.shape, at, shape, dim + at)


# -- assignment ----------------------------------------------------------------------------------------


def _value_tensor(tensor, value):
    """The value to assign as a tensor: Python numbers become 0-dim tensors of our dtype."""
    if hasattr(value, "_storage"):
        return value
    if isinstance(value, (numbers.Integral, float)):
        return tensor._from_fresh_array(np.array(checked_scalar(value, tensor.dtype)), tensor.dtype, tensor.device)
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    raise _errors.cannot_assign(name, tensor.type())


def checked_scalar(value, dtype):
    """A Python number converted to ``dtype`` as torch converts a Scalar: integers wrap into
    unsigned types from below, and values out of the type's range are refused."""
    is_integer = isinstance(value, (bool, numbers.Integral))
    if is_integer and not -2 ** 63 <= int(value) < 2 ** 63:
        raise _errors.int_overflow()
    if dtype in _C_TYPE_NAMES and _overflows(value, is_integer, dtype):
        raise _errors.scalar_overflow(_C_TYPE_NAMES[dtype])
    with np.errstate(all="ignore"):
        return np.array(value).astype(dtype.numpy_dtype)[()]


def _overflows(value, is_integer, dtype):
    if dtype.is_floating_point:
        limit = float(np.finfo(dtype.numpy_dtype).max)
        return not is_integer and np.isfinite(value) and abs(value) > limit
    info = np.iinfo(dtype.numpy_dtype)
    if is_integer:
        value = int(value)
        if info.min == 0:  # negative values may wrap, down to -max
            return value > info.max or -value > info.max
        return not info.min <= value <= info.max
    return not (np.isfinite(value) and info.min <= value <= info.max)


def _copy_to(view, value):
    """Basic assignment: copy, fill from a 0-dim value, or broadcast the value (without its
    leading size-1 dims) with expand, whose errors torch shows here."""
    if view.shape == value.shape:
        view.copy_(value)
    elif value.dim() == 0:
        view.fill_(value)
    else:
        view.copy_(_strip_leading_ones(value).expand(tuple(view.shape)))


def _strip_leading_ones(value):
    shape = tuple(value.shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return value.view(shape) if shape != tuple(value.shape) else value


def _index_put(view, indices, value):
    """Advanced assignment (torch's ``index_put_``), with its order of checks; recorded as
    IndexPutBackward0 on the written tensor when a gradient may flow through it."""
    recording = _autograd.is_recording_for(view, value)
    if recording:
        _autograd.check_in_place(view)
    value = _strip_leading_ones(value)
    expanded = _layout.has_internal_overlap(view.shape, view.stride())
    if expanded:
        warnings.warn(_errors.expanded_index_put_warning(), UserWarning, stacklevel=4)
    mask = _single_mask(view, indices, value)
    if mask is not None:
        _masked_fill(view, mask, value, expanded)
        (dim, (array, _)), = indices.items()
        key = (slice(None),) * dim + np.nonzero(array)
    else:
        if _overlaps(view, value):
            raise _errors.partial_overlap()
        index = _AdvancedIndex(view, indices)
        if not _expandable(value.shape, index.result_shape):
            raise _errors.index_put_shape_mismatch(value.shape, index.result_shape)
        if value.dtype is not view.dtype:
            raise _errors.index_put_dtype_mismatch(view.dtype, value.dtype)
        _write_in_kernel_order(view, index, value)
        key = index.numpy_key
    if recording:
        # the overwritten elements' gradient goes to the value, the rest to the old history
        _autograd.record_in_place(view, "index_put_", (view, value),
                                  lambda grad: (_zeroed_at(grad, key), _index(grad, key)))


def _zeroed_at(grad, key):
    """``grad.index_put(key, zeros)``: the gradient without the overwritten elements'
    (IndexPutBackward0, whose own chain rule is itself)."""
    values = grad._array().copy()
    values[key] = 0
    result = type(grad)._from_fresh_array(values, grad.dtype)
    return _autograd.record(result, "index_put", (grad, None), lambda grad: (_zeroed_at(grad, key), None))


def _write_in_kernel_order(view, index, value):
    """index_put_'s kernel writes element by element in its walking order: later writes to a
    repeated position win, and an out-of-bounds index stops it there, after the elements
    before it were written (and without a version bump)."""
    shape = index.result_shape
    order, walked, bad = index.walk([index.input_layout(view), (value.shape, value.stride())] + index.index_layouts())
    count = len(walked[0]) if bad is None else bad
    coordinates = np.indices(shape, sparse=True)
    targets = [None] * view.dim()
    for position, dim in enumerate(index.order):
        if dim not in index.dims:
            spot = position if position < index.first else position - len(index.dims) + len(index.shape)
            targets[dim] = np.transpose(np.broadcast_to(coordinates[spot], shape), order).reshape(-1)
    for dim, array in zip(index.dims, walked):
        targets[dim] = array
    if count:
        source = np.transpose(np.broadcast_to(value._array(), shape), order).reshape(-1)
        view._array()[tuple(target[:count] for target in targets)] = source[:count]
    if bad is not None:
        raise index.bounds_error(walked, bad)
    view._bump_version()


def _single_mask(view, indices, value):
    """torch assigns a one-element value held on the CPU through a lone mask with masked_fill
    (no device sync to read it): the mask, aligned with the view's dims, when that shortcut
    applies."""
    if value.numel() != 1 or len(indices) != 1 or value.is_cuda:
        return None
    (dim, (array, dtype)), = indices.items()
    if dtype not in _MASK_DTYPES:
        return None
    _check_mask(array, dim, view.shape)
    return array.reshape(array.shape + (1,) * (view.dim() - dim - array.ndim))


def _masked_fill(view, mask, value, expanded):
    if mask.dtype != np.bool_:
        raise _errors.masked_fill_not_bool()
    if expanded:
        warnings.warn(_errors.expanded_masked_fill_warning(), UserWarning, stacklevel=5)
    fill = checked_scalar(value.item(), view.dtype)
    target = view._array()
    target[np.broadcast_to(mask, target.shape)] = fill
    view._bump_version()


def _overlaps(a, b):
    """Any shared byte between two dense layouts of one storage (torch checks only those)."""
    if a._storage is not b._storage or a.numel() == 0 or b.numel() == 0:
        return False
    if not (_layout.is_non_overlapping_and_dense(a.shape, a.stride())
            and _layout.is_non_overlapping_and_dense(b.shape, b.stride())):
        return False
    a_end = a.storage_offset() + a.numel()
    b_end = b.storage_offset() + b.numel()
    return a.storage_offset() < b_end and b.storage_offset() < a_end


def _expandable(shape, target):
    if len(shape) > len(target):
        return False
    return all(size in (1, goal) for size, goal in zip(reversed(shape), reversed(target)))
