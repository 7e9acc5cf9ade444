"""Compile tier: every kernel variant compiles with NVRTC for sm_80 and sm_90, no GPU needed.

Set HARNESS_REQUIRE_NVRTC=1 (the cuda-compile tox env does) to fail rather than skip when
the NVRTC wheels are missing.
"""

import functools
import os
import re
import shutil
import subprocess

import pytest

from reference_impl.cuda import elementwise, indexing, kernels, linalg, nvrtc, reduction, runtime, sorting


def _nvrtc_or_skip():
    try:
        nvrtc.include_dirs()
        nvrtc._library()
    except nvrtc.NvrtcUnavailable as missing:
        if os.environ.get("HARNESS_REQUIRE_NVRTC") == "1":
            pytest.fail(f"the compile tier must run here, but {missing}")
        pytest.skip(f"{missing}; `tox -e cuda-compile` runs this tier")


# Every module that generates kernels lists a representative set of its variants.
SOURCES = [source for module in (elementwise, reduction, indexing, linalg, sorting)
           for source in module.compile_tier_sources()]




@functools.cache
def _ptx(name, arch):
    return nvrtc.compile_ptx(dict(SOURCES)[name], name, arch)


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", [name for name, _ in SOURCES])
def test_kernel_compiles(name, arch):
    _nvrtc_or_skip()
    ptx = _ptx(name, arch)
    assert f".entry {name}(" in ptx and f".target {arch}" in ptx


@pytest.mark.skipif(shutil.which("ptxas") is None,
                    reason="ptxas, the CUDA toolkit's assembler, is not installed: register use is checked where it is")
@pytest.mark.parametrize("name", [name for name, _ in SOURCES])
def test_kernel_never_spills_registers_on_sm_90(name, tmp_path):
    """ptxas -v: no entry point of the kernel spills registers to local memory, where every
    access of a spilled value would be a memory round trip the bandwidth targets cannot pay.
    (A stack frame alone is allowed: sin, cos and tan reduce huge arguments in a local array.)"""
    _nvrtc_or_skip()
    ptx = tmp_path / f"{name}.ptx"
    ptx.write_text(_ptx(name, "sm_90"))
    report = subprocess.run(["ptxas", "-arch=sm_90", "-v", str(ptx), "-o", os.devnull], capture_output=True,
                            text=True, check=True).stderr
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", report)
    assert spills and all(stores == loads == "0" for stores, loads in spills), report


def test_a_broken_kernel_reports_nvrtcs_log():
    _nvrtc_or_skip()
    with pytest.raises(nvrtc.CompileError, match="undefined_thing"):
        nvrtc.compile_ptx('extern "C" __global__ void k() { undefined_thing(); }', "k")


def test_every_kernel_reads_strided_operands_through_the_shared_layout_helper():
    """One definition of shape/stride arithmetic: each kernel carries the prelude once, and a
    kernel that takes strides reads through ``strided_offset(s)`` rather than its own walk."""
    for name, source in SOURCES:
        assert source.count("__device__ __forceinline__ i64 strided_offset(") == 1, name
        kernel = source.split(kernels.PRELUDE, 1)[1]
        if "i64* strides" in kernel or "i64* a_strides" in kernel:
            assert any(walk in kernel for walk in ("strided_offset(", "strided_offsets<", "strided_offsets32<")), name


def test_missing_wheels_are_reported_not_crashed_on():
    assert nvrtc._package_dir("no_such_namespace.cuda_nvrtc") is None


def test_the_compile_tier_builds_with_the_options_the_gpu_run_gives_cupy(monkeypatch):
    """What compiles here is what runs on a GPU: NVRTC gets the GPU run's options, and no
    --use_fast_math, whose exp, division and flushed denormals would not match numpy."""
    _nvrtc_or_skip()
    given = []

    class CuPy:  # only what _CuPy.kernel calls
        @staticmethod
        def RawKernel(source, name, options):
            given.append(options)

    runtime._CuPy(CuPy).kernel("source", "k")
    assert given == [runtime.NVRTC_OPTIONS] and "--use_fast_math" not in runtime.NVRTC_OPTIONS
    library = nvrtc._library()
    seen = []
    compile_program = library.nvrtcCompileProgram

    def recording(program, count, options):
        seen.extend(options[i].decode() for i in range(count))
        return compile_program(program, count, options)

    monkeypatch.setattr(library, "nvrtcCompileProgram", recording)
    monkeypatch.setattr(nvrtc, "_library", lambda: library)
    nvrtc.compile_ptx('extern "C" __global__ void k() {}', "k", "sm_90")
    assert [option for option in seen if not option.startswith("-I")] == ["--gpu-architecture=compute_90",
                                                                          *runtime.NVRTC_OPTIONS]
