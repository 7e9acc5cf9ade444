"""numpy's layout functions on DeviceArrays: no arithmetic, mostly new views of the same
device memory, otherwise copies composed of views and ``np.copyto``.

A view function (``np.transpose``, ``np.moveaxis``, ``np.squeeze``, ``np.flip``,
``np.broadcast_to``, ``np.diagonal`` …) is numpy's own: it runs on a host *stand-in*, an
ndarray with the device array's dtype, shape and strides over no memory of that size
(nothing reads it), and the view it returns (shape, strides and where its first element
is) is applied to the device memory. So axes, defaults and errors are numpy's exactly.

Joining (``np.concatenate``, ``np.stack``) allocates the result and copies each input
into its slice of it; ``np.tile`` and ``np.repeat`` copy a broadcast view (a stride-0 dim
is a repetition) and merge dims. numpy's dtype rules come from running the function on
tiny host arrays of the inputs' dtypes (``_dtype_stand_in``).

Not here: ``np.asarray``, ``np.array`` and ``np.ascontiguousarray`` do not dispatch on
their argument (only through ``like=``), so on a DeviceArray they reach ``__array__``,
whose TypeError shows op code that wants host data.
"""

import numpy as np

from .. import _layout
from . import indexing
from .device_array import DeviceArray, implements, on_device
from .elementwise import _dtype_stand_in, _operand

_AxisError = getattr(np, "exceptions", np).AxisError


def _stand_in(array):
    """A host ndarray laid out as ``array`` (dtype, shape, strides) over a single element."""
    return np.lib.stride_tricks.as_strided(np.empty(1, array.dtype), array.shape, array.strides)


def _as_view(array, stand_in, result):
    """The view of ``array`` that ``result`` is of ``stand_in``."""
    start = result.__array_interface__["data"][0] - stand_in.__array_interface__["data"][0]
    itemsize = array.itemsize
    return array.view_as(result.shape, [stride // itemsize for stride in result.strides], start // itemsize)


def _viewed(function):
    """The device version of numpy's view function ``function`` (array first)."""

    def device_version(a, *args, **kwargs):
        a = on_device(a)
        stand_in = _stand_in(a)
        return _as_view(a, stand_in, function(stand_in, *args, **kwargs))

    device_version.__name__ = function.__name__
    device_version.__doc__ = f"``np.{function.__name__}``: a view, laid out as numpy lays it out."
    return device_version


for _function in (np.transpose, np.moveaxis, np.swapaxes, np.squeeze, np.expand_dims, np.flip, np.diagonal,
                  np.broadcast_to):
    implements(_function)(_viewed(_function))


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    arrays = [on_device(arg) for arg in args]
    stand_ins = [_stand_in(array) for array in arrays]
    results = np.broadcast_arrays(*stand_ins)
    views = [_as_view(a, s, r) for a, s, r in zip(arrays, stand_ins, results)]
    return type(results)(views)  # a list in numpy 1, a tuple in numpy 2


def _shape_only(array):
    """A host array of ``array``'s shape with every stride 0: reshaping it is always a view."""
    return np.broadcast_to(np.empty((), np.bool_), array.shape)


@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """A view where the strides allow one (else a copy), reading in C or F order."""
    if order == "C" and copy is None and isinstance(shape, tuple) and \
            all(type(size) is int and size >= 0 for size in shape) and _layout.numel(shape) == a.size:
        return a.reshape(shape)  # a shape numpy takes as it is: the same rule, without numpy's checks
    target = np.reshape(_shape_only(a), shape if shape is not None else newshape, order=order).shape
    if order == "A":
        order = "F" if _layout.is_contiguous(a.shape[::-1], a.estrides[::-1]) and not a.is_c_contiguous() else "C"
    if order == "F":  # F order is C order of the reversed dims
        return reshape(a.transpose(), target[::-1], copy=copy).transpose()
    strides = None if copy else _layout.view_strides(a.shape, a.estrides, target)
    if strides is not None:
        return a.view_as(target, strides)
    if copy is False:
        raise ValueError("Unable to avoid creating a copy while reshaping.")
    return a.copy().view_as(target, _layout.contiguous_strides(target))


@implements(np.ravel)
def ravel(a, order="C"):
    if order == "K":  # memory order: dims by falling stride (reversed dims still read forward)
        a, order = a.transpose(sorted(range(a.ndim), key=lambda d: -abs(a.estrides[d]))), "C"
    return reshape(a, -1, order)


@implements(np.shape)
def shape(a):
    return a.shape


@implements(np.ndim)
def ndim(a):
    return a.ndim


@implements(np.size)
def size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


@implements(np.result_type)
def result_type(*arrays_and_dtypes):
    return np.result_type(*(_dtype_stand_in(value) for value in arrays_and_dtypes))


@implements(np.can_cast)
def can_cast(from_, to, casting="safe"):
    return np.can_cast(from_.dtype if isinstance(from_, DeviceArray) else from_, to, casting)


@implements(np.array_equal)
def array_equal(a1, a2, equal_nan=False):
    """Same shape and every element equal (NaNs equal each other with ``equal_nan``)."""
    a1, a2 = _operand(a1), _operand(a2)
    if a1.shape != a2.shape:
        return False
    different = np.not_equal(a1, a2)
    if equal_nan:
        different = different & ~(np.isnan(a1) & np.isnan(a2))
    return indexing.count_nonzero(different) == 0


# -- new arrays ---------------------------------------------------------------------------------------


def _empty_like(prototype, dtype, order, shape):
    """numpy's ``empty_like``, dense: order ``K`` keeps the prototype's memory order of dims
    (by falling stride), ``A`` is ``F`` for an F- but not C-contiguous prototype, else ``C``;
    with a ``shape`` of its own, ``C`` unless ``F`` is asked for."""
    dtype = prototype.dtype if dtype is None else np.dtype(dtype)
    if shape is not None:
        target = tuple(int(size) for size in shape) if np.ndim(shape) else (int(shape),)
        axes = list(range(len(target)))
        return _dense(target, dtype, axes[::-1] if order == "F" else axes)
    axes = list(range(prototype.ndim))
    if order == "F" or order == "A" and not prototype.is_c_contiguous() \
            and _layout.is_contiguous(prototype.shape[::-1], prototype.estrides[::-1]):
        axes = axes[::-1]
    elif order == "K":
        axes = sorted(axes, key=lambda d: -abs(prototype.estrides[d]))
    return _dense(prototype.shape, dtype, axes)


def _dense(shape, dtype, axes):
    """A dense array of ``shape`` whose dims lie in memory in the order ``axes`` (outermost first)."""
    memory_order = DeviceArray.empty([shape[d] for d in axes], dtype)
    return memory_order.transpose([int(d) for d in np.argsort(axes)])


@implements(np.empty_like)
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _empty_like(prototype, dtype, order, shape)


@implements(np.zeros_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return full_like(a, 0, dtype, order, subok, shape)


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return full_like(a, 1, dtype, order, subok, shape)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    result = _empty_like(a, dtype, order, shape)
    np.copyto(result, fill_value if isinstance(fill_value, DeviceArray) else np.array(fill_value).astype(result.dtype),
              casting="unsafe")
    return result


# -- joining and repeating ----------------------------------------------------------------------------


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Each input copied into its slice of the result, cast to numpy's result dtype."""
    arrays = [_operand(array) for array in arrays]
    # numpy's dtype, and its errors for the axis, dims and casting, from tiny arrays of each ndim
    tiny = [np.zeros((1,) * array.ndim, array.dtype) for array in arrays]
    probe = np.concatenate(tiny, axis=axis, dtype=dtype, casting=casting) if out is None else \
        np.concatenate(tiny, axis=axis, out=np.empty(np.concatenate(tiny, axis=axis).shape, out.dtype),
                       dtype=dtype, casting=casting)
    if axis is None:
        arrays, axis = [array.reshape(-1) for array in arrays], 0
    axis %= arrays[0].ndim
    first = arrays[0].shape
    for position, array in enumerate(arrays[1:], 1):
        for d in range(len(first)):
            if d != axis and array.shape[d] != first[d]:
                raise ValueError("all the input array dimensions except for the concatenation axis must match "
                                 f"exactly, but along dimension {d}, the array at index 0 has size {first[d]} and "
                                 f"the array at index {position} has size {array.shape[d]}")
    shape = first[:axis] + (sum(array.shape[axis] for array in arrays),) + first[axis + 1:]
    if out is None:
        out = DeviceArray.empty(shape, probe.dtype)
    elif out.shape != shape:
        raise ValueError("Output array is the wrong shape")
    start = 0
    for array in arrays:
        part = (slice(None),) * axis + (slice(start, start + array.shape[axis]),)
        np.copyto(indexing.basic_view(out, part), array, casting="unsafe")
        start += array.shape[axis]
    return out


@implements(np.stack)
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """The inputs, each given a new dim at ``axis``, concatenated along it."""
    arrays = [_operand(array) for array in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    if len({array.shape for array in arrays}) > 1:
        raise ValueError("all input arrays must have the same shape")
    if not -arrays[0].ndim - 1 <= axis <= arrays[0].ndim:
        raise _AxisError(axis, arrays[0].ndim + 1)
    axis %= arrays[0].ndim + 1
    expanded = [array.view_as(array.shape[:axis] + (1,) + array.shape[axis:],
                              array.estrides[:axis] + (0,) + array.estrides[axis:]) for array in arrays]
    return concatenate(expanded, axis, out, dtype=dtype, casting=casting)


def _repeated(array, dims, times):
    """A copy of ``array`` with dim ``d`` repeated ``times[i]`` times for each ``d = dims[i]``:
    as ``(times, size)`` when ``before`` (whole-array tiling) or ``(size, times)`` after
    (each element repeated), copied from a stride-0 view, then merged into one dim."""
    shape, strides, merged = [], [], []
    for d in range(array.ndim):
        if d in dims:
            count, before = times[dims.index(d)]
            pair = [(count, 0), (array.shape[d], array.estrides[d])]
            for size, stride in pair if before else pair[::-1]:
                shape.append(size)
                strides.append(stride)
            merged.append(count * array.shape[d])
        else:
            shape.append(array.shape[d])
            strides.append(array.estrides[d])
            merged.append(array.shape[d])
    result = DeviceArray.empty(shape, array.dtype)
    np.copyto(result, array.view_as(shape, strides), casting="unsafe")
    return result.reshape(merged)


@implements(np.tile)
def tile(A, reps):
    """``A`` repeated ``reps[i]`` times along dim ``i`` (the shorter of the two padded with
    leading 1s)."""
    A = on_device(A)
    reps = tuple(int(r) for r in reps) if np.ndim(reps) else (int(reps),)
    if any(r < 0 for r in reps):
        raise ValueError("negative dimensions are not allowed")
    dims = max(len(reps), A.ndim)
    reps = (1,) * (dims - len(reps)) + reps
    A = A.view_as((1,) * (dims - A.ndim) + A.shape, (0,) * (dims - A.ndim) + A.estrides)
    return _repeated(A, list(range(dims)), [(r, True) for r in reps])


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    """Each element repeated ``repeats`` times (or ``repeats[i]`` for element ``i``) along
    ``axis`` (of the flattened array if None). Per-element counts decide the result's size,
    so a device ``repeats`` is copied to the host, as torch's repeat_interleave syncs."""
    a = on_device(a)
    if axis is None:
        a, axis = a.reshape(-1), 0
    if not -a.ndim <= axis < a.ndim:
        raise _AxisError(axis, a.ndim)
    axis %= a.ndim
    counts = repeats.get() if isinstance(repeats, DeviceArray) else np.asarray(repeats)
    if counts.dtype.kind not in "iub":
        raise TypeError(f"Cannot cast array data from {counts.dtype!r} to dtype('int64') according to the rule 'safe'")
    if counts.size == 1:
        count = int(counts.reshape(-1)[0])
        if count < 0:
            raise ValueError("negative dimensions are not allowed")
        return _repeated(a, [axis], [(count, False)])
    if counts.shape != (a.shape[axis],):
        raise ValueError("operands could not be broadcast together with shape "
                         f"{indexing._shape_text((a.shape[axis],))} {indexing._shape_text(counts.shape)}")
    if (counts < 0).any():
        raise ValueError("repeats may not contain negative values.")
    return np.take(a, np.repeat(np.arange(a.shape[axis]), counts), axis=axis)


__all__ = ["concatenate", "reshape", "stack"]
