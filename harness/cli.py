"""Command line: ``python -m harness {run,check,list,new,import,report,fuzz}``.

Exit codes: 0 success (every case agrees, or is known / not yet agreeing / a declared device
difference); 1 some case diverges, now agrees while listed, or breaks its own claims on torch;
2 a file or case could not be loaded or run, the run was stopped by SIGTERM (the results
of the cases that ran are still written), or the command line was wrong.

``fuzz`` exits 1 when it finds a divergence not declared in the regressions directory, and 2
when the sandbox refused a generated program or the harness failed on one.

``run --reference-device cuda`` runs every case with reference_impl's default device set to
cuda (its CUDA kernels; emulated on the CPU unless REFERENCE_IMPL_CUDA says otherwise) against
torch on the CPU, device fields normalised; ``--torch-device cuda`` puts torch on the GPU too.
"""

import argparse
import os
import random
import signal
import sys
from pathlib import Path

from . import devices as device_mode
from . import html_report, results
from .backends import DEFAULT_IMPL, EXPECTED, BackendUnavailable, load_backend
from .cases import load_suite
from .importer import import_file
from .runner import ERROR, FAILING, Runner
from .sandbox import CaseCodeError, check
from .scaffold import scaffold
from .selection import KeywordError, select
from .terminal import Progress, format_run
from .yaml_source import SourceError

DEFAULT_CASES = "spec_cases"
DEFAULT_JSON = "reports/results.json"
DEFAULT_HTML = "reports/index.html"
PENDING_FILE = "spec_cases/not_yet_agreeing.txt"
REGRESSIONS_DIR = "spec_cases/regressions"
CUDA_TIME_LIMIT = 120.0  # seconds per case and backend with a backend on cuda: kernels compile on first use


def read_pending(path):
    """Case ids listed in a not-yet-agreeing file (one per line, ``#`` comments allowed)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


def pending_for(impl, pending_file):
    """The ratchet list applies to reference_impl by default; other modules only when asked."""
    if pending_file == "":
        return set()
    if pending_file is None:
        return read_pending(PENDING_FILE) if impl == DEFAULT_IMPL and Path(PENDING_FILE).exists() else set()
    return read_pending(pending_file)


def run_suite(paths, actual=DEFAULT_IMPL, selection=None, pending=(), devices=None, progress=False,
              time_limit=None, env=None, reference_device=None, torch_device=None, device_differences=None):
    """Load, select and run cases; returns RunResults. ``selection`` holds select() keywords.

    ``reference_device``/``torch_device`` ("cpu", "cuda") are each backend's default device; with
    the implementation on cuda, ``device_differences`` is the device-differences file (None: the
    default one, '': none), whose entries for ``torch_device`` apply.
    """
    suite = load_suite(paths)
    cases = select(suite.cases, **(selection or {}))
    on_cuda = reference_device == "cuda"
    if time_limit is None and "cuda" in (reference_device, torch_device):
        time_limit = CUDA_TIME_LIMIT
    differences = device_mode.differences_for(torch_device, device_differences) if on_cuda else {}
    runner = Runner(EXPECTED, actual, pending, **({"time_limit": time_limit} if time_limit else {}),
                    expected_device=torch_device, actual_device=reference_device, device_differences=differences)
    bar = Progress(sum(len(c.devices) for c in cases), enabled=progress or None)
    case_results = []
    interrupted = None
    try:
        for case in cases:
            for device in case.devices:
                if devices and device not in devices:
                    continue
                case_results.append(runner.run_case(case, device))
                bar.advance(case.id)
    except RunInterrupted as stop:  # keep what ran (a time limit around the whole run, e.g. on a GPU machine)
        interrupted = f"{stop}: stopped after {len(case_results)} results"
    environment = results.describe_environment(runner.versions())
    if env:
        environment["env"] = env
    if interrupted:
        environment["interrupted"] = interrupted
    if on_cuda or torch_device == "cuda":
        module = runner.backend_module(actual)
        environment["devices"] = device_mode.describe(
            getattr(module, "cuda", None), torch_device, reference_device, runner.normalizes_devices,
            device_differences if device_differences is not None else device_mode.DEVICE_DIFFERENCES_FILE,
            differences)
    return results.RunResults(
        backends={"expected": EXPECTED, "actual": actual},
        environment=environment,
        results=case_results,
        load_errors=[str(error) for error in suite.errors],
        created=results.now(),
    )


class RunInterrupted(BaseException):
    """SIGTERM arrived during a run: stop, and write the results of the cases that ran."""


def _interrupt(signum, frame):
    raise RunInterrupted(signal.Signals(signum).name)


def exit_code(run):
    counts = run.counts()
    if run.load_errors or counts.get(ERROR) or run.environment.get("interrupted"):
        return 2
    return 1 if any(counts.get(v) for v in FAILING) else 0


def _add_selection(parser):
    parser.add_argument("paths", nargs="*", default=[DEFAULT_CASES], help="YAML files or directories")
    parser.add_argument("--id", action="append", default=[], dest="ids", help="only this case id (repeatable)")
    parser.add_argument("--section", action="append", default=[], dest="sections",
                        help="only this document section, e.g. 2.2 (repeatable)")
    parser.add_argument("--tag", action="append", default=[], dest="tags", help="only cases with this tag")
    parser.add_argument("-k", dest="keyword", help="pytest-style expression over ids, titles, sections and tags")


def _selection(args):
    return {"ids": args.ids, "sections": args.sections, "tags": args.tags, "keyword": args.keyword}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="run cases on torch and the implementation, and report")
    _add_selection(run_cmd)
    run_cmd.add_argument("--impl", default=DEFAULT_IMPL, help=f"module under test (default {DEFAULT_IMPL})")
    run_cmd.add_argument("--device", action="append", choices=["cpu", "cuda"], dest="devices",
                         help="only these devices")
    run_cmd.add_argument("--pending", default=None,
                         help=f"not-yet-agreeing list (default {PENDING_FILE} for {DEFAULT_IMPL}; '' for none)")
    run_cmd.add_argument("--time-limit", type=float,
                         help=f"seconds per case and backend (default 10; {CUDA_TIME_LIMIT:g} with a backend on cuda)")
    run_cmd.add_argument("--json", default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    run_cmd.add_argument("--html", default=DEFAULT_HTML, help=f"HTML report (default {DEFAULT_HTML})")
    run_cmd.add_argument("-v", "--verbose", action="store_true", help="also detail known and pending cases")
    run_cmd.add_argument("--env", help="a name for this run in merged reports (tox passes its env name)")
    run_cmd.add_argument("--reference-device", choices=device_mode.DEVICES,
                         help="the implementation's default device in every case; cuda runs reference_impl's CUDA "
                              "kernels (REFERENCE_IMPL_CUDA=emulate, on the CPU, unless it is set), device fields "
                              "normalised against torch on the CPU")
    run_cmd.add_argument("--torch-device", choices=device_mode.DEVICES,
                         help="torch's default device in every case (default cpu; cuda needs a GPU)")
    run_cmd.add_argument("--device-differences", default=None,
                         help=f"cases that differ only for being on a GPU, used with --reference-device cuda "
                              f"(default {device_mode.DEVICE_DIFFERENCES_FILE}; '' for none)")

    check_cmd = commands.add_parser("check", help="validate case files and code without running anything")
    _add_selection(check_cmd)

    list_cmd = commands.add_parser("list", help="list the selected cases")
    _add_selection(list_cmd)

    new_cmd = commands.add_parser("new", help="append a case skeleton to a section's file")
    new_cmd.add_argument("id")
    new_cmd.add_argument("--section", required=True)
    new_cmd.add_argument("--title", default="Describe what this case shows")
    new_cmd.add_argument("--dir", default=DEFAULT_CASES)

    import_cmd = commands.add_parser("import", help="draft cases from a notebook or an In [n]: transcript")
    import_cmd.add_argument("file")
    import_cmd.add_argument("--out-dir", help="write one <section>-imported.yaml per section here")
    import_cmd.add_argument("--section", default="0", help="section for cells before any numbered heading")

    report_cmd = commands.add_parser("report", help="rebuild the HTML report from results files")
    report_cmd.add_argument("results_files", nargs="+", help="results files, or directories of *.json")
    report_cmd.add_argument("-o", "--output", default=DEFAULT_HTML)

    fuzz_cmd = commands.add_parser("fuzz", help="run random programs on torch and the implementation; shrink "
                                                "each divergence found into a YAML case")
    fuzz_cmd.add_argument("--max-examples", type=int, default=200, help="programs to generate (default 200)")
    fuzz_cmd.add_argument("--seed", type=int, help="hypothesis (and backend) seed (default: a fresh one, printed)")
    fuzz_cmd.add_argument("--save", metavar="DIR", help=f"write each finding as a case file here (e.g. "
                                                        f"{REGRESSIONS_DIR})")
    fuzz_cmd.add_argument("--regressions", metavar="DIR", default=REGRESSIONS_DIR,
                          help=f"saved findings declared as known divergences here are not reported again "
                               f"(default {REGRESSIONS_DIR})")
    fuzz_cmd.add_argument("--time-limit", type=float, help="seconds per program and backend (default 5)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (FileNotFoundError, KeywordError) as error:
        parser.error(str(error))


def _run(args):
    if args.reference_device == "cuda":
        device_mode.prepare_cuda_backend()
        problem = _no_cuda(args.impl)
        if problem:
            print(f"error: --reference-device cuda: {problem}", file=sys.stderr)
            return 2
    try:
        if args.reference_device == "cuda" and args.device_differences != "":
            device_mode.differences_for(args.torch_device, args.device_differences)  # refuse a broken file early
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run = run_suite(args.paths, args.impl, _selection(args), pending_for(args.impl, args.pending),
                        args.devices, time_limit=args.time_limit, env=args.env,
                        reference_device=args.reference_device, torch_device=args.torch_device,
                        device_differences=args.device_differences)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(format_run(run, color=sys.stdout.isatty(), verbose=args.verbose))
    results.save(run, args.json)
    results.write_atomically(args.html, html_report.render([run]))
    print(f"\nwrote {args.json} and {args.html}")
    return exit_code(run)


def _no_cuda(impl):
    """Why ``impl`` cannot run on cuda here, or None."""
    try:
        backend = load_backend(impl)
    except BackendUnavailable as error:
        return str(error)
    try:
        if backend.supports("cuda"):
            return None
    except Exception as error:  # e.g. REFERENCE_IMPL_CUDA=cupy on a machine without a GPU
        return f"{type(error).__name__}: {error}"
    return f"{impl}.cuda.is_available() is False (REFERENCE_IMPL_CUDA={os.environ.get('REFERENCE_IMPL_CUDA')})"


def _check(args):
    suite = load_suite(args.paths)
    problems = [str(error) for error in suite.errors]
    cases = select(suite.cases, **_selection(args))
    for case in cases:
        try:
            check(case)
        except CaseCodeError as error:
            problems.append(str(error))
    for problem in problems:
        print(problem)
    print(f"{len(cases)} cases checked, {len(problems)} problems")
    return 2 if problems else 0


def _list(args):
    suite = load_suite(args.paths)
    for error in suite.errors:
        print(error)
    for case in select(suite.cases, **_selection(args)):
        print(f"{case.id:<44} {case.section:<8} {case.cell or '-':<16} {case.file}:{case.line}  {case.title}")
    return 2 if suite.errors else 0


def _new(args):
    path, line = scaffold(args.id, args.section, args.dir, args.title)
    print(f"added case {args.id!r} at {path}:{line}")
    return 0


def _import(args):
    drafts, count = import_file(args.file, args.section)
    if not args.out_dir:
        print("\n---\n".join(drafts.values()))
    else:
        for section, text in drafts.items():
            path = Path(args.out_dir) / f"{section}-imported.yaml"
            results.write_atomically(path, text)
            print(f"wrote {path}")
    print(f"# {count} cells drafted into {len(drafts)} section files", file=sys.stderr)
    return 0


def _report(args):
    paths = []
    for name in args.results_files:
        path = Path(name)
        paths += sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not paths:
        raise FileNotFoundError(f"no results files in {', '.join(args.results_files)}")
    runs = [results.load(path) for path in paths]
    if len(runs) > 1:  # unnamed runs are told apart by their file names
        for run, path in zip(runs, paths):
            run.environment.setdefault("env", path.stem)
    results.write_atomically(args.output, html_report.render(runs))
    print(f"wrote {args.output}")
    return 0


def _fuzz(args):
    from . import fuzz  # needs hypothesis, which only this command does

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    bar = Progress(args.max_examples)
    report = fuzz.fuzz(args.max_examples, seed, fuzz.known_signatures(args.regressions),
                       args.time_limit or fuzz.TIME_LIMIT,
                       on_example=lambda r: bar.advance(f"{len(r.findings)} findings"))
    if args.save:
        for finding in report.findings:
            fuzz.save_finding(finding, args.save)
    print(fuzz.format_report(report))
    if report.errors.get("harness") or report.errors.get("sandbox"):
        return 2
    return 1 if report.findings else 0


COMMANDS = {"run": _run, "check": _check, "list": _list, "new": _new, "import": _import, "report": _report,
            "fuzz": _fuzz}


if __name__ == "__main__":
    sys.exit(main())
