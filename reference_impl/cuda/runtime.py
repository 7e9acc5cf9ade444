"""Where CUDA tensors live and where our kernels run: a GPU through CuPy, or the host
through the emulation layer. Nothing above this module knows which one it is talking to.

The switch is the environment variable ``REFERENCE_IMPL_CUDA``:

- ``emulate``: a ``cuda`` device whose memory is host memory and whose kernels are our CUDA
  C compiled by g++ (``reference_impl.cuda.emulation``), for CPU-only machines and CI;
- ``cupy``: a real GPU, memory from CuPy's allocator, kernels compiled by NVRTC through
  ``cupy.RawKernel``;
- unset: ``cupy`` when CuPy imports and sees a GPU, otherwise no CUDA device at all.

``use(name)`` switches in-process (tests use it).

Only memory allocation, host/device copies and kernel launches cross this boundary; all
arithmetic is in our kernels.
"""

import functools
import os

import numpy as np

# What NVRTC is given besides the architecture (which CuPy picks for the device it runs on):
# the GPU run and the compile tier (nvrtc.py) build the same code. No --use_fast_math: it
# would trade exp's and division's rounding, and denormals, for speed.
NVRTC_OPTIONS = ("-std=c++17",)

_backend = None
_chosen = False


class Pointer:
    """A device address as a kernel argument (CuPy's RawKernel and the emulation both take it)."""

    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


class _Emulated:
    """Device memory is a host numpy buffer; kernels are compiled by g++ and run on fibers."""

    name = "emulate"

    def allocate(self, nbytes):
        return _HostMemory(nbytes)

    def upload(self, memory, byte_offset, host):
        host = np.ascontiguousarray(host)
        memory.buffer[byte_offset:byte_offset + host.nbytes] = host.reshape(-1).view(np.uint8)

    def download(self, memory, byte_offset, nbytes):
        return memory.buffer[byte_offset:byte_offset + nbytes].copy()

    def kernel(self, source, name):
        from .emulation import HostKernel

        return HostKernel(source, name)

    def pointer(self, memory, byte_offset):
        return Pointer(memory.ptr + byte_offset)

    def synchronize(self):
        pass


class _HostMemory:
    __slots__ = ("buffer", "ptr", "nbytes")

    def __init__(self, nbytes):
        self.buffer = np.empty(max(nbytes, 1), dtype=np.uint8)
        self.ptr = self.buffer.ctypes.data
        self.nbytes = nbytes


class _CuPy:
    """Device memory from CuPy's pool; kernels through ``cupy.RawKernel`` (NVRTC)."""

    name = "cupy"

    def __init__(self, cupy):
        self.cupy = cupy

    def allocate(self, nbytes):
        return _CuPyMemory(self.cupy.cuda.alloc(max(nbytes, 1)), nbytes)

    def upload(self, memory, byte_offset, host):
        host = np.ascontiguousarray(host)
        if host.nbytes:
            (memory.pointer + byte_offset).copy_from_host(host.ctypes.data, host.nbytes)

    def download(self, memory, byte_offset, nbytes):
        host = np.empty(nbytes, dtype=np.uint8)
        if nbytes:
            (memory.pointer + byte_offset).copy_to_host(host.ctypes.data, nbytes)
        return host

    def kernel(self, source, name):
        return self.cupy.RawKernel(source, name, options=NVRTC_OPTIONS)

    def pointer(self, memory, byte_offset):
        # CuPy takes a MemoryPointer as a kernel argument and passes its address.
        return memory.pointer + byte_offset

    def synchronize(self):
        self.cupy.cuda.runtime.deviceSynchronize()


class _CuPyMemory:
    __slots__ = ("pointer", "ptr", "nbytes")

    def __init__(self, pointer, nbytes):
        self.pointer = pointer
        self.ptr = pointer.ptr
        self.nbytes = nbytes


def _probe_cupy():
    try:
        import cupy
    except ImportError:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except cupy.cuda.runtime.CUDARuntimeError:
        return None
    return _CuPy(cupy)


def use(name):
    """Pick the backend: ``"emulate"``, ``"cupy"`` or ``None`` (no CUDA device)."""
    global _backend, _chosen
    if name == "emulate":
        _backend = _Emulated()
    elif name == "cupy":
        _backend = _probe_cupy()
        if _backend is None:
            raise RuntimeError("REFERENCE_IMPL_CUDA=cupy, but CuPy sees no GPU")
    elif name is None:
        _backend = None
    else:
        raise ValueError(f"unknown CUDA backend {name!r}; expected 'emulate' or 'cupy'")
    _chosen = True


def backend():
    """The active backend, or None when this process has no CUDA device."""
    if not _chosen:
        requested = os.environ.get("REFERENCE_IMPL_CUDA")
        if requested:
            use(requested)
        else:
            use_auto()
    return _backend


def use_auto():
    global _backend, _chosen
    _backend = _probe_cupy()
    _chosen = True


_kernels: dict = {}


def kernel(source, name):
    """Our compiled kernel ``name`` from ``source``, compiled once per process and backend."""
    key = (backend().name, name, source)
    compiled = _kernels.get(key)
    if compiled is None:
        compiled = _kernels[key] = backend().kernel(source, name)
    return compiled


_plan_caches: list = []


def plan_cache(function):
    """``functools.lru_cache`` for a function that builds launch plans, registered so that
    ``clear_plans`` can drop them all: a plan holds compiled kernels, so code that wraps
    ``kernel`` (the GPU timing script's launch recorder) must start from empty caches."""
    cached = functools.lru_cache(maxsize=4096)(function)
    _plan_caches.append(cached)
    return cached


def clear_plans():
    """Forget every launch plan: the next launches look their kernels up through ``kernel`` again."""
    for cache in _plan_caches:
        cache.cache_clear()
