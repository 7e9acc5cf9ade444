"""Run reference_impl's CUDA C kernels on the CPU: the same .cu text, compiled by g++.

``HostKernel(source, name)(grid, block, args)`` is called exactly as
``cupy.RawKernel(source, name)(grid, block, args)`` is; device pointers are host addresses
(any object with an integer ``.ptr``, such as ``HostPointer(array)``). The source is
compiled with ``cuda_host.h`` force-included (CUDA's keywords, thread indices, atomics,
warp intrinsics, math overloads) and ``include/cuda_fp16.h`` shadowing the real header,
plus a generated wrapper that runs every thread of every block.

Execution: blocks run one after another, so ``__shared__`` is static storage (poisoned with
0xff bytes as each block starts, as a GPU leaves it undefined). A kernel that never
synchronises runs its threads in a plain loop; one that calls ``__syncthreads`` or a warp
intrinsic runs each thread as a fiber that advances one barrier at a time (see cuda_host.h).
Barrier divergence, undefined on a GPU, raises ``EmulationRuntimeError``.

Thread order: ``order="reverse"`` (on HostKernel or on the call, else the environment's
``REFERENCE_IMPL_CUDA_EMULATION_ORDER``, else ``"forward"``) runs the threads of each phase
last to first. A kernel that misses a ``__syncthreads`` reads slots not yet written in one
of the orders, so running both (``run_in_both_orders``) and comparing exposes it.

Arguments are checked against the kernel's C parameters before the launch: a pointer takes
an object with ``.ptr``, a scalar a numpy scalar of the C type's size and kind (np.int64
for ``long long``, np.float32 for ``float``). A plain Python number is refused: the C side
would read it with whatever size the parameter has.

Numerics differ from a GPU's where the GPU compiler fuses a multiply and an add into one FMA
(NVRTC's default) or its math library rounds a function (exp, log) differently from the host's;
here each operation is rounded on its own, as the C++ source says.

Compiled kernels are cached on disk, keyed by a hash of the headers, the source, the name
and the compiler flags, under ``$REFERENCE_IMPL_CUDA_CACHE`` (default
``~/.cache/reference_impl/cuda-emulation``).

Sanitizers: ``REFERENCE_IMPL_CUDA_SANITIZE=1`` builds kernels with ASan and UBSan (a
separate cache entry). ASan's runtime must be the first library of the process, so run::

    REFERENCE_IMPL_CUDA_SANITIZE=1 LD_PRELOAD="$(g++ -print-file-name=libasan.so)" \\
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \\
    pytest tests/reference_impl/test_cuda_emulation.py

(the leaks ASan would list are Python's own; halt_on_error makes undefined behaviour fail
the run rather than print and go on). ASan then reports out-of-bounds accesses to numpy
buffers and to ``__shared__`` arrays, UBSan out-of-range indices and shifts, overflow and
the like, each with the file and line of the kernel source kept beside its cached library.
Fiber switches are announced to ASan, which follows the fibers' stacks; it still prints,
once, that it "doesn't fully support makecontext/swapcontext".
"""

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "EmulationCompileError", "EmulationRuntimeError", "HostKernel", "HostPointer", "OrderDependenceError",
    "run_in_both_orders",
]

_HERE = Path(__file__).resolve().parent
_HEADER = _HERE / "cuda_host.h"
_INCLUDE = _HERE / "include"

_BASE_FLAGS = ("-std=c++17", "-O1", "-shared", "-fPIC")
# -fsanitize-sections: ASan leaves globals in named sections alone unless told, and the
# __shared__ variables live in one (see cuda_host.h).
_SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fsanitize-sections=cuda_emulation_shared",
                   "-fno-omit-frame-pointer", "-g")
_ORDERS = ("forward", "reverse")

# NVRTC options that only steer GPU code generation; they mean nothing on the host, so a
# caller may pass HostKernel the options tuple it passes cupy.RawKernel.
_DEVICE_ONLY_OPTIONS = re.compile(
    r"^(--?use_fast_math|--?gpu-architecture(=.*)?|-arch(=.*)?|--?fmad(=.*)?|-rdc(=.*)?|--?relocatable-device-code(=.*)?)$"
)

# What makes a kernel need fibers: anything that waits for other threads.
_SYNCHRONISES = re.compile(r"\b(__syncthreads|__syncwarp|__shfl\w*_sync|__ballot_sync|__any_sync|__all_sync)\b")

# `extern __shared__ T name[];`: the dynamic shared memory the launch sizes.
_DYNAMIC_SHARED = re.compile(
    r"\bextern\s+__shared__\s+((?:__align__|alignas)\s*\(\s*\d+\s*\)\s*)?([A-Za-z_][\w\s:]*?)\s+([A-Za-z_]\w*)\s*\[\s*\]\s*;"
)
_DYNAMIC_SHARED_LIMIT = 227 * 1024  # cuda_host.h's dynamic_shared: an H100 block's most


class EmulationCompileError(Exception):
    """g++ refused a kernel; the message names the kernel and holds g++'s log."""


class EmulationRuntimeError(RuntimeError):
    """A launch went wrong in a way a GPU leaves undefined (barrier divergence, a warp
    intrinsic that deadlocks); the message names the kernel, the thread and the barrier."""


class OrderDependenceError(AssertionError):
    """A kernel gave different results with its threads run forward and in reverse."""


class HostPointer:
    """A "device pointer" to a numpy array's data, holding the array so the memory stays
    alive while the pointer does."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self.ptr = array.ctypes.data


# ---- the kernel's C signature -------------------------------------------------------------


@dataclass(frozen=True)
class _Parameter:
    name: str
    c_type: str  # as written, less the name
    pointer: bool


def _parameters(source: str, name: str) -> list[_Parameter]:
    """The parameters of ``__global__ void name(...)`` in ``source``."""
    match = re.search(r"__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?" + re.escape(name) + r"\s*\(", source)
    if match is None:
        raise ValueError(f"no `__global__ void {name}(...)` in the kernel source")
    depth, end = 1, match.end()
    while depth:
        if end == len(source):
            raise ValueError(f"the parameter list of kernel {name} is not closed")
        depth += {"(": 1, ")": -1}.get(source[end], 0)
        end += 1
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", source[match.end() : end - 1], flags=re.S)
    parameters = []
    for declaration in filter(None, (part.strip() for part in text.split(","))):
        if declaration == "void":
            continue
        declaration = re.sub(r"\[\s*\]$", "*", declaration)  # `T x[]` is `T* x`
        found = re.fullmatch(r"(.*?)\s*\b([A-Za-z_]\w*)", declaration, flags=re.S)
        if found is None or not found.group(1):
            raise ValueError(f"cannot read parameter `{declaration}` of kernel {name}")
        c_type = " ".join(found.group(1).replace("*", " * ").split())
        parameters.append(_Parameter(found.group(2), c_type, "*" in c_type))
    return parameters


# What a scalar C type is, as numpy kinds it: (kind, itemsize).
_BUILTIN_SCALARS = {
    "bool": ("b", 1), "char": ("i", 1), "signed char": ("i", 1), "unsigned char": ("u", 1),
    "short": ("i", 2), "unsigned short": ("u", 2), "int": ("i", 4), "unsigned int": ("u", 4),
    "long": ("i", 8), "unsigned long": ("u", 8), "long long": ("i", 8), "unsigned long long": ("u", 8),
    "float": ("f", 4), "double": ("f", 8), "__half": ("f", 2),
}
_STANDARD_TYPEDEFS = {
    "int8_t": "signed char", "int16_t": "short", "int32_t": "int", "int64_t": "long",
    "uint8_t": "unsigned char", "uint16_t": "unsigned short", "uint32_t": "unsigned int",
    "uint64_t": "unsigned long", "size_t": "unsigned long", "ptrdiff_t": "long",
}
_QUALIFIERS = {"const", "volatile", "__restrict__", "__restrict"}


def _typedefs(source: str) -> dict[str, str]:
    """``typedef`` and ``using`` aliases of the source, alias -> aliased type."""
    aliases = dict(_STANDARD_TYPEDEFS)
    for aliased, alias in re.findall(r"\btypedef\s+([A-Za-z_][\w\s]*?)\s+([A-Za-z_]\w*)\s*;", source):
        aliases[alias] = aliased
    for alias, aliased in re.findall(r"\busing\s+([A-Za-z_]\w*)\s*=\s*([A-Za-z_][\w\s]*?)\s*;", source):
        aliases[alias] = aliased
    return aliases


def _scalar_kind(c_type: str, aliases: dict[str, str]) -> tuple[str, int] | None:
    """(numpy kind, size) of a scalar C type, or None where it is not a known scalar."""
    words = [word for word in c_type.replace("std::", "").split() if word not in _QUALIFIERS]
    for _ in range(len(aliases) + 1):  # resolve aliases of aliases, without looping forever
        if len(words) != 1 or words[0] not in aliases:
            break
        words = aliases[words[0]].split()
    unsigned = "unsigned" in words
    signed = "signed" in words
    words = [word for word in words if word not in ("signed", "unsigned")]
    if "int" in words and len(words) > 1:  # `long int`, `short int`, `long long int`
        words.remove("int")
    base = " ".join(words) or "int"  # a bare `unsigned` or `signed` is an int
    if base == "char" and (signed or unsigned):
        base = ("unsigned " if unsigned else "signed ") + base
    elif unsigned:
        base = "unsigned " + base
    return _BUILTIN_SCALARS.get(base)


# ---- compilation --------------------------------------------------------------------------

# Appended to the kernel's source: the entry point ctypes calls. The header's launcher does
# the work; the wrapper binds it to this kernel.
_WRAPPER = """
static void cuda_emulation_thread() {{ cuda_emulation::call_kernel(&{name}); }}

extern "C" int launch(const unsigned int* grid, const unsigned int* block, void** args,
                      std::size_t dynamic_shared_size, int reverse, char* error, std::size_t error_size) {{
    cuda_emulation::launch_args = args;
    return cuda_emulation::run_grid(grid, block, cuda_emulation_thread, {fibers}, dynamic_shared_size,
                                    reverse != 0, error, error_size);
}}
"""


def _host_source(source: str, name: str) -> str:
    """The kernel's source as g++ compiles it: dynamic shared arrays made pointers into the
    emulation's buffer, and the wrapper appended."""
    source = _DYNAMIC_SHARED.sub(
        lambda m: f"{m[2]}* const {m[3]} = reinterpret_cast<{m[2]}*>(cuda_emulation::dynamic_shared);", source
    )
    fibers = "true" if _SYNCHRONISES.search(source) else "false"
    return source + _WRAPPER.format(name=name, fibers=fibers)


def _cache_dir() -> Path:
    configured = os.environ.get("REFERENCE_IMPL_CUDA_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "reference_impl" / "cuda-emulation"


def _sanitizing() -> bool:
    return os.environ.get("REFERENCE_IMPL_CUDA_SANITIZE") == "1"


def _compiler() -> str:
    compiler = shutil.which("g++")
    if compiler is None:
        raise EmulationCompileError("g++ is not installed; the CUDA host emulation needs it")
    return compiler


def _flags(options: tuple[str, ...]) -> tuple[str, ...]:
    passed = tuple(option for option in options if not _DEVICE_ONLY_OPTIONS.match(option))
    sanitize = _SANITIZE_FLAGS if _sanitizing() else ()
    return _BASE_FLAGS + sanitize + (f"-I{_INCLUDE}", "-include", str(_HEADER)) + passed


def _build(source: str, name: str, flags: tuple[str, ...]) -> Path:
    """The shared object for ``name`` in ``source``, compiled unless the disk cache has it."""
    code = _host_source(source, name)
    key = hashlib.sha256()
    headers = [_HEADER, *sorted(_INCLUDE.iterdir())]
    for part in (*(header.read_text() for header in headers), code, name, *flags):
        key.update(part.encode() + b"\0")
    directory = _cache_dir()
    library = directory / f"{name}-{key.hexdigest()[:24]}.so"
    if library.exists():
        return library
    directory.mkdir(parents=True, exist_ok=True)
    # Write under a private name, then rename: a parallel worker finds either no file or a
    # whole one, never a half-written one. The source is compiled where it stays, beside the
    # library, so the file a sanitizer's report names can be opened.
    cpp = library.with_suffix(".cpp")
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        (Path(scratch) / cpp.name).write_text(code)
        os.replace(Path(scratch) / cpp.name, cpp)
        built = Path(scratch) / library.name
        result = subprocess.run([_compiler(), *flags, "-o", str(built), str(cpp)], capture_output=True, text=True)
        if result.returncode != 0:
            raise EmulationCompileError(f"g++ could not compile kernel {name}:\n{result.stderr}")
        os.replace(built, library)
    return library


@dataclass
class _Library:
    launch: Callable[..., int]
    # The launcher's state (thread indices, shared memory, fibers) is the library's globals,
    # so one launch at a time per library: ctypes lets go of the GIL during the call.
    lock: threading.Lock


_LOADED: dict[Path, _Library] = {}
_LOADED_LOCK = threading.Lock()


def _check_asan_is_preloaded() -> None:
    # Loading an ASan-built library into a process without ASan's runtime first kills the
    # process outright; refuse with the fix instead.
    with open("/proc/self/maps") as maps:
        if "libasan" not in maps.read():
            raise EmulationCompileError(
                "REFERENCE_IMPL_CUDA_SANITIZE=1 builds ASan kernels, which load only into a process started with "
                "LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 "
                "(see reference_impl.cuda.emulation's docstring)"
            )


def _load(path: Path) -> _Library:
    with _LOADED_LOCK:
        if path not in _LOADED:
            if _sanitizing():
                _check_asan_is_preloaded()
            launch = ctypes.CDLL(str(path)).launch
            launch.restype = ctypes.c_int
            launch.argtypes = [ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint),
                               ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p,
                               ctypes.c_size_t]
            _LOADED[path] = _Library(launch, threading.Lock())
        return _LOADED[path]


# ---- launching ----------------------------------------------------------------------------


def _dims(value: int | Sequence[int], what: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) and d >= 1 for d in dims):
        raise ValueError(f"{what} must be a positive int or a tuple of 1 to 3 positive ints, got {value!r}")
    x, y, z = dims + (1,) * (3 - len(dims))
    return x, y, z


def _order(*choices: str | None) -> str:
    """The first order given, else the environment's, else forward."""
    for choice in (*choices, os.environ.get("REFERENCE_IMPL_CUDA_EMULATION_ORDER") or None):
        if choice is not None:
            if choice not in _ORDERS:
                raise ValueError(f"thread order must be 'forward' or 'reverse', got {choice!r}")
            return choice
    return "forward"


class HostKernel:
    """A CUDA kernel run on the CPU; constructed and called like ``cupy.RawKernel``.

    ``options`` are extra g++ flags (``-DNAME=value``, ``-I...``); NVRTC options that only
    steer GPU code generation (``--use_fast_math``, ``-arch=...``) are accepted and ignored.
    ``order`` is the thread order, "forward" or "reverse" (default: the environment's
    REFERENCE_IMPL_CUDA_EMULATION_ORDER, else forward). The kernel is compiled on its first
    call, as CuPy does; its parameter list is read at once.
    """

    def __init__(self, source: str, name: str, options: tuple[str, ...] = (), *, order: str | None = None):
        self.source = source
        self.name = name
        self.options = tuple(options)
        self.order = order if order is None else _order(order)
        self.parameters = _parameters(source, name)
        self._aliases = _typedefs(source)
        self._library: _Library | None = None

    def __call__(self, grid, block, args, shared_mem: int = 0, *, order: str | None = None) -> None:
        """Launch ``grid`` blocks of ``block`` threads with ``shared_mem`` bytes of dynamic
        shared memory; returns when every thread is done."""
        grid3, block3 = _dims(grid, "grid"), _dims(block, "block")
        if block3[0] * block3[1] * block3[2] > 1024 or block3[2] > 64 or max(grid3[1:]) > 65535:
            raise ValueError(f"kernel {self.name}: grid {grid3} of blocks {block3} exceeds CUDA's limits "
                             "(1024 threads a block, block z <= 64, grid y and z <= 65535)")
        if not 0 <= shared_mem <= _DYNAMIC_SHARED_LIMIT:
            raise ValueError(f"kernel {self.name}: shared_mem must be 0 to {_DYNAMIC_SHARED_LIMIT} bytes")
        values = self._pack(tuple(args))
        reverse = _order(order, self.order) == "reverse"
        if self._library is None:
            self._library = _load(_build(self.source, self.name, _flags(self.options)))
        pointers = (ctypes.c_void_p * max(len(values), 1))(*[ctypes.addressof(value) for value in values])
        error = ctypes.create_string_buffer(1024)
        with self._library.lock:
            failed = self._library.launch((ctypes.c_uint * 3)(*grid3), (ctypes.c_uint * 3)(*block3), pointers,
                                          shared_mem, int(reverse), error, len(error))
        if failed:
            raise EmulationRuntimeError(f"kernel {self.name}: {error.value.decode(errors='replace')}")

    def _pack(self, args: tuple) -> list:
        """Each argument as a ctypes object holding the bytes its parameter reads."""
        if len(args) != len(self.parameters):
            raise TypeError(f"kernel {self.name} takes {len(self.parameters)} arguments, got {len(args)}")
        return [self._pack_one(position, parameter, value)
                for position, (parameter, value) in enumerate(zip(self.parameters, args))]

    def _pack_one(self, position: int, parameter: _Parameter, value) -> ctypes.c_void_p | ctypes.Array:
        where = f"kernel {self.name}, argument {position} `{parameter.name}` ({parameter.c_type})"
        if parameter.pointer:
            pointer = getattr(value, "ptr", None)
            if not isinstance(pointer, int) or isinstance(value, np.generic):
                raise TypeError(f"{where}: expected an object with an integer .ptr, got {type(value).__name__}")
            return ctypes.c_void_p(pointer)
        expected = _scalar_kind(parameter.c_type, self._aliases)
        if expected is None:
            raise TypeError(f"{where}: the emulation cannot pass a value of this C type")
        if not isinstance(value, np.generic):
            raise TypeError(f"{where}: expected a numpy scalar, got {type(value).__name__}; "
                            "wrap it (np.int64(n), np.float32(x)) so its size is explicit")
        if (value.dtype.kind, value.dtype.itemsize) != expected:
            raise TypeError(f"{where}: expected a {expected[1]}-byte {_KIND_NAMES[expected[0]]} numpy scalar, "
                            f"got {type(value).__name__}")
        return ctypes.create_string_buffer(value.tobytes(), value.dtype.itemsize)


_KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}


def run_in_both_orders(kernel: HostKernel, grid, block, make_args: Callable[[], tuple[tuple, Sequence[np.ndarray]]],
                       shared_mem: int = 0) -> Sequence[np.ndarray]:
    """Launch ``kernel`` with its threads forward, then in reverse, each time on fresh
    arguments from ``make_args()``, which returns ``(args, outputs)``: the launch's
    arguments and the arrays it writes. Returns the forward run's outputs; raises
    OrderDependenceError where the two runs' outputs differ in any bit, the mark of a
    missing __syncthreads (or of a race between threads)."""
    results = []
    for order in _ORDERS:
        args, outputs = make_args()
        kernel(grid, block, args, shared_mem, order=order)
        results.append(outputs)
    for index, (forward, reverse) in enumerate(zip(*results)):
        if forward.tobytes() != reverse.tobytes():
            raise OrderDependenceError(f"kernel {kernel.name}: output {index} depends on the thread order:\n"
                                       f"forward: {forward!r}\nreverse: {reverse!r}")
    return results[0]
