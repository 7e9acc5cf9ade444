"""Sorting on the device: ``np.sort``, ``np.argsort`` and ``np.unique``.

Every sort here orders *indices*: the keys stay where they are (a contiguous copy, one
segment of ``count`` keys per row being sorted, each key ``width`` values long) and are only
read to compare. Two keys compare as numpy orders values (NaN after every number, -0.0
equal to 0.0; a key of several values lexicographically), and equal keys by their index,
so every key is distinct and any sorting network or merge gives the one stable order:
``kind="stable"`` holds whatever kind is asked for (also a valid answer for numpy's
unstable kinds).

Two stages, O(n log^2 n) work for a row of n:

1. ``tile_sort_source``: each block sorts a tile of up to ``TILE`` consecutive keys of one
   segment with a bitonic network in shared memory (barriers between its steps);
2. ``merge_source``: passes that merge neighbouring sorted runs (``TILE``, then twice
   that, ...) until one run spans the segment. A key's place in the merged run is its place
   in its own run plus the number of keys of the neighbouring run before it, found by
   binary search; so every key moves independently, one thread each.

``np.unique`` sorts its keys the same way (slices along an axis are keys of several values),
then marks where a new value starts, numbers the values with a running sum of the marks
(``np.cumsum``, so as fast as that scan is), and scatters the values, first indices, inverse
and counts. Descending sorts are the op code's business (it sorts a flipped view).
"""

import functools

import numpy as np

from .. import _layout
from . import kernels, runtime
from .device_array import DeviceArray, implements
from .elementwise import _operand

THREADS = 256
TILE = 2 * THREADS  # keys one block sorts in shared memory: one compare-exchange a thread a step
GRID_LIMIT = 65535


def _compute(dtype):
    """The C type two keys compare in: half through float."""
    return "float" if dtype == np.float16 else kernels.C_TYPES[dtype.name]


def _key_order(dtype):
    """CUDA C of ``key_before``: does key i come before key j (indices into one segment)?
    Indices at or past ``count`` are the padding of a partial tile and come last."""
    c = _compute(dtype)
    return f"""
// numpy's order of two values: NaN after every number (x == x is false only for NaN).
__device__ __forceinline__ bool value_before({c} x, {c} y) {{
    return x < y || (x == x && y != y);
}}

__device__ bool key_before(const {kernels.C_TYPES[dtype.name]}* keys, i64 count, i64 width, i64 i, i64 j) {{
    if (i >= count || j >= count) return i < j;  // padding after every key
    for (i64 w = 0; w < width; ++w) {{
        const {c} x = ({c})keys[i * width + w], y = ({c})keys[j * width + w];
        if (value_before(x, y)) return true;
        if (value_before(y, x)) return false;
    }}
    return i < j;  // equal keys keep their order: the sort is stable
}}
"""


def _header(dtype):
    return kernels.HALF_HEADER if dtype == np.float16 else ""


@functools.cache  # one text per variant: the kernel cache keys on it
def tile_sort_source(dtype, capacity=TILE):
    """(name, source) of stage 1: ``order`` gets, for each tile of ``tile`` consecutive keys of
    each segment, the keys' indices in sorted order, by a bitonic sorting network over
    ``tile`` slots of shared memory (``tile`` / 2 threads, one compare-exchange each a step).
    ``tile`` is a power of two up to ``capacity``, the shared array's size: the launch fits it
    to short rows, so that they don't pay for a network of ``capacity`` slots. The slots of a
    partial tile hold indices past ``count``, which sort last and are not written back."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("sort_tile", dtype.name, str(capacity))
    return name, _header(dtype) + kernels.PRELUDE + _key_order(dtype) + f"""
extern "C" __global__ void {name}(const {kernels.C_TYPES[dtype.name]}* keys, const i64 segments, const i64 count,
                                  const i64 width, const int tile, i64* order) {{
    __shared__ i64 slot[{capacity}];
    const i64 tiles = (count + tile - 1) / tile;  // a segment's tiles
    for (i64 block = blockIdx.x; block < segments * tiles; block += gridDim.x) {{
        const i64 segment = block / tiles, start = (block % tiles) * tile;
        const auto* segment_keys = keys + segment * count * width;
        for (int s = threadIdx.x; s < tile; s += blockDim.x) slot[s] = start + s;
        __syncthreads();
        // Bitonic merges of growing size; within one, compare-exchanges at halving strides.
        // Pair number s of a step is (lo, lo + stride): lo runs over the slots whose
        // `stride` bit is clear. The direction alternates with the `size` bit of lo, so that
        // each merge gets the bitonic sequence it needs; the last merge is all ascending.
        for (int size = 2; size <= tile; size *= 2) {{
            for (int stride = size / 2; stride > 0; stride /= 2) {{
                for (int s = threadIdx.x; s < tile / 2; s += blockDim.x) {{
                    const int lo = 2 * s - (s & (stride - 1)), hi = lo + stride;
                    const bool ascending = (lo & size) == 0;
                    const i64 x = slot[lo], y = slot[hi];
                    if (key_before(segment_keys, count, width, y, x) == ascending) {{
                        slot[lo] = y;
                        slot[hi] = x;
                    }}
                }}
                __syncthreads();  // a step's exchanges are done before the next step reads
            }}
        }}
        for (int s = threadIdx.x; s < tile; s += blockDim.x) {{
            if (start + s < count) order[segment * count + start + s] = slot[s];
        }}
        __syncthreads();  // the slots are read out before the next tile fills them
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def merge_source(dtype):
    """(name, source) of one stage-2 pass: ``merged`` gets ``order`` with each pair of
    neighbouring sorted runs of length ``run`` merged (per segment). A key in the left run
    goes to its place in its run plus the count of right-run keys before it; a key in the
    right run likewise with the left run. Binary search finds those counts (the runs are
    sorted), so a pass is O(n log n) and every thread places one key."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("sort_merge", dtype.name)
    return name, _header(dtype) + kernels.PRELUDE + _key_order(dtype) + f"""
extern "C" __global__ void {name}(const {kernels.C_TYPES[dtype.name]}* keys, const i64 segments, const i64 count,
                                  const i64 width, const i64 run, const i64* order, i64* merged) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < segments * count; i += step) {{
        const i64 segment = i / count, position = i % count;
        const auto* segment_keys = keys + segment * count * width;
        const i64* runs = order + segment * count;
        const i64 left = position / (2 * run) * (2 * run);
        const i64 middle = min(left + run, count), end = min(left + 2 * run, count);
        const i64 key = runs[position];
        const bool in_left = position < middle;
        // The other run: how many of its keys come before this one?
        i64 low = in_left ? middle : left, high = in_left ? end : middle;
        const i64 base = low;
        while (low < high) {{
            const i64 probe = low + (high - low) / 2;
            if (key_before(segment_keys, count, width, runs[probe], key)) low = probe + 1;
            else high = probe;
        }}
        const i64 own = position - (in_left ? left : middle);
        merged[segment * count + left + own + (low - base)] = key;
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def gather_source(dtype):
    """(name, source) of ``out[segment][i] = keys[segment][order[segment][i]]``, each key
    ``width`` values: the sorted keys, once their order is known."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("sort_gather", dtype.name)
    t = kernels.C_TYPES[dtype.name]
    return name, _header(dtype) + kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const {t}* keys, const i64* order, {t}* out, const i64 segments, const i64 count,
                                  const i64 width) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < segments * count * width; i += step) {{
        const i64 w = i % width, position = i / width, segment = position / count;
        out[i] = keys[(segment * count + order[position]) * width + w];
    }}
}}
"""


def _blocks(n):
    return max(1, min((n + THREADS - 1) // THREADS, GRID_LIMIT))


def sort_order(keys):
    """The stable sorted order of each segment of ``keys``, a contiguous DeviceArray of shape
    (segments, count, width): int64 indices, shape (segments, count)."""
    segments, count, width = keys.shape
    order = DeviceArray.empty((segments, count), np.int64)
    if order.size == 0:
        return order
    name, source = tile_sort_source(keys.dtype)
    tile = min(TILE, 1 << (count - 1).bit_length())  # a power of two, no larger than a row needs
    tiles = segments * ((count + tile - 1) // tile)
    runtime.kernel(source, name)((min(tiles, GRID_LIMIT),), (max(1, tile // 2),),
                                 (keys.pointer(), np.int64(segments), np.int64(count), np.int64(width),
                                  np.int32(tile), order.pointer()))
    name, source = merge_source(keys.dtype)
    merged = DeviceArray.empty((segments, count), np.int64)
    run = TILE
    while run < count:
        runtime.kernel(source, name)((_blocks(order.size),), (THREADS,),
                                     (keys.pointer(), np.int64(segments), np.int64(count), np.int64(width),
                                      np.int64(run), order.pointer(), merged.pointer()))
        order, merged = merged, order
        run *= 2
    return order


def gather(keys, order):
    """``keys`` (segments, count, width) in ``order`` (segments, count)."""
    out = DeviceArray.empty(keys.shape, keys.dtype)
    if out.size:
        name, source = gather_source(keys.dtype)
        runtime.kernel(source, name)((_blocks(out.size),), (THREADS,),
                                     (keys.pointer(), order.pointer(), out.pointer(), *map(np.int64, keys.shape)))
    return out


def _rows(a, axis):
    """(contiguous keys of shape (rows, n, 1), the shape with ``axis`` last, the axis order
    that puts it there) for sorting ``a`` along ``axis``."""
    axes = [d for d in range(a.ndim) if d != axis] + [axis]
    moved = a.transpose(axes)
    keys = DeviceArray.empty(moved.shape, a.dtype)
    np.copyto(keys, moved)  # the copy kernel reads any layout; the sort reads rows in a line
    n = a.shape[axis]
    return keys.reshape(_layout.numel(moved.shape[:-1]), n, 1), moved.shape, axes


def _put_back(rows, moved_shape, axes):
    """A C-contiguous array in the original axis order from rows sorted with the axis last."""
    result = DeviceArray.empty([moved_shape[axes.index(d)] for d in range(len(axes))], rows.dtype)
    np.copyto(result.transpose(axes), rows.reshape(moved_shape))
    return result


def _normalize_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _sort_axis(a, axis):
    """(array, axis) as numpy resolves them: axis None sorts the flattened array."""
    a = _operand(a)
    if axis is None:
        return a.reshape(-1), 0
    return a, _normalize_axis(axis, a.ndim)


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise ValueError("Cannot specify order when the array has no fields.")
    a, axis = _sort_axis(a, axis)
    keys, moved_shape, axes = _rows(a, axis)
    return _put_back(gather(keys, sort_order(keys)), moved_shape, axes)


@implements(np.argsort)
def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise ValueError("Cannot specify order when the array has no fields.")
    a = _operand(a)
    if a.ndim == 0 and axis is not None:  # numpy sorts a 0-d array as one element
        return DeviceArray.from_host(np.zeros(1, np.intp))
    a, axis = _sort_axis(a, axis)
    keys, moved_shape, axes = _rows(a, axis)
    return _put_back(sort_order(keys), moved_shape, axes)


# -- unique ------------------------------------------------------------------------------------

@functools.cache  # one text per variant: the kernel cache keys on it
def unique_marks_source(dtype):
    """(name, source) of ``starts[i] = 1`` where sorted key i begins a new value (key 0, and
    every key that differs from the one before it), else 0. Values differ where ``!=`` says
    so: -0.0 equals 0.0, and NaN differs from everything, NaN too, unless ``equal_nan``."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("unique_marks", dtype.name)
    c = _compute(dtype)
    return name, _header(dtype) + kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const {kernels.C_TYPES[dtype.name]}* sorted, const i64 count, const i64 width,
                                  const int equal_nan, i64* starts) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step) {{
        bool differs = i == 0;
        for (i64 w = 0; w < width && !differs; ++w) {{
            const {c} x = ({c})sorted[(i - 1) * width + w], y = ({c})sorted[i * width + w];
            differs = x != y && !(equal_nan && x != x && y != y);
        }}
        starts[i] = differs;
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def unique_scatter_source(dtype):
    """(name, source) of unique's outputs from the sorted keys: ``number[i]`` (the running sum
    of the marks) is 1 + the value number of sorted key i. The key that starts value g writes
    it to ``values[g]``, its original index (``order[i]``, the first occurrence, since the
    sort is stable) to ``first[g]`` and its sorted position to ``begin[g]``; every key writes
    its value number to ``inverse`` at its original index."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("unique_scatter", dtype.name)
    t = kernels.C_TYPES[dtype.name]
    return name, _header(dtype) + kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const {t}* sorted, const i64* order, const i64* starts, const i64* number,
                                  const i64 count, const i64 width, {t}* values, i64* first, i64* begin,
                                  i64* inverse) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step) {{
        const i64 g = number[i] - 1;
        inverse[order[i]] = g;
        if (starts[i]) {{
            for (i64 w = 0; w < width; ++w) values[g * width + w] = sorted[i * width + w];
            first[g] = order[i];
            begin[g] = i;
        }}
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def unique_counts_source():
    """(name, source) of ``counts[g] = begin[g + 1] - begin[g]`` (``count`` past the last)."""
    name = kernels.kernel_name("unique_counts")
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}(const i64* begin, const i64 groups, const i64 count, i64* counts) {{
    const i64 step = (i64)blockDim.x * gridDim.x;
    for (i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += step) {{
        counts[g] = (g + 1 < groups ? begin[g + 1] : count) - begin[g];
    }}
}}
"""


# numpy 2 shapes the inverse of a flattened unique like the input, numpy 1 flat.
_INVERSE_KEEPS_SHAPE = np.unique(np.zeros((1, 1)), return_inverse=True)[1].ndim == 2


@implements(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           sorted=True):
    """numpy's unique: values (or slices along ``axis``) in ascending order. As numpy does,
    NaN values collapse into one with ``equal_nan`` (flattened input only: slices with NaN
    are always distinct)."""
    ar = _operand(ar)
    if axis is None:  # every element a key
        axes = list(range(ar.ndim))
        inverse_shape = ar.shape if _INVERSE_KEEPS_SHAPE else (ar.size,)
    else:  # every slice along axis a key: moved first, the rest of it in a line
        axis = _normalize_axis(axis, ar.ndim)
        axes = [axis] + [d for d in range(ar.ndim) if d != axis]
        inverse_shape = (ar.shape[axis],)
        equal_nan = False
    moved = ar.transpose(axes)
    slices = DeviceArray.empty(moved.shape, ar.dtype)
    np.copyto(slices, moved)
    count = ar.size if axis is None else moved.shape[0]
    width = 1 if axis is None else _layout.numel(moved.shape[1:])
    keys = slices.reshape(1, count, width)
    order = sort_order(keys)
    sorted_keys = gather(keys, order)
    starts = DeviceArray.empty((count,), np.int64)
    if count:
        name, source = unique_marks_source(keys.dtype)
        runtime.kernel(source, name)((_blocks(count),), (THREADS,),
                                     (sorted_keys.pointer(), np.int64(count), np.int64(width), np.int32(equal_nan),
                                      starts.pointer()))
    number = np.cumsum(starts)
    groups = int(number[count - 1].get()) if count else 0
    values = DeviceArray.empty((groups, width), ar.dtype)
    first, begin, counts = (DeviceArray.empty((groups,), np.int64) for _ in range(3))
    inverse = DeviceArray.empty((count,), np.int64)
    if count:
        name, source = unique_scatter_source(keys.dtype)
        runtime.kernel(source, name)((_blocks(count),), (THREADS,),
                                     (sorted_keys.pointer(), order.pointer(), starts.pointer(), number.pointer(),
                                      np.int64(count), np.int64(width), values.pointer(), first.pointer(),
                                      begin.pointer(), inverse.pointer()))
        name, source = unique_counts_source()
        runtime.kernel(source, name)((_blocks(groups),), (THREADS,),
                                     (begin.pointer(), np.int64(groups), np.int64(count), counts.pointer()))
    if axis is None:
        values = values.reshape(groups)
    else:  # numpy returns the slices moved back: a view
        values = values.reshape((groups,) + moved.shape[1:]).transpose(list(np.argsort(axes)))
    result = [values]
    if return_index:
        result.append(first)
    if return_inverse:
        result.append(inverse.reshape(inverse_shape))
    if return_counts:
        result.append(counts)
    return result[0] if len(result) == 1 else tuple(result)


def compile_tier_sources():
    """The sort and unique kernels for the NVRTC compile tier: every dtype family (bool, an
    unsigned, signed integers, half, float, double)."""
    sources = [unique_counts_source()]
    for dtype in ("bool", "uint8", "int16", "int64", "float16", "float32", "float64"):
        sources += [tile_sort_source(dtype), merge_source(dtype), gather_source(dtype),
                    unique_marks_source(dtype), unique_scatter_source(dtype)]
    return sources
