"""Compile CUDA C with NVRTC through ctypes: the compile tier, which needs no GPU.

NVRTC comes from the ``nvidia-cuda-nvrtc-cu12`` wheel and the CUDA headers (cuda_fp16.h)
from ``nvidia-cuda-runtime-cu12``, so nothing outside pip is needed. The options are the
ones the GPU run gives CuPy (``runtime.NVRTC_OPTIONS``), plus the target architecture.
"""

import ctypes
import importlib.util
from pathlib import Path

from . import runtime


class NvrtcUnavailable(Exception):
    """The NVRTC library (or the CUDA headers) is not installed."""


class CompileError(Exception):
    """NVRTC refused a kernel; the message holds its log."""


def _package_dir(name):
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # its parent namespace (``nvidia``) is not installed at all
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _library():
    directory = _package_dir("nvidia.cuda_nvrtc")
    candidates = sorted((directory / "lib").glob("libnvrtc.so*")) if directory else []
    if not candidates:
        raise NvrtcUnavailable("libnvrtc is not installed (pip install nvidia-cuda-nvrtc-cu12)")
    library = ctypes.CDLL(str(candidates[0]))
    library.nvrtcGetErrorString.restype = ctypes.c_char_p
    return library


def include_dirs():
    directory = _package_dir("nvidia.cuda_runtime")
    if directory is None or not (directory / "include" / "cuda_fp16.h").exists():
        raise NvrtcUnavailable("the CUDA headers are not installed (pip install nvidia-cuda-runtime-cu12)")
    return [str(directory / "include")]


def compile_ptx(source, name, arch="sm_80"):
    """PTX for ``source``, compiled for ``arch``; raises CompileError with NVRTC's log."""
    library = _library()
    program = ctypes.c_void_p()
    _check(library, library.nvrtcCreateProgram(ctypes.byref(program), source.encode(), f"{name}.cu".encode(),
                                               0, None, None))
    options = [f"--gpu-architecture=compute_{arch.removeprefix('sm_')}", *runtime.NVRTC_OPTIONS]
    options += [f"-I{directory}" for directory in include_dirs()]
    array = (ctypes.c_char_p * len(options))(*[option.encode() for option in options])
    try:
        status = library.nvrtcCompileProgram(program, len(options), array)
        if status != 0:
            raise CompileError(f"{name} for {arch}:\n{_log(library, program)}")
        size = ctypes.c_size_t()
        _check(library, library.nvrtcGetPTXSize(program, ctypes.byref(size)))
        ptx = ctypes.create_string_buffer(size.value)
        _check(library, library.nvrtcGetPTX(program, ptx))
        return ptx.value.decode()
    finally:
        library.nvrtcDestroyProgram(ctypes.byref(program))


def _log(library, program):
    size = ctypes.c_size_t()
    library.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    library.nvrtcGetProgramLog(program, log)
    return log.value.decode(errors="replace")


def _check(library, status):
    if status != 0:
        raise CompileError(library.nvrtcGetErrorString(status).decode())
