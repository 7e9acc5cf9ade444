"""Matrix products and linear algebra on the device.

- ``np.matmul`` (also what ``a @ b`` on DeviceArrays calls): one matrix of the (broadcast)
  batch per ``blockIdx.z``, with numpy's semantics: 1-D operands become a row (left) or a
  column (right) that is dropped from the result, batch dims broadcast, any strides
  (transposed, sliced, stride 0) read in place. Types are numpy's: both operands are
  converted to the result dtype, integers accumulate in it with wrap-around, bool is "or of
  ands", float16 accumulates in float. Floating-point results come from a register-blocked
  kernel (``blocked_matmul_source``: each thread an 8 x 8 or 4 x 4 block of the product in
  registers, 128 x 128 or 64 x 64 tiles a block by the problem's size), integer and bool ones
  from a plain tiled shared-memory kernel (``matmul_source``). ``REFERENCE_IMPL_CUDA_CUBLAS=1``
  on the CuPy backend sends float products to cuBLAS through ``cupy.matmul`` instead (off by
  default so that our own kernel is what runs and is tested).
- ``np.linalg.inv``, ``solve``, ``det`` and ``slogdet``: LU factorisation with partial
  pivoting as LAPACK's getrf does it (the first row of largest magnitude is the pivot; a zero
  pivot marks the matrix singular and its column is left as it is), one thread block per
  matrix, then triangular solves (one thread per right-hand side) or the determinant from
  the factors. numpy's errors: LinAlgError("Singular matrix") from inv and solve, det 0 and
  slogdet (0, -inf) for a singular matrix.
- ``np.linalg.svd``: one-sided Jacobi (Hestenes) rotations, one thread block per matrix;
  the singular values come out sorted in descending order, and left singular vectors that
  the rotations cannot give (zero singular values, or the extra columns of
  ``full_matrices=True``) are completed to an orthonormal basis by Gram-Schmidt. Singular
  vectors are unique only up to sign (and, for repeated singular values, up to rotation), so
  they may differ from LAPACK's by that freedom; ``u @ diag(s) @ vh`` is the same.

Runs on the host (the counted fallback): ``svd(..., hermitian=True)``, and every other
``np.linalg`` function (qr, eig, eigh, cholesky, pinv, lstsq, matrix_rank, norm); reference_impl's
ops call none of them. ``np.dot``, ``np.vdot``, ``np.inner``, ``np.outer``, ``np.einsum`` and
``np.tensordot`` have no kernel either: reference_impl's ops compose products from matmul.

The factorisations are meant for teaching-size matrices (one block per matrix walks the
columns in order); matmul is the kernel sized for real work.
"""

import functools
import os
from typing import NamedTuple

import numpy as np

from .. import _layout
from . import kernels, runtime
from .device_array import DeviceArray, _on_host, implements
from .elementwise import _operand, device_constant

TILE = 16  # integer matmul: TILE x TILE threads compute a TILE x TILE block of the product
THREADS = 256  # the factorisations' threads a block (a power of two: the pivot search is a tree)
MAX_SWEEPS = 60  # Jacobi sweeps; quadratic convergence needs ~10 for any sensible matrix
GRID_LIMIT = 65535  # CUDA's largest gridDim.y and gridDim.z; kernels loop past it (blocked matmul: relaunches)


def _c_type(dtype):
    return kernels.C_TYPES[np.dtype(dtype).name]


def _header(*dtypes):
    return kernels.HALF_HEADER if any(np.dtype(d) == np.float16 for d in dtypes) else ""


# -- matmul ------------------------------------------------------------------------------------

def _accumulator(dtype):
    """(C type, statement adding ``x * y`` to ``total``) for a product of result dtype ``dtype``.

    Integers accumulate as unsigned 64-bit: unsigned arithmetic wraps modulo 2^64 (signed
    overflow is undefined in C), and the final conversion to the result type keeps the low
    bits, which is exactly numpy's wrap-around in that type."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "bool", "total = total || (x && y)"
    if dtype.kind in "iu":
        return "unsigned long long", "total += x * y"
    return ("float" if dtype == np.float16 else _c_type(dtype)), "total += x * y"


@functools.cache  # one text per variant: the kernel cache keys on it
def matmul_source(a_dtype, b_dtype, out_dtype, tile=TILE):
    """(name, source) of the batched matrix product ``c = a @ b`` for operands of the given
    storage dtypes, converted to ``out_dtype``'s accumulator as numpy converts them: the kernel
    for integer and bool products (it is correct for every dtype; floating-point products run
    the faster ``blocked_matmul_source``).

    A block of ``tile`` x ``tile`` threads computes one ``tile`` x ``tile`` block of one matrix
    of the batch, walking the inner dimension a tile at a time: each thread loads one element
    of ``a`` and one of ``b`` into shared memory, and every thread then reads a whole row and
    column of the tiles from there. So each input element is read from global memory once per
    tile instead of once per output element.

    Layout: element (i, j) of batch matrix z of an operand is at
    ``strided_offset(z over the batch shape, its batch strides) + i * row + j * column``
    (element strides; 0 where the operand is broadcast), so transposed, sliced and broadcast
    operands need no copy. Out-of-range rows, columns and inner indices load 0, the identity
    of the sum, which lets sizes be any multiple of nothing.
    """
    a_dtype, b_dtype, out_dtype = np.dtype(a_dtype), np.dtype(b_dtype), np.dtype(out_dtype)
    name = kernels.kernel_name("matmul_batched", a_dtype.name, b_dtype.name, out_dtype.name, str(tile))
    acc, accumulate = _accumulator(out_dtype)
    load_a = "(float)" if a_dtype == np.float16 else ""
    load_b = "(float)" if b_dtype == np.float16 else ""
    store = "(float)" if out_dtype == np.float16 else ""
    return name, _header(a_dtype, b_dtype, out_dtype) + kernels.PRELUDE + f"""
extern "C" __global__ void {name}(
        const {_c_type(a_dtype)}* a, const {_c_type(b_dtype)}* b, {_c_type(out_dtype)}* c,
        const i64 m, const i64 k, const i64 n,
        const i64 a_row, const i64 a_column, const i64 b_row, const i64 b_column,
        const i64 c_row, const i64 c_column,
        const i64 batch, const int batch_ndim, const i64* batch_shape, const i64* batch_strides) {{
    // batch_strides holds a's, then b's, then c's strides over the batch dims, batch_ndim each.
    __shared__ {acc} a_tile[{tile}][{tile}];
    __shared__ {acc} b_tile[{tile}][{tile}];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const i64 row_tiles = (m + {tile} - 1) / {tile};
    const i64 column = (i64)blockIdx.x * {tile} + tx;
    // Grid-stride over batch matrices (z) and row tiles (y): every thread of a block runs the
    // same iterations, so the barriers inside are reached by all of them.
    for (i64 z = blockIdx.z; z < batch; z += gridDim.z) {{
        const i64 a_base = strided_offset(z, batch_ndim, batch_shape, batch_strides, 0);
        const i64 b_base = strided_offset(z, batch_ndim, batch_shape, batch_strides + batch_ndim, 0);
        const i64 c_base = strided_offset(z, batch_ndim, batch_shape, batch_strides + 2 * batch_ndim, 0);
        for (i64 row_tile = blockIdx.y; row_tile < row_tiles; row_tile += gridDim.y) {{
            const i64 row = row_tile * {tile} + ty;
            {acc} total = 0;
            for (i64 start = 0; start < k; start += {tile}) {{
                const i64 a_k = start + tx, b_k = start + ty;
                a_tile[ty][tx] = (row < m && a_k < k)
                    ? ({acc}){load_a}a[a_base + row * a_row + a_k * a_column] : ({acc})0;
                b_tile[ty][tx] = (b_k < k && column < n)
                    ? ({acc}){load_b}b[b_base + b_k * b_row + column * b_column] : ({acc})0;
                __syncthreads();  // the tiles are whole before anyone reads them
                for (int j = 0; j < {tile}; ++j) {{
                    const {acc} x = a_tile[ty][j], y = b_tile[j][tx];
                    {accumulate};
                }}
                __syncthreads();  // everyone is done with the tiles before they are refilled
            }}
            if (row < m && column < n) {{
                c[c_base + row * c_row + column * c_column] = ({_c_type(out_dtype)}){store}total;
            }}
        }}
    }}
}}
"""


class Tiling(NamedTuple):
    """How ``blocked_matmul_source`` divides the product: a block of ``BLOCKED_THREADS``
    threads computes a ``rows`` x ``columns`` tile of c, each thread a ``thread_rows`` x
    ``thread_columns`` part of it (both multiples of 4), walking the inner dimension ``depth``
    at a time."""

    rows: int
    columns: int
    depth: int
    thread_rows: int
    thread_columns: int


BLOCKED_THREADS = 256  # (rows / thread_rows) * (columns / thread_columns) for both tilings
BIG = Tiling(128, 128, 8, 8, 8)  # 64 sums a thread: float, not double
SMALL = Tiling(64, 64, 16, 4, 4)
# A product gets big tiles once it makes this many of them, about one per SM of an H100 (132):
# with fewer, SMs would idle that the four times as many small tiles keep busy.
BIG_TILES_FROM = 128


@functools.cache  # one text per variant: the kernel cache keys on it
def blocked_matmul_source(a_dtype, b_dtype, out_dtype, tiling=BIG):
    """(name, source) of the batched matrix product ``c = a @ b`` for a floating-point
    ``out_dtype`` (float16 accumulates in float), register-blocked in the style of CUTLASS's
    SIMT kernels, with ``tiling``'s tile sizes.

    Launch: 1-D blocks of ``BLOCKED_THREADS`` threads; block (x, y, z) computes column tile x
    and row tile ``first_row_tile + y`` of batch matrix ``first_matrix + z``, so a product past
    CUDA's grid limits takes several launches. The arguments are ``matmul_source``'s without
    ``batch`` and with those two last.

    Each thread keeps its ``thread_rows`` x ``thread_columns`` sums in registers. A step of the
    inner dimension stores a ``depth``-deep slice of a's and of b's tiles in shared memory,
    both k-major (a's transposed), so that each thread reads a column of a's slice and a row of
    b's as runs of 4 contiguous elements (128-bit shared loads) and does thread_rows x
    thread_columns multiply-adds per pair of runs. Its micro-tile is made of such runs, spaced
    so that a warp's threads read consecutive ones: no bank conflicts. The tiles are
    double-buffered: the next slice's global loads are issued before the current one is
    multiplied and stored into the other buffer after, one barrier a step.

    Global loads: the threads walk each operand's tile along whichever of its axes is closer
    spaced in memory (k for a row-major a or a transposed b, else m or n), so a warp's loads
    coalesce for either layout. Element (i, j) of batch matrix z is at
    ``strided_offset(z over the batch shape, its batch strides) + i * row + j * column``
    (element strides, 0 where broadcast): no copies. Out-of-range elements load 0, the sum's
    identity, and out-of-range sums are not stored, so m, n and k may be anything.
    """
    a_dtype, b_dtype, out_dtype = np.dtype(a_dtype), np.dtype(b_dtype), np.dtype(out_dtype)
    name = kernels.kernel_name("matmul_blocked", a_dtype.name, b_dtype.name, out_dtype.name,
                               "x".join(map(str, tiling)))
    acc, _ = _accumulator(out_dtype)
    header = _header(a_dtype, b_dtype, out_dtype)
    widen_half = "__device__ __forceinline__ float widen(__half x) { return __half2float(x); }\n" if header else ""
    rows, columns, depth, thread_rows, thread_columns = tiling
    a_type, b_type, c_type = _c_type(a_dtype), _c_type(b_dtype), _c_type(out_dtype)
    return name, header + kernels.PRELUDE + f"""
// float16 widens to float; other types convert to the accumulator as C converts them.
template <typename T> __device__ __forceinline__ T widen(T x) {{ return x; }}
{widen_half}
constexpr int ROWS = {rows}, COLUMNS = {columns}, DEPTH = {depth};
constexpr int THREAD_ROWS = {thread_rows}, THREAD_COLUMNS = {thread_columns}, THREADS = {BLOCKED_THREADS};
// Shared tiles are k-major: DEPTH rows of an operand's outer extent (m for a, n for b), each
// row PAD elements longer, so that a warp storing a walk along k writes distinct banks.
constexpr int PAD = 4;

__device__ __forceinline__ i64 magnitude(i64 x) {{ return x < 0 ? -x : x; }}

// One operand's tiles as this thread loads them, a DEPTH-deep slice at a time, OUTER rows of
// a (or columns of b) from outer_begin on. The threads cover a SPAN x DEPTH block of a slice
// (consecutive threads along the operand's axis closer spaced in memory, so that a warp's
// loads coalesce) and load LOADS such blocks, SPAN apart along the outer axis: this thread
// element (outer + r * SPAN, inner) of the tile, at from + r * stride in memory. Elements
// outside the matrix load 0, the sum's identity.
template <int OUTER, typename T>
struct Slices {{
    static constexpr int SPAN = THREADS / DEPTH, LOADS = OUTER / SPAN;
    const T* from;
    i64 stride, advance;  // memory offsets: element r to r + 1; one slice to the next
    int outer, inner;
    unsigned int inside;  // bit r: element r's row (column of b) is inside the matrix

    __device__ __forceinline__ Slices(const T* matrix, i64 outer_stride, i64 inner_stride, i64 outer_begin,
                                      i64 outer_size) {{
        const bool along_inner = magnitude(inner_stride) <= magnitude(outer_stride);
        outer = along_inner ? threadIdx.x / DEPTH : threadIdx.x % SPAN;
        inner = along_inner ? threadIdx.x % DEPTH : threadIdx.x / SPAN;
        from = matrix + (outer_begin + outer) * outer_stride + inner * inner_stride;
        stride = SPAN * outer_stride;
        advance = DEPTH * inner_stride;
        inside = 0;
        for (int r = 0; r < LOADS; ++r) inside |= (unsigned int)(outer_begin + outer + r * SPAN < outer_size) << r;
    }}

    // The next slice into registers; `inner_left` is how much of the inner dimension is left.
    __device__ __forceinline__ void fetch({acc}* share, i64 inner_left) {{
        #pragma unroll
        for (int r = 0; r < LOADS; ++r) {{
            share[r] = (inside >> r & 1) && inner < inner_left ? ({acc})widen(from[r * stride]) : ({acc})0;
        }}
        from += advance;
    }}

    __device__ __forceinline__ void stash({acc} (*tile)[OUTER + PAD], const {acc}* share) const {{
        #pragma unroll
        for (int r = 0; r < LOADS; ++r) tile[inner][outer + r * SPAN] = share[r];
    }}
}};

// Row (or column) in the block's tile of element i of thread `thread`'s PER_THREAD rows: runs
// of 4 at 4 * thread, the runs EXTENT / (PER_THREAD / 4) apart.
template <int EXTENT, int PER_THREAD>
__device__ __forceinline__ int place(int thread, int i) {{
    return i / 4 * (EXTENT * 4 / PER_THREAD) + thread * 4 + i % 4;
}}

// Two blocks an SM, so at most 128 registers a thread: the big tiling's 64 sums, a step's 16
// operands and the loads in flight fit them (no grid-stride loops, whose values would not).
extern "C" __launch_bounds__(THREADS, 2) __global__ void {name}(
        const {a_type}* __restrict__ a, const {b_type}* __restrict__ b, {c_type}* __restrict__ c,
        const i64 m, const i64 k, const i64 n,
        const i64 a_row, const i64 a_column, const i64 b_row, const i64 b_column,
        const i64 c_row, const i64 c_column,
        const int batch_ndim, const i64* batch_shape, const i64* batch_strides,
        const i64 first_matrix, const i64 first_row_tile) {{
    // batch_strides holds a's, then b's, then c's strides over the batch dims, batch_ndim each.
    // Two tiles of each operand: one is multiplied while the next slice is stored in the other.
    __align__(16) __shared__ {acc} a_tiles[2][DEPTH][ROWS + PAD];
    __align__(16) __shared__ {acc} b_tiles[2][DEPTH][COLUMNS + PAD];
    const int thread_row = threadIdx.x / (COLUMNS / THREAD_COLUMNS);
    const int thread_column = threadIdx.x % (COLUMNS / THREAD_COLUMNS);
    const i64 z = first_matrix + blockIdx.z;
    const i64 row_begin = (first_row_tile + blockIdx.y) * ROWS, column_begin = (i64)blockIdx.x * COLUMNS;
    const {a_type}* a_matrix = a + strided_offset(z, batch_ndim, batch_shape, batch_strides, 0);
    const {b_type}* b_matrix = b + strided_offset(z, batch_ndim, batch_shape, batch_strides + batch_ndim, 0);
    Slices<ROWS, {a_type}> a_slices(a_matrix, a_row, a_column, row_begin, m);
    Slices<COLUMNS, {b_type}> b_slices(b_matrix, b_column, b_row, column_begin, n);
    {acc} a_share[a_slices.LOADS], b_share[b_slices.LOADS];
    a_slices.fetch(a_share, k);
    b_slices.fetch(b_share, k);
    a_slices.stash(a_tiles[0], a_share);
    b_slices.stash(b_tiles[0], b_share);
    __syncthreads();  // the first slice is whole before anyone reads it
    {acc} total[THREAD_ROWS][THREAD_COLUMNS] = {{}};
    for (i64 slice = 0; slice < k; slice += DEPTH) {{
        const int current = slice / DEPTH % 2;
        const bool more = slice + DEPTH < k;
        if (more) {{  // the next slice's loads are in flight while this one is multiplied
            a_slices.fetch(a_share, k - slice - DEPTH);
            b_slices.fetch(b_share, k - slice - DEPTH);
        }}
        #pragma unroll
        for (int d = 0; d < DEPTH; ++d) {{
            {acc} x[THREAD_ROWS], y[THREAD_COLUMNS];
            #pragma unroll
            for (int i = 0; i < THREAD_ROWS; ++i) x[i] = a_tiles[current][d][place<ROWS, THREAD_ROWS>(thread_row, i)];
            #pragma unroll
            for (int j = 0; j < THREAD_COLUMNS; ++j) {{
                y[j] = b_tiles[current][d][place<COLUMNS, THREAD_COLUMNS>(thread_column, j)];
            }}
            #pragma unroll
            for (int i = 0; i < THREAD_ROWS; ++i) {{
                #pragma unroll
                for (int j = 0; j < THREAD_COLUMNS; ++j) total[i][j] += x[i] * y[j];
            }}
        }}
        if (more) {{  // into the buffer read a step ago: the last barrier saw those reads done
            a_slices.stash(a_tiles[1 - current], a_share);
            b_slices.stash(b_tiles[1 - current], b_share);
        }}
        __syncthreads();  // the next slice is whole, and this one read, before the next step
    }}
    {c_type}* c_matrix = c + strided_offset(z, batch_ndim, batch_shape, batch_strides + 2 * batch_ndim, 0);
    #pragma unroll
    for (int i = 0; i < THREAD_ROWS; ++i) {{
        const i64 row = row_begin + place<ROWS, THREAD_ROWS>(thread_row, i);
        #pragma unroll
        for (int j = 0; j < THREAD_COLUMNS; ++j) {{
            const i64 column = column_begin + place<COLUMNS, THREAD_COLUMNS>(thread_column, j);
            if (row < m && column < n) c_matrix[row * c_row + column * c_column] = ({c_type})total[i][j];
        }}
    }}
}}
"""


def _stand_in(array):
    """A host array of ``array``'s shape and dtype that takes no memory: numpy checks shapes
    and dtypes on it exactly as it would on the real data."""
    return np.broadcast_to(np.zeros((), array.dtype), array.shape)


def _matmul_shapes_fit(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return False
    inner = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner:
        return False
    try:
        _layout.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except (RuntimeError, ValueError):
        return False
    return True


@implements(np.matmul)
def matmul(a, b, /, out=None, *, dtype=None, casting="same_kind"):
    """numpy's matmul of device operands (host operands are uploaded first)."""
    a, b = _operand(a), _operand(b)
    if not _matmul_shapes_fit(a, b):
        np.matmul(_stand_in(a), _stand_in(b))  # raises numpy's error for these shapes
    out_dtype = np.matmul(np.zeros((1, 1), a.dtype), np.zeros((1, 1), b.dtype), dtype=dtype, casting=casting).dtype
    batch = _layout.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    shape = batch + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
    result = DeviceArray.empty(shape, out_dtype)
    # 1-D operands as a one-row (left) or one-column (right) matrix, the result with the
    # dropped dims put back (stride 0 for size 1), so that everything is a batch of matrices.
    left = a if a.ndim > 1 else a.view_as((1, a.shape[0]), (0, a.estrides[0]))
    right = b if b.ndim > 1 else b.view_as((b.shape[0], 1), (b.estrides[0], 0))
    product = result.view_as(batch + (m, n), result.estrides[:len(batch)] + (
        result.estrides[len(batch)] if a.ndim > 1 else 0, result.estrides[-1] if b.ndim > 1 else 0))
    if result.size:
        _batched_product(left, right, product)
    if out is None:
        return result
    target = out[0] if isinstance(out, tuple) else out
    if tuple(target.shape) != shape:  # raises numpy's error for this out
        np.matmul(_stand_in(a), _stand_in(b), out=np.empty(target.shape, out_dtype))
    np.copyto(target, result, casting=casting)
    return target


def _batched_product(a, b, c):
    """``c = a @ b`` over broadcast batch dims; all three are DeviceArrays of ndim >= 2."""
    batch = c.shape[:-2]
    if _use_cublas(c.dtype):
        cupy = runtime.backend().cupy
        cupy.matmul(_as_cupy(a), _as_cupy(b), out=_as_cupy(c))
        return
    m, n = c.shape[-2:]
    k = a.shape[-1]
    batch_strides = [s for operand in (a, b, c) for s in _batch_estrides(operand, batch)]
    count = _layout.numel(batch)
    operands = (a.pointer(), b.pointer(), c.pointer(), np.int64(m), np.int64(k), np.int64(n),
                np.int64(a.estrides[-2]), np.int64(a.estrides[-1]), np.int64(b.estrides[-2]), np.int64(b.estrides[-1]),
                np.int64(c.estrides[-2]), np.int64(c.estrides[-1]))
    batch_layout = (np.int32(len(batch)), device_constant(list(batch) or [1]).pointer(),
                    device_constant(batch_strides or [0]).pointer())
    if c.dtype.kind != "f":
        name, source = matmul_source(a.dtype, b.dtype, c.dtype)
        grid = (-(-n // TILE), min(-(-m // TILE), GRID_LIMIT), min(count, GRID_LIMIT))
        runtime.kernel(source, name)(grid, (TILE, TILE), operands + (np.int64(count),) + batch_layout)
        return
    tiling = _tiling(c.dtype, m, n, count)
    name, source = blocked_matmul_source(a.dtype, b.dtype, c.dtype, tiling)
    kernel = runtime.kernel(source, name)
    row_tiles = -(-m // tiling.rows)
    # One launch per GRID_LIMIT x GRID_LIMIT chunk of (row tiles, matrices): the kernel has no
    # grid-stride loops, whose loop-carried values would take registers the sums need.
    for first_matrix in range(0, count, GRID_LIMIT):
        for first_row_tile in range(0, row_tiles, GRID_LIMIT):
            grid = (-(-n // tiling.columns), min(row_tiles - first_row_tile, GRID_LIMIT),
                    min(count - first_matrix, GRID_LIMIT))
            kernel(grid, (BLOCKED_THREADS,),
                   operands + batch_layout + (np.int64(first_matrix), np.int64(first_row_tile)))


def _tiling(dtype, m, n, count):
    """The tiling of a floating-point product: big tiles where there are enough of them to fill
    the GPU, small ones otherwise, and always for float64 (8 x 8 sums of double a thread would
    take 128 registers on their own)."""
    if dtype == np.float64:
        return SMALL
    big_tiles = -(-m // BIG.rows) * -(-n // BIG.columns) * count
    return BIG if big_tiles >= BIG_TILES_FROM else SMALL


def _batch_estrides(array, batch):
    """``array``'s strides over the leading (batch) dims, seen through the broadcast ``batch``."""
    own = array.shape[:-2]
    lead = len(batch) - len(own)
    return [0 if d < lead or own[d - lead] == 1 else array.estrides[d - lead] for d in range(len(batch))]


def _use_cublas(dtype):
    return (os.environ.get("REFERENCE_IMPL_CUDA_CUBLAS") == "1" and runtime.backend().name == "cupy"
            and dtype in (np.float16, np.float32, np.float64))


def _as_cupy(array):
    """A CuPy view of a DeviceArray's memory (CuPy backend only: its memory is CuPy's)."""
    cupy = runtime.backend().cupy
    return cupy.ndarray(array.shape, array.dtype, memptr=array.pointer(), strides=array.strides)


# -- LU: inv, solve, det, slogdet --------------------------------------------------------------

@functools.cache  # one text per variant: the kernel cache keys on it
def lu_factor_source(dtype, threads=THREADS):
    """(name, source) of in-place LU factorisation with partial pivoting, P A = L U, of a batch
    of contiguous n x n matrices; one block per matrix, of a power of two threads up to
    ``threads`` (the launch picks fewer for small matrices).

    Column by column, as LAPACK's unblocked getrf: the pivot is the first row at or below the
    diagonal whose entry has the largest magnitude (a tree reduction in shared memory that
    keeps the smaller row on ties); rows k and pivot are swapped; the entries below the
    diagonal become the multipliers (L, unit diagonal implied) and the trailing block is
    updated. A zero pivot makes the matrix singular: ``info`` gets its column + 1 (the first
    such), as getrf's info does, and the column is left as it is. ``pivots[k]`` is the row
    swapped with row k.
    """
    name = kernels.kernel_name("lu_factor", np.dtype(dtype).name, str(threads))
    t = _c_type(dtype)
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}({t}* lu, i64* pivots, i64* info, const i64 batch, const i64 n) {{
    __shared__ {t} best_magnitude[{threads}];
    __shared__ i64 best_row[{threads}];
    const int tid = threadIdx.x;
    for (i64 z = blockIdx.x; z < batch; z += gridDim.x) {{
        {t}* a = lu + z * n * n;
        for (i64 k = 0; k < n; ++k) {{
            // The pivot search: each thread the rows it strides over (keeping its first
            // largest), then a tree over the threads. NaN is never larger, so a column of
            // NaNs keeps row n, "none", and pivots on the diagonal.
            {t} magnitude = -1;
            i64 row = n;
            for (i64 r = k + tid; r < n; r += blockDim.x) {{
                const {t} candidate = fabs(a[r * n + k]);
                if (candidate > magnitude) {{ magnitude = candidate; row = r; }}
            }}
            best_magnitude[tid] = magnitude;
            best_row[tid] = row;
            __syncthreads();
            for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {{
                if (tid < stride) {{
                    const {t} other = best_magnitude[tid + stride];
                    const i64 other_row = best_row[tid + stride];
                    if (other > best_magnitude[tid] || (other == best_magnitude[tid] && other_row < best_row[tid])) {{
                        best_magnitude[tid] = other;
                        best_row[tid] = other_row;
                    }}
                }}
                __syncthreads();
            }}
            const i64 p = best_row[0] < n ? best_row[0] : k;
            for (i64 c = tid; c < n; c += blockDim.x) {{
                const {t} swap = a[k * n + c];
                a[k * n + c] = a[p * n + c];
                a[p * n + c] = swap;
            }}
            if (tid == 0) pivots[z * n + k] = p;
            __syncthreads();  // the swapped rows (and the read of best_row) are done
            const {t} pivot = a[k * n + k];
            if (pivot == 0) {{  // every thread reads the same pivot: a uniform branch
                if (tid == 0 && info[z] == 0) info[z] = k + 1;
                continue;
            }}
            for (i64 r = k + 1 + tid; r < n; r += blockDim.x) a[r * n + k] /= pivot;
            __syncthreads();  // the multipliers are in place before the update reads them
            const i64 rest = n - k - 1;
            for (i64 e = tid; e < rest * rest; e += blockDim.x) {{
                const i64 r = k + 1 + e / rest, c = k + 1 + e % rest;
                a[r * n + c] -= a[r * n + k] * a[k * n + c];
            }}
            __syncthreads();  // column k + 1 is final before its pivot search
        }}
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def lu_solve_source(dtype):
    """(name, source) of ``X = A^-1 B`` from the LU factors of A, for a batch of contiguous
    n x n factors and n x nrhs right-hand sides, overwritten by X. One thread per column of
    B: it applies the row swaps, then solves L y = P b forwards and U x = y backwards.
    ``identity`` != 0 makes B the identity (written by the kernel, so the inverse needs no
    upload)."""
    name = kernels.kernel_name("lu_solve", np.dtype(dtype).name)
    t = _c_type(dtype)
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const {t}* lu, const i64* pivots, {t}* b, const i64 batch, const i64 n,
                                  const i64 nrhs, const int identity) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 task = (i64)blockIdx.x * blockDim.x + threadIdx.x; task < batch * nrhs; task += step) {{
        const i64 z = task / nrhs, column = task % nrhs;
        const {t}* a = lu + z * n * n;
        const i64* pivot = pivots + z * n;
        {t}* x = b + z * n * nrhs + column;  // x[i * nrhs] is row i of this column
        if (identity) {{
            for (i64 i = 0; i < n; ++i) x[i * nrhs] = i == column ? 1 : 0;
        }}
        for (i64 k = 0; k < n; ++k) {{
            const {t} swap = x[k * nrhs];
            x[k * nrhs] = x[pivot[k] * nrhs];
            x[pivot[k] * nrhs] = swap;
        }}
        for (i64 i = 0; i < n; ++i) {{
            {t} value = x[i * nrhs];
            for (i64 j = 0; j < i; ++j) value -= a[i * n + j] * x[j * nrhs];
            x[i * nrhs] = value;
        }}
        for (i64 i = n - 1; i >= 0; --i) {{
            {t} value = x[i * nrhs];
            for (i64 j = i + 1; j < n; ++j) value -= a[i * n + j] * x[j * nrhs];
            x[i * nrhs] = value / a[i * n + i];
        }}
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def lu_determinant_source(dtype):
    """(name, source) of (sign, log|det|) of each matrix from its LU factors, one thread per
    matrix: the sign flips with each row swap and each negative pivot; a zero pivot gives
    (0, -inf), as numpy's slogdet does."""
    name = kernels.kernel_name("lu_determinant", np.dtype(dtype).name)
    t = _c_type(dtype)
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const {t}* lu, const i64* pivots, {t}* sign, {t}* logabsdet,
                                  const i64 batch, const i64 n) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 z = (i64)blockIdx.x * blockDim.x + threadIdx.x; z < batch; z += step) {{
        {t} s = 1, total = 0;
        for (i64 k = 0; k < n; ++k) {{
            const {t} d = lu[z * n * n + k * n + k];
            if (pivots[z * n + k] != k) s = -s;
            if (d < 0) s = -s;
            if (d == 0) s = 0;
            total += log(fabs(d));
        }}
        sign[z] = s;
        logabsdet[z] = s == 0 ? log(({t})0) : total;  // log 0 = -inf, also beside an infinite pivot
    }}
}}
"""


def _block_size(work):
    """Threads for a block that shares ``work`` items among them: a power of two (the pivot
    search is a tree), at most THREADS; small matrices get few, not THREADS mostly idle."""
    return min(THREADS, 1 << max(0, int(work) - 1).bit_length())


def _linalg_dtype(function, *dtypes):
    """The dtype numpy's ``function`` computes in for operands of ``dtypes`` (1x1 stand-ins),
    raising numpy's TypeError for the unsupported ones (float16)."""
    result = function(*(np.eye(1, dtype=dtype) for dtype in dtypes))
    return np.asarray(result[0] if isinstance(result, tuple) else result).dtype


def _square_or_raise(function, *arrays):
    """numpy's LinAlgError unless the first array is a stack of square matrices."""
    a = arrays[0]
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        function(*(_stand_in(array) for array in arrays))


def _factor(a, compute, batch):
    """(lu, pivots, info, n): the LU factors of ``a`` broadcast to ``batch`` (converted to
    ``compute``), each matrix contiguous."""
    n = a.shape[-1]
    lu = DeviceArray.empty(batch + (n, n), compute)
    np.copyto(lu, a, casting="unsafe")
    count = _layout.numel(batch)
    pivots = DeviceArray.empty((count, n), np.int64)
    info = DeviceArray.from_host(np.zeros(count, np.int64))
    if count and n:
        name, source = lu_factor_source(compute)
        runtime.kernel(source, name)((min(count, GRID_LIMIT),), (_block_size(n),),
                                     (lu.pointer(), pivots.pointer(), info.pointer(), np.int64(count), np.int64(n)))
    return lu, pivots, info, n


def _solve_in_place(lu, pivots, x, n, nrhs, identity):
    count = _layout.numel(lu.shape[:-2])
    if count * n * nrhs == 0:
        return
    name, source = lu_solve_source(lu.dtype)
    tasks = count * nrhs
    runtime.kernel(source, name)((min((tasks + THREADS - 1) // THREADS, GRID_LIMIT),), (THREADS,),
                                 (lu.pointer(), pivots.pointer(), x.pointer(), np.int64(count), np.int64(n),
                                  np.int64(nrhs), np.int32(identity)))


def _raise_if_singular(info):
    if info.size and info.get().any():
        raise np.linalg.LinAlgError("Singular matrix")


@implements(np.linalg.inv)
def inv(a):
    a = _operand(a)
    _square_or_raise(np.linalg.inv, a)
    compute = _linalg_dtype(np.linalg.inv, a.dtype)
    lu, pivots, info, n = _factor(a, compute, a.shape[:-2])
    _raise_if_singular(info)
    inverse = DeviceArray.empty(a.shape, compute)
    _solve_in_place(lu, pivots, inverse, n, n, identity=True)
    return inverse


# Which right-hand sides solve takes as (stacks of) vectors: numpy 2 only a 1-D one, numpy 1
# any with one dim fewer than the matrices.
_SOLVE_VECTORS_ARE_1D = np.linalg.solve(np.ones((1, 1, 1)), np.ones((1, 1))).ndim == 3


@implements(np.linalg.solve)
def solve(a, b):
    """numpy's solve: ``b`` is a vector (or a stack of them, numpy 1) or a stack of n x k
    matrices, by numpy's rule for which."""
    a, b = _operand(a), _operand(b)
    _square_or_raise(np.linalg.solve, a, b)
    n = a.shape[-1]
    vector = b.ndim == 1 if _SOLVE_VECTORS_ARE_1D else b.ndim == a.ndim - 1
    fits = b.ndim >= 1 and (b.shape[-1] == n if vector else b.ndim >= 2 and b.shape[-2] == n)
    try:
        batch = _layout.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-1 if vector else -2]))
    except (RuntimeError, ValueError):
        fits = False
    if not fits:
        np.linalg.solve(_stand_in(a), _stand_in(b))  # raises numpy's error for these shapes
    compute = _linalg_dtype(np.linalg.solve, a.dtype, b.dtype)
    lu, pivots, info, n = _factor(a, compute, batch)
    _raise_if_singular(info)
    nrhs = 1 if vector else b.shape[-1]
    x = DeviceArray.empty(batch + (n, nrhs), compute)
    np.copyto(x, b.reshape(b.shape + (1,)) if vector else b, casting="unsafe")
    _solve_in_place(lu, pivots, x, n, nrhs, identity=False)
    return x.reshape(batch + (n,)) if vector else x


def _sign_and_log(a, function):
    a = _operand(a)
    _square_or_raise(function, a)
    compute = _linalg_dtype(function, a.dtype)
    batch = a.shape[:-2]
    lu, pivots, _, n = _factor(a, compute, batch)
    sign, logabsdet = DeviceArray.empty(batch, compute), DeviceArray.empty(batch, compute)
    count = _layout.numel(batch)
    if count:
        name, source = lu_determinant_source(compute)
        runtime.kernel(source, name)((min((count + THREADS - 1) // THREADS, GRID_LIMIT),), (THREADS,),
                                     (lu.pointer(), pivots.pointer(), sign.pointer(), logabsdet.pointer(),
                                      np.int64(count), np.int64(n)))
    return sign, logabsdet


_SLOGDET_RESULT = type(np.linalg.slogdet(np.eye(1)))
_SVD_RESULT = type(np.linalg.svd(np.eye(1)))


@implements(np.linalg.slogdet)
def slogdet(a):
    return _SLOGDET_RESULT(*_sign_and_log(a, np.linalg.slogdet))


@implements(np.linalg.det)
def det(a):
    """numpy computes det as sign * exp(log|det|) from the same factorisation, and so do we."""
    sign, logabsdet = _sign_and_log(a, np.linalg.det)
    return sign * np.exp(logabsdet)


# -- SVD -----------------------------------------------------------------------------------------

@functools.cache  # one text per variant: the kernel cache keys on it
def jacobi_svd_source(dtype, max_sweeps=MAX_SWEEPS):
    """(name, source) of the SVD of a batch of contiguous rows x cols matrices W (rows >= cols)
    by one-sided Jacobi rotations; one block per matrix, W overwritten.

    Rotations of column pairs (p, q) make the columns of W = A V mutually orthogonal (V the
    product of the rotations); then the singular values are the column norms and U's columns
    the normalised columns. A sweep visits every pair once, in cols - 1 rounds of disjoint
    pairs (the round-robin "circle" schedule), one pair a thread, with a barrier between
    rounds. A pair is rotated while its columns are not orthogonal to working precision,
    |w_p . w_q| > eps ||w_p|| ||w_q||; sweeps stop when none was.

    Output: column c's rank is its place in descending order of singular value (ties by
    column); ``s[rank]`` gets its norm, U's column ``rank`` goes to ``u`` and V's to ``v``,
    each through (row, column) element strides, so the caller lays them out as u or as vh
    rows. Columns ``rank >= `` the number of nonzero singular values (and columns cols ..
    u_columns - 1, for full matrices) are completed to an orthonormal basis by thread 0: the
    unit vector e_k least covered by the columns so far, minus its projection on them, twice
    (classical Gram-Schmidt repeated, for orthogonality to working precision), normalised.
    """
    name = kernels.kernel_name("jacobi_svd", np.dtype(dtype).name)
    t = _c_type(dtype)
    eps = "2.220446049250313e-16" if np.dtype(dtype) == np.float64 else "1.1920929e-07f"
    return name, kernels.PRELUDE + f"""
// Place of values[c] in descending order: NaN first (so that it shows in s), ties by index.
__device__ i64 descending_rank(const {t}* values, i64 count, i64 c) {{
    i64 rank = 0;
    for (i64 other = 0; other < count; ++other) {{
        const {t} x = values[other], y = values[c];
        const bool before = x != x ? (y == y || other < c) : (x > y || (x == y && other < c));
        rank += before;
    }}
    return rank;
}}

extern "C" __global__ void {name}({t}* w_all, {t}* v_all, {t}* s_all, {t}* u_out, {t}* v_out,
                                  const i64 batch, const i64 rows, const i64 cols, const i64 u_columns,
                                  const i64 u_row, const i64 u_column, const i64 v_row, const i64 v_column) {{
    __shared__ int rotated;
    const int tid = threadIdx.x;
    const i64 players = cols + (cols & 1);  // the schedule pairs an even number; column `cols` is a bye
    for (i64 z = blockIdx.x; z < batch; z += gridDim.x) {{
        {t}* w = w_all + z * rows * cols;
        {t}* v = v_all + z * cols * cols;
        {t}* s = s_all + z * cols;
        {t}* u = u_out + z * rows * u_columns;
        {t}* vt = v_out + z * cols * cols;
        for (i64 e = tid; e < cols * cols; e += blockDim.x) v[e] = e / cols == e % cols ? 1 : 0;
        for (int sweep = 0; sweep < {max_sweeps}; ++sweep) {{
            if (tid == 0) rotated = 0;
            __syncthreads();
            for (i64 round = 0; round < players - 1; ++round) {{
                for (i64 pair = tid; pair < players / 2; pair += blockDim.x) {{
                    i64 p = round, q = players - 1;
                    if (pair > 0) {{
                        p = (round + pair) % (players - 1);
                        q = (round - pair + players - 1) % (players - 1);
                    }}
                    if (p >= cols || q >= cols) continue;
                    {t} alpha = 0, beta = 0, gamma = 0;
                    for (i64 i = 0; i < rows; ++i) {{
                        const {t} x = w[i * cols + p], y = w[i * cols + q];
                        alpha += x * x;
                        beta += y * y;
                        gamma += x * y;
                    }}
                    if (!(fabs(gamma) > {eps} * sqrt(alpha) * sqrt(beta))) continue;  // NaN: no rotation
                    rotated = 1;
                    // The rotation that zeroes gamma, its angle the smaller of the two choices.
                    const {t} zeta = (beta - alpha) / (2 * gamma);
                    const {t} tangent = (zeta >= 0 ? 1 : -1) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                    const {t} cosine = 1 / sqrt(1 + tangent * tangent), sine = cosine * tangent;
                    for (i64 i = 0; i < rows; ++i) {{
                        const {t} x = w[i * cols + p], y = w[i * cols + q];
                        w[i * cols + p] = cosine * x - sine * y;
                        w[i * cols + q] = sine * x + cosine * y;
                    }}
                    for (i64 i = 0; i < cols; ++i) {{
                        const {t} x = v[i * cols + p], y = v[i * cols + q];
                        v[i * cols + p] = cosine * x - sine * y;
                        v[i * cols + q] = sine * x + cosine * y;
                    }}
                }}
                __syncthreads();  // a round's columns are final before the next round pairs them anew
            }}
            const bool done = rotated == 0;
            __syncthreads();  // everyone has read `rotated` before thread 0 resets it
            if (done) break;
        }}
        for (i64 c = tid; c < cols; c += blockDim.x) {{
            {t} norm = 0;
            for (i64 i = 0; i < rows; ++i) norm += w[i * cols + c] * w[i * cols + c];
            s[c] = sqrt(norm);
        }}
        __syncthreads();
        for (i64 c = tid; c < cols; c += blockDim.x) {{
            const i64 rank = descending_rank(s, cols, c);
            for (i64 i = 0; i < rows; ++i) u[i * u_row + rank * u_column] = s[c] > 0 ? w[i * cols + c] / s[c] : 0;
            for (i64 i = 0; i < cols; ++i) vt[i * v_row + rank * v_column] = v[i * cols + c];
        }}
        __syncthreads();
        for (i64 c = tid; c < cols; c += blockDim.x) w[c] = s[c];  // w's first row: the norms, by column
        __syncthreads();
        for (i64 c = tid; c < cols; c += blockDim.x) s[descending_rank(w, cols, c)] = w[c];  // s in order
        __syncthreads();
        if (tid == 0) {{
            i64 nonzero = 0;
            while (nonzero < cols && s[nonzero] > 0) ++nonzero;
            for (i64 c = nonzero; c < u_columns; ++c) {{
                i64 best = 0;
                {t} best_residual = -1;
                for (i64 k = 0; k < rows; ++k) {{  // |e_k - projection|^2 = 1 - sum_j u_kj^2
                    {t} residual = 1;
                    for (i64 j = 0; j < c; ++j) residual -= u[k * u_row + j * u_column] * u[k * u_row + j * u_column];
                    if (residual > best_residual) {{ best_residual = residual; best = k; }}
                }}
                for (i64 i = 0; i < rows; ++i) u[i * u_row + c * u_column] = i == best ? 1 : 0;
                for (int pass = 0; pass < 2; ++pass) {{
                    for (i64 j = 0; j < c; ++j) {{
                        {t} dot = 0;
                        for (i64 i = 0; i < rows; ++i) dot += u[i * u_row + j * u_column] * u[i * u_row + c * u_column];
                        for (i64 i = 0; i < rows; ++i) u[i * u_row + c * u_column] -= dot * u[i * u_row + j * u_column];
                    }}
                }}
                {t} norm = 0;
                for (i64 i = 0; i < rows; ++i) norm += u[i * u_row + c * u_column] * u[i * u_row + c * u_column];
                norm = sqrt(norm);
                for (i64 i = 0; i < rows; ++i) u[i * u_row + c * u_column] /= norm;
            }}
        }}
        __syncthreads();  // the block's shared state is free for the next matrix
    }}
}}
"""


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """numpy's svd (u, s, vh), or s alone for ``compute_uv=False``."""
    a = _operand(a)
    if hermitian:
        return _on_host("svd", np.linalg.svd, (a, full_matrices, compute_uv, hermitian), {})
    if a.ndim < 2:
        np.linalg.svd(_stand_in(a))  # raises numpy's error
    compute = _linalg_dtype(np.linalg.svd, a.dtype)
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    count = _layout.numel(batch)
    # Jacobi wants at least as many rows as columns: a wide matrix is done as its transpose,
    # A^T = U' S V'^T, so A = V' S U'^T: u = V' and vh = U'^T.
    wide = m < n
    rows, cols = (n, m) if wide else (m, n)
    u_columns = rows if full_matrices and compute_uv else cols
    work = DeviceArray.empty(batch + (rows, cols), compute)
    np.copyto(work, a.swapaxes(-1, -2) if wide else a, casting="unsafe")
    s = DeviceArray.empty(batch + (cols,), compute)
    left = DeviceArray.empty(batch + ((u_columns, rows) if wide else (rows, u_columns)), compute)  # holds U'
    right = DeviceArray.empty(batch + (cols, cols), compute)  # holds V'
    # U' (row i, column r) lands at left[r, i] when wide (vh's rows), else at left[i, r];
    # V' (row j, column r) at right[j, r] when wide (u's columns), else at right[r, j].
    u_strides = (1, rows) if wide else (u_columns, 1)
    v_strides = (cols, 1) if wide else (1, cols)
    if count:
        scratch = DeviceArray.empty((count, cols, cols), compute)
        name, source = jacobi_svd_source(compute)
        runtime.kernel(source, name)(
            (min(count, GRID_LIMIT),), (_block_size(cols),),
            (work.pointer(), scratch.pointer(), s.pointer(), left.pointer(), right.pointer(), np.int64(count),
             np.int64(rows), np.int64(cols), np.int64(u_columns), *map(np.int64, u_strides + v_strides)))
        if np.isnan(s.get()).any():
            raise np.linalg.LinAlgError("SVD did not converge")
    if not compute_uv:
        return s
    return _SVD_RESULT(right, s, left) if wide else _SVD_RESULT(left, s, right)


def compile_tier_sources():
    """The matmul, LU and SVD kernels for the NVRTC compile tier: the tiled matmul for bool and
    the wrapping integers; the blocked one in each tiling it runs in, for half through float,
    float, double and a mixed-dtype product; the factorisations in float and double."""
    sources = [matmul_source(dtype, dtype, dtype) for dtype in ("bool", "uint8", "int8", "int16", "int32", "int64")]
    sources += [blocked_matmul_source(dtype, dtype, dtype, tiling)
                for dtype in ("float16", "float32") for tiling in (BIG, SMALL)]
    sources += [blocked_matmul_source("float64", "float64", "float64", SMALL),
                blocked_matmul_source("int32", "float32", "float64", SMALL)]
    for dtype in ("float32", "float64"):
        sources += [lu_factor_source(dtype), lu_solve_source(dtype), lu_determinant_source(dtype),
                    jacobi_svd_source(dtype)]
    return sources
