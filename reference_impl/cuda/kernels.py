"""The C building blocks every generated CUDA kernel shares; the kernels themselves are
generated next to the numpy functions they implement (``elementwise``, ``reduction``,
``linalg``, ``sorting``, ``indexing``).

- ``PRELUDE``: the short integer typedefs and ``strided_offset`` / ``strided_offsets``, the one
  definition of layout arithmetic in CUDA C. A linear index into a shape becomes an
  operand's element offset from its own strides (0 on broadcast dims), so one kernel handles
  contiguous, transposed, sliced, reversed and broadcast operands alike. Every kernel
  carries the prelude once and reads strided operands only through it.
- ``C_TYPES``: numpy dtype name -> the C storage type; ``HALF_HEADER`` for float16 kernels.
- ``kernel_name``: the ``ri_...`` names kernels are compiled and cached under.
"""

# Portable under NVRTC (no standard headers there) and under a host compiler.
PRELUDE = r"""
#ifndef __CUDACC_RTC__
#include <cstdint>
#endif
typedef long long i64;
typedef unsigned char u8;
typedef signed char i8;

// Element offset of output element ``linear`` in an operand with ``strides`` and ``offset``
// (strides in elements, 0 along broadcast dims), walking the output's ``shape``.
__device__ __forceinline__ i64 strided_offset(i64 linear, int ndim, const i64* shape,
                                              const i64* strides, i64 offset) {
    for (int d = ndim - 1; d >= 0; --d) {
        i64 index = linear % shape[d];
        linear /= shape[d];
        offset += index * strides[d];
    }
    return offset;
}

// The same walk for ``count`` operands at once, in ``index_t`` arithmetic (32-bit where the
// launcher knows offsets fit): the divisions, the costly part on a GPU, are shared.
// ``strides`` holds operand k's strides at ``strides[k * ndim + d]``.
template <int count, typename index_t>
__device__ __forceinline__ void strided_offsets(index_t linear, int ndim, const i64* shape,
                                                const i64* strides, index_t* offsets) {
    for (int k = 0; k < count; ++k) offsets[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        const index_t size = (index_t)shape[d];
        const index_t index = linear % size;
        linear /= size;
        for (int k = 0; k < count; ++k) offsets[k] += index * (index_t)strides[k * ndim + d];
    }
}

// The same walk in 32 bits, where a division by each dim's size is a multiply and a shift:
// ``dividers`` holds (size, magic, shift) per dim, from ``kernels.divider`` on the host, so the
// hardware divide (tens of instructions) leaves the inner loop of strided kernels.
template <int count>
__device__ __forceinline__ void strided_offsets32(unsigned int linear, int ndim, const unsigned int* dividers,
                                                  const i64* strides, int* offsets) {
    for (int k = 0; k < count; ++k) offsets[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        const unsigned int size = dividers[3 * d], magic = dividers[3 * d + 1], shift = dividers[3 * d + 2];
        const unsigned int quotient = (__umulhi(linear, magic) + linear) >> shift;
        const int index = (int)(linear - quotient * size);
        linear = quotient;
        for (int k = 0; k < count; ++k) offsets[k] += index * (int)strides[k * ndim + d];
    }
}
"""


def divider(size):
    """(size, magic, shift) with ``n // size == (umulhi(n, magic) + n) >> shift`` for every
    ``n < 2**31``: the division strided_offsets32 does by multiplying (Granlund and Montgomery's
    method, as torch's IntDivider)."""
    size = max(size, 1)
    shift = (size - 1).bit_length()
    magic = ((1 << 32) * ((1 << shift) - size)) // size + 1
    return size, magic & 0xFFFFFFFF, shift

# numpy dtype name -> C type used for storage (the wider unsigned ones only appear inside
# reductions: numpy sums unsigned integers in uint64)
C_TYPES = {
    "float16": "__half", "float32": "float", "float64": "double", "int8": "i8", "int16": "short",
    "int32": "int", "int64": "i64", "uint8": "u8", "bool": "bool",
    "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long long",
}

HALF_HEADER = r"""
#include <cuda_fp16.h>
"""


def kernel_name(*parts):
    """A kernel's C name from the parts that make its variant unique (op, dtypes, sizes)."""
    return "_".join(["ri"] + list(parts))
