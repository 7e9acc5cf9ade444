"""Terminal output: a line per case, the details of what failed, and the totals."""

import sys

from .devices import summary as device_summary
from .runner import (
    AGREE,
    DEVICE_DIFFERENCE,
    DIVERGE,
    ERROR,
    FAILING,
    KNOWN,
    LABELS,
    NOW_AGREEING,
    PENDING,
    REFERENCE_MORE_ACCURATE,
    SKIPPED,
    SPEC_ERROR,
    VERDICTS,
)

MARKS = {AGREE: "ok  ", DIVERGE: "DIFF", KNOWN: "known", PENDING: "todo", DEVICE_DIFFERENCE: "dev ",
         REFERENCE_MORE_ACCURATE: "ref+", NOW_AGREEING: "NOW ", SPEC_ERROR: "SPEC", ERROR: "ERR ", SKIPPED: "skip"}
COLORS = {AGREE: "32", DIVERGE: "31", KNOWN: "36", PENDING: "33", DEVICE_DIFFERENCE: "36",
          REFERENCE_MORE_ACCURATE: "36", NOW_AGREEING: "35", SPEC_ERROR: "31", ERROR: "31;1", SKIPPED: "37"}
_SHOWN = {"failing": "failing example, shrunk", "unrunnable": "example that could not run",
          "diverging": "first example with divergences", "first": "first example"}


def _paint(text, verdict, color):
    return f"\033[{COLORS[verdict]}m{text}\033[0m" if color else text


def format_divergences(result, expected_label="torch", actual_label="impl"):
    """A readable table of one case's divergences, first statement first."""
    lines = []
    for d in result.divergences:
        lines.append(f"  [{d.kind}] {result.case.file}:{d.line}: {d.statement.splitlines()[0]}")
        lines.append(f"      {d.detail}")
        if d.kind == "output" and isinstance(d.expected, str) and isinstance(d.actual, str):
            lines.append(_side_by_side(d.expected, d.actual, (expected_label, actual_label)))
        elif d.kind not in ("sharing", "identity", "expect"):
            lines.append(f"      {expected_label:>14}: {_short(d.expected)}")
            lines.append(f"      {actual_label:>14}: {_short(d.actual)}")
    return "\n".join(lines)


def format_given(result):
    """For a ``given:`` case: the example the result shows, with its values."""
    given = result.given
    values = "; ".join(f"{name} = {value}" for name, value in given["example"].items())
    return (f"      given: {_SHOWN[given['shown']]} ({given['ran']} examples ran, at most {given['examples']} "
            f"drawn): {values}")


def format_third_opinion(result, expected_label="torch", actual_label="impl"):
    """Where grads differ: which side float64 central differences find closer, or why there is no estimate."""
    labels = {"expected": expected_label, "actual": actual_label}
    lines = []
    for entry in result.third_opinion or ():
        head = f"  [third opinion] {entry['variable']}.grad at line {entry['line']}"
        if entry["reason"]:
            lines.append(f"{head}: no estimate: {entry['reason']}")
            continue
        sides = ", ".join(f"{labels[role]} {'within tolerance' if entry[f'{role}_within'] else 'off'} "
                          f"(max error {entry[f'{role}_error']:.3g})" for role in ("expected", "actual"))
        lines.append(f"{head}, by float64 central differences: {labels[entry['closer']]} is closer; {sides}")
    return "\n".join(lines)


def format_problems(result, expected_label="torch", actual_label="impl"):
    """What a non-agreeing result needs the reader to see (for a ``given:`` case, after its example)."""
    problems = _problems(result, expected_label, actual_label)
    if result.given is None:
        return problems
    return format_given(result) + (f"\n{problems}" if problems else "")


def _problems(result, expected_label, actual_label):
    if result.verdict in (ERROR, SKIPPED):
        return "      " + (result.error or "").replace("\n", "\n      ")
    if result.verdict == SPEC_ERROR:
        return "\n".join(f"  [spec error] {claim}" for claim in result.spec_errors)
    if result.verdict == NOW_AGREEING:
        if result.device_difference is not None:
            return "      agrees now: remove it from the device-differences file (or narrow its pairing)"
        known = result.case.known_divergence
        return ("      agrees now: remove its known_divergence" if known
                else "      agrees now: remove it from the not-yet-agreeing list")
    details = "\n".join(part for part in (format_divergences(result, expected_label, actual_label),
                                          format_third_opinion(result, expected_label, actual_label)) if part)
    if result.verdict == DEVICE_DIFFERENCE:
        claims = "".join(f"\n  [claim on torch] {claim}" for claim in result.spec_errors)
        return f"      device difference: {result.device_difference}{claims}" + (f"\n{details}" if details else "")
    return details


def _short(value, limit=160):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_run(run, color=False, verbose=False):
    """The whole terminal report for a RunResults.

    Failing results show their details; pending and known ones only with ``verbose``.
    """
    expected, actual = run.backends["expected"], run.backends["actual"]
    lines = [f"{expected} (expected) vs {actual} (under test)"]
    devices = run.environment.get("devices")
    if devices:
        lines.append(f"devices: {device_summary(devices)}")
        if devices.get("host_fallbacks"):
            fallbacks = list(devices["host_fallbacks"].items())
            shown = ", ".join(f"{name} {count}" for name, count in fallbacks[:12])
            more = f", … {len(fallbacks) - 12} more" if len(fallbacks) > 12 else ""
            lines.append(f"host fallbacks (numpy functions run on the host, no kernel yet): {shown}{more}")
    lines.append("")
    for error in run.load_errors:
        lines.append(f"{_paint(MARKS[ERROR], ERROR, color)} {error}")
    for result in run.results:
        case = result.case
        drift = "  (document drift)" if result.drifted else ""
        examples = f"  ({result.given['ran']} examples)" if result.given else ""
        lines.append(f"{_paint(MARKS[result.verdict], result.verdict, color):<5} {result.key:<44} "
                     f"{case.file}:{case.line}{examples}{drift}")
        if result.verdict in FAILING or result.verdict == ERROR or (verbose and result.verdict != AGREE):
            lines.append(format_problems(result, expected, actual))
    lines += ["", section_table(run)]
    counts = run.counts()
    summary = ", ".join(f"{counts[v]} {LABELS[v]}" for v in VERDICTS if counts.get(v))
    drifted = sum(1 for r in run.results if r.drifted)
    lines += ["", f"{len(run.results)} results: {summary or 'nothing ran'}; {drifted} with document drift; "
                  f"{len(run.load_errors)} file errors"]
    if run.environment.get("interrupted"):
        lines.append(f"INTERRUPTED ({run.environment['interrupted']}): the remaining cases did not run")
    return "\n".join(lines)


def section_table(run):
    """Verdict counts per document section, one row each."""
    columns = [v for v in VERDICTS if run.counts().get(v)]
    sections = {}
    for result in run.results:
        row = sections.setdefault(result.case.section, {})
        row[result.verdict] = row.get(result.verdict, 0) + 1
    header = f"{'section':<10}" + "".join(f"{LABELS[v]:>18}" for v in columns)
    rows = [header, "-" * len(header)]
    for section in sorted(sections, key=lambda s: [int(p) if p.isdigit() else p for p in s.split(".")]):
        rows.append(f"{section:<10}" + "".join(f"{sections[section].get(v, 0) or '':>18}" for v in columns))
    return "\n".join(rows)


def _side_by_side(expected, actual, labels, width=60):
    """Printed output of both backends in two columns, differing lines marked with ``!``."""
    left, right = expected.splitlines(), actual.splitlines()
    rows = [f"        {labels[0][:width]:<{width}} | {labels[1][:width]}"]
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else ""
        b = right[index] if index < len(right) else ""
        mark = " " if a == b else "!"
        rows.append(f"      {mark} {a[:width]:<{width}} | {b[:width]}")
    return "\n".join(rows)


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total, enabled=None):
        self.total = total
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def advance(self, label):
        self.done += 1
        if self.enabled and self.total:
            filled = int(30 * self.done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {self.done}/{self.total} {label[:40]:<40}")
            if self.done == self.total:
                sys.stderr.write("\r" + " " * 90 + "\r")
            sys.stderr.flush()
