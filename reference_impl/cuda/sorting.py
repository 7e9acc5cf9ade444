"""Sorting on the device: ``np.sort``, ``np.argsort`` and ``np.unique``.

Every sort here computes an *order* (int64 indices, one segment of ``count`` keys per row
being sorted, each key ``width`` values long) and moves the keys themselves only at the end
(``gather``). Keys go in numpy's order (NaN after every number, -0.0 equal to 0.0; a key of
several values lexicographically), and equal keys in index order: ``kind="stable"`` holds
whatever kind is asked for (also a valid answer for numpy's unstable kinds). Two sorts
give that order:

LSD radix sort (``_radix_order``), for rows of at least ``RADIX_MIN_COUNT`` keys of one
numeric value (bool, integers, floats); O(n) work a byte of the key. ``radix_key`` maps
each key to an unsigned integer of its width whose order is numpy's (floats: the sign bit
set for positives, every bit flipped for negatives, -0.0 as 0.0, every NaN the largest
key), then a pass per byte, least significant first, scatters the keys and their indices
stably by that byte, so after the last pass they are in order of the whole key with ties
in index order. A pass is three kernels over tiles of ``RADIX_TILE`` keys:

1. ``radix_histogram_source``: each tile's count of each digit (shared-memory atomics);
2. ``radix_scan_source``: per segment and digit, the running sum of those counts over the
   tiles (where the tile's keys of that digit go among the segment's), and their total;
3. ``radix_scatter_source``: each tile ranks its keys stably (warps take keys in index
   order, 32 a round; ballots find the keys of the same digit in a round, shared counters
   carry the counts over rounds and warps), sorts them in shared memory and writes each
   key and index to its place: the segment's keys of smaller digits, plus the scanned
   count, plus its rank.

Passes ping-pong mapped keys and int32 indices between two buffers; the first reads the
keys as given (index = position) and the last writes the int64 order.

Comparison sort (``tile_sort_source``, ``merge_source``), for short rows, keys of several
values (``np.unique`` along an axis) and anything else; O(n log^2 n). ``key_before``
compares two keys through their indices, equal keys by index, so every key is distinct
and any sorting network or merge gives the one stable order:

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
import typing

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


# -- LSD radix sort ----------------------------------------------------------------------------

RADIX_BITS = 8  # bits of a digit: a pass per byte of the key
RADIX = 1 << RADIX_BITS
RADIX_THREADS = RADIX  # thread d of a block also handles digit d in the per-digit steps
RADIX_ITEMS = 16  # keys a thread ranks per tile
RADIX_TILE = RADIX_THREADS * RADIX_ITEMS
WARPS = RADIX_THREADS // 32
# Rows at least this long take the radix sort. A shorter row would still cost a whole tile
# in every pass (3 launches a byte of the key), where the comparison sort needs one bitonic
# launch and a few merges.
RADIX_MIN_COUNT = RADIX_TILE
_UNSIGNED_C = {1: "u8", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
# Bit patterns of +inf: a float's magnitude bits above it are a NaN.
_INFINITY_BITS = {2: "0x7c00u", 4: "0x7f800000u", 8: "0x7ff0000000000000ull"}


def _radix_sortable(keys):
    """Does the radix sort take ``keys`` (segments, count, width)? One numeric value a key,
    rows long enough to fill a tile, and indices that fit the int32 payload of the passes."""
    _, count, width = keys.shape
    return width == 1 and keys.dtype.kind in "biuf" and RADIX_MIN_COUNT <= count < 2**31


def _radix_key(dtype):
    """CUDA C of ``ukey`` (the unsigned type of the dtype's width) and ``radix_key``: a
    key's storage bits to an unsigned integer whose order is numpy's order of the values.
    Signed integers flip the sign bit; floats flip it for positives and every bit for
    negatives, -0.0 becomes 0.0 (equal for numpy, so a stable sort keeps their order) and
    every NaN the largest key (after +inf, as numpy sorts NaN last)."""
    dtype = np.dtype(dtype)
    u = _UNSIGNED_C[dtype.itemsize]
    sign = f"(ukey)((ukey)1 << {8 * dtype.itemsize - 1})"
    if dtype.kind == "f":
        body = f"""const ukey magnitude = (ukey)(bits & (ukey)~{sign});
    if (magnitude > (ukey){_INFINITY_BITS[dtype.itemsize]}) return (ukey)~(ukey)0;  // NaN, any sign or payload
    if (magnitude == 0) return {sign};  // -0.0 as 0.0
    return (bits & {sign}) ? (ukey)~bits : (ukey)(bits | {sign});"""
    else:
        body = {"b": "return (ukey)(bits != 0);", "u": "return bits;",
                "i": f"return (ukey)(bits ^ {sign});"}[dtype.kind]
    return f"""
typedef {u} ukey;
__device__ __forceinline__ ukey radix_key(const ukey bits) {{
    {body}
}}

__device__ __forceinline__ int digit_of(const ukey key, const int shift) {{
    return (int)(key >> shift) & {RADIX - 1};
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def radix_histogram_source(dtype):
    """(name, source) of a pass's first kernel: ``counts[(segment * RADIX + d) * tiles + t]``
    gets how many keys of tile ``t`` of the segment have digit ``d`` (the digit at ``shift``
    of ``radix_key``). ``keys`` are the dtype's storage bits; a pass after the first reads
    the already mapped keys as the unsigned dtype, whose ``radix_key`` keeps them."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("radix_histogram", dtype.name)
    return name, kernels.PRELUDE + _radix_key(dtype) + f"""
extern "C" __global__ void {name}(const ukey* keys, const i64 segments,
        const i64 count, const int tiles, const int shift, int* counts) {{
    __shared__ int histogram[{RADIX}];
    const int d = threadIdx.x;
    histogram[d] = 0;
    __syncthreads();
    for (i64 block = blockIdx.x; block < segments * tiles; block += gridDim.x) {{
        const i64 segment = block / tiles, start = (block % tiles) * {RADIX_TILE};
        const int valid = (int)min(count - start, (i64){RADIX_TILE});
        const ukey* tile_keys = keys + segment * count + start;
        // A thread counts RADIX_ITEMS neighbouring keys and adds each run of one digit at once:
        // keys that share a digit in long runs (sorted data, the zero high bytes of small
        // integers) then make few atomics on one bin rather than one a key.
        const int mine = (int)threadIdx.x * {RADIX_ITEMS};
        int run_digit = 0, run = 0;
        for (int p = mine; p < min(valid, mine + {RADIX_ITEMS}); ++p) {{
            const int digit = digit_of(radix_key(tile_keys[p]), shift);
            if (digit != run_digit && run > 0) {{
                atomicAdd(&histogram[run_digit], run);
                run = 0;
            }}
            run_digit = digit;
            ++run;
        }}
        if (run > 0) atomicAdd(&histogram[run_digit], run);
        __syncthreads();
        counts[(segment * {RADIX} + d) * tiles + block % tiles] = histogram[d];
        histogram[d] = 0;
        __syncthreads();  // every bin is read and cleared before the next tile counts
    }}
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def radix_scan_source():
    """(name, source) of a pass's second kernel: each row of ``counts`` (a segment's
    counts of one digit, one a tile) becomes its exclusive running sum, and ``totals[row]``
    the row's sum. A warp scans a row, 32 tiles at a time (shuffles), carrying the sum."""
    name = kernels.kernel_name("radix_scan")
    return name, kernels.PRELUDE + f"""
extern "C" __global__ void {name}(int* counts, const i64 rows, const int tiles, int* totals) {{
    const int lane = threadIdx.x % 32;
    const int width = min(tiles, 32);  // lanes a chunk fills: fewer shuffles for short rows
    const i64 warps = (i64)gridDim.x * (blockDim.x / 32);
    // row depends on the warp only, so all 32 lanes take every shuffle together
    for (i64 row = ((i64)blockIdx.x * blockDim.x + threadIdx.x) / 32; row < rows; row += warps) {{
        int* row_counts = counts + row * tiles;
        int carry = 0;
        for (int first = 0; first < tiles; first += 32) {{
            const int t = first + lane;
            const int value = t < tiles ? row_counts[t] : 0;
            int inclusive = value;
            for (int delta = 1; delta < width; delta *= 2) {{
                const int before = __shfl_up_sync(0xffffffffu, inclusive, delta);
                if (lane >= delta) inclusive += before;
            }}
            if (t < tiles) row_counts[t] = carry + inclusive - value;
            if (t == tiles - 1) totals[row] = carry + inclusive;
            if (first + 32 < tiles) carry += __shfl_sync(0xffffffffu, inclusive, 31);
        }}
    }}
}}
"""


_RANKING = f"""
// Lanes of the warp whose digit equals this lane's: a ballot per digit bit keeps the lanes
// that agree on it (match-any from ballots).
__device__ __forceinline__ unsigned int same_digit_lanes(const int digit) {{
    unsigned int lanes = 0xffffffffu;
    for (int bit = 0; bit < {RADIX_BITS}; ++bit) {{
        const bool set = (digit >> bit) & 1;
        const unsigned int agree = __ballot_sync(0xffffffffu, set);
        lanes &= set ? agree : ~agree;
    }}
    return lanes;
}}

// Exclusive sum over the block's threads ({RADIX_THREADS}, in warps of 32): shuffles within a warp,
// then the totals of the warps before, through ``warp_sums`` (a shared array, one int a warp).
__device__ int block_exclusive_sum(const int value, int* warp_sums) {{
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int inclusive = value;
    for (int delta = 1; delta < 32; delta *= 2) {{
        const int before = __shfl_up_sync(0xffffffffu, inclusive, delta);
        if (lane >= delta) inclusive += before;
    }}
    if (lane == 31) warp_sums[warp] = inclusive;
    __syncthreads();
    int before = 0;
    for (int w = 0; w < warp; ++w) before += warp_sums[w];
    __syncthreads();  // every warp total is read before the next call writes them
    return before + inclusive - value;
}}
"""


@functools.cache  # one text per variant: the kernel cache keys on it
def radix_scatter_source(dtype, first, last):
    """(name, source) of a pass's last kernel: every key of each tile moves to its place
    in the order of its digit at ``shift``, stably, with its index.

    A key's place is the segment's keys of smaller digits (the exclusive sum of the row
    totals over digits), plus the keys of its digit in earlier tiles (the scanned
    ``counts``), plus those before it in its tile. Ranking in a tile: warp w holds keys
    w * 32 * RADIX_ITEMS onwards, 32 a round (lane = key), so keys go by in index order;
    in each round a key counts its lanes of the same digit below it (ballots), on top of
    the warp's count of that digit from earlier rounds (shared ``warp_counts``). Per digit,
    the warps' counts then become running sums, offset by the tile's keys of smaller digits.
    The tile is sorted in shared memory first (keys, then indices) so that neighbouring
    threads write neighbouring places.

    ``first``: ``keys`` are the dtype's storage bits, mapped by ``radix_key`` here, and a
    key's index is its position; later passes read the mapped keys (the unsigned dtype) and
    ``index``. ``last``: ``index_out`` is the int64 order and no keys are written."""
    dtype = np.dtype(dtype)
    name = kernels.kernel_name("radix_scatter", dtype.name, *(["first"] if first else []), *(["last"] if last else []))
    index_t = "i64" if last else "int"
    slot_t = "i64" if last else "unsigned long long" if dtype.itemsize == 8 else "unsigned int"
    index_in = "" if first else "const int* index, "
    keys_out = "" if last else "ukey* keys_out, "
    load_index = "(int)(start + p)" if first else "index[segment * count + start + p]"
    sort_key = "" if last else "sorted[slot[i]] = key[i];"
    store_keys = "" if last else f"""for (int j = threadIdx.x; j < valid; j += {RADIX_THREADS}) {{
            keys_out[segment * count + digit_place[sorted_digit[j]] + j] = (ukey)sorted[j];
        }}
        __syncthreads();  // the keys are read before the indices overwrite them"""
    # Blocks an SM keeps resident: as many as the registers allow without spills (ptxas, sm_90).
    resident = 3 if dtype.itemsize <= 4 else 2
    return name, kernels.PRELUDE + _radix_key(dtype) + _RANKING + f"""
extern "C" __launch_bounds__({RADIX_THREADS}, {resident}) __global__ void {name}(const ukey* keys, {index_in}
        const i64 segments, const i64 count, const int tiles, const int shift, const int* counts, const int* totals,
        {keys_out}{index_t}* index_out) {{
    __shared__ int warp_counts[{WARPS}][{RADIX}];  // per warp and digit: keys ranked, later their offset
    __shared__ int digit_place[{RADIX}];  // a digit's place in the segment less its first slot in the tile
    __shared__ int warp_sums[{WARPS}];
    __shared__ {slot_t} sorted[{RADIX_TILE}];  // the tile in digit order: keys (but in the last pass), then indices
    __shared__ unsigned char sorted_digit[{RADIX_TILE}];  // the digit of each sorted key
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, d = threadIdx.x;
    const unsigned int lanes_below = (1u << lane) - 1, lanes_above = ~((2u << lane) - 1);
    for (i64 block = blockIdx.x; block < segments * tiles; block += gridDim.x) {{
        const i64 segment = block / tiles, tile = block % tiles, start = tile * {RADIX_TILE};
        const int valid = (int)min(count - start, (i64){RADIX_TILE});
        for (int w = 0; w < {WARPS}; ++w) warp_counts[w][d] = 0;
        __syncthreads();
        ukey key[{RADIX_ITEMS}];
        for (int i = 0; i < {RADIX_ITEMS}; ++i) {{
            const int p = (warp * {RADIX_ITEMS} + i) * 32 + lane;
            // past the row: the largest key, ranked after every real key of its digit
            key[i] = p < valid ? radix_key(keys[segment * count + start + p]) : (ukey)~(ukey)0;
        }}
        int rank[{RADIX_ITEMS}];
        for (int i = 0; i < {RADIX_ITEMS}; ++i) {{
            const int digit = digit_of(key[i], shift);
            // a round wholly past the row is all largest keys: no ballots needed
            const bool padding = (warp * {RADIX_ITEMS} + i) * 32 >= valid;
            const unsigned int peers = padding ? 0xffffffffu : same_digit_lanes(digit);
            const int earlier = warp_counts[warp][digit];
            rank[i] = earlier + __popc(peers & lanes_below);
            __syncwarp();  // every peer has read the count before the last one moves it on
            if ((peers & lanes_above) == 0) warp_counts[warp][digit] = rank[i] + 1;
            __syncwarp();  // the next round reads the moved counts
        }}
        __syncthreads();
        int in_tile = 0;
        for (int w = 0; w < {WARPS}; ++w) in_tile += warp_counts[w][d];
        const int tile_start = block_exclusive_sum(in_tile, warp_sums);
        const i64 row = segment * {RADIX} + d;
        const int segment_start = block_exclusive_sum(totals[row], warp_sums);
        digit_place[d] = segment_start + counts[row * tiles + tile] - tile_start;
        for (int w = 0, running = tile_start; w < {WARPS}; ++w) {{
            const int c = warp_counts[w][d];
            warp_counts[w][d] = running;
            running += c;
        }}
        __syncthreads();
        int slot[{RADIX_ITEMS}];
        for (int i = 0; i < {RADIX_ITEMS}; ++i) {{
            const int digit = digit_of(key[i], shift);
            slot[i] = warp_counts[warp][digit] + rank[i];
            sorted_digit[slot[i]] = (unsigned char)digit;
            {sort_key}
        }}
        __syncthreads();
        {store_keys}
        for (int i = 0; i < {RADIX_ITEMS}; ++i) {{
            const int p = (warp * {RADIX_ITEMS} + i) * 32 + lane;
            if (p < valid) sorted[slot[i]] = {load_index};
        }}
        __syncthreads();
        for (int j = threadIdx.x; j < valid; j += {RADIX_THREADS}) {{
            index_out[segment * count + digit_place[sorted_digit[j]] + j] = ({index_t})sorted[j];
        }}
    }}
}}
"""


def _mapped_dtype(dtype):
    """The unsigned dtype of ``dtype``'s width, which ``radix_key`` maps keys to: what the
    passes after the first read and write."""
    return np.dtype(f"uint{8 * dtype.itemsize}")


def _radix_sources(dtype):
    """The (name, source) pairs of a radix sort of ``dtype``, pass by pass:
    (histogram, scan, scatter) for each byte of the key."""
    dtype = np.dtype(dtype)
    unsigned = _mapped_dtype(dtype)
    passes = dtype.itemsize * 8 // RADIX_BITS
    sources = []
    for number in range(passes):
        first, last = number == 0, number == passes - 1
        read = dtype if first else unsigned
        sources.append((radix_histogram_source(read), radix_scan_source(), radix_scatter_source(read, first, last)))
    return sources


class _RadixPlan(typing.NamedTuple):
    """Everything a radix sort of ``segments`` rows of ``count`` keys of one dtype needs but
    the memory, worked out once (as elementwise launches are): a sort is twelve launches for
    32-bit keys, and on a GPU their host-side setup would otherwise cost more than they do."""

    passes: tuple  # per pass, the compiled (histogram, scan, scatter) kernels and the digit's shift
    blocks: tuple  # the histogram and scatter grid
    scan_blocks: tuple
    shape: tuple  # (segments, count, tiles) as kernel arguments
    scan_shape: tuple  # (rows, tiles): a row per segment and digit
    scratch: tuple  # (byte offset, shape, dtype) of counts, totals and the ping-pong buffers
    scratch_bytes: int


_SCRATCH_ALIGNMENT = 256  # bytes: each part starts aligned as a fresh cudaMalloc allocation would


@runtime.plan_cache
def _radix_plan(backend, dtype, segments, count):
    """The _RadixPlan of ``segments`` rows of ``count`` keys of ``dtype``; ``backend`` keys the
    kernels' compilation."""
    tiles = (count + RADIX_TILE - 1) // RADIX_TILE
    rows = segments * RADIX
    sources = _radix_sources(dtype)
    passes = tuple((*(runtime.kernel(source, name) for name, source in kernel_sources), np.int32(number * RADIX_BITS))
                   for number, kernel_sources in enumerate(sources))
    parts = [((rows * tiles,), np.dtype(np.int32)), ((rows,), np.dtype(np.int32))]
    for _ in range(min(len(sources) - 1, 2)):
        parts += [((segments, count), _mapped_dtype(dtype)), ((segments, count), np.dtype(np.int32))]
    scratch, offset = [], 0
    for shape, part_dtype in parts:
        scratch.append((offset, shape, part_dtype))
        offset += -(-_layout.numel(shape) * part_dtype.itemsize // _SCRATCH_ALIGNMENT) * _SCRATCH_ALIGNMENT
    return _RadixPlan(passes, (min(segments * tiles, GRID_LIMIT),), (min((rows + WARPS - 1) // WARPS, GRID_LIMIT),),
                      (np.int64(segments), np.int64(count), np.int32(tiles)), (np.int64(rows), np.int32(tiles)),
                      tuple(scratch), offset)


def _radix_order(keys):
    """``sort_order`` by an LSD radix sort: a pass per byte of the key, least significant
    first, each a stable scatter by that byte, so that the last pass leaves the keys in
    numpy's order and equal keys in index order. Passes ping-pong the mapped keys and
    int32 indices between two buffers, carved with the digit counts from one scratch
    allocation; the last pass writes the int64 order."""
    segments, count, _ = keys.shape
    plan = _radix_plan(runtime.backend().name, keys.dtype, segments, count)
    scratch = DeviceArray.empty((plan.scratch_bytes,), np.uint8)
    counts, totals, *buffers = (DeviceArray(scratch.memory, offset, shape, _layout.contiguous_strides(shape), dtype)
                                for offset, shape, dtype in plan.scratch)
    order = DeviceArray.empty((segments, count), np.int64)
    pairs = [tuple(buffers[i:i + 2]) for i in range(0, len(buffers), 2)]
    # What each pass reads: the keys as given (their index is their position), then a buffer.
    reads = [(keys,)] + [pairs[number % 2] for number in range(len(plan.passes) - 1)]
    writes = reads[1:] + [(order,)]
    for (histogram, scan, scatter, shift), read, write in zip(plan.passes, reads, writes):
        histogram(plan.blocks, (RADIX_THREADS,), (read[0].pointer(), *plan.shape, shift, counts.pointer()))
        scan(plan.scan_blocks, (RADIX_THREADS,), (counts.pointer(), *plan.scan_shape, totals.pointer()))
        scatter(plan.blocks, (RADIX_THREADS,), (*(array.pointer() for array in read), *plan.shape, shift,
                                                counts.pointer(), totals.pointer(),
                                                *(array.pointer() for array in write)))
    return order


def _blocks(n):
    return max(1, min((n + THREADS - 1) // THREADS, GRID_LIMIT))


def sort_order(keys):
    """The stable sorted order of each segment of ``keys``, a contiguous DeviceArray of shape
    (segments, count, width): int64 indices, shape (segments, count). Long rows of single
    numeric values take the radix sort, the rest the tile sort and merges."""
    segments, count, width = keys.shape
    if segments and _radix_sortable(keys):
        return _radix_order(keys)
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
    keys = moved  # the sorts only read their keys: rows already in a line need no copy
    if not moved.is_c_contiguous():
        keys = DeviceArray.empty(moved.shape, a.dtype)
        np.copyto(keys, moved)  # the copy kernel reads any layout; the sort reads rows in a line
    n = a.shape[axis]
    return keys.reshape(_layout.numel(moved.shape[:-1]), n, 1), moved.shape, axes


def _put_back(rows, moved_shape, axes):
    """A C-contiguous array in the original axis order from rows sorted with the axis last
    (a new array: ``rows`` itself where the axis was last already)."""
    if axes == list(range(len(axes))):
        return rows.reshape(moved_shape)
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
    order = _put_back(sort_order(keys), moved_shape, axes)
    order.index_bound = a.shape[axis]  # so gathering the sorted values needs no bounds check
    return order


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
    unsigned, signed integers, half, float, double), and every radix sort kernel of every
    dtype the radix sort takes."""
    sources = [unique_counts_source()]
    for dtype in ("bool", "uint8", "int16", "int64", "float16", "float32", "float64"):
        sources += [tile_sort_source(dtype), merge_source(dtype), gather_source(dtype),
                    unique_marks_source(dtype), unique_scatter_source(dtype)]
    radix = {}  # by name: the passes of the dtypes of one width share kernels
    for dtype in ("bool", "uint8", "int8", "uint16", "int16", "float16", "uint32", "int32", "float32", "uint64",
                  "int64", "float64"):
        radix.update((name, source) for kernel_sources in _radix_sources(dtype) for name, source in kernel_sources)
    return sources + list(radix.items())
