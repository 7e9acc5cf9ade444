"""Storage: the flat, typed buffer that a tensor and all of its views point into.

On the CPU the buffer is a 1-D numpy array; on CUDA it is a 1-D ``cuda.DeviceArray`` (an
allocation on the GPU, or in host memory under emulation). Tensors address either by
element offset and strides, so views share memory the same way on both devices.
"""

import numpy as np

from . import _device
from .cuda.device_array import DeviceArray


class Storage:
    """A 1-D buffer plus its dtype. Tensors address it by element offset and strides."""

    __slots__ = ("buffer", "dtype", "resizable", "device", "_address")

    def __init__(self, buffer, dtype, resizable=True, device=_device.CPU):
        assert buffer.ndim == 1 and buffer.dtype == dtype.numpy_dtype
        self.buffer = buffer
        self.dtype = dtype
        self.resizable = resizable  # memory borrowed from numpy cannot grow
        self.device = device
        self._address = None  # data_ptr(), found when first asked (the buffer never moves)

    @classmethod
    def allocate(cls, count, dtype, fill=None, device=_device.CPU):
        """A fresh storage of ``count`` elements on ``device``, uninitialised unless ``fill`` is given."""
        if device.type == "cuda":
            buffer = DeviceArray.empty((count,), dtype.numpy_dtype)
            if fill is not None:
                buffer.fill(fill)
            return cls(buffer, dtype, device=device)
        if fill is None:
            buffer = np.empty(count, dtype=dtype.numpy_dtype)
        else:
            buffer = np.full(count, fill, dtype=dtype.numpy_dtype)
        return cls(buffer, dtype)

    def size(self):
        return self.buffer.shape[0]

    def nbytes(self):
        return self.buffer.nbytes

    def data_ptr(self):
        """Address of element 0; torch reports 0 for storage that holds no bytes."""
        if self._address is None:
            self._address = self._find_address()
        return self._address

    def _find_address(self):
        if self.buffer.nbytes == 0:
            return 0
        if self.device.type == "cuda":
            return self.buffer.memory.ptr + self.buffer.offset
        return self.buffer.__array_interface__["data"][0]
