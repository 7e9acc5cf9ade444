"""Elementwise kernels, generated the way CuPy's ElementwiseKernel generates them: a short
C statement over ``in0, in1 …`` that assigns ``out0``, wrapped in a grid-stride loop that
finds each operand's element through ``strided_offset`` (so strided, transposed and
broadcast operands all work) and converts between storage and compute types.

A launch walks the dims in the output's memory order, merged where every operand allows
(``layout_arguments``), and picks one of three entry points: ``_dense`` when that leaves
every operand dense in one order (no index arithmetic), ``_tiled`` for two dims with an
input running against the output (staged through shared memory), else the general walk.

Every numpy ufunc reference_impl calls on a CUDA array lands in ``call_ufunc``, which
resolves dtypes exactly as numpy would (so the op code's promotion rules hold on both
devices), then launches the kernel for that statement and those dtypes. ``np.copyto``,
``np.where`` and ``np.clip`` are the same kernel with other statements.
"""

import functools
import typing

import numpy as np

from .. import _layout
from . import kernels, runtime
from .device_array import _FUNCTIONS, DeviceArray, _on_host, implements

THREADS = 256
ITEMS = 4  # elements a thread takes per grid-stride step
TILE = 32  # rows and columns of a tile the tiled entry point stages through shared memory
MAX_BLOCKS = 65535
# Below this, an index plus a grid-stride step cannot overflow a 32-bit int.
_INT32_SAFE = 2**31 - MAX_BLOCKS * THREADS * ITEMS

# Helpers the statements below call; templates, so one definition serves every dtype.
HELPERS = r"""
template <typename T> __device__ T ri_floor_divide_int(T a, T b) {
    if (b == 0) return 0;
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}
template <typename T> __device__ T ri_remainder_int(T a, T b) {
    if (b == 0) return 0;
    T r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
// numpy's npy_divmod for floats: the quotient is floored, the remainder takes b's sign.
template <typename T> __device__ T ri_floor_divide_float(T a, T b) {
    if (b == 0) return a / b;
    T mod = fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return copysign((T)0, a / b);
    T floordiv = floor(div);
    if (div - floordiv > (T)0.5) floordiv += 1;
    return floordiv;
}
template <typename T> __device__ T ri_remainder_float(T a, T b) {
    if (b == 0) return fmod(a, b);
    T mod = fmod(a, b);
    if (mod != 0) { if ((b < 0) != (mod < 0)) mod += b; }
    else mod = copysign((T)0, b);
    return mod;
}
// Integer powers by squaring; negative exponents give 0 except for bases 1 and -1.
template <typename T> __device__ T ri_power_int(T base, T exponent) {
    if (exponent < 0) return base == 1 ? 1 : base == (T)-1 ? ((exponent & 1) ? (T)-1 : (T)1) : 0;
    T result = 1;
    while (exponent) {
        if (exponent & 1) result = (T)(result * base);
        base = (T)(base * base);
        exponent >>= 1;
    }
    return result;
}
// NaN-propagating maximum and minimum, as numpy's (and torch's) are.
template <typename T> __device__ T ri_maximum(T a, T b) { return a != a ? a : (b != b ? b : (a > b ? a : b)); }
template <typename T> __device__ T ri_minimum(T a, T b) { return a != a ? a : (b != b ? b : (a < b ? a : b)); }
template <typename T> __device__ T ri_sign(T x) { return x != x ? x : (T)((x > 0) - (x < 0)); }
"""

# ufunc name -> C statement, per kind of compute type ("f" float, "i" signed, "u" unsigned,
# "b" bool); "*" is the statement for every kind not listed.
STATEMENTS = {
    "add": {"b": "out0 = in0 || in1", "*": "out0 = in0 + in1"},
    "subtract": {"*": "out0 = in0 - in1"},
    "multiply": {"b": "out0 = in0 && in1", "*": "out0 = in0 * in1"},
    "true_divide": {"*": "out0 = in0 / in1"},  # numpy 1's name for divide
    "divide": {"*": "out0 = in0 / in1"},
    "floor_divide": {"f": "out0 = ri_floor_divide_float(in0, in1)", "*": "out0 = ri_floor_divide_int(in0, in1)"},
    "remainder": {"f": "out0 = ri_remainder_float(in0, in1)", "*": "out0 = ri_remainder_int(in0, in1)"},
    "fmod": {"f": "out0 = fmod(in0, in1)", "*": "out0 = in1 == 0 ? 0 : in0 % in1"},
    "power": {"f": "out0 = pow(in0, in1)", "*": "out0 = ri_power_int(in0, in1)"},
    "maximum": {"b": "out0 = in0 || in1", "*": "out0 = ri_maximum(in0, in1)"},
    "minimum": {"b": "out0 = in0 && in1", "*": "out0 = ri_minimum(in0, in1)"},
    "fmax": {"f": "out0 = fmax(in0, in1)", "*": "out0 = in0 > in1 ? in0 : in1"},
    "fmin": {"f": "out0 = fmin(in0, in1)", "*": "out0 = in0 < in1 ? in0 : in1"},
    "arctan2": {"*": "out0 = atan2(in0, in1)"},
    "hypot": {"*": "out0 = hypot(in0, in1)"},
    "copysign": {"*": "out0 = copysign(in0, in1)"},
    "nextafter": {"*": "out0 = nextafter(in0, in1)"},
    "logaddexp": {"*": "out0 = in0 == in1 ? in0 + log(2.0) : (in0 > in1 ? in0 + log1p(exp(in1 - in0))"
                        " : in1 + log1p(exp(in0 - in1)))"},
    "equal": {"*": "out0 = in0 == in1"},
    "not_equal": {"*": "out0 = in0 != in1"},
    "less": {"*": "out0 = in0 < in1"},
    "less_equal": {"*": "out0 = in0 <= in1"},
    "greater": {"*": "out0 = in0 > in1"},
    "greater_equal": {"*": "out0 = in0 >= in1"},
    "logical_and": {"*": "out0 = (in0 != 0) && (in1 != 0)"},
    "logical_or": {"*": "out0 = (in0 != 0) || (in1 != 0)"},
    "logical_xor": {"*": "out0 = (in0 != 0) != (in1 != 0)"},
    "logical_not": {"*": "out0 = !(in0 != 0)"},
    "bitwise_and": {"*": "out0 = in0 & in1"},
    "bitwise_or": {"*": "out0 = in0 | in1"},
    "bitwise_xor": {"*": "out0 = in0 ^ in1"},
    "invert": {"b": "out0 = !in0", "*": "out0 = ~in0"},
    "left_shift": {"*": "out0 = in0 << in1"},
    "right_shift": {"*": "out0 = in0 >> in1"},
    "negative": {"*": "out0 = -in0"},
    "positive": {"*": "out0 = in0"},
    "absolute": {"f": "out0 = fabs(in0)", "b": "out0 = in0", "*": "out0 = in0 < 0 ? -in0 : in0"},
    "sign": {"*": "out0 = ri_sign(in0)"},
    "square": {"*": "out0 = in0 * in0"},
    "reciprocal": {"f": "out0 = 1 / in0", "*": "out0 = in0 == 0 ? 0 : 1 / in0"},
    "sqrt": {"*": "out0 = sqrt(in0)"},
    "cbrt": {"*": "out0 = cbrt(in0)"},
    "exp": {"*": "out0 = exp(in0)"},
    "exp2": {"*": "out0 = exp2(in0)"},
    "expm1": {"*": "out0 = expm1(in0)"},
    "log": {"*": "out0 = log(in0)"},
    "log2": {"*": "out0 = log2(in0)"},
    "log10": {"*": "out0 = log10(in0)"},
    "log1p": {"*": "out0 = log1p(in0)"},
    "sin": {"*": "out0 = sin(in0)"},
    "cos": {"*": "out0 = cos(in0)"},
    "tan": {"*": "out0 = tan(in0)"},
    "arcsin": {"*": "out0 = asin(in0)"},
    "arccos": {"*": "out0 = acos(in0)"},
    "arctan": {"*": "out0 = atan(in0)"},
    "sinh": {"*": "out0 = sinh(in0)"},
    "cosh": {"*": "out0 = cosh(in0)"},
    "tanh": {"*": "out0 = tanh(in0)"},
    "arcsinh": {"*": "out0 = asinh(in0)"},
    "arccosh": {"*": "out0 = acosh(in0)"},
    "arctanh": {"*": "out0 = atanh(in0)"},
    "deg2rad": {"*": "out0 = in0 * (3.14159265358979323846 / 180)"},
    "rad2deg": {"*": "out0 = in0 * (180 / 3.14159265358979323846)"},
    "floor": {"f": "out0 = floor(in0)", "*": "out0 = in0"},
    "ceil": {"f": "out0 = ceil(in0)", "*": "out0 = in0"},
    "trunc": {"f": "out0 = trunc(in0)", "*": "out0 = in0"},
    "rint": {"f": "out0 = rint(in0)", "*": "out0 = in0"},  # rint rounds half to even
    "isnan": {"f": "out0 = in0 != in0", "*": "out0 = false"},
    "isinf": {"f": "out0 = isinf(in0)", "*": "out0 = false"},
    "isfinite": {"f": "out0 = isfinite(in0)", "*": "out0 = true"},
    "signbit": {"f": "out0 = signbit(in0)", "*": "out0 = in0 < 0"},
    "conjugate": {"*": "out0 = in0"},
    # Not numpy ufuncs, the same kernel with other statements:
    "copy": {"*": "out0 = in0"},
    "where": {"*": "out0 = in0 ? in1 : in2"},
    "clip": {"*": "out0 = in0 < in1 ? in1 : (in0 > in2 ? in2 : in0)"},
}

# Ufuncs whose loop compares or tests values: the inputs keep their promoted type and only
# the output is bool. For all others numpy computes in the output's dtype.
PREDICATES = frozenset({
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "signbit",
})


def _kind(dtype):
    return {"f": "f", "i": "i", "u": "u", "b": "b"}[dtype.kind]


def statement(name, compute_dtype):
    """The C statement for ufunc ``name`` computing in ``compute_dtype``."""
    options = STATEMENTS[name]
    return options.get(_kind(compute_dtype), options.get("*"))


def _compute_c(dtype):
    return "float" if dtype == np.float16 else kernels.C_TYPES[dtype.name]


def elementwise_source(name, body, in_dtypes, in_compute, out_dtypes, out_compute, index_type="i64", tiled=False):
    """(kernel name, CUDA C source) of ``body`` over operands of the given storage dtypes
    (generated once per variant: the text is the kernel cache's key); ``tiled``: the tiled
    kernel's source (``name_tiled``), else the one with the walking entry points."""
    generate = _tiled_source if tiled else _walking_source
    return generate(name, body, tuple(in_dtypes), tuple(in_compute), tuple(out_dtypes), tuple(out_compute),
                    index_type)


def _kernel_parts(name, in_dtypes, in_compute, out_dtypes, out_compute, index_type):
    """(kernel name, header, parameter list) shared by an op's kernels. Operands are passed
    inputs first, then outputs; ``strides`` holds each operand's element strides (0 on
    broadcast dims), ``ndim`` apiece, in the same order."""
    dtypes = list(in_dtypes) + list(out_dtypes)
    kernel = kernels.kernel_name("ew", name, *(d.name for d in dtypes), *(d.name for d in in_compute),
                                 *(d.name for d in out_compute), index_type)
    params = [f"{'const ' if k < len(in_dtypes) else ''}{kernels.C_TYPES[dtype.name]}* p{k}"
              for k, dtype in enumerate(dtypes)]
    signature = f"""(const i64 n, const int ndim, const unsigned int* dividers, const i64* shape,
        const i64* strides, {", ".join(params)})"""
    return kernel, kernels.HALF_HEADER if np.float16 in dtypes else "", signature


def _compute_and_store(body, in_dtypes, in_compute, out_dtypes, out_compute, offsets):
    """C statements for one element: input k's loaded value ``v{k}[u]`` converted to its
    compute type as ``in{k}``, ``body``, and each output stored at ``offsets(k)``."""
    lines = []
    for k, (dtype, compute) in enumerate(zip(in_dtypes, in_compute)):
        raw = f"(float)v{k}[u]" if dtype == np.float16 else f"v{k}[u]"
        lines.append(f"const {_compute_c(compute)} in{k} = ({_compute_c(compute)}){raw};")
    for j, compute in enumerate(out_compute):
        lines.append(f"{_compute_c(compute)} out{j};")
    lines.append(f"{body};")
    for j, dtype in enumerate(out_dtypes):
        k = len(in_dtypes) + j
        value = f"out{j}" if dtype != np.float16 else f"(float)out{j}"
        lines.append(f"p{k}[{offsets(k)}] = ({kernels.C_TYPES[dtype.name]}){value};")
    return "\n                    ".join(lines)


@functools.lru_cache(maxsize=4096)
def _walking_source(name, body, in_dtypes, in_compute, out_dtypes, out_compute, index_type):
    """The source with two entry points of one signature: ``name`` walks any layout, and
    ``name_dense`` is for operands dense in one order, with no index arithmetic at all.
    ``index_type`` is ``int`` when every offset fits in 32 bits, which makes the strided
    walk's divisions cheaper.

    Each thread takes ITEMS elements ``blockDim.x`` apart, so a warp's accesses stay
    coalesced, and loads all of them before computing any: ITEMS loads in flight per thread,
    to keep a GPU's memory busy (with one element a thread, our copy kernel reached 76% of an
    H200's copy bandwidth, torch's 99%).
    """
    kernel, header, signature = _kernel_parts(name, in_dtypes, in_compute, out_dtypes, out_compute, index_type)
    count = len(in_dtypes) + len(out_dtypes)

    def items(offsets, walk=""):
        """The two passes over a thread's ITEMS elements: every load, then every result."""
        load = " ".join(f"v{k}[u] = p{k}[{offsets(k)}];" for k in range(len(in_dtypes)))
        return f"""
            #pragma unroll
            for (int u = 0; u < {ITEMS}; ++u) {{
                const index_t i = first + u * (index_t)blockDim.x;
                if (i < count) {{ {walk}{load} }}
            }}
            #pragma unroll
            for (int u = 0; u < {ITEMS}; ++u) {{
                const index_t i = first + u * (index_t)blockDim.x;
                if (i < count) {{
                    {_compute_and_store(body, in_dtypes, in_compute, out_dtypes, out_compute, offsets)}
                }}
            }}"""

    walk = (f"strided_offsets32<{count}>(i, ndim, dividers, strides, at[u]); " if index_type == "int" else
            f"strided_offsets<{count}, index_t>(i, ndim, shape, strides, at[u]); ")
    values = " ".join(f"{kernels.C_TYPES[d.name]} v{k}[{ITEMS}];" for k, d in enumerate(in_dtypes))
    arguments = ", ".join(["n", "ndim", "dividers", "shape", "strides"] + [f"p{k}" for k in range(count)])
    return kernel, header + kernels.PRELUDE + HELPERS + f"""
template <bool dense>
__device__ __forceinline__ void {kernel}_walk{signature} {{
    typedef {index_type} index_t;
    const index_t count = (index_t)n;
    const index_t tile = (index_t)blockDim.x * {ITEMS};
    for (index_t first = (index_t)blockIdx.x * tile + threadIdx.x; first < count; first += (index_t)gridDim.x * tile) {{
        {values}
        if (dense) {{{items(lambda k: "i")}
        }} else {{
            index_t at[{ITEMS}][{count}];{items(lambda k: f"at[u][{k}]", walk)}
        }}
    }}
}}

// Entry points of their own, so that the dense loop is not given the registers the index walk needs.
extern "C" __global__ void {kernel}{signature} {{ {kernel}_walk<false>({arguments}); }}
extern "C" __global__ void {kernel}_dense{signature} {{ {kernel}_walk<true>({arguments}); }}
"""


@functools.lru_cache(maxsize=4096)
def _tiled_source(name, body, in_dtypes, in_compute, out_dtypes, out_compute, index_type):
    """The source of ``name_tiled`` (the walking kernels' signature): two dims (rows, then
    columns, the output's faster one) where some input runs along the rows in memory
    (``A.t() + B``). Walking the output's order would read such an input a row apart from
    lane to lane; instead a block stages its TILE x TILE tile through shared memory, read
    along its own memory order, so that every global access of a warp is coalesced, as a
    tiled transpose does. A source of its own: the barriers make the host emulation run its
    threads as fibers, which the walking kernels do without."""
    kernel, header, signature = _kernel_parts(name, in_dtypes, in_compute, out_dtypes, out_compute, index_type)
    inputs, count = len(in_dtypes), len(in_dtypes) + len(out_dtypes)
    staged = " ".join(f"const bool staged{k} = strides[{2 * k}] != 0 && (strides[{2 * k}] < 0 ? -strides[{2 * k}] : "
                      f"strides[{2 * k}]) < (strides[{2 * k + 1}] < 0 ? -strides[{2 * k + 1}] : strides[{2 * k + 1}]);"
                      for k in range(inputs))
    tiles = " ".join(f"__shared__ {kernels.C_TYPES[d.name]} tile{k}[{TILE}][{TILE + 1}];"  # + 1: no bank conflicts
                     for k, d in enumerate(in_dtypes))
    walk = (f"strided_offsets32<{count}>(r * columns + c, 2, dividers, strides, at);" if index_type == "int" else
            f"strided_offsets<{count}, index_t>(r * columns + c, 2, shape, strides, at);")
    stage = " ".join(f"if (staged{k}) tile{k}[c - c0][r - r0] = p{k}[at[{k}]];" for k in range(inputs))
    values = " ".join(f"{kernels.C_TYPES[d.name]} v{k}[1];" for k, d in enumerate(in_dtypes))
    load = " ".join(f"v{k}[u] = staged{k} ? tile{k}[c - c0][r - r0] : p{k}[at[{k}]];" for k in range(inputs))
    element = _compute_and_store(body, in_dtypes, in_compute, out_dtypes, out_compute, lambda k: f"at[{k}]")
    return kernel + "_tiled", header + kernels.PRELUDE + HELPERS + f"""
extern "C" __global__ void {kernel}_tiled{signature} {{
    typedef {index_type} index_t;
    {tiles}
    (void)n; (void)ndim;
    const index_t rows = (index_t)shape[0], columns = (index_t)shape[1];
    {staged}
    const index_t across = (columns + {TILE - 1}) / {TILE}, tiles = across * ((rows + {TILE - 1}) / {TILE});
    const int lane = threadIdx.x % {TILE}, step = blockDim.x / {TILE};
    // The loop bound depends on the block only, so every thread reaches every barrier.
    for (index_t t = blockIdx.x; t < tiles; t += gridDim.x) {{
        const index_t r0 = t / across * {TILE}, c0 = t % across * {TILE};
        // Staging: neighbouring threads take neighbouring rows (a staged input's memory order).
        for (int j = threadIdx.x / {TILE}; j < {TILE}; j += step) {{
            const index_t r = r0 + lane, c = c0 + j;
            if (r < rows && c < columns) {{
                index_t at[{count}];
                {walk}
                {stage}
            }}
        }}
        __syncthreads();
        // Results: neighbouring threads take neighbouring columns (the output's memory order).
        for (int j = threadIdx.x / {TILE}; j < {TILE}; j += step) {{
            const index_t r = r0 + j, c = c0 + lane;
            if (r < rows && c < columns) {{
                index_t at[{count}];
                {walk}
                const int u = 0;  // the one element of this thread's v arrays
                {values}
                {load}
                {element}
            }}
        }}
        __syncthreads();  // the tile is read before the next one is staged
    }}
}}
"""


_constants: dict = {}


def device_constant(values, dtype=np.int64):
    """A small host array (a shape, strides, a scalar operand) on the device, uploaded once."""
    if isinstance(values, (list, tuple)):
        key = (dtype, tuple(values))  # the common case, a shape or strides: no numpy on the way
    else:
        host = np.asarray(values, dtype=dtype)
        key = (host.dtype.str, host.shape, host.tobytes())
    array = _constants.get(key)
    if array is None:
        if len(_constants) > 4096:
            _constants.clear()
        array = _constants[key] = DeviceArray.from_host(np.asarray(values, dtype=dtype))
    return array


def launch(name, body, inputs, in_compute, outputs, out_compute):
    """Run ``body`` elementwise: ``inputs`` broadcast to the outputs' common shape."""
    shape = outputs[0].shape
    if _layout.numel(shape) == 0:
        return
    operands = list(inputs) + list(outputs)
    plan = _launch_plan(runtime.backend().name, name, body, shape,
                        tuple(_broadcast_estrides(op, shape) for op in operands),
                        tuple(a.dtype for a in inputs), tuple(in_compute), tuple(a.dtype for a in outputs),
                        tuple(out_compute))
    plan.kernel((plan.blocks,), (THREADS,), plan.arguments + tuple(operand.pointer() for operand in operands))


class _LaunchPlan(typing.NamedTuple):
    kernel: object
    blocks: int
    arguments: tuple  # the leading kernel arguments: count, ndim, the layout on the device
    constants: tuple  # the device arrays those arguments point into, kept alive with the plan


@runtime.plan_cache
def _launch_plan(backend, name, body, shape, operand_estrides, in_dtypes, in_compute, out_dtypes, out_compute):
    """Everything a launch over these layouts and dtypes needs but the operands' addresses,
    worked out once: ops repeat on tensors of one shape, and on a GPU this host-side work
    would otherwise cost more than a small kernel. ``backend`` keys the kernel's compilation."""
    n = _layout.numel(shape)
    layout = layout_arguments(shape, list(operand_estrides))
    tiled = _against_the_output(layout, len(in_dtypes))
    kernel_name, source = elementwise_source(name, body, in_dtypes, in_compute, out_dtypes, out_compute,
                                             layout.index_type, tiled)
    constants = (device_constant(layout.dividers, np.uint32), device_constant(layout.shape),
                 device_constant(layout.strides))
    arguments = (np.int64(n), np.int32(len(layout.shape)), *(array.pointer() for array in constants))
    if tiled:
        rows, columns = layout.shape
        entry, blocks = kernel_name, -(-rows // TILE) * -(-columns // TILE)
    else:
        entry, blocks = kernel_name + ("_dense" if layout.contiguous else ""), -(-n // (THREADS * ITEMS))
    return _LaunchPlan(runtime.kernel(source, entry), min(blocks, MAX_BLOCKS), arguments, constants)


def _against_the_output(layout, inputs):
    """Whether the layout is two dims (the output's faster one last) and some input runs along
    the first in memory: the tiled entry point's case (``A.t() + B``). Its test is the kernel's."""
    if len(layout.shape) != 2:
        return False
    return any(row != 0 and abs(row) < abs(column)
               for row, column in zip(layout.strides[0:2 * inputs:2], layout.strides[1:2 * inputs:2]))


class Layout(typing.NamedTuple):
    """What an elementwise kernel is told about its operands' layout (host values)."""

    shape: tuple  # the dims walked (merged, in memory order): (1,) for a single element
    strides: tuple  # every operand's element strides in turn, ndim apiece
    dividers: tuple  # (size, magic, shift) per dim, for strided_offsets32
    contiguous: bool  # every operand dense in one order: no index arithmetic at all
    index_type: str  # "int" where every offset fits in 32 bits, else "i64"


def layout_arguments(shape, operand_strides):
    """The Layout of operands with ``operand_strides`` (element strides, 0 on broadcast dims;
    the output's last) iterated over ``shape``. Each element is independent, so the kernel
    may walk them in any order: dims are put in the output's memory order (TensorIterator's
    order, outermost first) and merged where every operand steps through two as through one,
    which leaves a dense result of dense inputs one dim with no index arithmetic at all."""
    n = _layout.numel(shape)
    order = _layout.iteration_order(shape, [(shape, strides) for strides in reversed(operand_strides)])[::-1]
    sizes, merged = _layout.merged_dims([shape[d] for d in order], *([s[d] for d in order] for s in operand_strides))
    contiguous = len(sizes) == 1 and all(strides == [1] for strides in merged)
    reach = max(sum(abs(s) * (size - 1) for s, size in zip(strides, sizes)) for strides in merged)
    return Layout(tuple(sizes), tuple(s for strides in merged for s in strides),
                  tuple(part for size in sizes for part in kernels.divider(size)), contiguous,
                  "int" if max(n, reach) < _INT32_SAFE else "i64")


def _broadcast_estrides(array, shape):
    """``array``'s element strides seen through ``shape`` (0 along broadcast dims)."""
    if array.shape == shape:
        return array.estrides
    lead = len(shape) - array.ndim
    return tuple(0 if d < lead or array.shape[d - lead] == 1 and shape[d] != 1 else array.estrides[d - lead]
                 for d in range(len(shape)))


def _operand(value, dtype=None):
    """A ufunc input as a DeviceArray (host data and Python scalars are uploaded)."""
    if isinstance(value, DeviceArray):
        return value
    host = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    return device_constant(host, host.dtype) if host.size <= 16 else DeviceArray.from_host(host)


def _dtype_stand_in(value):
    """A tiny host value numpy resolves the same dtypes for as ``value``."""
    if isinstance(value, DeviceArray):
        if value.ndim == 0 and np.lib.NumpyVersion(np.__version__) < "2.0.0":
            return value.get()  # numpy 1 promotes by the value of 0-d arrays
        return np.zeros((1,) * value.ndim, value.dtype)
    if isinstance(value, np.ndarray) and value.ndim:
        return np.zeros((1,) * value.ndim, value.dtype)
    return value


_resolved: dict = {}
_VALUE_BASED = np.lib.NumpyVersion(np.__version__) < "2.0.0"  # numpy 1 promotes 0-d arrays by value


def resolve(name, function, values, **kwargs):
    """numpy's dtypes for ``function(*values)``: (input compute dtypes, output dtype), found by
    running numpy on tiny stand-ins, and remembered where only the dtypes can matter."""
    key = _resolution_key(name, values, kwargs)
    resolved = _resolved.get(key) if key else None
    if resolved is None:
        stand_ins = [_dtype_stand_in(v) for v in values]
        with np.errstate(all="ignore"):
            out_dtype = np.asarray(function(*stand_ins, **kwargs)).dtype
        compute = np.result_type(*stand_ins) if name in PREDICATES else out_dtype
        resolved = ([compute] * len(values), out_dtype)
        if key:
            _resolved[key] = resolved
    return resolved


def _resolution_key(name, values, kwargs):
    """What numpy's answer depends on, or None where values matter too (Python scalars can
    overflow a dtype; numpy 1 looks at 0-d values)."""
    if kwargs or _VALUE_BASED or not all(isinstance(v, (DeviceArray, np.ndarray, np.generic)) for v in values):
        return None
    return (name, tuple((v.dtype, v.ndim == 0) for v in values))


def broadcast_shape(*values):
    shape = ()
    for value in values:
        shape = _layout.broadcast_shapes(shape, value.shape if isinstance(value, DeviceArray) else np.shape(value))
    return shape


def call_ufunc(ufunc, inputs, kwargs):
    """``ufunc(*inputs, out=…, dtype=…)`` on the device, with numpy's dtypes and broadcasting."""
    special = _FUNCTIONS.get(ufunc)  # a ufunc that is no elementwise statement (matmul)
    if special is not None:
        return special(*inputs, **kwargs)
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    if name not in STATEMENTS or ufunc.nout != 1 or kwargs:
        if out is not None:
            kwargs["out"] = out
        return _on_host(name, ufunc, inputs, kwargs)
    in_compute, out_dtype = resolve(name, ufunc, inputs, **({"dtype": dtype} if dtype else {}))
    target = out[0] if isinstance(out, tuple) else out
    return elementwise(name, inputs, in_compute, out_dtype, target)


def elementwise(name, inputs, in_compute, out_dtype, out=None):
    """Run STATEMENTS[name] over ``inputs``, into ``out`` or a new array of ``out_dtype``."""
    operands = [_operand(value) for value in inputs]
    shape = broadcast_shape(*operands)
    out_compute = in_compute[0] if name in ("copy", "where", "clip") else out_dtype
    if name == "where":
        out_compute = out_dtype
    if out is None:
        out = DeviceArray.empty(shape, out_dtype)
    elif not isinstance(out, DeviceArray):
        raise TypeError("a CUDA result cannot be written into host memory")
    elif _aliases_differently(out, operands):
        result = elementwise(name, inputs, in_compute, out_dtype)
        return elementwise("copy", [result], [out.dtype], out.dtype, out)
    body = statement(name if name != "where" else "where", np.dtype(in_compute[-1]))
    launch(name, body, operands, [np.dtype(c) for c in in_compute], [out], [np.dtype(out_compute)])
    return out


def _aliases_differently(out, operands):
    """``out`` shares memory with an input it does not match element for element, so a kernel
    writing ``out`` could clobber inputs other threads still read (numpy copies then too)."""
    return any(op.memory is out.memory and (op.offset, _broadcast_estrides(op, out.shape)) != (out.offset, out.estrides)
               for op in operands)


@implements(np.copyto)
def copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        current = dst.copy()
        condition = _operand(where, np.bool_)
        values = _operand(src)
        elementwise("where", [condition, values, current], [np.dtype(np.bool_), dst.dtype, dst.dtype],
                    dst.dtype, dst)
        return
    elementwise("copy", [src], [dst.dtype], dst.dtype, dst)


@implements(np.where)
def where(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(condition)
    _, out_dtype = resolve("where", np.where, [np.zeros(1, bool), x, y])
    return elementwise("where", [_operand(condition), x, y], [np.dtype(np.bool_), out_dtype, out_dtype],
                       out_dtype)


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    low = -np.inf if a_min is None else a_min
    high = np.inf if a_max is None else a_max
    _, out_dtype = resolve("clip", np.clip, [a, a_min if a_min is not None else low,
                                             a_max if a_max is not None else high])
    return elementwise("clip", [a, low, high], [out_dtype] * 3, out_dtype, out)


def _has_loop(name, dtype):
    """Whether numpy computes ``name`` in ``dtype`` (bitwise ops have no float loop; atan2 has
    no integer one: integers convert to float first)."""
    ufunc = getattr(np, name, None)
    if not isinstance(ufunc, np.ufunc):
        return True  # copy, where, clip
    return any(types.startswith(dtype.char * ufunc.nin) for types in ufunc.types)


def compile_tier_sources():
    """Elementwise kernels for the NVRTC compile tier: every statement in float32 and float64,
    the integer and bool statements, half precision, promotion, both index widths, and the
    tiled kernel."""
    f32, f64, f16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
    i64, u8, i8, boolean = np.dtype(np.int64), np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.bool_)
    sources = []

    def add(name, inputs, compute, out, index_type="i64"):
        out_compute = out if name not in PREDICATES else boolean
        sources.append(elementwise_source(name, statement(name, compute), inputs, [compute] * len(inputs),
                                          [out], [out_compute], index_type))

    for name, options in STATEMENTS.items():
        arity = 3 if name in ("where", "clip") else 2 if "in1" in " ".join(options.values()) else 1
        for dtype in (f32, f64):
            if not _has_loop(name, dtype):
                continue
            out = boolean if name in PREDICATES else dtype
            add(name, [boolean if name == "where" else dtype] + [dtype] * (arity - 1), dtype, out)
        if _has_loop(name, i64):
            for dtype in (i64, u8):
                add(name, [dtype] * arity, dtype, boolean if name in PREDICATES else dtype, "int")
    for name in ("add", "multiply", "maximum", "logical_or", "invert"):
        add(name, [boolean] * (1 if name == "invert" else 2), boolean, boolean)
    for name in ("add", "true_divide", "exp", "less"):
        arity = 1 if name == "exp" else 2
        add(name, [f16] * arity, f16, boolean if name in PREDICATES else f16)
    add("add", [i8, f32], f32, f32)  # promotion: each operand converts on load
    add("copy", [f64], f16, f16, "int")
    for name, inputs, compute, index_type in (("add", [f32, f32], f32, "int"), ("add", [f16, f16], f16, "i64"),
                                              ("where", [boolean, f64, f64], f64, "int")):
        sources.append(elementwise_source(name, statement(name, compute), inputs, [compute] * len(inputs), [compute],
                                          [compute], index_type, tiled=True))
    return sources


@implements(np.round, np.around)
def round_(a, decimals=0, out=None):
    """numpy's round: half to even, through a power of ten when ``decimals`` is given."""
    if decimals == 0:
        return np.rint(a, out=out)
    scale = 10.0 ** decimals
    return np.true_divide(np.rint(np.multiply(a, scale)), scale, out=out).astype(a.dtype, copy=False)
