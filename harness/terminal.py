"""Terminal output: a line per case, the divergences of failing cases, and the totals."""

from .runner import AGREE, DIVERGE, ERROR

MARKS = {AGREE: "ok  ", DIVERGE: "DIFF", ERROR: "ERR "}


def format_divergences(result, expected_label="torch", actual_label=None):
    """A readable table of one case's divergences, first statement first."""
    actual_label = actual_label or "impl"
    lines = []
    for d in result.divergences:
        where = f"{result.case.file}:{d.line}"
        lines.append(f"  [{d.kind}] {where}: {d.statement.splitlines()[0]}")
        lines.append(f"      {d.detail}")
        if d.kind not in ("sharing", "identity"):
            lines.append(f"      {expected_label:>9}: {_short(d.expected)}")
            lines.append(f"      {actual_label:>9}: {_short(d.actual)}")
    return "\n".join(lines)


def _short(value, limit=160):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_run(run):
    """The whole terminal report for a RunResults."""
    expected, actual = run.backends["expected"], run.backends["actual"]
    lines = [f"{expected} (expected) vs {actual} (under test)", ""]
    for error in run.load_errors:
        lines.append(f"{MARKS[ERROR]} {error}")
    for result in run.results:
        case = result.case
        lines.append(f"{MARKS[result.verdict]} {case.id:<40} {case.file}:{case.line}")
        if result.verdict == DIVERGE:
            lines.append(format_divergences(result, expected, actual))
        elif result.verdict == ERROR:
            lines.append("      " + result.error.replace("\n", "\n      "))
    counts = run.counts()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in (AGREE, DIVERGE, ERROR))
    lines += ["", f"{len(run.results)} cases: {summary}; {len(run.load_errors)} file errors"]
    return "\n".join(lines)
