"""Indexing a DeviceArray the way numpy indexes an ndarray, and the numpy functions that
pick or place elements by index: ``np.take``, ``np.take_along_axis``, ``np.add.at``,
``np.nonzero``, ``np.fill_diagonal``.

Basic keys (integers, slices, ``None``, ``...``) only change the view: shape, strides and
offset, with no kernel at all. Writes through a basic key are a copy kernel into that view.

Advanced keys (integer arrays, boolean masks, and the integers beside them) follow numpy's
rules. The basic parts are applied first, as a view that keeps every dim an array indexes.
Masks become the positions of their True elements (``nonzero``), integers 0-d index arrays,
and all index arrays broadcast together. The broadcast index dims replace the indexed dims
in place when those are adjacent in the key, and go first otherwise (``x[0, :, [1, 2]]``).
That gives a ``_Selection``: the result's shape, and for each element of it a place in the
indexed array, found by one kernel family (``advanced_source``) that gathers from there
(getitem), scatters to there (setitem) or adds there atomically (``np.add.at``).

Out-of-bounds indices raise numpy's IndexError before anything is read or written: host
indices are checked on the host, device indices by a kernel that records the first bad
element (``index_check_source``).

``nonzero`` is a count and a compaction, order-preserving: one thread per segment of the
array counts its non-zero elements, one block scans those counts into each segment's first
output slot (the last slot is the total, the one number the host reads, to size the
result), and each segment's thread then writes its elements' coordinates from there
(``nonzero_sources``).
"""

import functools

import numpy as np

from .. import _layout
from . import kernels, runtime
from .device_array import DeviceArray, implements, implements_ufunc_method
from .elementwise import _broadcast_estrides, _dtype_stand_in, _operand, device_constant

THREADS = 256
SEGMENT = 32  # consecutive elements one thread of nonzero's kernels takes
MAX_BLOCKS = 65535


def _c(dtype):
    return kernels.C_TYPES[np.dtype(dtype).name]


def _compute_c(dtype):
    """The C type arithmetic is done in: float16 computes in float, as numpy's loops do."""
    return "float" if np.dtype(dtype) == np.float16 else _c(dtype)


def _load(dtype, expression):
    """``expression`` (an element of ``dtype``) as a value C arithmetic accepts."""
    return f"(float){expression}" if np.dtype(dtype) == np.float16 else expression


def _header(*dtypes):
    return kernels.HALF_HEADER if any(np.dtype(d) == np.float16 for d in dtypes) else ""


def _blocks(n):
    return max(1, min((n + THREADS - 1) // THREADS, MAX_BLOCKS))


# -- kernels ------------------------------------------------------------------------------------

# numpy's ufunc.at adds in the loop's type C and stores in the array's type T, one element
# at a time. Where CUDA has an atomicAdd for T and C is T, that is it. Otherwise a
# compare-and-swap loop: read the word holding the element, compute the new element, swap
# the word in only if it still holds what was read (another thread may have written it
# meanwhile; then retry with what it wrote). 1- and 2-byte elements have no
# compare-and-swap of their own on every GPU: the loop swaps the aligned 4-byte word that
# holds them, keeping the other bytes as they are (little-endian: the element at byte k of
# the word is bits 8k and up), as PyTorch does; allocations are padded to whole words.
ADD_AT_HELPERS = r"""
__device__ __forceinline__ void ri_add_at(float* address, float value) { atomicAdd(address, value); }
__device__ __forceinline__ void ri_add_at(double* address, double value) { atomicAdd(address, value); }
__device__ __forceinline__ void ri_add_at(int* address, int value) { atomicAdd(address, value); }
__device__ __forceinline__ void ri_add_at(i64* address, i64 value) {
    // two's complement: the unsigned 64-bit add is the signed one
    atomicAdd((unsigned long long*)address, (unsigned long long)value);
}

template <typename W, typename T, typename C>
__device__ void ri_add_at_cas(W* word, int shift, C value) {
    const W mask = (W)(~0ULL >> (64 - 8 * sizeof(T))) << shift;
    W seen = *word, expected;
    do {
        expected = seen;
        const W old_bits = (expected & mask) >> shift;
        T old;
        memcpy(&old, &old_bits, sizeof(T));
        const T updated = (T)((C)old + value);
        W new_bits = 0;
        memcpy(&new_bits, &updated, sizeof(T));
        seen = atomicCAS(word, expected, (expected & ~mask) | (new_bits << shift));
    } while (seen != expected);
}

template <typename T, typename C>
__device__ void ri_add_at(T* address, C value) {
    if constexpr (sizeof(T) == 8) {
        ri_add_at_cas<unsigned long long, T, C>((unsigned long long*)address, 0, value);
    } else if constexpr (sizeof(T) == 4) {
        ri_add_at_cas<unsigned int, T, C>((unsigned int*)address, 0, value);
    } else {
        const unsigned long long at = (unsigned long long)address;
        ri_add_at_cas<unsigned int, T, C>((unsigned int*)(at & ~3ULL), (int)(at & 3) * 8, value);
    }
}
"""

MODES = ("gather", "scatter", "add")


@functools.cache  # one text per variant: the kernel cache keys on it
def advanced_source(mode, dtype, other_dtype, index_dtypes, compute_dtype):
    """(name, CUDA C source) of the kernel that reads or writes ``array`` where an advanced
    index points, one element of the result shape per loop step.

    Element ``i`` of the result shape is, in ``array``,
    ``strided_offset(i, array's strides) + sum over k of index_k[strided_offset(i, index_k's
    strides)] * axis_strides[k]``: ``array``'s strides are 0 on the dims the index arrays
    make and each index array's are 0 on the dims it does not span (or broadcasts over), so
    one walk over the result's shape finds both. A negative index counts from the end of its
    axis (``axis_sizes[k]``); the bounds were checked before. ``other`` is walked over the
    result shape with its own strides:

    - ``gather``:  ``other[i] = array[at]``, ``other`` the fresh result (``x[key]``);
    - ``scatter``: ``array[at] = other[i]``, ``other`` the value, broadcast (``x[key] = v``).
      Where indices repeat, which write lands is not defined on a GPU; numpy's order
      (the last one) is not promised.
    - ``add``: ``array[at] += other[i]`` atomically, in ``compute_dtype`` (``np.add.at``),
      so repeated indices add up. Float sums may round in any order.

    ``strides`` holds (2 + K) rows of ``ndim``: ``array``, ``other``, then each index array;
    ``axes`` holds the K axis strides, then the K axis sizes.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    names = [np.dtype(d).name for d in (dtype, other_dtype, compute_dtype, *index_dtypes)]
    name = kernels.kernel_name("index", mode, *names)
    count = len(index_dtypes)
    array_const = "const " if mode == "gather" else ""
    other_const = "" if mode == "gather" else "const "
    params = [f"{array_const}{_c(dtype)}* array", f"{other_const}{_c(other_dtype)}* other"]
    params += [f"const {_c(d)}* index{k}" for k, d in enumerate(index_dtypes)]
    lines = ["i64 at = strided_offset(i, ndim, shape, strides, 0);"]
    for k in range(count):
        lines.append(f"const i64 value{k} = "
                     f"(i64)index{k}[strided_offset(i, ndim, shape, strides + {2 + k} * ndim, 0)];")
        lines.append(f"at += (value{k} < 0 ? value{k} + axes[{count + k}] : value{k}) * axes[{k}];")
    lines.append("const i64 there = strided_offset(i, ndim, shape, strides + ndim, 0);")
    compute = _compute_c(compute_dtype)
    value = f"({compute}){_load(other_dtype, 'other[there]')}"
    if mode == "gather":
        lines.append("other[there] = array[at];")
    elif mode == "scatter":
        lines.append(f"array[at] = ({_c(dtype)}){value};")
    else:
        lines.append(f"ri_add_at(array + at, {value});")
    body = "\n        ".join(lines)
    return name, _header(dtype, other_dtype) + kernels.PRELUDE + (ADD_AT_HELPERS if mode == "add" else "") + f"""
extern "C" __global__ void {name}(const i64 n, const int ndim, const i64* shape, const i64* strides,
                                  const i64* axes, {", ".join(params)}) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
        {body}
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def index_check_source(index_dtype):
    """(name, source) of the bounds check of one index array: ``first_bad`` (set to ``n``
    beforehand) ends as the row-major position of the first index outside
    ``[-size, size)``, or stays ``n``."""
    name = kernels.kernel_name("index_check", np.dtype(index_dtype).name)
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const i64 n, const int ndim, const i64* shape, const i64* strides,
                                  const {_c(index_dtype)}* index, const i64 size, i64* first_bad) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {{
        const i64 value = (i64)index[strided_offset(i, ndim, shape, strides, 0)];
        if (value < -size || value >= size) atomicMin(first_bad, i);
    }}
}}
"""


# A block-wide inclusive prefix sum over ``tile`` (one slot per thread, each thread having
# written its own), Hillis-Steele: log2(THREADS) steps, each adding the slot ``offset``
# places back. Every thread of the block must call it; it ends with the tile complete and
# visible to all of them.
BLOCK_SCAN = f"""
__device__ void ri_block_inclusive_scan(i64* tile) {{
    __syncthreads();  // every slot is written before any is read
    for (int offset = 1; offset < {THREADS}; offset *= 2) {{
        const i64 behind = threadIdx.x >= offset ? tile[threadIdx.x - offset] : 0;
        __syncthreads();
        tile[threadIdx.x] += behind;
        __syncthreads();
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def nonzero_sources(dtype):
    """(name, source) of nonzero's three kernels for an array of ``dtype``, in launch order.

    The array is cut into segments of ``SEGMENT`` consecutive elements in row-major order,
    one thread per segment (grid-stride), so a segment's non-zero elements are found in
    order by one thread with no cooperation at all:

    1. count: ``counts[s]`` = the non-zero elements of segment ``s``;
    2. scan (one block, tile by tile): ``starts[s]`` = the non-zero elements before segment
       ``s``, and ``starts[segments]`` the total;
    3. compact: each segment's non-zero elements are written from ``starts[s]`` on, as
       coordinates: row ``d`` of the ``(ndim, total)`` output holds dim ``d``'s.

    Non-zero means ``!= 0``, so NaN counts and -0.0 does not, as in numpy.
    """
    t = _c(dtype)
    segment_loop = f"""const i64 segments = (n + {SEGMENT} - 1) / {SEGMENT};
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 s = (i64)blockIdx.x * blockDim.x + threadIdx.x; s < segments; s += step) {{
        const i64 end = (s + 1) * {SEGMENT} < n ? (s + 1) * {SEGMENT} : n;"""
    nonzero = _load(dtype, "a[strided_offset(i, ndim, shape, strides, 0)]") + " != 0"
    count = kernels.kernel_name("nonzero_count", np.dtype(dtype).name)
    scan = kernels.kernel_name("nonzero_scan")
    compact = kernels.kernel_name("nonzero_compact", np.dtype(dtype).name)
    prelude = _header(dtype) + kernels.PRELUDE
    return [
        (count, prelude + f"""
extern "C" __global__ void {count}(const i64 n, const int ndim, const i64* shape, const i64* strides,
                                   const {t}* a, i64* counts) {{
    {segment_loop}
        i64 found = 0;
        for (i64 i = s * {SEGMENT}; i < end; ++i) found += {nonzero};
        counts[s] = found;
    }}
}}
"""),
        (scan, kernels.PRELUDE + BLOCK_SCAN + f"""
extern "C" __global__ void {scan}(const i64 segments, const i64* counts, i64* starts) {{
    __shared__ i64 tile[{THREADS}];
    i64 carry = 0;  // the non-zero elements of all earlier tiles
    for (i64 base = 0; base < segments; base += {THREADS}) {{
        const i64 s = base + threadIdx.x;
        const i64 mine = s < segments ? counts[s] : 0;
        tile[threadIdx.x] = mine;
        ri_block_inclusive_scan(tile);
        if (s < segments) starts[s] = carry + tile[threadIdx.x] - mine;
        carry += tile[{THREADS - 1}];
        __syncthreads();  // every thread has read the tile's total before it is refilled
    }}
    if (threadIdx.x == 0) starts[segments] = carry;
}}
"""),
        (compact, prelude + f"""
extern "C" __global__ void {compact}(const i64 n, const int ndim, const i64* shape, const i64* strides,
                                     const {t}* a, const i64* starts, const i64 total, i64* coordinates) {{
    {segment_loop}
        i64 slot = starts[s];
        for (i64 i = s * {SEGMENT}; i < end; ++i) {{
            if ({nonzero}) {{
                i64 rest = i;  // element i's row-major coordinates, last dim first
                for (int d = ndim - 1; d >= 0; --d) {{
                    coordinates[d * total + slot] = rest % shape[d];
                    rest /= shape[d];
                }}
                ++slot;
            }}
        }}
    }}
}}
"""),
    ]


@functools.cache  # one text per variant: the kernel cache keys on it
def fill_diagonal_source(dtype, value_dtype):
    """(name, source) of ``np.fill_diagonal``'s write: element ``j * step`` of the array in
    row-major order (any layout) gets ``values[j % value_count]``, the values repeating as
    numpy's ``a.flat[::step] = values`` repeats them."""
    name = kernels.kernel_name("fill_diagonal", np.dtype(dtype).name, np.dtype(value_dtype).name)
    value = f"({_compute_c(dtype)}){_load(value_dtype, 'values[j % value_count]')}"
    return name, _header(dtype, value_dtype) + kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const i64 count, const i64 diagonal_step, const int ndim, const i64* shape,
                                  const i64* strides, {_c(dtype)}* a, const {_c(value_dtype)}* values,
                                  const i64 value_count) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < count; j += step) {{
        const i64 i = j * diagonal_step;
        a[strided_offset(i, ndim, shape, strides, 0)] = ({_c(dtype)}){value};
    }}
}}
"""


DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


def compile_tier_sources():
    """A representative set of this module's kernel variants, for the NVRTC compile tier:
    every mode over every storage dtype, the index dtypes numpy allows, mixed value dtypes,
    every native and compare-and-swap path of ``add``, and the nonzero and fill kernels."""
    sources = []
    for dtype in DTYPES:
        compute = "float32" if dtype == "float16" else dtype
        sources.append(advanced_source("gather", dtype, dtype, ("int64",), dtype))
        sources.append(advanced_source("scatter", dtype, dtype, ("int64", "int32"), dtype))
        sources.append(advanced_source("add", dtype, dtype, ("int64",), compute))
        sources += nonzero_sources(dtype)[::2]  # count and compact; the scan is the same for all
        sources.append(fill_diagonal_source(dtype, dtype))
    sources.append(nonzero_sources("bool")[1])
    sources.append(advanced_source("gather", "float32", "float32", ("uint8", "int16", "int8"), "float32"))
    sources.append(advanced_source("gather", "float32", "float32", (), "float32"))
    sources.append(advanced_source("scatter", "float16", "float64", ("int64",), "float16"))
    sources.append(advanced_source("add", "int64", "float64", ("int64",), "float64"))  # numpy's float loop
    sources.append(advanced_source("add", "float32", "float64", ("int64",), "float64"))
    sources.append(fill_diagonal_source("float32", "int64"))
    for dtype in ("int64", "int32", "uint8", "int8", "int16"):
        sources.append(index_check_source(dtype))
    return sources


def _launch(source, grid, args):
    name, text = source
    runtime.kernel(text, name)((grid,), (THREADS,), args)


# -- the key ------------------------------------------------------------------------------------


def basic_view(array, key):
    """The view numpy's basic indexing gives: no data moves."""
    if Ellipsis in key:
        at = key.index(Ellipsis)
        missing = array.ndim - sum(1 for part in key if part is not None and part is not Ellipsis)
        key = key[:at] + (slice(None),) * missing + key[at + 1:]
    key = key + (slice(None),) * (array.ndim - sum(1 for part in key if part is not None))
    shape, strides, offset, dim = [], [], 0, 0
    for part in key:
        if part is None:
            shape.append(1)
            strides.append(0)
            continue
        size, stride = array.shape[dim], array.estrides[dim]
        if isinstance(part, slice):
            start, stop, step = part.indices(size)
            count = len(range(start, stop, step))
            shape.append(count)
            strides.append(stride * step)
            offset += start * stride if count else 0
        else:
            index = int(part)
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of bounds for axis {dim} with size {size}")
            offset += (index % size) * stride
        dim += 1
    return array.view_as(shape, strides, offset)


class _Array:
    """An array part of a key: integer indices or a boolean mask, on the host or the device."""

    __slots__ = ("values", "is_mask")

    def __init__(self, values, is_mask):
        self.values = values
        self.is_mask = is_mask

    @property
    def ndim(self):
        return self.values.ndim


_INVALID = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean "
            "arrays are valid indices")


def _part(part):
    """One part of a key as indexing sees it: ``None``, ``...``, a slice, an int, or an _Array."""
    if part is None or part is Ellipsis or isinstance(part, slice):
        return part
    if isinstance(part, (bool, np.bool_)):
        return _Array(np.array(bool(part)), True)
    if isinstance(part, (int, np.integer)):
        return int(part)
    if isinstance(part, DeviceArray):  # a 0-d one too: its value stays on the device, so a copy results
        if part.dtype.kind not in "biu":
            raise IndexError(_INVALID)
        return _Array(part, part.dtype == np.bool_)
    values = np.asarray(part)
    if values.dtype == np.bool_:
        return _Array(values, True)
    if values.dtype.kind in "iu":
        return int(values) if values.ndim == 0 else _Array(values, False)  # numpy reads 0-d as an integer
    if values.size == 0 and isinstance(part, (list, tuple)):
        return _Array(values.astype(np.intp), False)  # ``x[[]]``: no index, of numpy's index type
    raise IndexError(_INVALID)


def _consumed(part):
    """How many of the array's dims a part indexes."""
    if part is None or part is Ellipsis:
        return 0
    if isinstance(part, _Array):
        return part.ndim if part.is_mask else 1
    return 1


def _shape_text(shape):
    return "(" + ",".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


class _Index:
    """One index array of a selection, as the kernels use it."""

    __slots__ = ("values", "axis", "size", "stride", "strides", "checked")

    def __init__(self, values, axis, size, stride, checked=False):
        self.values = values  # numpy (checked and uploaded later) or DeviceArray
        self.axis = axis  # the axis of the indexed array it indexes, for error messages
        self.size = size
        self.stride = stride
        self.strides = ()  # its element strides over the result's shape
        self.checked = checked


class _Selection:
    """The elements an indexing operation reads or writes: ``shape`` is the result's shape;
    its element ``i`` sits in ``array`` at ``strided_offset(i, strides)`` plus, for each
    index, its value at ``i`` (wrapped if negative) times its axis' stride."""

    __slots__ = ("array", "shape", "strides", "indices")

    def __init__(self, array, shape, strides, indices):
        self.array = array
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.indices = indices

    def check_bounds(self):
        """numpy's IndexError for the first index array holding an index outside its axis;
        then every index array is on the device."""
        for index in self.indices:
            if not index.checked:
                _check_bounds(index)
            if not isinstance(index.values, DeviceArray):
                index.values = _operand(index.values)

    def run(self, mode, other, compute_dtype):
        """Launch ``advanced_source``'s ``mode`` kernel with ``other`` walked over ``shape``."""
        n = _layout.numel(self.shape)
        if n == 0:
            return
        ndim = max(len(self.shape), 1)
        other_strides = _broadcast_estrides(other, self.shape)
        rows = [self.strides, other_strides] + [index.strides for index in self.indices]
        strides = device_constant([s for row in rows for s in (row or (0,))])
        axes = device_constant([i.stride for i in self.indices] + [i.size for i in self.indices] or [0])
        source = advanced_source(mode, self.array.dtype, other.dtype, tuple(i.values.dtype for i in self.indices),
                                 compute_dtype)
        _launch(source, _blocks(n), (
            np.int64(n), np.int32(ndim), device_constant(list(self.shape) or [1]).pointer(), strides.pointer(),
            axes.pointer(), self.array.pointer(), other.pointer(), *(i.values.pointer() for i in self.indices)))


def _out_of_bounds(value, axis, size):
    return IndexError(f"index {value} is out of bounds for axis {axis} with size {size}")


def _check_bounds(index):
    values = index.values
    if not isinstance(values, DeviceArray):
        bad = (values < -index.size) | (values >= index.size)
        if bad.any():
            raise _out_of_bounds(int(values.reshape(-1)[np.argmax(bad.reshape(-1))]), index.axis, index.size)
        return
    n = values.size
    if n == 0:
        return
    first_bad = DeviceArray.from_host(np.array([n], np.int64))
    _launch(index_check_source(values.dtype), _blocks(n), (
        np.int64(n), np.int32(max(values.ndim, 1)), device_constant(list(values.shape) or [1]).pointer(),
        device_constant(list(values.estrides) or [0]).pointer(), values.pointer(), np.int64(index.size),
        first_bad.pointer()))
    position = int(first_bad.get()[0])
    if position < n:
        value = values[np.unravel_index(position, values.shape)].get()
        raise _out_of_bounds(int(value), index.axis, index.size)


def _select(array, key):
    """The _Selection of ``array[key]``, with numpy's errors for a malformed key."""
    parts = [_part(part) for part in (key if isinstance(key, tuple) else (key,))]
    if sum(part is Ellipsis for part in parts) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(_consumed(part) for part in parts)
    if consumed > array.ndim:
        raise IndexError(f"too many indices for array: array is {array.ndim}-dimensional, but {consumed} were indexed")
    advanced = any(isinstance(part, _Array) for part in parts)
    basic_key, arrays = [], []  # arrays: (dim of the view, index values, axis of ``array``, checked)
    view_dim = dim = 0
    # numpy keeps the index dims in place only if no other part (even an empty ``...``) parts them
    consecutive, after_gap = True, False
    for part in parts:
        if isinstance(part, _Array) or advanced and isinstance(part, int):
            consecutive = consecutive and not (arrays and after_gap)
        else:
            after_gap = bool(arrays)
        if part is Ellipsis:
            missing = array.ndim - consumed
            basic_key += [slice(None)] * missing
            view_dim, dim = view_dim + missing, dim + missing
        elif part is None or isinstance(part, slice) or isinstance(part, int) and not advanced:
            basic_key.append(part)
            view_dim, dim = view_dim + (part is None or isinstance(part, slice)), dim + (part is not None)
        elif isinstance(part, int):  # beside index arrays, an integer is a 0-d index array
            basic_key.append(slice(None))
            arrays.append((view_dim, np.array(part, np.int64), dim, False))
            view_dim, dim = view_dim + 1, dim + 1
        elif not part.is_mask:
            basic_key.append(slice(None))
            arrays.append((view_dim, part.values, dim, False))
            view_dim, dim = view_dim + 1, dim + 1
        elif part.ndim == 0:  # True or False: a new dim of size 1, indexed by [0] or []
            basic_key.append(None)
            arrays.append((view_dim, np.nonzero(part.values.reshape(1))[0], None, True))
            view_dim += 1
        else:
            if part.values.shape != array.shape[dim:dim + part.ndim]:
                # numpy's own error (its wording differs between numpy 1 and 2), from a stand-in
                # with our shape and no memory
                stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), array.shape, (0,) * array.ndim)
                stand_in[(slice(None),) * dim + (np.zeros(part.values.shape, bool),)]
            positions = np.nonzero(part.values)
            basic_key += [slice(None)] * part.ndim
            arrays += [(view_dim + at, positions[at], dim + at, True) for at in range(part.ndim)]
            view_dim, dim = view_dim + part.ndim, dim + part.ndim
    view = basic_view(array, tuple(basic_key))
    if not arrays:
        return _Selection(view, view.shape, view.estrides, [])
    return _placed(view, arrays, consecutive)


def _placed(view, arrays, consecutive):
    """The selection of index ``arrays`` on ``view``'s dims, placed by numpy's rule: the
    broadcast index dims stand where the indexed dims were if the key has them
    ``consecutive``, first otherwise."""
    shapes = [tuple(values.shape) for _, values, _, _ in arrays]
    try:
        broadcast = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with shapes "
                         + "".join(_shape_text(shape) + " " for shape in shapes if shape)) from None  # as integers
    dims = [dim for dim, _, _, _ in arrays]
    rest = [d for d in range(view.ndim) if d not in dims]
    first = dims[0] if consecutive else 0
    before, after = [d for d in rest if d < first], [d for d in rest if d >= first]
    shape = [view.shape[d] for d in before] + list(broadcast) + [view.shape[d] for d in after]
    strides = [view.estrides[d] for d in before] + [0] * len(broadcast) + [view.estrides[d] for d in after]
    indices = []
    for dim, values, axis, checked in arrays:
        index = _Index(values, axis, view.shape[dim], view.estrides[dim], checked)
        spanned = _broadcast_estrides(_Shaped(values), broadcast)
        index.strides = (0,) * len(before) + tuple(spanned) + (0,) * len(after)
        indices.append(index)
    return _Selection(view, shape, strides, indices)


class _Shaped:
    """Shape and element strides of a host or device array, as ``_broadcast_estrides`` reads them."""

    __slots__ = ("shape", "estrides", "ndim")

    def __init__(self, values):
        self.shape = tuple(values.shape)
        self.ndim = len(self.shape)
        if isinstance(values, DeviceArray):
            self.estrides = values.estrides
        else:  # uploaded C-contiguous later
            self.estrides = _layout.contiguous_strides(self.shape)


# -- reading and writing ------------------------------------------------------------------------


def getitem(array, key):
    """``array[key]``: a view for a basic key, a gathered copy for an advanced one."""
    selection = _select(array, key)
    if not selection.indices:
        return selection.array
    selection.check_bounds()
    result = DeviceArray.empty(selection.shape, array.dtype)
    selection.run("gather", result, array.dtype)
    return result


def setitem(array, key, value):
    """``array[key] = value``: ``value`` cast to ``array``'s dtype and broadcast over the
    selected elements (a copy kernel into the view of a basic key, a scatter otherwise)."""
    if not isinstance(value, DeviceArray):
        value = np.asarray(value, dtype=array.dtype) if np.ndim(value) == 0 else np.asarray(value)
    selection = _select(array, key)
    if not selection.indices:
        view = selection.array
        value = _broadcastable(_operand(value), view.shape, "could not broadcast input array from shape "
                               f"{_shape_text(value.shape)} into shape {_shape_text(view.shape)}")
        np.copyto(view, value, casting="unsafe")
        return
    if _is_whole_mask(array, key):
        _check_masked_values(value, selection.shape[0])
    value = _broadcastable(_operand(value), selection.shape, "shape mismatch: value array of shape "
                           f"{_shape_text(value.shape)} could not be broadcast to indexing result of shape "
                           f"{_shape_text(selection.shape)}")
    selection.check_bounds()
    if value.memory is array.memory:  # the writes must not change the values still to be read
        value = value.copy()
    selection.run("scatter", value, array.dtype)


def _is_whole_mask(array, key):
    """A key that is one boolean mask as large as ``array``: numpy assigns through it with
    rules of its own."""
    key = key if isinstance(key, tuple) else (key,)
    return len(key) == 1 and isinstance(key[0], (np.ndarray, DeviceArray)) and key[0].dtype == np.bool_ \
        and key[0].ndim == array.ndim > 0


def _check_masked_values(value, count):
    """numpy's errors for assigning ``value`` through a whole-array mask with ``count`` Trues:
    one value, or one per True element, in at most one dim."""
    if value.ndim > 1:
        raise TypeError("NumPy boolean array indexing assignment requires a 0 or 1-dimensional input, input has "
                        f"{value.ndim} dimensions")
    if value.ndim == 1 and value.size not in (1, count):
        raise ValueError(f"NumPy boolean array indexing assignment cannot assign {value.size} input values to the "
                         f"{count} output values where the mask is true")


def _broadcastable(value, shape, message):
    """``value`` without the leading size-1 dims ``shape`` lacks, checked to broadcast to it."""
    while value.ndim > len(shape) and value.shape[0] == 1:
        value = value.view_as(value.shape[1:], value.estrides[1:])
    if value.ndim > len(shape) or any(v not in (1, s) for v, s in zip(value.shape[::-1], shape[::-1])):
        raise ValueError(message)
    return value


@implements_ufunc_method("at", np.add)
def add_at(a, indices, b=None):
    """``np.add.at(a, indices, b)``: ``a[indices] += b`` with repeated indices adding up,
    computed in numpy's loop type for ``a + b`` and stored in ``a``'s dtype."""
    if not isinstance(a, DeviceArray):
        raise TypeError("a CUDA result cannot be written into host memory")
    if b is None:
        raise ValueError("second operand needed for ufunc")
    compute = np.add(_dtype_stand_in(a), _dtype_stand_in(b)).dtype
    selection = _select(a, indices)
    value = _broadcastable(_operand(b), selection.shape, "array is not broadcastable to correct shape")
    selection.check_bounds()
    if value.memory is a.memory:
        value = value.copy()
    selection.run("add", value, compute)


# -- numpy functions ------------------------------------------------------------------------------

_AxisError = getattr(np, "exceptions", np).AxisError


def _axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise _AxisError(axis, ndim)
    return axis % ndim


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    a = _operand(a)
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = _axis(axis, a.ndim)
    if isinstance(indices, (list, tuple)):
        indices = np.asarray(indices).astype(np.intp)  # numpy converts a list straight to its index type
    indices = indices if isinstance(indices, DeviceArray) else np.asarray(indices)
    if indices.dtype == np.bool_:
        indices = indices.astype(np.int64)  # take reads booleans as 0 and 1, not as a mask
    elif indices.dtype.kind not in "iu":
        raise TypeError(f"Cannot cast array data from {indices.dtype!r} to dtype('int64') according to the rule "
                        "'same_kind'")
    size = a.shape[axis]
    if mode != "raise" and size == 0 and indices.size:
        raise IndexError("cannot do a non-empty take from an empty axes.")
    if mode == "wrap":
        indices = np.remainder(indices, size)
    elif mode == "clip":
        indices = np.clip(indices, 0, size - 1)
    result = getitem(a, (slice(None),) * axis + (indices,))
    if out is None:
        return result
    if out.shape != result.shape:
        raise ValueError("output array does not match result of ndarray.take")
    np.copyto(out, result, casting="unsafe")
    return out


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    arr, indices = _operand(arr), _operand(indices)
    if indices.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = arr.reshape(-1), 0
    elif arr.ndim != indices.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = _axis(axis, arr.ndim)
    # numpy indexes with an arange along every other dim, broadcast against ``indices``
    shapes = [indices.shape if d == axis else (1,) * d + (arr.shape[d],) + (1,) * (arr.ndim - d - 1)
              for d in range(arr.ndim)]
    shape = []
    for d in range(arr.ndim):
        sizes = {indices.shape[d]} if d == axis else {arr.shape[d], indices.shape[d]} - {1} or {1}
        if len(sizes) > 1:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together with shapes "
                             + "".join(_shape_text(s) + " " for s in shapes))
        shape.append(sizes.pop())
    strides = [0 if d == axis or arr.shape[d] != shape[d] else arr.estrides[d] for d in range(arr.ndim)]
    in_bounds = indices.index_bound is not None and indices.index_bound <= arr.shape[axis]
    index = _Index(indices, axis, arr.shape[axis], arr.estrides[axis], checked=in_bounds)
    index.strides = _broadcast_estrides(indices, tuple(shape))
    selection = _Selection(arr, shape, strides, [index])
    selection.check_bounds()
    result = DeviceArray.empty(selection.shape, arr.dtype)
    selection.run("gather", result, arr.dtype)
    return result


def _segment_starts(array):
    """``nonzero_sources`` 1 and 2 on ``array``: where each segment's non-zero elements
    start in the output (on the device), the count kernels' arguments, and the total."""
    n = array.size
    segments = (n + SEGMENT - 1) // SEGMENT
    counts = DeviceArray.empty((segments,), np.int64)
    starts = DeviceArray.empty((segments + 1,), np.int64)
    count, scan, _ = nonzero_sources(array.dtype)
    layout = (np.int64(n), np.int32(max(array.ndim, 1)), device_constant(list(array.shape) or [1]).pointer(),
              device_constant(list(array.estrides) or [0]).pointer(), array.pointer())
    _launch(count, _blocks(segments), layout + (counts.pointer(),))
    _launch(scan, 1, (np.int64(segments), counts.pointer(), starts.pointer()))
    return starts, layout, int(starts[segments:].get()[0])


def count_nonzero(array):
    """How many elements of ``array`` (a DeviceArray) are non-zero, as a Python int."""
    return _segment_starts(array)[2] if array.size else 0


@implements(np.nonzero)
def nonzero(a):
    """The coordinates of ``a``'s non-zero elements in row-major order: one int64 array per
    dim (rows of one ``(ndim, count)`` array)."""
    a = _operand(a)
    if a.ndim == 0:
        np.nonzero(np.zeros((), a.dtype))  # numpy's error (numpy 2) or warning (numpy 1) for 0-d input
        a = a.reshape(1)
    starts, layout, total = _segment_starts(a) if a.size else (None, None, 0)
    coordinates = DeviceArray.empty((a.ndim, total), np.int64)
    if total:
        _launch(nonzero_sources(a.dtype)[2], _blocks((a.size + SEGMENT - 1) // SEGMENT),
                layout + (starts.pointer(), np.int64(total), coordinates.pointer()))
    return tuple(coordinates[d] for d in range(a.ndim))


@implements(np.fill_diagonal)
def fill_diagonal(a, val, wrap=False):
    """numpy's ``a.flat[:end:step] = val``: the main diagonal, in place; a tall matrix with
    ``wrap`` starts over below it every ``columns + 1`` rows."""
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    end = a.size
    if a.ndim == 2:
        step = a.shape[1] + 1
        if not wrap:
            end = min(end, a.shape[1] * a.shape[1])
    else:
        if len(set(a.shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(a.shape[:-1]).sum())
    values = val if isinstance(val, DeviceArray) else _operand(np.asarray(val, dtype=a.dtype))
    if not values.is_c_contiguous():
        values = values.copy()
    count = len(range(0, end, step))
    if count == 0 or values.size == 0:
        return
    _launch(fill_diagonal_source(a.dtype, values.dtype), _blocks(count), (
        np.int64(count), np.int64(step), np.int32(a.ndim), device_constant(list(a.shape)).pointer(),
        device_constant(list(a.estrides)).pointer(), a.pointer(), values.pointer(), np.int64(values.size)))


__all__ = ["DeviceArray", "basic_view", "compile_tier_sources", "count_nonzero", "getitem", "setitem"]
