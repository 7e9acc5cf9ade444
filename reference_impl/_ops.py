"""What every operation shares: registering Tensor methods, reading operands, and writing
results (a new tensor, ``out=``, or in place) with torch's checks.

An op module computes its values with numpy on ``tensor._array()`` views and hands them
to ``store`` or ``store_inplace``; those apply torch's rules for casting, shapes, overlap
and the version counter in one place.
"""

import warnings

import numpy as np

from . import _autograd, _dtype, _errors, _layout
from ._size import Size
from ._storage import Storage
from ._tensor import Tensor


def tensor_method(*names):
    """Also make the decorated op a Tensor method (``torch.sum(x)`` and ``x.sum()``).

    With no names the function's own name is used.
    """

    def register(function):
        for name in names or (function.__name__,):
            setattr(Tensor, name, function)
        return function

    return register


def quiet():
    """numpy's floating-point warnings silenced: torch computes 1/0 and log(-1) silently."""
    return np.errstate(all="ignore")


def check_same_device(*values):
    """torch's rule for ops over several tensors: one device, except that a 0-dim CPU tensor
    may join a CUDA op as a scalar would."""
    devices = [v.device for v in values if isinstance(v, Tensor) and (v.dim() or v.is_cuda)]
    if any(device is not devices[0] and device != devices[0] for device in devices[1:]):
        first, second = sorted({str(d) for d in devices}, reverse=True)[:2]
        raise _errors.device_mismatch(first, second)


def check_argument_devices(method, first, *named):
    """torch's check in ops that take arguments one by one: ``first`` sets the device, and the
    first ``(name, tensor)`` elsewhere is named. ``method`` is the CUDA kernel's wrapper name,
    which torch reports whichever argument is on the GPU."""
    for name, tensor in named:
        if tensor.device != first.device:
            raise _errors.device_mismatch_argument(name, tensor.device, first.device, method)


def operand_dtype(value):
    """The dtype a tensor or Python scalar brings to type promotion."""
    return value.dtype if isinstance(value, Tensor) else _dtype.scalar_dtype(value)


def shape_of(value):
    return value.shape if isinstance(value, Tensor) else ()


def as_array(value, dtype):
    """``value`` as numpy data in ``dtype``: a strided view (cast if needed) for tensors, a
    0-d array for scalars (cast with wrap-around, as torch does for ``uint8 - 2``)."""
    if isinstance(value, Tensor):
        return value._array().astype(dtype.numpy_dtype, copy=False)
    return np.array(value).astype(dtype.numpy_dtype)


def contiguous(array):
    """``array`` in row-major order, copied only if it isn't already, on either device."""
    if isinstance(array, np.ndarray):
        return np.ascontiguousarray(array)
    return array if array.is_c_contiguous() else array.copy()


def new_tensor(values, dtype, device=None):
    """A fresh tensor holding ``values`` (copied only if dtype or layout requires it).

    Values computed on a device stay there; host-made values (constants inside a chain
    rule) go to ``device`` when given."""
    with quiet():
        return Tensor._from_fresh_array(values, dtype, device)


def store(values, dtype, out=None, inputs=(), follow_layout=False):
    """An op's result: a new tensor, or ``values`` written into ``out`` after torch's checks
    (castable dtype, resize with a warning, no partial overlap with ``inputs``).

    With ``follow_layout`` (elementwise ops) a new result takes the memory order of its
    inputs, as torch's TensorIterator lays it out: ``x.t() + 1`` is transposed too.
    """
    if out is None:
        if follow_layout:
            return _in_inputs_layout(values, dtype, inputs)
        return new_tensor(values, dtype)
    checked_out(out, np.shape(values), dtype, inputs)
    with quiet():  # casting NaN to an integer dtype is silent in torch
        np.copyto(out._array(), values, casting="unsafe")
    out._bump_version()
    return out


def checked_out(out, shape, dtype, inputs):
    """``out`` made ready to take a result of ``shape`` and ``dtype`` computed from ``inputs``,
    after torch's checks: no autograd through it, a castable dtype, a resize (warning when it
    held data) to ``shape``, and no partial overlap with the inputs."""
    if _autograd.is_recording_for(out, *inputs):
        raise _errors.out_with_autograd(_calling_op())
    if not _dtype.can_cast(dtype, out.dtype):
        raise _errors.cannot_cast_result(dtype, out.dtype)
    if out.shape != tuple(shape):
        _resize(out, shape)
    check_writable(out, inputs)
    return out


def _in_inputs_layout(values, dtype, inputs):
    shape = Size(np.shape(values))
    strides = _iteration_strides(shape, inputs)
    if strides is None or strides == _layout.contiguous_strides(shape):
        return new_tensor(values, dtype)
    result = empty_in_inputs_layout(shape, dtype, inputs, strides)
    with quiet():
        np.copyto(result._array(), values, casting="unsafe")
    return result


def _iteration_strides(shape, inputs):
    """Python scalars and 0-dim tensors are operands of TensorIterator too: they never order the
    dims, but not being of the result's shape they rule out its fast setup (seen in the strides
    of an empty result: ``torch.zeros(3, 0, 1, 2) * -1`` has strides (0, 2, 0, 1))."""
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    if all(t.shape == shape and t.is_contiguous() for t in tensors) and (
            len(tensors) == len(inputs) or all(size > 1 for size in shape)):
        # row-major operands of the result's shape give a row-major result; beside a scalar
        # only while no dim of size 0 or 1 leaves the order open
        return _layout.contiguous_strides(shape)
    operands = [(t.shape, t.stride()) if isinstance(t, Tensor) else ((), ()) for t in inputs]
    return _layout.iteration_output_strides(shape, operands) if any(s for s, _ in operands) else None


def empty_in_inputs_layout(shape, dtype, inputs, strides=None):
    """An uninitialised result of ``shape`` on the inputs' device, in the memory order torch's
    TensorIterator gives it (``x.t() + 1`` is transposed too)."""
    strides = strides or _iteration_strides(shape, inputs) or _layout.contiguous_strides(shape)
    device = next(t.device for t in inputs if isinstance(t, Tensor))
    if device.type == "cpu" and strides == _layout.contiguous_strides(shape):
        return Tensor._from_fresh_array(np.empty(shape, dtype=dtype.numpy_dtype), dtype)
    return Tensor._make(Storage.allocate(_layout.storage_span(shape, strides), dtype, device=device),
                        shape, strides)


def _calling_op():
    """The public op that called ``store``, for torch's error text (``mul(): …``)."""
    import inspect

    for frame in inspect.stack()[2:6]:
        if not frame.function.startswith("_"):
            return frame.function
    return "op"


def store_inplace(tensor, values, dtype, inputs=()):
    """Write an in-place op's ``values`` (of promoted ``dtype``) into ``tensor``; returns it."""
    if not _dtype.can_cast(dtype, tensor.dtype):
        raise _errors.cannot_cast_result(dtype, tensor.dtype)
    check_inplace_shape(tensor, np.shape(values))
    check_writable(tensor, inputs)
    with quiet():
        np.copyto(tensor._array(), values, casting="unsafe")
    tensor._bump_version()
    return tensor


def check_inplace_shape(tensor, shape):
    """torch's rule for an in-place op whose operands broadcast to ``shape``: ``tensor`` keeps
    its shape, so that must broadcast to it."""
    broadcast = _layout.broadcast_shapes(tensor.shape, shape)
    if broadcast != tensor.shape:
        raise _errors.inplace_shape_mismatch(tensor.shape, broadcast)


def check_writable(target, inputs=()):
    """torch's overlap rules for a write into ``target`` that reads ``inputs`` (none for an
    empty target: nothing is written)."""
    if target.numel() == 0:
        return
    if _layout.has_internal_overlap(target.shape, target.stride()):
        raise _errors.internal_overlap()
    for source in inputs:
        if isinstance(source, Tensor) and _partially_overlaps(target, source):
            raise _errors.partial_overlap()


def _partially_overlaps(a, b):
    """Memory shared, but not as the very same elements: torch refuses to write then.

    Like torch, only dense layouts are judged; anything else is too hard to tell.
    """
    if a is b or a.numel() == 0 or b.numel() == 0:
        return False
    if not (_layout.is_non_overlapping_and_dense(a.shape, a.stride())
            and _layout.is_non_overlapping_and_dense(b.shape, b.stride())):
        return False
    a_begin, b_begin = a.data_ptr(), b.data_ptr()
    a_end = a_begin + a.numel() * a.element_size()
    b_end = b_begin + b.numel() * b.element_size()
    if (a_begin, a_end) == (b_begin, b_end):
        return a.stride() != b.stride()
    return a_begin < b_end and b_begin < a_end


def _resize(out, shape):
    """Give an ``out=`` tensor the result's shape, warning as torch does when it held data."""
    if out.numel() != 0:
        warnings.warn(_errors.out_resized_warning(out.shape, shape), UserWarning, stacklevel=4)
    storage = Storage.allocate(_layout.numel(shape), out.dtype, device=out.device)
    out._set_layout(storage, shape, _layout.contiguous_strides(shape), 0)
