"""Indexing a DeviceArray the way numpy indexes an ndarray.

Basic keys (integers, slices, ``None``, ``...``) only change the view: shape, strides and
offset, with no kernel at all. Writes through a basic key are a copy kernel into that view.
"""

import numpy as np

from .device_array import DeviceArray


def _is_basic(key):
    return all(isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis for part in key)


def basic_view(array, key):
    """The view numpy's basic indexing gives: no data moves."""
    if Ellipsis in key:
        at = key.index(Ellipsis)
        missing = array.ndim - sum(1 for part in key if part is not None and part is not Ellipsis)
        key = key[:at] + (slice(None),) * missing + key[at + 1:]
    key = key + (slice(None),) * (array.ndim - sum(1 for part in key if part is not None))
    shape, strides, offset, dim = [], [], 0, 0
    for part in key:
        if part is None:
            shape.append(1)
            strides.append(0)
            continue
        size, stride = array.shape[dim], array.estrides[dim]
        if isinstance(part, slice):
            start, stop, step = part.indices(size)
            count = len(range(start, stop, step))
            shape.append(count)
            strides.append(stride * step)
            offset += start * stride if count else 0
        else:
            index = int(part)
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of bounds for axis {dim} with size {size}")
            offset += (index % size) * stride
        dim += 1
    return array.view_as(shape, strides, offset)


def getitem(array, key):
    key = key if isinstance(key, tuple) else (key,)
    if _is_basic(key):
        return basic_view(array, key)
    raise NotImplementedError("advanced indexing of a CUDA array")


def setitem(array, key, value):
    key = key if isinstance(key, tuple) else (key,)
    if _is_basic(key):
        np.copyto(basic_view(array, key), value, casting="unsafe")
        return
    raise NotImplementedError("advanced index assignment into a CUDA array")


__all__ = ["DeviceArray", "basic_view", "getitem", "setitem"]
