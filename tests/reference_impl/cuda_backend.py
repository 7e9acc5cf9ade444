"""The CUDA backend the test_cuda_* files run on: the g++ emulation by default, a GPU through
CuPy when ``REFERENCE_IMPL_CUDA=cupy`` (scripts/gpu_check.sh sets it).

A test module uses it with::

    from .cuda_backend import cuda_backend, requires_backend  # noqa: F401 (an autouse fixture)
    pytestmark = requires_backend
"""

import os
import shutil

import pytest

from reference_impl.cuda import runtime

BACKEND = "cupy" if os.environ.get("REFERENCE_IMPL_CUDA") == "cupy" else "emulate"

requires_backend = pytest.mark.skipif(BACKEND == "emulate" and shutil.which("g++") is None,
                                      reason="the CUDA host emulation compiles kernels with g++")


@pytest.fixture(autouse=True, scope="module")
def cuda_backend():
    runtime.use(BACKEND)
    yield BACKEND
    runtime.use(None)


def count_device_reads(monkeypatch):
    """A list that gets every copy from the device to the host from now on (the backend's
    ``download`` arguments): a device read waits for every kernel queued before it."""
    backend = runtime.backend()
    reads = []
    download = backend.download
    monkeypatch.setattr(backend, "download", lambda *args: reads.append(args) or download(*args))
    return reads


def record_kernel_lookups(monkeypatch):
    """A list that gets the name of every kernel looked up through ``runtime.kernel`` from
    now on. Cached launch plans hold their kernels: clear them to see every launch's."""
    names = []
    kernel = runtime.kernel
    monkeypatch.setattr(runtime, "kernel", lambda source, name: names.append(name) or kernel(source, name))
    return names
