"""Storage: the flat, typed buffer that a tensor and all of its views point into."""

import numpy as np

from . import _dtype


class Storage:
    """A 1-D numpy buffer plus its dtype. Tensors address it by element offset and strides."""

    __slots__ = ("buffer", "dtype", "resizable")

    def __init__(self, buffer, dtype, resizable=True):
        assert buffer.ndim == 1 and buffer.dtype == dtype.numpy_dtype
        self.buffer = buffer
        self.dtype = dtype
        self.resizable = resizable  # memory borrowed from numpy cannot grow

    @classmethod
    def allocate(cls, count, dtype, fill=None):
        """A fresh storage of ``count`` elements, uninitialised unless ``fill`` is given."""
        if fill is None:
            buffer = np.empty(count, dtype=dtype.numpy_dtype)
        else:
            buffer = np.full(count, fill, dtype=dtype.numpy_dtype)
        return cls(buffer, dtype)

    @classmethod
    def wrap(cls, array):
        """Adopt a 1-D numpy array as storage without copying (its dtype must be ours)."""
        return cls(array, _dtype.from_numpy_dtype(array.dtype))

    def size(self):
        return self.buffer.shape[0]

    def nbytes(self):
        return self.buffer.nbytes

    def data_ptr(self):
        """Address of element 0; torch reports 0 for storage that holds no bytes."""
        if self.buffer.nbytes == 0:
            return 0
        return self.buffer.__array_interface__["data"][0]
