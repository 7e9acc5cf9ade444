"""Command line: ``python -m harness run|report``.

Exit codes: 0 every case agrees; 1 some case diverges; 2 a file or case could not be
loaded or run (or the command line was wrong).
"""

import argparse
import sys
from pathlib import Path

from . import html_report, results
from .cases import load_suite
from .runner import DIVERGE, ERROR, Runner
from .terminal import format_run

DEFAULT_CASES = "spec_cases"
DEFAULT_JSON = "reports/results.json"
DEFAULT_HTML = "reports/index.html"


def run_suite(paths, expected="torch", actual="reference_impl"):
    """Load and run every case under ``paths``; returns RunResults."""
    suite = load_suite(paths)
    runner = Runner(expected, actual)
    case_results = [runner.run_case(case) for case in suite.cases]
    return results.RunResults(
        backends={"expected": expected, "actual": actual},
        environment=results.describe_environment(runner.versions()),
        results=case_results,
        load_errors=[str(error) for error in suite.errors],
        created=results.now(),
    )


def exit_code(run):
    counts = run.counts()
    if run.load_errors or counts.get(ERROR):
        return 2
    return 1 if counts.get(DIVERGE) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="run cases on torch and the implementation, and report")
    run_cmd.add_argument("paths", nargs="*", default=[DEFAULT_CASES], help="YAML files or directories")
    run_cmd.add_argument("--impl", default="reference_impl", help="module under test (default reference_impl)")
    run_cmd.add_argument("--json", default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    run_cmd.add_argument("--html", default=DEFAULT_HTML, help=f"HTML report (default {DEFAULT_HTML})")
    report_cmd = commands.add_parser("report", help="rebuild the HTML report from a results file")
    report_cmd.add_argument("results_file")
    report_cmd.add_argument("-o", "--output", default=DEFAULT_HTML)
    args = parser.parse_args(argv)

    if args.command == "run":
        try:
            run = run_suite(args.paths, actual=args.impl)
        except FileNotFoundError as error:
            parser.error(str(error))
        print(format_run(run))
        results.save(run, args.json)
        results.write_atomically(args.html, html_report.render(run))
        print(f"\nwrote {args.json} and {Path(args.html)}")
        return exit_code(run)
    run = results.load(args.results_file)
    results.write_atomically(args.output, html_report.render(run))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
