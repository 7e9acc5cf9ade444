"""Tensor: a strided view onto a Storage, with the operations that read and write it.

Every element access goes through ``_array()``, a numpy view of exactly this tensor's
elements inside the storage buffer, so writes through any view land in shared memory.
"""

import warnings

import numpy as np

from . import _device, _dtype, _errors, _indexing, _layout, _printing
from ._size import Size
from ._storage import Storage


class _VersionCounter:
    """Counts in-place writes; shared by a tensor and every view of it, as in torch."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional view: storage + shape + strides (in elements) + storage offset."""

    # Without autograd every tensor is a leaf that does not require grad.
    requires_grad = False
    is_leaf = True
    grad = None
    grad_fn = None

    def __init__(self, *args, **kwargs):
        raise _errors.direct_construction()

    @classmethod
    def _make(cls, storage, shape, strides, offset=0, version_counter=None):
        tensor = object.__new__(cls)
        tensor._storage = storage
        tensor._shape = Size(shape)
        tensor._strides = tuple(strides)
        tensor._offset = offset
        tensor._version_counter = version_counter or _VersionCounter()
        return tensor

    def _view_as(self, shape, strides, offset):
        """A view of our storage that shares our version counter."""
        return Tensor._make(self._storage, shape, strides, offset, self._version_counter)

    @property
    def _version(self):
        return self._version_counter.value

    def _bump_version(self):
        self._version_counter.value += 1

    @classmethod
    def _from_fresh_array(cls, array, dtype):
        """Wrap a newly computed numpy array (copied only if its dtype or layout needs it)."""
        array = np.asarray(array, dtype=dtype.numpy_dtype, order="C")
        return cls._make(Storage(array.reshape(-1), dtype), array.shape, _layout.contiguous_strides(array.shape))

    # -- layout -----------------------------------------------------------------------

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._storage.dtype

    @property
    def device(self):
        return _device.CPU

    @property
    def is_cuda(self):
        return False

    @property
    def ndim(self):
        return len(self._shape)

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    def stride(self, dim=None):
        return self._strides if dim is None else self._strides[dim]

    def storage_offset(self):
        return self._offset

    def dim(self):
        return len(self._shape)

    def numel(self):
        return _layout.numel(self._shape)

    def element_size(self):
        return self.dtype.itemsize

    def data_ptr(self):
        """The real address of this tensor's first element inside its storage."""
        base = self._storage.data_ptr()
        return base + self._offset * self.element_size() if base else 0

    def is_contiguous(self):
        return _layout.is_contiguous(self._shape, self._strides)

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def _array(self):
        """A writable numpy view of this tensor's elements in the shared storage buffer."""
        itemsize = self.element_size()
        return np.ndarray(
            self._shape,
            dtype=self.dtype.numpy_dtype,
            buffer=self._storage.buffer,
            offset=self._offset * itemsize,
            strides=tuple(stride * itemsize for stride in self._strides),
        )

    def __repr__(self):
        return _printing.tensor_repr(self)

    # -- views ------------------------------------------------------------------------

    def view(self, *shape):
        """Same storage, new shape; fails where the strides can't express it without a copy."""
        new_shape = _layout.infer_size(_layout.normalize_shape(shape), self.numel())
        strides = _layout.view_strides(self._shape, self._strides, new_shape)
        if strides is None:
            raise _errors.view_stride_incompatible()
        return self._view_as(new_shape, strides, self._offset)

    def __getitem__(self, key):
        return self._view_as(*_indexing.basic_index(self._shape, self._strides, self._offset, key))

    def __setitem__(self, key, value):
        self[key].copy_(value)

    # -- copies and conversions ---------------------------------------------------------

    def clone(self):
        """A new tensor with its own storage; dense layouts keep their strides, as in torch."""
        if _layout.is_non_overlapping_and_dense(self._shape, self._strides):
            strides = self._strides
        else:
            strides = _layout.contiguous_strides(self._shape)
        storage = Storage.allocate(_layout.storage_span(self._shape, strides), self.dtype)
        copy = Tensor._make(storage, self._shape, strides, 0)
        np.copyto(copy._array(), self._array())
        return copy

    def copy_(self, src):
        """Write ``src`` (a tensor or scalar, broadcast to our shape) into our elements."""
        if isinstance(src, Tensor):
            _check_expandable(src._shape, self._shape)
            values = src._array()
        else:
            values = src
        np.copyto(self._array(), values, casting="unsafe")
        self._bump_version()
        return self

    def numpy(self):
        """A numpy array that shares this tensor's memory."""
        return self._array()

    def item(self):
        if self.numel() != 1:
            raise _errors.item_of_many(self.numel())
        return self._array().reshape(()).item()

    def tolist(self):
        return self._array().tolist()

    # -- arithmetic ---------------------------------------------------------------------

    def add(self, other, *, alpha=1):
        return add(self, other, alpha=alpha)

    def add_(self, other, *, alpha=1):
        """In-place add; the promoted result must fit our dtype and our shape."""
        result_dtype = _dtype.result_type(self, other)
        if not _dtype.can_cast(result_dtype, self.dtype):
            raise _errors.cannot_cast_result(result_dtype, self.dtype)
        broadcast = _layout.broadcast_shapes(self._shape, _shape_of(other))
        if broadcast != self._shape:
            raise _errors.inplace_shape_mismatch(self._shape, broadcast)
        np.copyto(self._array(), _add_arrays(self, other, alpha, result_dtype), casting="unsafe")
        self._bump_version()
        return self

    def sub(self, other, *, alpha=1):
        return sub(self, other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        _check_subtractable(self, other)
        return self.add_(other, alpha=-alpha)

    __add__ = add
    __sub__ = sub

    def __radd__(self, other):
        return add(other, self)

    def __rsub__(self, other):
        return sub(other, self)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)


def _shape_of(value):
    return value._shape if isinstance(value, Tensor) else ()


def _as_operand(value, dtype):
    """A numpy operand in ``dtype``: a view for tensors, a typed scalar otherwise."""
    if isinstance(value, Tensor):
        return value._array().astype(dtype.numpy_dtype, copy=False)
    return dtype.numpy_dtype.type(value)


def _add_arrays(a, b, alpha, dtype):
    left = _as_operand(a, dtype)
    right = _as_operand(b, dtype)
    if alpha != 1:
        right = right * dtype.numpy_dtype.type(alpha)
    return np.add(left, right, dtype=dtype.numpy_dtype)


def _check_expandable(src_shape, target_shape):
    """torch's expand rule for copies: align right, each src dim equal or 1."""
    if len(src_shape) > len(target_shape):
        raise _errors.expand_mismatch(target_shape[0] if target_shape else 1, src_shape[0], 0, target_shape, src_shape)
    lead = len(target_shape) - len(src_shape)
    for dim, size in enumerate(src_shape):
        target = target_shape[lead + dim]
        if size != target and size != 1:
            raise _errors.expand_mismatch(target, size, lead + dim, target_shape, src_shape)


def add(input, other, *, alpha=1, out=None):
    """torch.add: ``input + alpha * other`` with broadcasting and type promotion."""
    result_dtype = _dtype.result_type(input, other)
    shape = _layout.broadcast_shapes(_shape_of(input), _shape_of(other))
    values = _add_arrays(input, other, alpha, result_dtype)
    if out is None:
        return Tensor._from_fresh_array(values, result_dtype)
    if not _dtype.can_cast(result_dtype, out.dtype):
        raise _errors.cannot_cast_result(result_dtype, out.dtype)
    if out._shape != shape:
        _resize_out(out, shape)
    np.copyto(out._array(), values, casting="unsafe")
    out._bump_version()
    return out


def sub(input, other, *, alpha=1, out=None):
    """torch.sub: ``input - alpha * other``; torch refuses it for bool operands."""
    _check_subtractable(input, other)
    return add(input, other, alpha=-alpha, out=out)


def _check_subtractable(a, b):
    bools = [_operand_dtype(x) is _dtype.bool for x in (a, b)]
    if all(bools):
        raise _errors.bool_subtraction(both=True)
    if any(bools):
        raise _errors.bool_subtraction(both=False)


def _operand_dtype(value):
    return value.dtype if isinstance(value, Tensor) else _dtype.scalar_dtype(value)


def _resize_out(out, shape):
    """Give an ``out=`` tensor the result's shape, warning as torch does when it held data."""
    if out.numel() != 0:
        warnings.warn(_errors.out_resized_warning(out._shape, shape), UserWarning, stacklevel=3)
    out._storage = Storage.allocate(_layout.numel(shape), out.dtype)
    out._shape = Size(shape)
    out._strides = _layout.contiguous_strides(shape)
    out._offset = 0
