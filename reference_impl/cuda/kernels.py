"""CUDA C source for reference_impl's kernels.

Every kernel reads its operands through ``strided_offset``, the one definition of layout
arithmetic in CUDA C: a linear index into the output's shape becomes each operand's element
offset from its own strides (0 on broadcast dims) and storage offset. So the same kernel
handles contiguous, transposed, sliced and broadcast operands alike.
"""

# Portable under NVRTC (no standard headers there) and under a host compiler.
PRELUDE = r"""
#ifndef __CUDACC_RTC__
#include <cstdint>
#endif
typedef long long i64;
typedef unsigned char u8;
typedef signed char i8;

__device__ __forceinline__ void atomicAdd_i64(i64* address, i64 value) {
    atomicAdd((unsigned long long*)address, (unsigned long long)value);
}

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
"""

# numpy dtype name -> C type used for storage (the wider unsigned ones only appear inside
# reductions: numpy sums unsigned integers in uint64)
C_TYPES = {
    "float16": "__half", "float32": "float", "float64": "double", "int8": "i8", "int16": "short",
    "int32": "int", "int64": "i64", "uint8": "u8", "bool": "bool",
    "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long long",
}

# binary op -> C expression over ``x`` and ``y`` (already converted to the compute type)
BINARY = {
    "add": "x + y", "sub": "x - y", "mul": "x * y", "div": "x / y",
    "maximum": "(x > y ? x : y)", "minimum": "(x < y ? x : y)",
    "eq": "x == y", "ne": "x != y", "lt": "x < y", "le": "x <= y", "gt": "x > y", "ge": "x >= y",
}

UNARY = {"neg": "-x", "exp": "exp(x)", "log": "log(x)", "sqrt": "sqrt(x)", "abs": "(x < 0 ? -x : x)",
         "relu": "(x > 0 ? x : (decltype(x))0)", "sigmoid": "1 / (1 + exp(-x))", "tanh": "tanh(x)"}

HALF_HEADER = r"""
#include <cuda_fp16.h>
"""


def _needs_half(*dtypes):
    return any(dtype == "float16" for dtype in dtypes)


def _compute(dtype):
    """The C type arithmetic happens in: half math goes through float, as torch's does."""
    return "float" if dtype == "float16" else C_TYPES[dtype]


def binary_source(op, a_dtype, b_dtype, out_dtype, compute_dtype):
    """A kernel ``out = op(a, b)`` over strided, broadcast operands of any layout."""
    name = kernel_name("binary", op, a_dtype, b_dtype, out_dtype, compute_dtype)
    compute = _compute(compute_dtype)
    header = HALF_HEADER if _needs_half(a_dtype, b_dtype, out_dtype) else ""
    return name, header + PRELUDE + f"""
extern "C" __global__ void {name}(
        const {C_TYPES[a_dtype]}* a, const i64* a_strides, i64 a_offset,
        const {C_TYPES[b_dtype]}* b, const i64* b_strides, i64 b_offset,
        {C_TYPES[out_dtype]}* out, const i64* out_strides, i64 out_offset,
        const i64* shape, int ndim, i64 n, int contiguous) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    if (contiguous) {{  // every operand dense in row-major order: no index arithmetic
        for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += step) {{
            {compute} x = ({compute})a[a_offset + i];
            {compute} y = ({compute})b[b_offset + i];
            out[out_offset + i] = ({C_TYPES[out_dtype]})({BINARY[op]});
        }}
        return;
    }}
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += step) {{
        {compute} x = ({compute})a[strided_offset(i, ndim, shape, a_strides, a_offset)];
        {compute} y = ({compute})b[strided_offset(i, ndim, shape, b_strides, b_offset)];
        out[strided_offset(i, ndim, shape, out_strides, out_offset)] = ({C_TYPES[out_dtype]})({BINARY[op]});
    }}
}}
"""


def unary_source(op, in_dtype, out_dtype):
    """A kernel ``out = op(a)`` over a strided operand."""
    name = kernel_name("unary", op, in_dtype, out_dtype)
    compute = _compute(out_dtype)
    header = HALF_HEADER if _needs_half(in_dtype, out_dtype) else ""
    return name, header + PRELUDE + f"""
extern "C" __global__ void {name}(
        const {C_TYPES[in_dtype]}* a, const i64* a_strides, i64 a_offset,
        {C_TYPES[out_dtype]}* out, const i64* out_strides, i64 out_offset,
        const i64* shape, int ndim, i64 n, int contiguous) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    if (contiguous) {{
        for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += step) {{
            {compute} x = ({compute})a[a_offset + i];
            out[out_offset + i] = ({C_TYPES[out_dtype]})({UNARY[op]});
        }}
        return;
    }}
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += step) {{
        {compute} x = ({compute})a[strided_offset(i, ndim, shape, a_strides, a_offset)];
        out[strided_offset(i, ndim, shape, out_strides, out_offset)] = ({C_TYPES[out_dtype]})({UNARY[op]});
    }}
}}
"""


def sum_source(in_dtype, acc_dtype, block=256):
    """Sum of a strided operand: each block reduces its grid-stride share in shared memory
    (a tree, ``block`` threads, a power of two) and adds it to ``out`` atomically."""
    name = kernel_name("sum", in_dtype, acc_dtype)
    acc = C_TYPES[acc_dtype]
    # CUDA's 64-bit integer atomicAdd is unsigned; two's complement makes it right for signed
    atomic = "atomicAdd_i64" if acc_dtype == "int64" else "atomicAdd"
    header = HALF_HEADER if _needs_half(in_dtype) else ""
    return name, header + PRELUDE + f"""
extern "C" __global__ void {name}(
        const {C_TYPES[in_dtype]}* a, const i64* a_strides, i64 a_offset,
        const i64* shape, int ndim, i64 n, {acc}* out, int contiguous) {{
    __shared__ {acc} partial[{block}];
    {acc} total = 0;
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += step) {{
        total += ({acc})a[contiguous ? a_offset + i : strided_offset(i, ndim, shape, a_strides, a_offset)];
    }}
    partial[threadIdx.x] = total;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {{
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }}
    if (threadIdx.x == 0) {atomic}(out, partial[0]);
}}
"""


def matmul_source(dtype, tile=16):
    """C = A @ B for row-major 2-D operands with explicit strides, through ``tile`` x ``tile``
    tiles staged in shared memory (each input element is read from global memory once per
    tile row or column instead of once per output)."""
    name = kernel_name("matmul", dtype, str(tile))
    t = C_TYPES[dtype]
    acc = _compute(dtype)
    header = HALF_HEADER if _needs_half(dtype) else ""
    return name, header + PRELUDE + f"""
extern "C" __global__ void {name}(const {t}* a, i64 a_row, i64 a_col, i64 a_offset,
                                  const {t}* b, i64 b_row, i64 b_col, i64 b_offset,
                                  {t}* c, i64 m, i64 k, i64 n) {{
    __shared__ {acc} a_tile[{tile}][{tile}];
    __shared__ {acc} b_tile[{tile}][{tile}];
    i64 row = blockIdx.y * {tile} + threadIdx.y;
    i64 col = blockIdx.x * {tile} + threadIdx.x;
    {acc} total = 0;
    for (i64 start = 0; start < k; start += {tile}) {{
        i64 a_k = start + threadIdx.x, b_k = start + threadIdx.y;
        a_tile[threadIdx.y][threadIdx.x] = (row < m && a_k < k) ? ({acc})a[a_offset + row * a_row + a_k * a_col] : 0;
        b_tile[threadIdx.y][threadIdx.x] = (b_k < k && col < n) ? ({acc})b[b_offset + b_k * b_row + col * b_col] : 0;
        __syncthreads();
        for (int j = 0; j < {tile}; ++j) total += a_tile[threadIdx.y][j] * b_tile[j][threadIdx.x];
        __syncthreads();
    }}
    if (row < m && col < n) c[row * n + col] = ({t})total;
}}
"""


def kernel_name(*parts):
    return "_".join(["ri"] + list(parts))


FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8")


def all_sources():
    """Every kernel variant reference_impl would launch, as (name, source) pairs."""
    sources = []
    for dtype in FLOATS + INTS:
        for op in ("add", "sub", "mul", "maximum", "minimum"):
            sources.append(binary_source(op, dtype, dtype, dtype, dtype))
        for op in ("eq", "lt", "ge"):
            sources.append(binary_source(op, dtype, dtype, "bool", dtype))
    for dtype in FLOATS:
        sources.append(binary_source("div", dtype, dtype, dtype, dtype))
        for op in UNARY:
            sources.append(unary_source(op, dtype, dtype))
    sources.append(binary_source("add", "int64", "float32", "float32", "float32"))  # promotion
    sources.append(binary_source("div", "int64", "int64", "float32", "float32"))
    for in_dtype, acc_dtype in (("float32", "float32"), ("float64", "float64"), ("int64", "int64"),
                                ("float16", "float32")):
        sources.append(sum_source(in_dtype, acc_dtype))
    for dtype in ("float32", "float64"):
        sources.append(matmul_source(dtype))
    return sources
