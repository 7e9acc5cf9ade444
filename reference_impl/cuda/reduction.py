"""Reduction and scan kernels, generated the way CuPy's ReductionKernel generates them.

A reduction is four C expressions (``Reduction``): the accumulator's identity, a *map* that
turns one element ``in0`` (at index ``i`` along the reduced dims) into an accumulator, a
*reduce* that combines two accumulators ``a`` and ``b``, and a *post* that turns the final
accumulator ``a`` (of ``n`` elements) into the output value. ``reduction_source`` wraps
them in one kernel over any strided input reducing any set of axes: the reduced dims and
the kept dims are each walked through ``strided_offset``, so transposed, sliced, reversed
and broadcast (stride 0) inputs all work.

Launch layout: a *group* of threads (a power of two, up to a whole block) reduces one
output: each lane accumulates every ``group``-th element, then the lanes combine in a
shared-memory tree with ``__syncthreads()`` between steps. Long reductions get a group of
a whole block; short ones a warp or less, several outputs to a block. Where the kept dims
are the input's innermost (column sums), the lanes of a group sit ``groups`` threads apart
so that neighbouring threads read neighbouring outputs' elements (coalesced loads). A
reduction whose outputs alone would leave most of a GPU idle (the sum of 64M elements, the
column sums of a square matrix) runs in two passes: per-chunk accumulators first, then one
group per output over those; the chunking depends only on the shape, so results are
deterministic (no atomics).

The numpy functions registered here follow numpy's semantics exactly where the op code
relies on them: the result dtype (found by running the numpy function on a tiny host
stand-in of the same dtype, whose reduced dims are empty exactly where the real ones are,
so numpy also raises its errors and warnings: max of an empty axis, a bad axis, a
forbidden cast, the mean of an empty slice), keepdims, negative and tuple axes, axis=None,
``out=``, first-occurrence argmax with NaN counting as the extreme, NaN-propagating max and
min. float16 accumulates in float; integers in the dtype numpy picks (int64 for sums of
smaller ints). ``initial=`` and ``where=``, which reference_impl never passes, run on the
host.

Scans (cumsum, cumprod, ufunc.accumulate) come in two layouts. Short rows (and float16
loops, whose every step numpy rounds to float16) run one thread per row, each walking its
row in order: numpy's own sequence of roundings, so float results match numpy's bit for
bit. Long rows run a block per row (``block_scan_source``): tiles staged in shared memory,
each thread scanning a few neighbouring elements, a Hillis-Steele scan of the threads'
totals, and a carry from tile to tile; a few very long rows are also split in chunks, each
a block, with carries from the chunk totals (computed by the reduction kernel, then scanned
by the same block scan). Integer, bool, max and min scans are exact either way; float sums
and products of long rows round as a blocked scan does (as torch's CUDA scans do), not as
numpy's strictly sequential loop.
"""

import functools
import typing
from dataclasses import dataclass

import numpy as np

from .. import _layout

# device_array before elementwise: importing it first loads every kernel module in an order
# that works whichever module a program imports first.
from . import device_array, elementwise, kernels, runtime  # noqa: F401
from .device_array import DeviceArray, _on_host, implements, implements_ufunc_method, on_device

BLOCK = 256  # threads of a reduction block at most: the size of its static shared array
SCAN_THREADS = 128
# Block scans: each thread scans SCAN_ITEMS neighbouring elements of a tile of SCAN_ITEMS *
# SCAN_BLOCK (the static shared array's size); rows of at least SCAN_PARALLEL elements get them.
SCAN_ITEMS = 8
SCAN_BLOCK = 256
SCAN_PARALLEL = 256
MAX_BLOCKS = 65535
# Scans split a few long rows into chunks of at least SPLIT_CHUNK elements, about
# SPLIT_BLOCKS chunks (blocks) in all: about one wave of blocks on an H100/H200.
SPLIT_CHUNK = 8192
SPLIT_BLOCKS = 1024
# A reduction whose outputs alone would keep fewer than SPLIT_THREADS threads busy (one full
# wave on an H100/H200: 132 SMs x 2048 threads) splits its elements into chunks of at least
# REDUCE_CHUNK, each reduced by its own group, until that many threads have work.
SPLIT_THREADS = 2**18
REDUCE_CHUNK = 2048


# The (value, index) accumulator of argmax/argmin. An index of -1 marks the identity (no
# element yet), so no sentinel value is needed and every dtype (bool too) works.
ARG_HELPERS = r"""
template <typename T> struct ri_arg { T value; i64 index; };
template <typename T> __device__ __forceinline__ ri_arg<T> ri_make_arg(T value, i64 index) {
    ri_arg<T> r;
    r.value = value;
    r.index = index;
    return r;
}
// The larger value, NaN counting as larger than any number (numpy's argmax picks the first
// NaN); equal values, and two NaNs, go to the earlier index. So the result does not depend
// on the order in which the tree combines partial results.
template <typename T> __device__ __forceinline__ ri_arg<T> ri_argmax(ri_arg<T> a, ri_arg<T> b) {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    if (a_nan || b_nan) return a_nan && b_nan ? (a.index < b.index ? a : b) : (a_nan ? a : b);
    if (a.value != b.value) return a.value > b.value ? a : b;
    return a.index < b.index ? a : b;
}
template <typename T> __device__ __forceinline__ ri_arg<T> ri_argmin(ri_arg<T> a, ri_arg<T> b) {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    if (a_nan || b_nan) return a_nan && b_nan ? (a.index < b.index ? a : b) : (a_nan ? a : b);
    if (a.value != b.value) return a.value < b.value ? a : b;
    return a.index < b.index ? a : b;
}
// The same for an element after every one in ``a`` (index i): it wins only by being larger
// (smaller), or as the first NaN.
template <typename T> __device__ __forceinline__ ri_arg<T> ri_argmax_step(ri_arg<T> a, T value, i64 i) {
    const bool takes = (a.index < 0) | ((a.value == a.value) & ((value > a.value) | (value != value)));
    return takes ? ri_make_arg(value, i) : a;  // bitwise: a select, no branch between the loads
}
template <typename T> __device__ __forceinline__ ri_arg<T> ri_argmin_step(ri_arg<T> a, T value, i64 i) {
    const bool takes = (a.index < 0) | ((a.value == a.value) & ((value < a.value) | (value != value)));
    return takes ? ri_make_arg(value, i) : a;
}
"""


@dataclass(frozen=True, eq=False)  # each is a module constant: identity is equality (and a cheap hash)
class Reduction:
    """A reduction as CuPy's ReductionKernel describes one, in C expressions.

    ``{C}`` in any of them is the compute type (the loop dtype's C type; float for
    float16), ``{lowest}``/``{highest}`` its extreme values. ``map`` sees ``in0`` (the element
    as ``{C}``) and ``i`` (its index along the reduced dims, in C order); ``reduce`` sees two
    accumulators ``a`` and ``b``; ``post`` sees the accumulator ``a`` and the count ``n``.
    ``ordered``: the result depends on which element has which index (argmax), so the
    reduced dims keep their order rather than being reordered for memory access.
    ``step``: the element ``in0`` at index ``i`` taken into the accumulator ``a``, where every
    element already in ``a`` has a smaller index (each thread walks its elements in order);
    by default ``reduce(a, map(in0, i))``. argmax's is cheaper than its general combine: a
    later element only wins by being larger, or the first NaN.
    """

    name: str
    identity: str
    map: str
    reduce: str
    post: str = "a"
    acc: str = "{C}"
    ordered: bool = False
    step: str = "ri_reduce(a, ri_map(in0, i))"


SUM = Reduction("sum", "0", "in0", "a + b")
PROD = Reduction("prod", "1", "in0", "a * b")
MAX = Reduction("max", "{lowest}", "in0", "ri_maximum(a, b)")
MIN = Reduction("min", "{highest}", "in0", "ri_minimum(a, b)")
ALL = Reduction("all", "true", "in0 != 0", "a && b", acc="bool")
ANY = Reduction("any", "false", "in0 != 0", "a || b", acc="bool")
COUNT_NONZERO = Reduction("count_nonzero", "0", "(i64)(in0 != 0)", "a + b", acc="i64")
MEAN = Reduction("mean", "0", "in0", "a + b", post="a / ({C})n")
ARGMAX = Reduction("argmax", "ri_make_arg(({C})0, -1)", "ri_make_arg(in0, i)", "ri_argmax(a, b)", post="a.index",
                   acc="ri_arg<{C}>", ordered=True,
                   step="ri_argmax_step(a, in0, i)")
ARGMIN = Reduction("argmin", "ri_make_arg(({C})0, -1)", "ri_make_arg(in0, i)", "ri_argmin(a, b)", post="a.index",
                   acc="ri_arg<{C}>", ordered=True,
                   step="ri_argmin_step(a, in0, i)")

# ufunc.reduce / ufunc.accumulate: the ufunc -> its Reduction, and its scan step over the
# running value ``a`` and the next element ``in0``.
UFUNC_REDUCTIONS = {np.add: SUM, np.multiply: PROD, np.maximum: MAX, np.minimum: MIN,
                    np.logical_and: ALL, np.logical_or: ANY}
SCAN_STEPS = {"add": "a + in0", "multiply": "a * in0", "maximum": "ri_maximum(a, in0)",
              "minimum": "ri_minimum(a, in0)"}
SCAN_REDUCTIONS = {"add": SUM, "multiply": PROD, "maximum": MAX, "minimum": MIN}


# -- C source -----------------------------------------------------------------------------------

def _compute_c(dtype):
    """The C type arithmetic in ``dtype`` happens in: float16 goes through float."""
    return "float" if dtype == np.float16 else kernels.C_TYPES[dtype.name]


def _extreme_c(dtype, highest):
    """``dtype``'s largest (or smallest) value as a C expression of its compute type: the
    infinities for floats (bit patterns: NVRTC has no INFINITY macro without headers)."""
    if dtype.kind == "f":
        infinity = "__int_as_float(0x7f800000)" if dtype.itemsize <= 4 else "__longlong_as_double(0x7ff0000000000000LL)"
        return infinity if highest else f"-{infinity}"
    if dtype.kind == "b":
        return "true" if highest else "false"
    info = np.iinfo(dtype)
    if dtype == np.int64 and not highest:
        return "(-9223372036854775807LL - 1)"  # the literal 9223372036854775808 does not fit a long long
    suffix = "ULL" if dtype.kind == "u" and dtype.itemsize == 8 else "LL"
    return f"(({kernels.C_TYPES[dtype.name]}){info.max if highest else info.min}{suffix})"


def _load(raw, in_dtype, loop_dtype):
    """C expression of the element ``raw`` (of ``in_dtype``) cast to ``loop_dtype`` as numpy casts it,
    in that dtype's compute type."""
    if loop_dtype == np.float16 and in_dtype != np.float16:
        # rounded to half first, as numpy casts the input to the loop dtype
        exact = f"(float){raw}" if in_dtype.kind in "biu" else raw
        return f"(float)(__half)({exact})"
    if in_dtype == np.float16:
        raw = f"(float){raw}"
    return f"({_compute_c(loop_dtype)}){raw}"


def _store(value, out_dtype):
    """C expression converting ``value`` to ``out_dtype``'s storage type."""
    if out_dtype == np.float16:
        return f"(__half)(float)({value})"
    return f"({kernels.C_TYPES[out_dtype.name]})({value})"


def _format(expression, compute):
    return expression.format(C=_compute_c(compute), lowest=_extreme_c(compute, False),
                             highest=_extreme_c(compute, True))


@functools.cache  # one text per variant: the kernel cache keys on it
def reduction_source(reduction, mode, in_dtype, compute, out_dtype):
    """(kernel name, CUDA C source) of ``reduction`` over ``in_dtype`` elements computed as
    ``compute``, giving ``out_dtype``.

    ``mode`` is ``"full"`` (elements to outputs), ``"partial"`` (pass 1 of a split
    reduction: each chunk of elements to an accumulator, stored raw) or ``"final"`` (pass 2:
    accumulators to outputs). The launch parameters are described in the kernel's comments.
    """
    in_dtype, compute, out_dtype = np.dtype(in_dtype), np.dtype(compute), np.dtype(out_dtype)
    name = kernels.kernel_name("reduce", reduction.name, mode, in_dtype.name if mode != "final" else "acc",
                               compute.name, out_dtype.name if mode != "partial" else "acc")
    acc = _format(reduction.acc, compute)
    if mode == "final":  # the elements are accumulators
        in_c, value_c, load, take = "acc_t", "acc_t", "p[offset]", "ri_reduce(a, in0)"
    else:
        in_c, value_c = kernels.C_TYPES[in_dtype.name], _compute_c(compute)
        load, take = _load("p[offset]", in_dtype, compute), _format(reduction.step, compute)
    if mode == "partial":
        out_c, store = "acc_t", "p1[o] = partial[t];"
    else:
        out_c = kernels.C_TYPES[out_dtype.name]
        store = (f"p1[strided_offset(o, kept_ndim, kept_shape, out_strides, 0)] = "
                 f"{_store('ri_post(partial[t], count)', out_dtype)};")
    header = kernels.HALF_HEADER if np.float16 in (in_dtype, compute, out_dtype) else ""
    return name, header + kernels.PRELUDE + elementwise.HELPERS + ARG_HELPERS + f"""
typedef {acc} acc_t;
__device__ __forceinline__ acc_t ri_identity() {{ return {_format(reduction.identity, compute)}; }}
__device__ __forceinline__ acc_t ri_map(const {_compute_c(compute)} in0, const i64 i) {{
    (void)i;
    return {_format(reduction.map, compute)};
}}
__device__ __forceinline__ acc_t ri_reduce(const acc_t a, const acc_t b) {{
    return {_format(reduction.reduce, compute)};
}}
__device__ __forceinline__ auto ri_post(const acc_t a, const i64 n) {{
    (void)n;
    return {_format(reduction.post, compute)};
}}
typedef {value_c} value_t;
__device__ __forceinline__ value_t ri_load(const {in_c}* p, const i64 offset) {{
    return {load};
}}
// The element ``in0`` (index ``i``) taken into ``a``, which holds elements of smaller indices.
__device__ __forceinline__ acc_t ri_take(const acc_t a, const value_t in0, const i64 i) {{
    (void)i;
    return {take};
}}

// outputs: the outputs (in "partial" mode: per chunk); count: the elements each output
// reduces in all (post's n); n, chunk, chunks: this launch reduces n elements per output
// in chunks of ``chunk``, the chunk ``c`` of output ``kept`` as "output" o = c * outputs + kept.
// group: the threads that reduce one output (a power of two); lane_stride: 1 when a group's
// lanes are neighbouring threads, else the number of groups in a block (lanes that far
// apart, so that neighbouring threads work on neighbouring outputs).
// kept_*: the kept dims (the input's strides and the output's); ndim, shape, strides: the
// reduced dims. Each list has at least one entry (a size-1 dim where there are none).
extern "C" __global__ void {name}(
        const i64 outputs, const i64 count, const i64 n, const i64 chunk, const i64 chunks,
        const int group, const int lane_stride,
        const int kept_ndim, const i64* kept_shape, const i64* kept_strides, const i64* out_strides,
        const int ndim, const i64* shape, const i64* strides,
        const {in_c}* p0, {out_c}* p1) {{
    __shared__ acc_t partial[{BLOCK}];
    const int t = threadIdx.x;
    const int groups = blockDim.x / group;
    const int lane = lane_stride == 1 ? t % group : t / groups;
    const int slot = lane_stride == 1 ? t / group : t % groups;
    const i64 total = outputs * chunks;
    const i64 inner = strides[ndim - 1];
    // The loop bound depends on the block only, so every thread reaches every barrier.
    for (i64 first = (i64)blockIdx.x * groups; first < total; first += (i64)gridDim.x * groups) {{
        const i64 o = first + slot;
        acc_t a = ri_identity();
        if (o < total) {{
            const i64 kept = o % outputs, begin = o / outputs * chunk;
            const i64 base = strided_offset(kept, kept_ndim, kept_shape, kept_strides, 0);
            const i64 end = begin + chunk < n ? begin + chunk : n;
            i64 i = begin + lane;
            if (ndim == 1) {{
                // One reduced dim (the usual case once dims are merged): no index arithmetic,
                // and four loads issued before any of them is used, to cover memory latency.
                for (; i + 3 * group < end; i += 4 * group) {{
                    const value_t v0 = ri_load(p0, base + i * inner);
                    const value_t v1 = ri_load(p0, base + (i + group) * inner);
                    const value_t v2 = ri_load(p0, base + (i + 2 * group) * inner);
                    const value_t v3 = ri_load(p0, base + (i + 3 * group) * inner);
                    a = ri_take(a, v0, i);
                    a = ri_take(a, v1, i + group);
                    a = ri_take(a, v2, i + 2 * group);
                    a = ri_take(a, v3, i + 3 * group);
                }}
                for (; i < end; i += group) a = ri_take(a, ri_load(p0, base + i * inner), i);
            }} else {{
                for (; i < end; i += group) {{
                    a = ri_take(a, ri_load(p0, strided_offset(i, ndim, shape, strides, base)), i);
                }}
            }}
        }}
        partial[t] = a;
        __syncthreads();
        // A tree over the group's lanes: after the step of stride s, lane l < s holds the
        // combination of lanes l, l + s, l + 2s ...
        for (int s = group / 2; s > 0; s /= 2) {{
            if (lane < s) partial[t] = ri_reduce(partial[t], partial[t + s * lane_stride]);
            __syncthreads();
        }}
        // Only lane 0 reads its slot now; the next round's first write to a slot another
        // thread reads comes after that round's first barrier.
        if (lane == 0 && o < total) {store}
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def scan_source(op, in_dtype, loop_dtype, out_dtype):
    """(kernel name, CUDA C source) of numpy's ``op.accumulate``: one thread per row, walking
    it in order (numpy's own sequence of roundings, so float results match numpy exactly;
    rows run in parallel, each row's elements one after another)."""
    in_dtype, loop_dtype, out_dtype = np.dtype(in_dtype), np.dtype(loop_dtype), np.dtype(out_dtype)
    name = kernels.kernel_name("scan", op, in_dtype.name, loop_dtype.name, out_dtype.name)
    compute = _compute_c(loop_dtype)
    # Each running value is stored in the loop dtype before the next step uses it, as
    # numpy's loop stores it (float16 rounds at every step; small ints wrap).
    step = f"({compute}){_store(SCAN_STEPS[op], loop_dtype)}"
    header = kernels.HALF_HEADER if np.float16 in (in_dtype, loop_dtype, out_dtype) else ""
    return name, header + kernels.PRELUDE + elementwise.HELPERS + f"""
// rows: the rows to scan (the kept dims: kept_shape, with the input's and the output's
// strides); length: each row's elements along the scanned dims (ndim, shape, and the
// input's and output's strides; several dims when the scan runs over the flattened array).
extern "C" __global__ void {name}(
        const i64 rows, const i64 length,
        const int kept_ndim, const i64* kept_shape, const i64* kept_strides, const i64* kept_out_strides,
        const int ndim, const i64* shape, const i64* strides, const i64* out_strides,
        const {kernels.C_TYPES[in_dtype.name]}* p0, {kernels.C_TYPES[out_dtype.name]}* p1) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 row = (i64)blockIdx.x * blockDim.x + threadIdx.x; row < rows; row += step) {{
        const i64 base = strided_offset(row, kept_ndim, kept_shape, kept_strides, 0);
        const i64 out_base = strided_offset(row, kept_ndim, kept_shape, kept_out_strides, 0);
        {compute} a = 0;
        for (i64 i = 0; i < length; ++i) {{
            const {compute} in0 = {_load("p0[strided_offset(i, ndim, shape, strides, base)]", in_dtype, loop_dtype)};
            a = i == 0 ? in0 : {step};  // numpy's first output is the first element
            p1[strided_offset(i, ndim, shape, out_strides, out_base)] = {_store("a", out_dtype)};
        }}
    }}
}}
"""



@functools.cache  # one text per variant: the kernel cache keys on it
def block_scan_source(op, in_dtype, loop_dtype, out_dtype):
    """(kernel name, CUDA C source) of numpy's ``op.accumulate`` with a block per row segment.

    A segment (a whole row, or one chunk of it) is scanned tile by tile: the tile is loaded
    into shared memory (coalesced), each thread scans its SCAN_ITEMS neighbouring elements,
    the threads' totals are scanned (Hillis-Steele) to give each thread the total of the
    elements before its own, which it combines into its elements, and the tile is stored.
    The tile's last value carries into the next tile; a chunk after a row's first starts
    from ``carries`` (the inclusive scan of the chunks' totals, chunk-major).
    """
    in_dtype, loop_dtype, out_dtype = np.dtype(in_dtype), np.dtype(loop_dtype), np.dtype(out_dtype)
    name = kernels.kernel_name("blockscan", op, in_dtype.name, loop_dtype.name, out_dtype.name)
    compute = _compute_c(loop_dtype)
    header = kernels.HALF_HEADER if np.float16 in (in_dtype, loop_dtype, out_dtype) else ""
    load = _load("p0[ndim == 1 ? base + i * inner : strided_offset(i, ndim, shape, strides, base)]", in_dtype,
                 loop_dtype)
    return name, header + kernels.PRELUDE + elementwise.HELPERS + f"""
typedef {compute} compute_t;
// One step of the scan, stored in the loop dtype as numpy's loop stores it.
__device__ __forceinline__ compute_t ri_step(const compute_t a, const compute_t in0) {{
    return (compute_t){_store(SCAN_STEPS[op], loop_dtype)};
}}

// rows, length, kept_*, ndim, shape, strides, out_strides: as in the one-thread-per-row scan.
// Segment s is chunk s / rows (of ``chunk`` elements) of row s % rows; chunk c > 0 starts
// from carries[(c - 1) * rows + row].
extern "C" __global__ void {name}(
        const i64 rows, const i64 length, const i64 chunk, const i64 chunks,
        const int kept_ndim, const i64* kept_shape, const i64* kept_strides, const i64* kept_out_strides,
        const int ndim, const i64* shape, const i64* strides, const i64* out_strides,
        const compute_t* carries, const {kernels.C_TYPES[in_dtype.name]}* p0, {kernels.C_TYPES[out_dtype.name]}* p1) {{
    __shared__ compute_t tile[{SCAN_ITEMS * SCAN_BLOCK}];
    __shared__ compute_t totals[{SCAN_BLOCK}];
    const int t = threadIdx.x;
    const int tile_size = blockDim.x * {SCAN_ITEMS};
    const i64 inner = strides[ndim - 1], out_inner = out_strides[ndim - 1];
    // The loop bounds depend on the block only, so every thread reaches every barrier.
    for (i64 segment = blockIdx.x; segment < rows * chunks; segment += gridDim.x) {{
        const i64 row = segment % rows, c = segment / rows;
        const i64 base = strided_offset(row, kept_ndim, kept_shape, kept_strides, 0);
        const i64 out_base = strided_offset(row, kept_ndim, kept_shape, kept_out_strides, 0);
        const i64 end = c * chunk + chunk < length ? c * chunk + chunk : length;
        // The running value before the tile; the row's first element starts from nothing
        // (numpy's first output is the first element, not identity op element).
        bool has_carry = c > 0;
        compute_t carry = has_carry ? carries[(c - 1) * rows + row] : (compute_t)0;
        for (i64 start = c * chunk; start < end; start += tile_size) {{
            const int count = (int)(end - start < tile_size ? end - start : tile_size);
            for (int j = t; j < count; j += blockDim.x) {{
                const i64 i = start + j;
                tile[j] = {load};
            }}
            __syncthreads();
            const int first = t * {SCAN_ITEMS};
            const int last = first + {SCAN_ITEMS} < count ? first + {SCAN_ITEMS} : count;
            const bool mine = first < last;  // the threads with elements are threads 0, 1, ...
            if (mine) {{
                compute_t a = tile[first];
                for (int k = first + 1; k < last; ++k) tile[k] = a = ri_step(a, tile[k]);
                totals[t] = a;
            }}
            __syncthreads();
            // After the step of stride s, totals[t] combines the totals of threads t - 2s + 1 .. t.
            for (int s = 1; s < blockDim.x; s *= 2) {{
                const bool takes = mine && t >= s;
                const compute_t earlier = takes ? totals[t - s] : (compute_t)0;
                __syncthreads();
                if (takes) totals[t] = ri_step(earlier, totals[t]);
                __syncthreads();
            }}
            if (mine && (has_carry || t > 0)) {{
                // everything before this thread's elements: the carry, then the threads before it
                compute_t before = carry;
                if (t > 0) before = has_carry ? ri_step(carry, totals[t - 1]) : totals[t - 1];
                for (int k = first; k < last; ++k) tile[k] = ri_step(before, tile[k]);
            }}
            __syncthreads();
            for (int j = t; j < count; j += blockDim.x) {{
                const i64 i = start + j;
                p1[ndim == 1 ? out_base + i * out_inner : strided_offset(i, ndim, shape, out_strides, out_base)] =
                    {_store("tile[j]", out_dtype)};
            }}
            carry = tile[count - 1];
            has_carry = true;
            __syncthreads();  // every thread has read the tile before the next one overwrites it
        }}
    }}
}}
"""

# -- launching ----------------------------------------------------------------------------------

def _pow2_at_least(n):
    return 1 << max(0, int(n) - 1).bit_length()


def _plan(total, chunk, outputs_inner):
    """(group, lane_stride, block, grid) for ``total`` outputs of ``chunk`` elements each: a
    group of up to a block per output, fewer threads for short reductions, several groups to
    a block (a block for 32 neighbouring outputs where those are the input's innermost)."""
    if outputs_inner:
        groups = min(32, _pow2_at_least(total))
        group = min(BLOCK // groups, _pow2_at_least(chunk))
        lane_stride = groups
    else:
        group = min(BLOCK, _pow2_at_least(chunk))
        groups = min(BLOCK // group, _pow2_at_least(total))
        lane_stride = 1
    return group, lane_stride, group * groups, min(-(-total // groups), MAX_BLOCKS)


def _chunks(outputs, n, outputs_inner):
    """How many chunks each output's ``n`` elements are split into (1: one pass). It depends
    on the shape only, so results are deterministic."""
    group = _plan(outputs, n, outputs_inner)[0]
    if n < 2 * REDUCE_CHUNK or outputs * group >= SPLIT_THREADS:
        return 1
    return min(n // REDUCE_CHUNK, -(-SPLIT_THREADS // (outputs * group)))


def _acc_itemsize(reduction, compute):
    """Bytes of one accumulator of ``reduction`` computed as ``compute`` (the C type's size)."""
    if reduction.acc.startswith("ri_arg"):
        return 16  # {value of at most 8 bytes, i64 index}, aligned to 8
    if reduction.acc != "{C}":
        return {"bool": 1, "i64": 8}[reduction.acc]
    return 4 if compute == np.float16 else compute.itemsize


def _launch(reduction, mode, source, compute, target, *, outputs, count, n, chunk, chunks, kept_shape,
            kept_strides, out_strides, shape, strides, outputs_inner):
    _run(_launch_plan(runtime.backend().name, reduction, mode, source.dtype, compute, target.dtype, outputs, count,
                      n, chunk, chunks, tuple(kept_shape), tuple(kept_strides), tuple(out_strides), tuple(shape),
                      tuple(strides), outputs_inner), source, target)


def _run(plan, source, target):
    plan.kernel((plan.grid,), (plan.block,), plan.arguments + (source.pointer(), target.pointer()))


class _LaunchPlan(typing.NamedTuple):
    kernel: object
    grid: int
    block: int
    arguments: tuple  # every kernel argument but the source and target addresses
    constants: tuple  # the device arrays those arguments point into, kept alive with the plan


@runtime.plan_cache
def _launch_plan(backend, reduction, mode, source_dtype, compute, target_dtype, outputs, count, n, chunk, chunks,
                 kept_shape, kept_strides, out_strides, shape, strides, outputs_inner):
    """A launch's kernel, grid and leading arguments, worked out once per layout and dtypes
    (the host-side work would otherwise cost more than a small kernel on a GPU); ``backend``
    keys the kernel's compilation."""
    name, code = reduction_source(reduction, mode, source_dtype, compute, target_dtype)
    group, lane_stride, block, grid = _plan(outputs * chunks, chunk, outputs_inner)
    constants = tuple(elementwise.device_constant(values)
                      for values in (kept_shape, kept_strides, out_strides, shape, strides))
    kept_shape_array, kept_strides_array, out_strides_array, shape_array, strides_array = constants
    arguments = (np.int64(outputs), np.int64(count), np.int64(n), np.int64(chunk), np.int64(chunks),
                 np.int32(group), np.int32(lane_stride),
                 np.int32(len(kept_shape)), kept_shape_array.pointer(), kept_strides_array.pointer(),
                 out_strides_array.pointer(), np.int32(len(shape)), shape_array.pointer(), strides_array.pointer())
    return _LaunchPlan(runtime.kernel(code, name), grid, block, arguments, constants)


class _Passes(typing.NamedTuple):
    """A reduction's launches: none (no outputs), one ("full"), or two ("partial" into
    ``partial_bytes`` of scratch, then "final")."""

    plans: tuple
    partial_bytes: int


@runtime.plan_cache
def _passes(backend, reduction, shape, estrides, axes, keepdims, in_dtype, compute, out_dtype, out_estrides):
    """The launches reducing an input of ``shape`` and ``estrides`` over ``axes`` into an output
    with ``out_estrides``, worked out once per layout and dtypes."""
    kept = [d for d in range(len(shape)) if d not in axes]
    outputs = _layout.numel([shape[d] for d in kept])
    n = _layout.numel([shape[d] for d in axes])
    if outputs == 0:
        return _Passes((), 0)
    out_kept = [out_estrides[d] for d in kept] if keepdims else list(out_estrides)
    kept_shape, (kept_strides, out_strides) = _layout.merged_dims([shape[d] for d in kept],
                                                                  [estrides[d] for d in kept], out_kept)
    reduced = [(shape[d], estrides[d]) for d in axes]
    if not reduction.ordered:  # smallest stride innermost: neighbouring lanes read neighbouring elements
        reduced.sort(key=lambda dim: -abs(dim[1]))
    sizes, (strides,) = _layout.merged_dims([size for size, _ in reduced], [stride for _, stride in reduced])
    outputs_inner = outputs > 1 and min(abs(s) for s in kept_strides) < min(abs(s) for s in strides)
    kept_shape, kept_strides, out_strides, sizes, strides = map(tuple, (kept_shape, kept_strides, out_strides,
                                                                        sizes, strides))
    chunks = _chunks(outputs, n, outputs_inner)
    if chunks == 1:
        return _Passes((_launch_plan(backend, reduction, "full", in_dtype, compute, out_dtype, outputs, n, n, n, 1,
                                     kept_shape, kept_strides, out_strides, sizes, strides, outputs_inner),), 0)
    # Two passes: each chunk's accumulator, stored chunk-major (chunk c of output k at
    # c * outputs + k), then one group per output reduces its chunks' accumulators.
    chunk = -(-n // chunks)
    chunks = -(-n // chunk)
    scratch = np.dtype(np.uint8)
    partial = _launch_plan(backend, reduction, "partial", in_dtype, compute, scratch, outputs, n, n, chunk, chunks,
                           kept_shape, kept_strides, out_strides, sizes, strides, outputs_inner)
    final = _launch_plan(backend, reduction, "final", scratch, compute, out_dtype, outputs, n, chunks, chunks, 1,
                         kept_shape, _layout.contiguous_strides(kept_shape), out_strides, (chunks,), (outputs,),
                         outputs > 1)
    return _Passes((partial, final), chunks * outputs * _acc_itemsize(reduction, compute))


def _result_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if d in axes else size for d, size in enumerate(shape))
    return tuple(size for d, size in enumerate(shape) if d not in axes)


def reduce(array, reduction, axes, keepdims, compute, out_dtype, out=None):
    """``reduction`` of the DeviceArray ``array`` over ``axes`` (non-negative dims), computed
    as ``compute``: a new ``out_dtype`` array of numpy's result shape, or ``out`` written."""
    axes = tuple(sorted(axes))
    if out is None:
        out = DeviceArray.empty(_result_shape(array.shape, axes, keepdims), out_dtype)
        if reduction in (ARGMAX, ARGMIN):
            out.index_bound = _layout.numel([array.shape[d] for d in axes])
    elif out.memory is array.memory:  # other groups may still read what the result overwrites
        np.copyto(out, reduce(array, reduction, axes, keepdims, compute, out.dtype), casting="unsafe")
        return out
    passes = _passes(runtime.backend().name, reduction, array.shape, array.estrides, axes, keepdims, array.dtype,
                     compute, out.dtype, out.estrides)
    if len(passes.plans) == 1:
        _run(passes.plans[0], array, out)
    elif passes.plans:
        partials = DeviceArray.empty((passes.partial_bytes,), np.uint8)
        _run(passes.plans[0], array, partials)
        _run(passes.plans[1], partials, out)
    return out


def scan(array, op, axis, loop_dtype, out_dtype, out=None):
    """numpy's ``op.accumulate`` of the DeviceArray ``array`` along ``axis`` (a non-negative
    dim, or None: the flattened array in C order) in ``loop_dtype``: a new ``out_dtype``
    array, or ``out`` written."""
    result_shape = (array.size,) if axis is None else array.shape
    if out is None:
        out = DeviceArray.empty(result_shape, out_dtype)
    elif out.memory is array.memory and (out.offset, out.shape, out.estrides) != (array.offset, result_shape,
                                                                                  array.estrides):
        np.copyto(out, scan(array, op, axis, loop_dtype, out.dtype), casting="unsafe")
        return out
    scanned = list(range(array.ndim)) if axis is None else [axis]
    kept = [d for d in range(array.ndim) if d not in scanned]
    if axis is None:  # the flattened output's one stride, seen through the input's shape
        out_strides = [out.estrides[0] * s for s in _layout.contiguous_strides(array.shape)]
    else:
        out_strides = list(out.estrides)
    rows = _layout.numel([array.shape[d] for d in kept])
    length = _layout.numel([array.shape[d] for d in scanned])
    if rows == 0 or length == 0:
        return out
    kept_shape, (kept_strides, kept_out) = _layout.merged_dims(
        [array.shape[d] for d in kept], [array.estrides[d] for d in kept], [out_strides[d] for d in kept])
    shape, (strides, scan_out) = _layout.merged_dims(
        [array.shape[d] for d in scanned], [array.estrides[d] for d in scanned], [out_strides[d] for d in scanned])
    layout = {"kept_shape": kept_shape, "kept_strides": kept_strides, "kept_out": kept_out, "shape": shape,
              "strides": strides, "out_strides": scan_out}
    if length < SCAN_PARALLEL or loop_dtype == np.float16:
        name, code = scan_source(op, array.dtype, loop_dtype, out.dtype)
        block = min(SCAN_THREADS, _pow2_at_least(rows))
        constant = elementwise.device_constant
        runtime.kernel(code, name)(
            (min(-(-rows // block), MAX_BLOCKS),), (block,),
            (np.int64(rows), np.int64(length), np.int32(len(kept_shape)), constant(kept_shape).pointer(),
             constant(kept_strides).pointer(), constant(kept_out).pointer(), np.int32(len(shape)),
             constant(shape).pointer(), constant(strides).pointer(), constant(scan_out).pointer(),
             array.pointer(), out.pointer()))
        return out
    chunks = 1
    if length >= 2 * SPLIT_CHUNK and rows < SPLIT_BLOCKS:
        chunks = min(-(-length // SPLIT_CHUNK), SPLIT_BLOCKS // rows)
    if chunks == 1:
        _launch_block_scan(op, array, loop_dtype, out, out, rows, length, length, 1, **layout)
        return out
    # A few long rows: chunk totals (the reduction kernel, chunk-major), their inclusive scan
    # along the chunks (in place), then each chunk scanned from the total before it.
    chunk = -(-length // chunks)
    chunks = -(-length // chunk)
    totals = DeviceArray.empty((chunks * rows,), loop_dtype)
    outputs_inner = rows > 1 and min(abs(s) for s in kept_strides) < min(abs(s) for s in strides)
    _launch(SCAN_REDUCTIONS[op], "partial", array, loop_dtype, totals, outputs=rows, count=length, n=length,
            chunk=chunk, chunks=chunks, kept_shape=kept_shape, kept_strides=kept_strides, out_strides=kept_out,
            shape=shape, strides=strides, outputs_inner=outputs_inner)
    _launch_block_scan(op, totals, loop_dtype, totals, totals, rows, chunks, chunks, 1, kept_shape=[rows],
                       kept_strides=[1], kept_out=[1], shape=[chunks], strides=[rows], out_strides=[rows])
    _launch_block_scan(op, array, loop_dtype, out, totals, rows, length, chunk, chunks, **layout)
    return out


def _launch_block_scan(op, source, loop_dtype, target, carries, rows, length, chunk, chunks, *, kept_shape,
                       kept_strides, kept_out, shape, strides, out_strides):
    name, code = block_scan_source(op, source.dtype, loop_dtype, target.dtype)
    block = min(SCAN_BLOCK, max(32, _pow2_at_least(-(-min(chunk, length) // SCAN_ITEMS))))
    constant = elementwise.device_constant
    runtime.kernel(code, name)(
        (min(rows * chunks, MAX_BLOCKS),), (block,),
        (np.int64(rows), np.int64(length), np.int64(chunk), np.int64(chunks), np.int32(len(kept_shape)),
         constant(kept_shape).pointer(), constant(kept_strides).pointer(), constant(kept_out).pointer(),
         np.int32(len(shape)), constant(shape).pointer(), constant(strides).pointer(),
         constant(out_strides).pointer(), carries.pointer(), source.pointer(), target.pointer()))


# -- numpy's functions ----------------------------------------------------------------------------

# Keyword arguments the kernels do not take, with the values that mean "not given".
_OPTION_DEFAULTS = {"where": True, "initial": np._NoValue}


def _needs_host(options):
    """Whether a call passes options the kernels do not take (an unknown keyword too: numpy
    on the host then raises its TypeError)."""
    return any(key not in _OPTION_DEFAULTS or value is not _OPTION_DEFAULTS[key] for key, value in options.items())


def _on_host_with(name, function, array, options, **kwargs):
    """``function`` with options no kernel here takes (``initial=``, ``where=``): on the host."""
    kwargs = {key: value for key, value in {**kwargs, **options}.items() if key != "out" or value is not None}
    return _on_host(name, function, (array,), kwargs)


def _stand_in(array):
    """A host array of ``array``'s dtype whose dims have sizes min(size, 1). numpy reduces it
    to the result dtype it gives ``array``, and raises the errors and warnings it raises for
    ``array`` (bad axes and casts, max of an empty axis, mean of an empty slice), which
    depend on which dims are empty, not on their sizes."""
    return np.zeros(tuple(min(size, 1) for size in array.shape), array.dtype)


def _out_array(out):
    """numpy's ``out=`` (an array, or a 1-tuple from a ufunc method) as a DeviceArray or None."""
    if isinstance(out, tuple):
        out = out[0]
    if out is not None and not isinstance(out, DeviceArray):
        raise TypeError("a CUDA result cannot be written into host memory")
    return out


def _axes(axis, ndim):
    """numpy's ``axis`` (already accepted by numpy for the stand-in) as non-negative dims."""
    if ndim == 0:
        return ()
    if axis is None:
        return tuple(range(ndim))
    return tuple(int(a) % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _checked_out(function, stand_in, result, out, shape, **kwargs):
    """Check ``out`` as numpy would: its shape, and (on the stand-in) the cast into it."""
    if out is not None:
        if out.shape != shape:
            raise ValueError(f"output parameter has shape {out.shape}, but the result has shape {shape}")
        function(stand_in, out=np.zeros(np.shape(result), out.dtype), **kwargs)


def _reduction(function, reduction, a, axis, keepdims, out, loop=None, **kwargs):
    """``function(a, axis=axis, keepdims=keepdims, out=out, **kwargs)`` as ``reduction`` on
    the device. ``loop`` is the dtype it computes in; by default numpy's rule for
    arithmetic reductions: ``dtype=``, else ``out``'s dtype, else the result's."""
    a, out = on_device(a), _out_array(out)
    key = (function, a.dtype, a.ndim, axis, keepdims, *kwargs.items()) if out is None and a.size else None
    try:
        out_dtype = _result_dtypes.get(key)
    except TypeError:  # an unhashable argument (a list as axis): numpy will say what is wrong with it
        key = out_dtype = None
    if out_dtype is None:
        stand_in = _stand_in(a)
        result = function(stand_in, axis=axis, keepdims=keepdims, **kwargs)
        shape = _result_shape(a.shape, _axes(axis, a.ndim), keepdims)
        _checked_out(function, stand_in, result, out, shape, axis=axis, keepdims=keepdims, **kwargs)
        out_dtype = out.dtype if out is not None else np.asarray(result).dtype
        if key is not None:
            _result_dtypes[key] = out_dtype
    if loop is None:
        loop = kwargs.get("dtype") or out_dtype
    return reduce(a, reduction, _axes(axis, a.ndim), keepdims, np.dtype(loop), out_dtype, out)


# numpy's result dtype for a reduction of an array without empty dims, by everything it can
# depend on: numpy is asked once (on the stand-in) per kind of call. With no empty dim the
# stand-in raises or warns the same way every time, so only calls that got a result are kept.
_result_dtypes: dict = {}


@implements(np.sum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("sum", np.sum, a, options, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    return _reduction(np.sum, SUM, a, axis, keepdims, out, dtype=dtype)


@implements(np.prod)
def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("prod", np.prod, a, options, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    return _reduction(np.prod, PROD, a, axis, keepdims, out, dtype=dtype)


@implements(np.max, np.amax)
def _max(a, axis=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("max", np.max, a, options, axis=axis, out=out, keepdims=keepdims)
    return _reduction(np.max, MAX, a, axis, keepdims, out)


@implements(np.min, np.amin)
def _min(a, axis=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("min", np.min, a, options, axis=axis, out=out, keepdims=keepdims)
    return _reduction(np.min, MIN, a, axis, keepdims, out)


@implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    """The sum divided by the count in the sum's dtype: float64 for integers and bool,
    float32 for float16 (cast back to float16 after), as numpy's ``_mean`` does."""
    if _needs_host(options):
        return _on_host_with("mean", np.mean, a, options, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    a = on_device(a)
    loop = dtype
    if loop is None:
        loop = np.float64 if a.dtype.kind in "biu" else np.float32 if a.dtype == np.float16 else None
    return _reduction(np.mean, MEAN, a, axis, keepdims, out, loop=loop, dtype=dtype)


@implements(np.any)
def _any(a, axis=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("any", np.any, a, options, axis=axis, out=out, keepdims=keepdims)
    a = on_device(a)
    return _reduction(np.any, ANY, a, axis, keepdims, out, loop=a.dtype)


@implements(np.all)
def _all(a, axis=None, out=None, keepdims=False, **options):
    if _needs_host(options):
        return _on_host_with("all", np.all, a, options, axis=axis, out=out, keepdims=keepdims)
    a = on_device(a)
    return _reduction(np.all, ALL, a, axis, keepdims, out, loop=a.dtype)


@implements(np.count_nonzero)
def _count_nonzero(a, axis=None, *, keepdims=False):
    a = on_device(a)
    return _reduction(np.count_nonzero, COUNT_NONZERO, a, axis, keepdims, None, loop=a.dtype)


@implements(np.argmax)
def _argmax(a, axis=None, out=None, *, keepdims=False):
    """The index of the first largest element (the first NaN if there is one) along
    ``axis``; of the flattened array, in C order, for axis=None."""
    a = on_device(a)
    return _reduction(np.argmax, ARGMAX, a, axis, keepdims, out, loop=a.dtype)


@implements(np.argmin)
def _argmin(a, axis=None, out=None, *, keepdims=False):
    a = on_device(a)
    return _reduction(np.argmin, ARGMIN, a, axis, keepdims, out, loop=a.dtype)


def _ufunc_reduce(ufunc):
    reduction = UFUNC_REDUCTIONS[ufunc]
    predicate = reduction in (ALL, ANY)  # logical_and/or test the elements as they are

    def device_reduce(array, axis=0, dtype=None, out=None, keepdims=False, **options):
        if _needs_host(options):
            return _on_host_with(f"{ufunc.__name__}.reduce", ufunc.reduce, array, options, axis=axis, dtype=dtype,
                                 out=out, keepdims=keepdims)
        array = on_device(array)
        return _reduction(ufunc.reduce, reduction, array, axis, keepdims, out,
                          loop=array.dtype if predicate else None, dtype=dtype)

    return device_reduce


for _ufunc in UFUNC_REDUCTIONS:
    implements_ufunc_method("reduce", _ufunc)(_ufunc_reduce(_ufunc))


@implements(np.trace)
def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum of the diagonal ``offset`` of the planes ``axis1``, ``axis2``: a view (the
    diagonal is one dim of stride ``stride1 + stride2``) summed by the reduction kernel."""
    a, out = on_device(a), _out_array(out)
    result = np.trace(_stand_in(a), offset, axis1, axis2, dtype)
    first, second = int(axis1) % a.ndim, int(axis2) % a.ndim
    rows, columns = a.shape[first], a.shape[second]
    length = max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
    start = (offset * a.estrides[second] if offset >= 0 else -offset * a.estrides[first]) if length else 0
    rest = [d for d in range(a.ndim) if d not in (first, second)]
    diagonal = a.view_as([a.shape[d] for d in rest] + [length],
                         [a.estrides[d] for d in rest] + [a.estrides[first] + a.estrides[second]], start)
    shape = tuple(a.shape[d] for d in rest)
    if out is not None and out.shape != shape:
        raise ValueError(f"output parameter has shape {out.shape}, but the result has shape {shape}")
    out_dtype = out.dtype if out is not None else np.asarray(result).dtype
    return reduce(diagonal, SUM, (len(rest),), False, np.dtype(dtype or out_dtype), out_dtype, out)


def _accumulation(function, op, a, axis, dtype, out):
    """``function(a, axis=axis, dtype=dtype, out=out)``, numpy's ``op.accumulate`` along
    ``axis`` (None: the flattened array), on the device."""
    a, out = on_device(a), _out_array(out)
    stand_in = _stand_in(a)
    result = function(stand_in, axis=axis, dtype=dtype)
    shape = (a.size,) if axis is None else a.shape
    _checked_out(function, stand_in, result, out, shape, axis=axis, dtype=dtype)
    out_dtype = out.dtype if out is not None else result.dtype
    wrapped = None if axis is None else int(axis) % a.ndim
    return scan(a, op, wrapped, np.dtype(dtype or out_dtype), out_dtype, out)


@implements(np.cumsum)
def _cumsum(a, axis=None, dtype=None, out=None):
    return _accumulation(np.cumsum, "add", a, axis, dtype, out)


@implements(np.cumprod)
def _cumprod(a, axis=None, dtype=None, out=None):
    return _accumulation(np.cumprod, "multiply", a, axis, dtype, out)


def _ufunc_accumulate(ufunc):
    def device_accumulate(array, axis=0, dtype=None, out=None):
        return _accumulation(ufunc.accumulate, ufunc.__name__, array, axis, dtype, out)

    return device_accumulate


for _ufunc in (np.add, np.multiply, np.maximum, np.minimum):
    implements_ufunc_method("accumulate", _ufunc)(_ufunc_accumulate(_ufunc))


def compile_tier_sources():
    """(name, source) of a representative set of this module's kernel variants, for the
    NVRTC compile tier: sum, max, argmax and cumsum of every dtype (with numpy's result
    dtypes), every other reduction and scan step, both passes of a split reduction, and
    block scans."""
    dtypes = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
    sources = []
    for dtype in dtypes:
        widened = np.add.reduce(np.zeros(1, dtype)).dtype.name
        sources += [reduction_source(SUM, "full", dtype, widened, widened),
                    reduction_source(MAX, "full", dtype, dtype, dtype),
                    reduction_source(ARGMAX, "full", dtype, dtype, "int64"),
                    scan_source("add", dtype, widened, widened)]
    for each, out in ((PROD, "float32"), (MIN, "float32"), (ALL, "bool"), (ANY, "bool"), (COUNT_NONZERO, "int64"),
                      (ARGMIN, "int64")):
        sources.append(reduction_source(each, "full", "float32", "float32", out))
    sources += [reduction_source(MEAN, "full", "int32", "float64", "float64"),
                reduction_source(MEAN, "full", "float16", "float32", "float16"),
                reduction_source(SUM, "full", "float32", "float16", "float16"),  # dtype=float16: rounded loads
                reduction_source(SUM, "full", "float64", "float16", "float16")]
    for mode in ("partial", "final"):
        sources += [reduction_source(SUM, mode, "float32", "float32", "float32"),
                    reduction_source(ARGMAX, mode, "float16", "float16", "int64"),
                    reduction_source(MEAN, mode, "float16", "float32", "float16")]
    for in_dtype, loop in (("bool", "int64"), ("int64", "int64"), ("float16", "float32"), ("float32", "float64"),
                           ("float64", "float64")):
        sources.append(block_scan_source("add", in_dtype, loop, loop))
    sources += [block_scan_source("multiply", "int8", "int64", "int64"),
                block_scan_source("maximum", "float32", "float32", "float32"),
                block_scan_source("minimum", "uint8", "uint8", "uint8")]
    sources += [scan_source("multiply", "int32", "int64", "int64"),
                scan_source("maximum", "float16", "float16", "float16"),
                scan_source("minimum", "int8", "int8", "int8"),
                scan_source("add", "float32", "float16", "float16")]
    return sources
