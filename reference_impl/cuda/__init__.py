"""reference_impl's CUDA device: our own kernels (CUDA C, generated in ``kernels`` and
``elementwise``) over strided device memory.

Where the kernels run is chosen in ``runtime``: a GPU through CuPy, or the host through the
emulation layer (``REFERENCE_IMPL_CUDA=emulate``), which compiles the same CUDA C with g++.
``DeviceArray`` is what a CUDA tensor's ``_array()`` returns; numpy's dispatch protocols
send every numpy call the ops make on it to our kernels.
"""

from . import device_array, runtime  # device_array first: it loads the kernel modules


def is_available():
    """True when a CUDA backend is usable: a GPU with CuPy, or the emulation when asked for."""
    return runtime.backend() is not None


def device_count():
    return 1 if is_available() else 0


def synchronize():
    if is_available():
        runtime.backend().synchronize()


def host_fallbacks():
    """numpy functions CUDA tensors needed that ran on the host (no kernel of ours yet), with
    how often each ran."""
    return dict(device_array.host_fallbacks)
