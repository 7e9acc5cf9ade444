"""Factory functions: tensors from Python data, from numpy, filled with constants, and ranges.

``arange`` and ``linspace`` reproduce the exact floating-point schedule of torch's CPU
kernels (fused multiply-adds, vector blocks), so every value matches bit for bit.
"""

import math
import warnings

import numpy as np

from . import _device, _dtype, _errors, _layout
from ._fma import fma64
from ._ops import tensor_method
from ._storage import Storage
from ._tensor import Tensor

__all__ = [
    "are_deterministic_algorithms_enabled", "arange", "as_tensor", "empty", "empty_like", "eye", "from_numpy",
    "full", "full_like", "linspace", "ones", "ones_like", "tensor", "use_deterministic_algorithms", "zeros",
    "zeros_like",
]

_deterministic = False


def use_deterministic_algorithms(mode, *, warn_only=False):
    """With ``mode`` on, ``empty`` fills its memory (NaN, or the max integer) as torch does."""
    global _deterministic
    _deterministic = bool(mode)


def are_deterministic_algorithms_enabled():
    return _deterministic




def _requiring_grad(tensor, requires_grad):
    """Apply a factory's ``requires_grad=`` (only floating tensors may require grad)."""
    if requires_grad:
        if not tensor.dtype.is_floating_point:
            raise _errors.requires_grad_not_floating()
        tensor._requires_grad = True
    return tensor


def _allocate(op_name, size, dtype, fill, device=None, requires_grad=False):
    shape = _layout.factory_shape(size, op_name)
    if any(s < 0 for s in shape):
        raise _errors.zeros_negative_dimension() if op_name == "zeros" else _errors.negative_dimension_in(shape)
    device = _device.resolve(device)
    dtype = _dtype.resolve(dtype, op_name) or _dtype.get_default_dtype()
    if fill is None and _deterministic:
        fill = np.nan if dtype.is_floating_point else np.iinfo(dtype.numpy_dtype).max if dtype is not _dtype.bool \
            else True
    storage = Storage.allocate(_layout.numel(shape), dtype, fill, device)
    return _requiring_grad(Tensor._make(storage, shape, _layout.contiguous_strides(shape)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """A tensor whose values are whatever the fresh memory held (unspecified)."""
    return _allocate("empty", size, dtype, None, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _allocate("zeros", size, dtype, 0, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _allocate("ones", size, dtype, 1, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """Every element ``fill_value``; the dtype follows the value (bool, int64 or default float).
    A value out of the dtype's range is refused, as fill_ refuses it."""
    from ._indexing import checked_scalar

    dtype = _dtype.resolve(dtype, "full") or _dtype.scalar_dtype(fill_value)
    return _allocate("full", (size,), dtype, checked_scalar(fill_value, dtype), device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    if n < 0:
        raise _errors.eye_negative("n", n)
    if m is not None and m < 0:
        raise _errors.eye_negative("m", m)
    device = _device.resolve(device)
    dtype = _dtype.resolve(dtype, "eye") or _dtype.get_default_dtype()
    values = np.eye(n, n if m is None else m, dtype=dtype.numpy_dtype)
    return _requiring_grad(Tensor._from_fresh_array(values, dtype, device), requires_grad)


# -- the *_like family and new_* methods ----------------------------------------------------------

def _like(input, dtype, fill, op_name, device):
    """A fresh tensor shaped like ``input``, keeping its dense layout or else its memory order
    (torch's preserve_format), on ``input``'s device unless ``device`` is given."""
    device = input.device if device is None else _device.resolve(device)
    dtype = _dtype.resolve(dtype, op_name) or input.dtype
    if _layout.is_non_overlapping_and_dense(input.shape, input.stride()):
        strides = input.stride()
    else:
        strides = _layout.infer_dense_strides(input.shape, input.stride())
    storage = Storage.allocate(_layout.storage_span(input.shape, strides), dtype, fill, device)
    return Tensor._make(storage, input.shape, strides)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    return _requiring_grad(_like(input, dtype, None, "empty_like", device), requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    return _requiring_grad(_like(input, dtype, 0, "zeros_like", device), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    return _requiring_grad(_like(input, dtype, 1, "ones_like", device), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    dtype = _dtype.resolve(dtype, "full_like") or input.dtype
    return _requiring_grad(_like(input, dtype, np.array(fill_value).astype(dtype.numpy_dtype), "full_like", device),
                           requires_grad)


# The new_* methods make tensors of this tensor's dtype on this tensor's device.

@tensor_method()
def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@tensor_method()
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@tensor_method()
def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@tensor_method()
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


@tensor_method()
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype unless another is given."""
    return _copy_construct(data, dtype or self.dtype, device or self.device, requires_grad, "tensor.new_tensor")


# -- ranges -----------------------------------------------------------------------------------------

# torch's CPU kernels run in AVX2 vectors of 32 bytes, two vectors per loop iteration.
_VECTOR_BYTES = 32


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values ``start + i * step`` for every i that stays below ``end`` (above, for step < 0)."""
    if end is None:
        start, end = 0, start
    device = _device.resolve(device)
    if dtype is None:
        any_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dtype.get_default_dtype() if any_float else _dtype.int64
    dtype = _dtype.resolve(dtype, "arange")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise _errors.unsupported_range(start, end)
    if step == 0:
        raise _errors.arange_zero_step()
    if (end - start) * step < 0:
        raise _errors.arange_bad_bounds()
    span = (end - start) / step
    if not (math.isfinite(span) and 0 <= span < 2 ** 63):
        raise _errors.arange_size_overflow()
    size = math.ceil(span)
    return _requiring_grad(Tensor._from_fresh_array(_arange_values(start, step, size, dtype), dtype, device),
                           requires_grad)


def _arange_values(start, step, count, dtype):
    """torch's CPU arange, bit for bit.

    Floating outputs are computed in double: whole vector blocks start at
    ``fma64(step, idx, start)`` (rounded to the output dtype) and each lane adds
    ``fma64(lane, step, block_start)``; the tail of fewer than two vectors takes
    ``fma64(step, idx, start)`` per element.
    """
    index = np.arange(count, dtype=np.float64)
    if not dtype.is_floating_point:
        return (int(start) + np.arange(count, dtype=np.int64) * int(step)).astype(dtype.numpy_dtype)
    lanes = _VECTOR_BYTES // dtype.itemsize
    blocked = count - count % (2 * lanes)
    values = fma64(np.float64(step), index, np.float64(start))
    if blocked:
        lane = index[:blocked] % lanes
        block_start = fma64(np.float64(step), index[:blocked] - lane, np.float64(start))
        block_start = block_start.astype(dtype.numpy_dtype).astype(np.float64)
        values[:blocked] = fma64(lane, np.float64(step), block_start)
    return values.astype(dtype.numpy_dtype)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` values from ``start`` to ``end`` inclusive, computed from the nearer end."""
    if steps < 0:
        raise _errors.linspace_negative_steps()
    device = _device.resolve(device)
    dtype = _dtype.resolve(dtype, "linspace") or _dtype.get_default_dtype()
    return _requiring_grad(Tensor._from_fresh_array(_linspace_values(start, end, steps, dtype), dtype, device),
                           requires_grad)


def _linspace_values(start, end, steps, dtype):
    """torch's CPU linspace, bit for bit: endpoints exact, ``start + step * i`` for the first
    half and ``end - step * (steps - 1 - i)`` for the rest, with fused multiply-adds; the
    step is computed in the output dtype (in double for integer outputs)."""
    if steps == 0:
        return np.empty(0, dtype=dtype.numpy_dtype)
    if steps == 1:
        return np.array([start]).astype(dtype.numpy_dtype)
    work = dtype.numpy_dtype if dtype.is_floating_point else np.dtype(np.float64)
    first = np.array(start).astype(dtype.numpy_dtype).astype(work)
    last = np.array(end).astype(dtype.numpy_dtype).astype(work)
    step = np.float64((last - first).astype(work) / np.array(steps - 1, dtype=work))
    index = np.arange(steps, dtype=np.float64)
    halfway = steps // 2
    values = np.where(index < halfway, fma64(step, index, np.float64(first)),
                      fma64(-step, steps - 1 - index, np.float64(last)))
    values[0], values[-1] = first, last
    return values.astype(dtype.numpy_dtype)


# -- from Python data and numpy ------------------------------------------------------------------------

def from_numpy(array):
    """A tensor that shares ``array``'s memory, keeping its strides."""
    if not isinstance(array, np.ndarray):
        raise _errors.from_numpy_not_ndarray(array)
    return _numpy_alias(array, warn_read_only=True)


def _numpy_alias(array, warn_read_only):
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
    if warn_read_only and not array.flags.writeable:
        warnings.warn(_errors.read_only_numpy_warning(), UserWarning, stacklevel=3)
    strides = tuple(stride // itemsize for stride in array.strides)
    span = _layout.storage_span(array.shape, strides)
    # With no negative strides, the array's data pointer is its lowest address.
    flat = np.lib.stride_tricks.as_strided(array, shape=(span,), strides=(itemsize,), writeable=True)
    return Tensor._make(Storage(flat, dtype, resizable=False), array.shape, strides)


def as_tensor(data, dtype=None, device=None):
    """Share memory with a tensor or numpy array when no conversion is needed; else copy."""
    dtype = _dtype.resolve(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device, dtype=dtype or data.dtype)
    target = _device.resolve(device)
    if isinstance(data, np.ndarray) and _dtype.from_numpy_dtype(data.dtype) is not None:
        shared = from_numpy(data)
        return shared.to(device=target, dtype=dtype or shared.dtype)
    return tensor(data, dtype=dtype, device=target)


def tensor(data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor that copies ``data`` (nested sequences, numpy arrays, scalars, tensors)."""
    return _copy_construct(data, dtype, device, requires_grad, "torch.tensor")


def _copy_construct(data, dtype, device, requires_grad, called_as):
    if device is None and isinstance(data, Tensor):
        device = data.device  # a copy of a tensor stays on its device
    device = _device.resolve(device)
    dtype = _dtype.resolve(dtype, "tensor")
    if isinstance(data, Tensor):  # a copy as .to(copy=True) makes it, in the same memory order
        warnings.warn(_errors.copy_construct_warning_from(called_as), UserWarning, stacklevel=3)
        return _requiring_grad(data.detach()._converted(dtype or data.dtype, device), requires_grad)
    if isinstance(data, np.ndarray):  # torch copies from_numpy's tensor as above
        if _dtype.from_numpy_dtype(data.dtype) is None:
            raise _errors.unsupported_numpy_dtype(data.dtype.type.__name__)
        shared = _numpy_alias(data, warn_read_only=False)
        return _requiring_grad(shared._converted(dtype or shared.dtype, device), requires_grad)
    if isinstance(data, str):
        raise _errors.invalid_data_type(data)
    shape = _nested_shape(data)
    flat = []
    _flatten_checked(data, shape, 0, flat)
    dtype = dtype or _infer_dtype(flat)
    values = _to_array(flat, dtype).reshape(shape)  # straight to the target dtype
    return _requiring_grad(Tensor._from_fresh_array(np.array(values).astype(dtype.numpy_dtype), dtype, device),
                           requires_grad)


def _to_array(scalars, dtype):
    """Python numbers as an array of ``dtype``. Into an integer dtype, each is converted as torch
    converts it: a float or int out of range is refused (``-2`` wraps into uint8, ``-2.0`` not)."""
    from ._indexing import _overflows

    if not dtype.is_floating_point and any(isinstance(v, int) and not -2 ** 63 <= v < 2 ** 63 for v in scalars):
        raise _errors.int_overflow()
    if dtype in _TENSOR_TYPE_NAMES:
        for value in scalars:
            if isinstance(value, (int, float)) and _overflows(value, not isinstance(value, float), dtype):
                raise _errors.value_overflows(_TENSOR_TYPE_NAMES[dtype])
        if all(isinstance(value, (int, float)) for value in scalars):  # numpy refuses to wrap -2 into uint8
            return np.array([int(value) for value in scalars], dtype=np.int64).astype(dtype.numpy_dtype)
    return np.array(scalars, dtype=object).astype(dtype.numpy_dtype) if scalars else \
        np.array([], dtype=dtype.numpy_dtype)


# torch.tensor's names for the integer types in its overflow message (fill_ says "uint8_t")
_TENSOR_TYPE_NAMES = {_dtype.uint8: "uint8", _dtype.int8: "int8", _dtype.int16: "int16", _dtype.int32: "int32"}


def _is_sequence(value):
    return isinstance(value, (list, tuple)) or (isinstance(value, Tensor) and value.dim() > 0) \
        or (isinstance(value, np.ndarray) and value.ndim > 0)


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
        return value._host_array().reshape(())[()]  # a numpy scalar: keeps the element's dtype
    if isinstance(value, (bool, int, float, np.generic)):
        return value
    raise _errors.uninferable_dtype(value)


def _scalar_item_dtype(value):
    """Python scalars count as bool/int64/default float; numpy scalars keep their dtype."""
    if isinstance(value, np.generic):
        return _dtype.from_numpy_dtype(value.dtype) or _dtype.float64
    return _dtype.scalar_dtype(value)


def _infer_dtype(scalars):
    """torch's inference: the promotion of every element's dtype (default float when empty)."""
    if not scalars:
        return _dtype.get_default_dtype()
    result = _scalar_item_dtype(scalars[0])
    for value in scalars[1:]:
        result = _dtype.promote_types(result, _scalar_item_dtype(value))
    return result
