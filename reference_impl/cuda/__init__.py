"""reference_impl's own CUDA kernels, as CUDA C source text.

The kernels are generated from small templates around one shared prelude that holds the
layout arithmetic (shape and strides to an element offset). They are compiled by NVRTC:
through CuPy's RawKernel on a GPU, and by ``nvrtc.compile`` for the compile tier, which
needs no GPU.
"""
