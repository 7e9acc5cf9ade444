"""Running the implementation on its CUDA device: the device-differences file, and what a
run records about the devices it used.

``python -m harness run --reference-device cuda`` makes CUDA the implementation's default
device for every case while torch stays on the CPU (``--torch-device cuda`` moves torch too).
Where the two differ, compare.normalize_devices rewrites the fields that only name the device,
and the cases listed in ``spec_cases/cuda_device_differences.txt`` for that pairing get the
``device_difference`` verdict: they differ only because one side is on a GPU.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .yaml_source import Location, SourceError

DEVICE_DIFFERENCES_FILE = "spec_cases/cuda_device_differences.txt"
DEVICES = ("cpu", "cuda")
# Which pairing a line applies to, by torch's device (the implementation is on CUDA in both).
SCOPES = {"torch-cpu": "cpu", "torch-cuda": "cuda"}
DEFAULT_SCOPE = "torch-cpu"
_KEY = re.compile(r"[a-z0-9][a-z0-9-]*(\[[a-z0-9:]+\])?")


@dataclass(frozen=True)
class DeviceDifference:
    """One line of the file: a case key, the torch devices it applies to, and why."""

    key: str
    torch_devices: tuple
    reason: str
    line: int


def read_device_differences(path):
    """Every entry of a device-differences file, by case key.

    A line is ``case-id [torch-cpu] [torch-cuda]  # reason``: the case key (``id[cuda]`` for
    a case's cuda run), the pairings it applies to (default ``torch-cpu``: the implementation
    on CUDA, torch on the CPU), and a reason, which is required. Blank lines and lines that
    are only a comment are skipped. Raises SourceError naming the file and line.
    """
    path = str(path)
    entries = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        body, _, reason = raw.partition("#")
        words = body.split()
        if not words:
            continue
        key, scopes = words[0], words[1:]
        if not _KEY.fullmatch(key):
            raise SourceError(Location(path, number, 1), f"{key!r} is not a case id (lowercase letters, digits, '-')")
        for scope in scopes:
            if scope not in SCOPES:
                column = raw.index(scope) + 1
                raise SourceError(Location(path, number, column),
                                  f"unknown pairing {scope!r} (expected {' or '.join(SCOPES)})")
        if not reason.strip():
            raise SourceError(Location(path, number, len(raw.rstrip()) + 1),
                              f"{key}: a reason is required after '#'")
        if key in entries:
            raise SourceError(Location(path, number, 1),
                              f"{key} is listed twice (first at line {entries[key].line})")
        torch_devices = tuple(sorted({SCOPES[s] for s in scopes or [DEFAULT_SCOPE]}))
        entries[key] = DeviceDifference(key, torch_devices, reason.strip(), number)
    return entries


def differences_for(torch_device, path=None):
    """{case key: reason} of the entries that apply when torch runs on ``torch_device`` and the
    implementation on CUDA. ``path`` None means the default file, when it exists; '' none."""
    if path == "":
        return {}
    if path is None:
        if not Path(DEVICE_DIFFERENCES_FILE).exists():
            return {}
        path = DEVICE_DIFFERENCES_FILE
    return {key: entry.reason for key, entry in read_device_differences(path).items()
            if (torch_device or "cpu") in entry.torch_devices}


def prepare_cuda_backend():
    """Before the implementation is imported on the command line: if no CUDA backend for
    reference_impl is chosen, choose the emulation (our kernels, compiled by g++, on the CPU)."""
    os.environ.setdefault("REFERENCE_IMPL_CUDA", "emulate")


def describe(module_cuda, torch_device, reference_device, normalized, differences_file, differences):
    """What a results file records about the devices of a run (environment["devices"])."""
    description = {
        "torch": torch_device or "cpu",
        "reference": reference_device or "cpu",
        "REFERENCE_IMPL_CUDA": os.environ.get("REFERENCE_IMPL_CUDA"),
        "normalized": ("device fields of cuda:0 read as cpu on both sides (compare.normalize_devices)"
                       if normalized else None),
        "differences_file": differences_file if differences else None,
        "differences": len(differences),
    }
    if module_cuda is not None:
        runtime = getattr(module_cuda, "runtime", None)
        try:
            chosen = runtime.backend() if runtime is not None else None
        except Exception as error:  # e.g. REFERENCE_IMPL_CUDA=cupy without a GPU
            chosen = None
            description["cuda_backend_error"] = f"{type(error).__name__}: {error}"
        description["cuda_backend"] = getattr(chosen, "name", None)
        fallbacks = getattr(module_cuda, "host_fallbacks", None)
        if fallbacks is not None:
            description["host_fallbacks"] = dict(sorted(fallbacks().items(), key=lambda kv: (-kv[1], kv[0])))
    return description


def summary(devices):
    """One line for reports, e.g. 'implementation on cuda (emulate), torch on cpu; device fields normalised…'."""
    if not devices:
        return ""
    backend = devices.get("cuda_backend") or devices.get("REFERENCE_IMPL_CUDA")
    reference = devices["reference"] + (f" ({backend})" if devices["reference"] == "cuda" and backend else "")
    text = f"implementation on {reference}, torch on {devices['torch']}"
    if devices.get("normalized"):
        text += "; device fields normalised (cuda:0 read as cpu)"
    if devices.get("differences"):
        text += f"; {devices['differences']} entries of {devices.get('differences_file')} apply"
    return text
