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
    """The CPU model (from /proc/cpuinfo where there is one) and core count."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
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
