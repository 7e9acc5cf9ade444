"""reference_impl's own CUDA kernels, as CUDA C source text.

The kernels are generated from small templates around one shared prelude that holds the
layout arithmetic (shape and strides to an element offset). They are compiled by NVRTC:
through CuPy's RawKernel on a GPU, and by ``nvrtc.compile`` for the compile tier, which
needs no GPU.
"""


def is_available():
    """Whether reference_impl can put tensors on a GPU. Not yet: the kernels exist and are
    checked on GPUs by scripts/gpu_check.sh, but tensors have no CUDA storage so far."""
    return False


def device_count():
    return 0
