"""Issue 9's benchmark in one command: every workload on torch and reference_impl (ratios
against the targets), then the bundled spec suite's wall time.

    python bench/run.py [--out bench/results_cpu.md] [--quick] [--no-suite]

``--quick`` shortens the timed batches (a smoke run; its numbers are noisy).
"""

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402
import workloads  # noqa: E402


def machine():
    """The CPU model and its widest vector unit (numpy's SIMD loops depend on it; from
    /proc/cpuinfo where there is one), and the core count."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
        vector = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
        model = f"{names[0] if names else model} ({platform.machine()}, {vector})"
    return f"{model}, {os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the markdown results here")
    parser.add_argument("--quick", action="store_true", help="short batches: a smoke run, noisy numbers")
    parser.add_argument("--no-suite", action="store_true", help="leave out the spec suite's wall time")
    args = parser.parse_args()
    rows = workloads.measure(0.005 if args.quick else 0.05)
    text = (f"# reference_impl / torch on the CPU\n\n{machine()}; Python {platform.python_version()}, "
            f"torch {workloads.torch.__version__} (1 thread), numpy {workloads.np.__version__}; "
            f"`python bench/run.py`.\n\n## Workloads\n\n{workloads.table(rows)}\n")
    if not args.no_suite:
        text += f"\n## The bundled spec suite\n\n{suite.table(suite.measure())}\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
