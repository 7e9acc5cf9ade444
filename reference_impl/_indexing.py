"""Basic indexing (ints, slices, ``None``, ``...``) as pure layout arithmetic.

Each of these indices yields a view, so the result is just a new (shape, strides, offset).
"""

from . import _errors


def _expand_ellipsis(indices, ndim):
    consumed = sum(1 for index in indices if index is not None and index is not Ellipsis)
    if consumed > ndim:
        raise _errors.too_many_indices(ndim)
    if Ellipsis not in indices:
        return list(indices) + [slice(None)] * (ndim - consumed)
    at = indices.index(Ellipsis)
    return list(indices[:at]) + [slice(None)] * (ndim - consumed) + list(indices[at + 1:])


def getitem(tensor, key):
    """``tensor[key]``: basic indices give a view."""
    return tensor._view_as(*basic_index(tensor.shape, tensor.stride(), tensor.storage_offset(), key))


def setitem(tensor, key, value):
    """``tensor[key] = value``: writes ``value`` (a scalar, or a tensor broadcast) into the
    indexed view."""
    target = tensor[key]
    if hasattr(value, "_storage"):
        target.copy_(value)
    else:
        target.fill_(value)


def basic_index(shape, strides, offset, key):
    """Layout of ``tensor[key]`` for a basic index; raises torch's IndexError/ValueError."""
    indices = key if isinstance(key, tuple) else (key,)
    for index in indices:
        if isinstance(index, bool) or not (
            index is None or index is Ellipsis or isinstance(index, (int, slice))
        ):
            raise _errors.invalid_index_type(index)
    new_shape, new_strides = [], []
    dim = 0
    for index in _expand_ellipsis(indices, len(shape)):
        if index is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        size, stride = shape[dim], strides[dim]
        if isinstance(index, slice):
            if index.step is not None and index.step <= 0:
                raise _errors.negative_slice_step()
            start, stop, step = index.indices(size)
            new_shape.append(max(0, (stop - start + step - 1) // step))
            new_strides.append(stride * step)
            offset += start * stride
        else:
            if not -size <= index < size:
                raise _errors.index_out_of_bounds(index, dim, size)
            offset += (index % size) * stride
        dim += 1
    return tuple(new_shape), tuple(new_strides), offset
