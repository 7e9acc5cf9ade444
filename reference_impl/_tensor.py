"""Tensor: a strided view onto a Storage, and the protocol every Python object speaks.

Every element access goes through ``_array()``, a numpy view of exactly this tensor's
elements inside the storage buffer, so writes through any view land in shared memory.
Operations live in their own modules (``_elementwise``, ``_reduction``, ``_movement`` …)
and register themselves as methods with ``_ops.tensor_method``.
"""

import warnings

import numpy as np

from . import _autograd, _device, _dtype, _errors, _indexing, _layout, _memory_format, _printing
from ._size import Size
from ._storage import Storage
from .cuda.device_array import DeviceArray, on_device


class _VersionCounter:
    """Counts in-place writes; shared by a tensor and every view of it, as in torch."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional view: storage + shape + strides (in elements) + storage offset, plus
    its place in the autograd graph (``grad_fn``, ``requires_grad``, ``grad``)."""

    # Every tensor starts with these; an instance sets its own when one changes.
    _base = None  # the tensor whose memory a view shares
    _requires_grad = False
    _grad_fn = None
    _grad = None
    _accumulator = None  # a leaf's AccumulateGrad node, made when first needed
    _output_nr = 0
    _history_version = 0  # the version at which grad_fn was last set
    _creation_meta = None  # how a view that torch forbids writing in place was made

    def __init__(self, *args, **kwargs):
        raise _errors.direct_construction()

    @classmethod
    def _make(cls, storage, shape, strides, offset=0, version_counter=None, base=None):
        tensor = object.__new__(cls)
        tensor._set_layout(storage, shape, strides, offset)
        tensor._version_counter = version_counter or _VersionCounter()
        if base is not None:
            tensor._base = base
        tensor._inference = _autograd.is_inference_mode_enabled()
        return tensor

    @classmethod
    def _from_fresh_array(cls, array, dtype, device=None):
        """Wrap newly computed values (copied only if dtype, layout or device needs it).

        Values computed on a CUDA array stay there; host values go to ``device`` when it is
        CUDA (a factory's ``device=``, or random numbers drawn on the CPU generator).
        """
        if isinstance(array, DeviceArray):
            if array.dtype != dtype.numpy_dtype or not array.is_c_contiguous():
                array = array.astype(dtype.numpy_dtype)
            storage = Storage(array.view_as((array.size,), (1,)), dtype, device=_device.CUDA0)
            return cls._make(storage, array.shape, _layout.contiguous_strides(array.shape))
        array = np.asarray(array, dtype=dtype.numpy_dtype, order="C")
        if device is not None and device.type == "cuda":
            storage = Storage(DeviceArray.from_host(array).reshape(-1), dtype, device=device)
            return cls._make(storage, array.shape, _layout.contiguous_strides(array.shape))
        tensor = cls._make(Storage(array.reshape(-1), dtype), array.shape, _layout.contiguous_strides(array.shape))
        tensor._elements = array  # already the view _array() would build
        return tensor

    def _set_layout(self, storage, shape, strides, offset):
        """Point this tensor at ``storage`` with a new shape, strides and offset: the one place
        they change, so the numpy view ``_array()`` keeps stays in step."""
        self._storage = storage
        self._shape = shape if type(shape) is Size else Size(shape)
        self._strides = tuple(strides)
        self._offset = offset
        self._elements = None

    def _view_as(self, shape, strides, offset):
        """A view of our storage: shares our version counter, and ``_base`` is the tensor
        that owns the memory, as in torch."""
        view = Tensor._make(self._storage, shape, strides, offset, self._version_counter,
                            self._base if self._base is not None else self)
        view._history_version = view._version_counter.value
        view._creation_meta = self._creation_meta  # a view of such a view is one too
        return view

    @property
    def _version(self):
        if self._inference:
            raise _errors.inference_tensor_version()
        return self._version_counter.value

    def _bump_version(self):
        self._version_counter.value += 1

    def _array(self):
        """A writable view of this tensor's elements in the shared storage buffer: numpy on
        the CPU, a ``cuda.DeviceArray`` (which runs numpy calls as our kernels) on CUDA.

        Made once per layout (building a numpy view costs more than a small op's arithmetic);
        it must not escape to users, who could reshape it in place: they get ``.view()``s."""
        if self._elements is None:
            self._elements = self._new_array()
        return self._elements

    def _new_array(self):
        if self._storage.device.type == "cuda":
            return self._storage.buffer.view_as(self._shape, self._strides, self._offset)
        itemsize = self.dtype.itemsize
        # An empty view may start past the end of its storage (x[5:] of 5 rows); numpy
        # would refuse that offset, and no element is ever read from it.
        offset = self._offset if self.numel() else 0
        return np.ndarray(
            self._shape,
            dtype=self.dtype.numpy_dtype,
            buffer=self._storage.buffer,
            offset=offset * itemsize,
            strides=tuple(stride * itemsize for stride in self._strides),
        )

    # -- layout ---------------------------------------------------------------------------

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._storage.dtype

    def _host_array(self):
        """Our values as numpy data: a view on the CPU, a copy from a CUDA device."""
        if self._storage.device.type == "cuda":
            return self._array().get()
        return self._array()

    @property
    def device(self):
        return self._storage.device

    @property
    def is_cuda(self):
        return self._storage.device.type == "cuda"

    @property
    def ndim(self):
        return len(self._shape)

    def dim(self):
        return len(self._shape)

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[_layout.wrap_dim(dim, self.dim())]

    def stride(self, dim=None):
        return self._strides if dim is None else self._strides[_layout.wrap_dim(dim, self.dim())]

    def storage_offset(self):
        return self._offset

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

    def __repr__(self):
        return _printing.tensor_repr(self)

    # -- autograd ---------------------------------------------------------------------------

    @property
    def requires_grad(self):
        """Our own flag, or a history; a view also requires grad when its base does (as torch's
        differentiable views do, however they were made)."""
        if self._requires_grad or self.grad_fn is not None:
            return True
        return self._base is not None and self._base.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        """Start (or stop) tracking this leaf; only floating tensors can require grad."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise _errors.requires_grad_on_non_leaf()
            return self
        if requires_grad and not self.dtype.is_floating_point:
            raise _errors.requires_grad_not_floating_method()
        self._requires_grad = bool(requires_grad)
        return self

    def is_inference(self):
        """Whether this tensor was made inside ``inference_mode``."""
        return self._inference

    @property
    def grad_fn(self):
        """The node that made this tensor. A view whose memory was written through another
        view of the same base since is read back out of the base, as torch regenerates it
        (also a view made before its base required grad: it then requires grad too)."""
        base = self._base
        if base is not None and base.requires_grad and self._version_counter.value != self._history_version:
            _autograd.rebase_history(self, _autograd.view_from_base(self))
            self._history_version = self._version
        return self._grad_fn

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def retains_grad(self):
        return self._grad_fn is not None and self in self._grad_fn._retained.values()

    def retain_grad(self):
        """Keep the gradient that reaches this non-leaf in its ``.grad``."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise _errors.retain_grad_without_grad()
            return
        self._grad_fn._retained[self._output_nr] = self

    @property
    def grad(self):
        if self._grad_fn is not None and not self.retains_grad:
            warnings.warn(_errors.non_leaf_grad_warning(), UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        from . import _autograd

        if not self._requires_grad:
            raise _errors.hook_without_grad()
        node = self._grad_fn or _autograd.gradient_edge(self)
        hooks = node._pre_hooks.setdefault(self._output_nr if self._grad_fn else 0, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same memory and version counter, cut out of the graph."""
        return Tensor._make(self._storage, self._shape, self._strides, self._offset, self._version_counter)

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise _errors.detach_view_in_place()
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """The same memory with a version counter of its own: writes through it go unseen by
        autograd, which is both its use and its danger."""
        return Tensor._make(self._storage, self._shape, self._strides, self._offset)

    @data.setter
    def data(self, other):
        self._set_layout(other._storage, other._shape, other._strides, other._offset)

    # -- views and indexing ---------------------------------------------------------------

    def view(self, *shape):
        """Same storage, new shape; fails where the strides can't express it without a copy."""
        new_shape = _layout.infer_size(_layout.normalize_shape(shape), self.numel())
        strides = _layout.view_strides(self._shape, self._strides, new_shape)
        if strides is None:
            raise _errors.view_stride_incompatible()
        original = self._shape
        return _autograd.record(self._view_as(new_shape, strides, self._offset), "view", (self,),
                                lambda grad: grad.reshape(original))

    def __getitem__(self, key):
        return _indexing.getitem(self, key)

    def __setitem__(self, key, value):
        _indexing.setitem(self, key, value)

    def __delitem__(self, key):
        raise TypeError("Tensor does not support deleting items")

    # -- copies -----------------------------------------------------------------------------

    def clone(self, *, memory_format=_memory_format.preserve_format):
        """A new tensor with its own storage; by default dense layouts keep their strides and
        others become dense in their memory order, as in torch, and
        ``memory_format=torch.contiguous_format`` makes it row-major."""
        if memory_format is not _memory_format.preserve_format:
            strides = _layout.contiguous_strides(self._shape)
        elif _layout.is_non_overlapping_and_dense(self._shape, self._strides):
            strides = self._strides
        else:
            strides = _layout.infer_dense_strides(self._shape, self._strides)
        storage = Storage.allocate(_layout.storage_span(self._shape, strides), self.dtype, device=self.device)
        copy = Tensor._make(storage, self._shape, strides, 0)
        np.copyto(copy._array(), self._array())
        return _autograd.record(copy, "clone", (self,), lambda grad: grad)

    # -- conversions ----------------------------------------------------------------------

    def numpy(self):
        """A numpy array that shares this tensor's memory (refused while tracking gradients)."""
        if self.is_cuda:
            raise _errors.numpy_of_cuda_tensor(self.device)
        if self.requires_grad:
            raise _errors.numpy_requires_grad()
        if self.numel() == 0:  # torch hands numpy an empty array with all strides 0
            return np.ndarray(self._shape, dtype=self.dtype.numpy_dtype, buffer=self._storage.buffer,
                              strides=(0,) * len(self._shape))
        return self._array().view()

    def __array__(self, dtype=None, copy=None):
        """numpy's view of our memory; a copy only when another dtype (or ``copy``) is asked."""
        if self.is_cuda:
            raise _errors.numpy_of_cuda_tensor(self.device)
        array = self._array().view()
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def item(self):
        if self.numel() != 1:
            raise _errors.item_of_many(self.numel())
        return self._host_array().reshape(()).item()

    def tolist(self):
        return self._host_array().tolist()

    def __bool__(self):
        if self.numel() != 1:
            raise _errors.ambiguous_bool(self.numel())
        return bool(self.item())

    def __float__(self):
        if self.numel() != 1:
            raise _errors.not_one_element()
        return float(self.item())

    def __int__(self):
        if self.numel() != 1:
            raise _errors.not_one_element()
        return int(self.item())

    def __index__(self):
        if self.numel() != 1 or self.dtype.is_floating_point:
            raise _errors.not_an_index()
        return int(self.item())

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter([self[i] for i in range(self._shape[0])])

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """The same tensor when nothing changes (unless ``copy``), else a converted copy.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)`` and ``to(other_tensor)``.
        """
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif isinstance(arg, _dtype.dtype):
                dtype = arg
            elif isinstance(arg, (str, _device.device)):
                device = arg
            else:
                raise _errors.no_accelerator()
        target = self.device if device is None else _device.resolve(device)
        if (dtype is None or dtype is self.dtype) and target == self.device and not copy:
            return self
        original_dtype, original_device = self.dtype, self.device
        return _autograd.record(self._converted(dtype or self.dtype, target), "to_dtype", (self,),
                                lambda grad: grad.to(original_device, original_dtype))

    def _converted(self, dtype, device):
        """A copy holding our values cast to ``dtype`` on ``device`` (torch's ``_to_copy``):
        dense layouts keep their strides, others become dense in their memory order."""
        if _layout.is_non_overlapping_and_dense(self._shape, self._strides):
            strides = self._strides
        else:
            strides = _layout.infer_dense_strides(self._shape, self._strides)
        storage = Storage.allocate(_layout.storage_span(self._shape, strides), dtype, device=device)
        result = Tensor._make(storage, self._shape, strides, 0)
        source = self._array()
        if device != self.device:  # across devices: one transfer, then a cast where it lands
            source = source.get() if self.is_cuda else on_device(source)
        with np.errstate(all="ignore"):  # casting NaN to an integer dtype is silent in torch
            np.copyto(result._array(), source, casting="unsafe")
        return result

    def type(self, dtype=None, non_blocking=False):
        """Without arguments, the legacy type name (``torch.FloatTensor``); else ``to(dtype)``."""
        if dtype is None:
            return f"torch.{'cuda.' if self.is_cuda else ''}{self.dtype.scalar_name}Tensor"
        if isinstance(dtype, str):
            dtype = _dtype_by_legacy_name(dtype)
        return self.to(dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to("cuda" if device is None else device)

    def resize_(self, *sizes):
        """Reshape in place to a contiguous ``sizes``, growing the storage if it must; the
        values that fit keep their places (new ones are uninitialised)."""
        if self._requires_grad:
            raise _errors.resize_requires_grad()
        shape = _layout.normalize_shape(sizes)
        needed = self._offset + _layout.numel(shape)
        storage = self._storage
        if needed > storage.size():
            if not storage.resizable:
                raise _errors.storage_not_resizable()
            storage = Storage.allocate(needed, self.dtype, device=self.device)
            storage.buffer[: self._storage.size()] = self._storage.buffer
        self._set_layout(storage, shape, _layout.contiguous_strides(shape), self._offset)
        self._bump_version()
        return self


    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def int(self):
        return self.to(_dtype.int32)

    def long(self):
        return self.to(_dtype.int64)

    def short(self):
        return self.to(_dtype.int16)

    def char(self):
        return self.to(_dtype.int8)

    def byte(self):
        return self.to(_dtype.uint8)

    def bool(self):
        return self.to(_dtype.bool)


def _dtype_by_legacy_name(name):
    """``'torch.DoubleTensor'`` -> torch.float64."""
    for candidate in _dtype.ALL:
        if name == f"torch.{candidate.scalar_name}Tensor":
            return candidate
    raise _errors.invalid_type_name(name)


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again."""

    def __init__(self, hooks, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
