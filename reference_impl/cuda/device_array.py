"""DeviceArray: a strided view of CUDA memory that speaks numpy's dispatch protocols.

reference_impl's ops compute with numpy on ``tensor._array()``. For a CUDA tensor that call
returns a DeviceArray instead, and numpy hands every ufunc (``np.add``, ``np.exp``,
``np.add.reduce`` …) to ``__array_ufunc__`` and every function (``np.where``,
``np.take_along_axis`` …) to ``__array_function__``. Those route to our kernels, so the same
op code runs on both devices and every chain rule (written in tensor ops) runs on the GPU too.

Like CuPy, a DeviceArray refuses implicit conversion to numpy: a silent copy to the host
would hide which ops don't run on the device. ``get()`` is the explicit copy.

A numpy function with no kernel of ours yet runs on the host (download, compute, upload)
and is counted in ``host_fallbacks``, so what is missing stays visible;
``REFERENCE_IMPL_CUDA_STRICT=1`` turns that into an error.

Layout is the same as a CPU tensor's: a byte offset into one allocation and strides counted
in elements (``estrides``), shared by all views of that allocation.
"""

import collections
import os

import numpy as np

from .. import _layout
from . import runtime

_FUNCTIONS: dict = {}
_UFUNC_METHODS: dict = {}
host_fallbacks: collections.Counter = collections.Counter()


def implements(*functions):
    """Register the decorated function as the device version of numpy ``functions``."""

    def register(implementation):
        for function in functions:
            _FUNCTIONS[function] = implementation
        return implementation

    return register


def implements_ufunc_method(method, *ufuncs):
    """Register a device version of ``ufunc.method`` (``"reduce"``, ``"accumulate"``, ``"at"``)."""

    def register(implementation):
        for ufunc in ufuncs:
            _UFUNC_METHODS[(ufunc, method)] = implementation
        return implementation

    return register


class DeviceArray(np.lib.mixins.NDArrayOperatorsMixin):
    """``shape`` elements of ``dtype`` at ``offset`` bytes into ``memory``, ``estrides`` apart."""

    __slots__ = ("memory", "offset", "shape", "estrides", "dtype", "index_bound", "_pointer")
    __array_priority__ = 100

    def __init__(self, memory, offset, shape, estrides, dtype):
        self.memory = memory
        self.offset = offset
        self.shape = tuple(shape)
        self.estrides = tuple(estrides)
        self.dtype = np.dtype(dtype)
        # Set on an arg reduction's fresh result: its values are known on the host to lie in
        # [0, index_bound), so indexing with it needs no bounds check (a check reads the
        # device, which waits for every kernel queued before it). Views do not inherit it.
        self.index_bound = None
        self._pointer = None  # made when first launched with: memory and offset never change

    # -- making and moving ------------------------------------------------------------------

    @classmethod
    def empty(cls, shape, dtype):
        """A fresh C-contiguous array (uninitialised)."""
        dtype = np.dtype(dtype)
        shape = tuple(map(int, shape))
        memory = runtime.backend().allocate(_layout.numel(shape) * dtype.itemsize)
        return cls(memory, 0, shape, _layout.contiguous_strides(shape), dtype)

    @classmethod
    def from_host(cls, host):
        """Copy a numpy array (or anything numpy accepts) to the device, C-contiguous."""
        host = np.asarray(host)  # not ascontiguousarray, which makes a 0-d array 1-d
        array = cls.empty(host.shape, host.dtype)
        runtime.backend().upload(array.memory, 0, host)
        return array

    def get(self):
        """Copy to a numpy array on the host (the explicit transfer, as in CuPy)."""
        if self.size == 0:
            return np.empty(self.shape, self.dtype)
        low = sum(min(0, (n - 1) * s) for n, s in zip(self.shape, self.estrides))
        high = sum(max(0, (n - 1) * s) for n, s in zip(self.shape, self.estrides))
        itemsize = self.dtype.itemsize
        raw = runtime.backend().download(self.memory, self.offset + low * itemsize,
                                         (high - low + 1) * itemsize).view(self.dtype)
        view = np.lib.stride_tricks.as_strided(raw[-low:], self.shape,
                                               tuple(s * itemsize for s in self.estrides))
        return view.copy()

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion of a CUDA array to numpy is not allowed: "
                        "an op tried to compute on the host. Use .get() for an explicit copy.")

    def pointer(self):
        """This view's first element as a kernel argument."""
        if self._pointer is None:
            self._pointer = runtime.backend().pointer(self.memory, self.offset)
        return self._pointer

    # -- layout -----------------------------------------------------------------------------

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return _layout.numel(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def strides(self):
        return tuple(s * self.dtype.itemsize for s in self.estrides)

    @property
    def T(self):
        return self.transpose()

    def is_c_contiguous(self):
        return _layout.is_contiguous(self.shape, self.estrides)

    def view_as(self, shape, estrides, element_offset=0):
        """Another view of the same memory (offset relative to this view's first element)."""
        return DeviceArray(self.memory, self.offset + element_offset * self.dtype.itemsize,
                           shape, estrides, self.dtype)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self):
        return f"DeviceArray({self.get()!r}, backend={runtime.backend().name})"

    # -- numpy protocols --------------------------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__":
            return elementwise.call_ufunc(ufunc, inputs, kwargs)
        implementation = _UFUNC_METHODS.get((ufunc, method))
        if implementation is not None:
            return implementation(*inputs, **kwargs)
        return _on_host(f"{ufunc.__name__}.{method}", getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, function, types, args, kwargs):
        implementation = _FUNCTIONS.get(function)
        if implementation is not None:
            return implementation(*args, **kwargs)
        return _on_host(function.__name__, function, args, kwargs)

    # -- methods numpy code calls on arrays ------------------------------------------------

    def astype(self, dtype, copy=True, casting="unsafe"):
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        result = DeviceArray.empty(self.shape, dtype)
        np.copyto(result, self, casting="unsafe")
        return result

    def copy(self, order="C"):
        return self.astype(self.dtype, copy=True)

    def reshape(self, *shape, order="C"):
        shape = _layout.infer_size(_layout.normalize_shape(shape), self.size)
        if self.is_c_contiguous():
            return self.view_as(shape, _layout.contiguous_strides(shape))
        strides = _layout.view_strides(self.shape, self.estrides, shape)
        if strides is None:
            return self.copy().reshape(shape)
        return self.view_as(shape, strides)

    def ravel(self, order="C"):
        return self.reshape(-1)

    def flatten(self, order="C"):
        return self.copy().reshape(-1)

    def transpose(self, *axes):
        if not axes or axes == (None,):
            axes = tuple(reversed(range(self.ndim)))
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = _layout.wrap_dims(axes, self.ndim)
        return self.view_as([self.shape[a] for a in axes], [self.estrides[a] for a in axes])

    def swapaxes(self, first, second):
        axes = list(range(self.ndim))
        axes[first], axes[second] = axes[second], axes[first]
        return self.transpose(axes)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis)

    def fill(self, value):
        np.copyto(self, np.array(value, dtype=self.dtype))

    def item(self, *index):
        return self.get().item(*index)

    def tolist(self):
        return self.get().tolist()

    def tobytes(self, order="C"):
        return self.get().tobytes(order)

    def __bool__(self):
        return bool(self.get())

    def __float__(self):
        return float(self.get())

    def __int__(self):
        return int(self.get())

    def __index__(self):
        return self.get().__index__()

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key):
        return indexing.getitem(self, key)

    def __setitem__(self, key, value):
        indexing.setitem(self, key, value)

    def __getattr__(self, name):
        # sum, max, argmax, cumsum, any, nonzero … behave as the numpy functions of that name.
        function = getattr(np, name, None)
        if callable(function) and name in _ARRAY_METHODS:
            return lambda *args, **kwargs: function(self, *args, **kwargs)
        raise AttributeError(name)


_ARRAY_METHODS = frozenset({
    "sum", "prod", "max", "min", "argmax", "argmin", "mean", "any", "all", "cumsum", "cumprod",
    "nonzero", "argsort", "sort", "clip", "round", "trace", "take", "repeat", "diagonal", "std", "var",
})


# numpy sends creation calls made with ``like=a_device_array`` here, so op code can make
# new arrays where its inputs live: ``np.zeros(shape, dtype, like=values)``.
@implements(np.empty)
def _empty(shape, dtype=float, order="C", device=None):
    return DeviceArray.empty(tuple(shape) if np.ndim(shape) else (shape,), np.float64 if dtype is None else dtype)


@implements(np.full)
def _full(shape, fill_value, dtype=None, order="C", device=None):
    array = _empty(shape, np.result_type(fill_value) if dtype is None else dtype)
    array.fill(fill_value)
    return array


@implements(np.zeros)
def _zeros(shape, dtype=float, order="C", device=None):
    return _full(shape, 0, np.float64 if dtype is None else dtype)


@implements(np.ones)
def _ones(shape, dtype=float, order="C", device=None):
    return _full(shape, 1, np.float64 if dtype is None else dtype)


def on_device(value):
    """``value`` as a DeviceArray: uploaded from the host if it is numpy data or a scalar."""
    if isinstance(value, DeviceArray):
        return value
    return DeviceArray.from_host(np.asarray(value))


def _to_host(value):
    if isinstance(value, DeviceArray):
        return value.get()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_host(item) for item in value)
    return value


def _to_device(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return DeviceArray.from_host(value)
    if isinstance(value, tuple):
        return tuple(_to_device(item) for item in value)
    if isinstance(value, list):
        return [_to_device(item) for item in value]
    return value


# A host copy of these would take the writes with it.
_WRITES_ITS_ARGUMENTS = frozenset({"copyto", "put", "put_along_axis", "place", "putmask", "fill_diagonal", "at"})


def _on_host(name, function, args, kwargs):
    """Run a numpy function we have no kernel for on host copies, and upload its result."""
    if os.environ.get("REFERENCE_IMPL_CUDA_STRICT") == "1":
        raise NotImplementedError(f"no CUDA kernel for numpy's {name} yet")
    if "out" in kwargs or name.split(".")[-1] in _WRITES_ITS_ARGUMENTS:
        raise NotImplementedError(f"no CUDA kernel for numpy's {name}, and it writes in place")
    host_fallbacks[name] += 1
    return _to_device(function(*_to_host(args), **{k: _to_host(v) for k, v in kwargs.items()}))


# The modules holding device versions of numpy functions register them on import.
from . import elementwise, indexing, layout_functions, linalg, reduction, sorting  # noqa: E402, F401
