"""Wall time of the bundled spec suite on torch and reference_impl (the 15 s budget).

    python bench/suite_time.py [--repeat N] [PATHS...]

Prints one line per repeat and the best; the first run includes imports, as a user's does.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

from harness.cli import run_suite  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=["spec_cases"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    for attempt in range(args.repeat):
        start = time.perf_counter()
        run = run_suite(args.paths)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        print(f"run {attempt + 1}: {len(run.results)} results in {elapsed:.2f} s "
              f"({1000 * elapsed / max(1, len(run.results)):.1f} ms per case, both backends)")
    machine = platform.processor() or platform.machine()
    print(f"best {min(times):.2f} s on {machine}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
