"""Wall time of the bundled spec suite on torch and reference_impl (issue 9's 15 s budget),
each run a fresh process as a user starts it: ``python -m harness run``, and the pytest
plugin serially and with ``-n auto``. Half the suite is timed too, to show the time
grows with the number of cases."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "spec_cases"
sys.path.insert(0, str(ROOT))  # this checkout, not an installed copy

from harness.cases import load_file  # noqa: E402


def _wall(command):
    """Seconds ``command`` takes from start to exit (run from the checkout's root)."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _first_half(files, counts):
    """The leading files that hold about half of the cases (``counts``: each file's), and
    how many cases they hold."""
    taken, half = 0, sum(counts) / 2
    for number, count in enumerate(counts):
        if taken >= half:
            return files[:number], taken
        taken += count
    return files, taken


def measure():
    """[(what was run, number of cases, seconds)]."""
    files = sorted(SUITE.rglob("*.yaml"))
    counts = [len(load_file(path)) for path in files]
    total = sum(counts)
    half, half_count = _first_half(files, counts)
    with tempfile.TemporaryDirectory() as scratch:
        def harness(paths):
            return [sys.executable, "-m", "harness", "run", "--json", f"{scratch}/r.json",
                    "--html", f"{scratch}/r.html", *map(str, paths)]

        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SUITE)]
        runs = [
            ("`python -m harness run`", total, _wall(harness(files))),
            ("`python -m harness run` on about half the cases", half_count, _wall(harness(half))),
            ("`pytest spec_cases`", total, _wall(pytest)),
            ("`pytest spec_cases -n auto`", total, _wall(pytest + ["-n", "auto"])),
        ]
    return runs


def table(runs):
    lines = ["| run (both backends, fresh process) | cases | wall (s) | ms per case | target | met |",
             "|---|---|---|---|---|---|"]
    for what, cases, seconds in runs:
        lines.append(f"| {what} | {cases} | {seconds:.1f} | {1000 * seconds / max(cases, 1):.1f} | ≤ 15 s | "
                     f"{'yes' if seconds <= 15 else 'no'} |")
    return "\n".join(lines)
