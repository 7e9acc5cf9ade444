"""Differential fuzzing: random programs run on torch and on the implementation, findings shrunk into cases.

A program drawn by ``fuzz_programs.programs()`` becomes an in-memory Case and goes through
``Runner.run_case``: the same sandbox, observations, tolerances, comparator and divergence
kinds as every spec case. A hypothesis property (``@given``) fails on a real divergence, so
hypothesis shrinks the program to a minimal one; then each statement the divergence does not
need is dropped. The finding can be written out as a ready YAML case (``save_finding``).

What counts as a divergence, and what does not:

- Divergences of the kinds in IGNORED_KINDS are dropped: where torch raises, the
  implementation must raise the same exception *type*; messages may legitimately differ
  (the case format has no per-case switch for this, so the filter lives here).
- ERROR verdicts (code the sandbox refuses, the time limit, the size cap, a harness bug)
  are counted by reason and never fail the property.
- A finding is named by its *signature*, ``kind@op``: the most telling divergence kind at the
  first divergent statement and the operation that statement exercises (``value@cumsum``).
  While one finding shrinks, only programs with its signature count as failing, so the
  shrunk program shows the same problem. Once found, a signature is not reported again in
  the run; signatures of saved regression cases declared as known divergences are known
  from the start (``known_signatures``).

``fuzz()`` runs rounds of the property, each with its own hypothesis seed, until the example
budget is spent; every round that fails adds one finding.
"""

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky

from .cases import Case, load_file
from .fuzz_programs import AREAS, Program, programs, with_statements
from .runner import AGREE, DIVERGE, ERROR, KNOWN, Runner
from .yaml_source import SourceError

IGNORED_KINDS = frozenset({"error-message"})
NUMERIC_KINDS = frozenset({"value", "grad"})  # declared known in a saved case, they stay findings elsewhere
TIME_LIMIT = 5.0  # seconds per program and backend; fuzz programs are a few small statements
FUZZ_TAG = "fuzz"
SIGNATURE_TAG = "fuzz:"  # a saved case's tag "fuzz:value@cumsum" records its finding's signature

# Which kind names a finding when its first divergent statement shows several: the most telling first.
KIND_PRIORITY = ("error-type", "error", "shape", "dtype", "value", "grad", "layout", "sharing", "identity",
                 "autograd", "grad_fn", "version", "type", "variable", "warning", "output", "device", "expect")

# The document section a saved finding goes under, by the area of its divergent statement.
AREA_SECTIONS = {"create": "2.2.1", "elementwise": "2.2.3", "view": "2.2.2", "inplace": "2.2.4",
                 "reduce": "2.2.2", "index": "2.2.2", "setitem": "2.2.2", "numpy": "2.2.5", "autograd": "2.3.2"}


@dataclass(frozen=True)
class Outcome:
    """How one program fared: its verdict once ignored kinds are dropped, and its signature."""

    verdict: str  # AGREE, DIVERGE, KNOWN (a known signature) or ERROR
    divergences: tuple = ()
    signature: str | None = None
    error: str | None = None
    area: str | None = None  # the area of the first divergent statement


@dataclass
class Finding:
    """A divergence hypothesis shrank: the minimal program, what it shows, and how it was found."""

    signature: str
    program: Program
    divergences: tuple
    seed: int  # the run's seed: hypothesis was seeded from it, and the backends with it
    area: str
    saved_to: Path | None = None

    @property
    def kind(self):
        return self.signature.split("@", 1)[0]

    @property
    def op(self):
        return self.signature.split("@", 1)[1]


@dataclass
class FuzzReport:
    """What a fuzz run did: examples generated, programs run (shrinking included), findings, errors."""

    seed: int
    examples: int = 0
    programs_run: int = 0
    seconds: float = 0.0
    findings: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # reason -> count, for ERROR verdicts
    error_samples: dict = field(default_factory=dict)  # reason -> the first message
    known_seen: Counter = field(default_factory=Counter)  # known signature -> times seen again


def program_case(program, seed=0, case_id="fuzz-program"):
    """The Case that runs ``program``: code at line 1 of a pseudo-file, seeded with ``seed``."""
    return Case(id=case_id, title="fuzz program", section="2.2", code=program.code, file="<fuzz>", line=1,
                code_line=1, tags=(FUZZ_TAG,), seed=seed)


def error_reason(message):
    """Why a program got the ERROR verdict, in one word, from the harness's own message."""
    if message.startswith("harness error:"):
        return "harness"
    if "time limit" in message:
        return "time limit"
    if "above the cap" in message:
        return "size cap"
    return "sandbox"


def signature_of(divergences, program):
    """``kind@op`` for the first divergent statement of ``program``."""
    first = divergences[0].step
    kinds = {d.kind for d in divergences if d.step == first}
    kind = min(kinds, key=lambda k: KIND_PRIORITY.index(k) if k in KIND_PRIORITY else len(KIND_PRIORITY))
    return f"{kind}@{program.statement_at(first).op}"


def run_program(program, seed=0, known=frozenset(), time_limit=TIME_LIMIT):
    """Run ``program`` on torch and the implementation; returns (Outcome, CaseResult)."""
    result = Runner(time_limit=time_limit).run_case(program_case(program, seed))
    if result.verdict == ERROR:
        return Outcome(ERROR, error=result.error), result
    divergences = tuple(d for d in result.divergences if d.kind not in IGNORED_KINDS)
    if not divergences:
        return Outcome(AGREE), result
    signature = signature_of(divergences, program)
    verdict = KNOWN if signature in known else DIVERGE
    return Outcome(verdict, divergences, signature, area=program.statement_at(divergences[0].step).area), result


class Diverged(Exception):
    """Raised inside the hypothesis property: the program diverges (hypothesis then shrinks it)."""

    def __init__(self, program, outcome):
        super().__init__(f"{outcome.signature}: {outcome.divergences[0].detail}")
        self.program = program
        self.outcome = outcome


class _Round:
    """One run of the property: counts what ran and pins the signature being shrunk."""

    def __init__(self, report, seed, known, time_limit, on_example):
        self.report = report
        self.seed = seed
        self.known = known
        self.time_limit = time_limit
        self.on_example = on_example
        self.target = None  # the signature of the first divergence; shrinking keeps to it
        self.generated = 0

    def check(self, program):
        outcome, _ = run_program(program, self.seed, self.known, self.time_limit)
        self.report.programs_run += 1
        if self.target is None:  # still generating: afterwards hypothesis only shrinks
            self.generated += 1
            self.report.examples += 1
            self._count(outcome)
            self.on_example(self.report)
        if outcome.verdict == DIVERGE and self.target in (None, outcome.signature):
            self.target = outcome.signature
            raise Diverged(program, outcome)

    def _count(self, outcome):
        if outcome.verdict == ERROR:
            reason = error_reason(outcome.error)
            self.report.errors[reason] += 1
            self.report.error_samples.setdefault(reason, outcome.error)
        elif outcome.verdict == KNOWN:
            self.report.known_seen[outcome.signature] += 1


def _property(state, max_examples, hypothesis_seed_value, areas):
    """The differential property for one round. The explicit seed decides the examples;
    derandomize keeps hypothesis off its example database."""

    @hypothesis_seed(hypothesis_seed_value)
    @settings(max_examples=max_examples, database=None, deadline=None, derandomize=True,
              report_multiple_bugs=False, verbosity=Verbosity.quiet, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much, HealthCheck.large_base_example])
    @given(programs(areas=areas))
    def differential(program):
        state.check(program)

    return differential


def trim(program, outcome, seed, known=frozenset(), time_limit=TIME_LIMIT):
    """Drop, last first, each statement whose removal keeps ``outcome``'s signature: hypothesis
    shrinks the choices that build a program, and can leave a statement the divergence does not
    need. Returns the trimmed program and its outcome."""
    statements = list(program.statements)
    for index in reversed(range(len(statements))):
        candidate = with_statements(program, statements[:index] + statements[index + 1:])
        trial, _ = run_program(candidate, seed, known, time_limit)
        if trial.verdict == DIVERGE and trial.signature == outcome.signature:
            statements.pop(index)
            outcome = trial
    return with_statements(program, statements), outcome


def fuzz(max_examples=100, seed=0, known=frozenset(), time_limit=TIME_LIMIT, on_example=lambda report: None,
         areas=AREAS, max_findings=None):
    """Fuzz until ``max_examples`` programs were generated (or ``max_findings`` were found);
    returns a FuzzReport.

    Hypothesis is seeded from ``seed`` (each round its own seed derived from it), so a run is
    reproducible; the backends are seeded with ``seed`` too. ``known`` holds signatures that
    are not findings (see known_signatures). ``on_example(report)`` is called after each
    generated example (the command line's progress bar). ``areas`` limits the programs' steps
    (fuzz_programs.AREAS).
    """
    report = FuzzReport(seed)
    known = set(known)
    started = time.perf_counter()
    round_index = 0
    while report.examples < max_examples and len(report.findings) != max_findings:
        state = _Round(report, seed, frozenset(known), time_limit, on_example)
        round_seed = seed if round_index == 0 else int(hashlib.sha256(f"{seed}:{round_index}".encode()).hexdigest(),
                                                         16) % 2**32
        try:
            _property(state, max_examples - report.examples, round_seed, areas)()
        except Diverged as failure:  # the final replay hypothesis raises is its shrunk example
            program, outcome = trim(failure.program, failure.outcome, seed, frozenset(known), time_limit)
            report.findings.append(Finding(outcome.signature, program, outcome.divergences, seed, outcome.area))
            known.add(outcome.signature)
        except Flaky as error:  # a program that diverged once and then agreed: a nondeterministic backend
            report.errors["flaky"] += 1
            report.error_samples.setdefault("flaky", str(error))
        else:
            break
        if state.generated == 0:
            break  # hypothesis ran nothing new (its budget is spent)
        round_index += 1
    report.seconds = time.perf_counter() - started
    return report


# -- regression cases ---------------------------------------------------------------------------

def known_signatures(directory):
    """Signatures of the saved regression cases under ``directory`` declared as known divergences:
    the finding's kind is among their ``known_divergence.what``. Fixed findings are not known, so
    the fuzzer reports them again should they come back; nor are numeric ones (NUMERIC_KINDS): a
    declared rounding difference belongs to its own program, and ``value@add`` or
    ``grad@backward`` known would hide every value or gradient bug at an add or a backward."""
    known = set()
    directory = Path(directory)
    if not directory.is_dir():
        return known
    for path in sorted(directory.glob("*.yaml")):
        try:
            cases = load_file(path)
        except SourceError:
            continue  # `python -m harness check` reports broken files
        for case in cases:
            for tag in case.tags:
                if tag.startswith(SIGNATURE_TAG) and case.known_divergence:
                    signature = tag[len(SIGNATURE_TAG):]
                    kind = signature.split("@", 1)[0]
                    if kind in case.known_divergence["what"] and kind not in NUMERIC_KINDS:
                        known.add(signature)
    return known


def case_id_for(finding):
    """A stable id (and file name) for a finding: its signature and a hash of its program."""
    digest = hashlib.sha256(f"{finding.seed}\n{finding.program.code}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", f"{finding.kind} {finding.op}".lower()).strip("-")
    return f"fuzz-{slug}-{digest}"


def finding_yaml(finding, known_divergence=None):
    """The YAML text of a ready regression case for ``finding``."""
    case_id = case_id_for(finding)
    first = finding.divergences[0]
    lines = [
        f"# Found by `python -m harness fuzz --seed {finding.seed}`: hypothesis seed {finding.seed}, "
        "the program is its shrunk example.",
        f"# First divergence: [{first.kind}] {_one_line(first.detail)}",
        f"section: \"{AREA_SECTIONS.get(finding.area, '2.2')}\"",
        "title: A divergence found by the fuzzer",
        "cases:",
        f"  - id: {case_id}",
        f"    title: \"fuzz: {finding.kind} divergence at {finding.op}\"",
        f"    tags: [{FUZZ_TAG}, \"{SIGNATURE_TAG}{finding.signature}\"]",
        f"    seed: {finding.seed}",
        "    code: |",
        *(f"      {line}" for line in finding.program.code.splitlines()),
    ]
    if known_divergence:
        lines += ["    known_divergence:",
                  f"      reason: \"{_escape(known_divergence['reason'])}\"",
                  f"      what: [{', '.join(known_divergence['what'])}]"]
    return "\n".join(lines) + "\n"


def _one_line(text):
    return " ".join(str(text).split())


def _escape(text):
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


MESSAGE_REASON = "fuzz programs compare exception types only; this message differs from torch's"


def save_finding(finding, directory, known_divergence=None):
    """Write ``finding`` as ``<directory>/<case id>.yaml``; returns the path.

    If the saved case's only other difference is an error message (which the fuzzer ignores
    and the suite does not), ``error-message`` is declared in its known_divergence, so that the
    case fails exactly while the finding itself does. The file is loaded back to make sure it
    is a valid case file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{case_id_for(finding)}.yaml"
    path.write_text(finding_yaml(finding, known_divergence), encoding="utf-8")
    [case] = load_file(path)
    kinds = {d.kind for d in Runner(time_limit=TIME_LIMIT).run_case(case).divergences}
    if "error-message" in kinds:
        declared = known_divergence or {"reason": MESSAGE_REASON, "what": []}
        if "error-message" not in declared["what"]:
            declared = {"reason": declared["reason"] if known_divergence else MESSAGE_REASON,
                        "what": [*declared["what"], "error-message"]}
            path.write_text(finding_yaml(finding, declared), encoding="utf-8")
            load_file(path)
    finding.saved_to = path
    return path


def format_report(report):
    """The summary the command line prints."""
    lines = [f"fuzz: {report.examples} examples ({report.programs_run} programs run, shrinking included) "
             f"in {report.seconds:.1f} s, seed {report.seed}"]
    errors = sum(report.errors.values())
    detail = ", ".join(f"{reason} {count}" for reason, count in sorted(report.errors.items()))
    lines.append(f"errors skipped: {errors}" + (f" ({detail})" if detail else ""))
    for reason, message in sorted(report.error_samples.items()):
        lines.append(f"  first {reason} error: {message.splitlines()[-1] if message else ''}")
    if report.known_seen:
        seen = ", ".join(f"{signature} {count}" for signature, count in sorted(report.known_seen.items()))
        lines.append(f"known divergences seen again: {seen}")
    lines.append(f"{len(report.findings)} distinct findings" + (":" if report.findings else ""))
    for finding in report.findings:
        where = f" -> {finding.saved_to}" if finding.saved_to else ""
        lines.append(f"  [{finding.signature}]{where}")
        lines += [f"      {line}" for line in finding.program.code.splitlines()]
        for divergence in finding.divergences[:3]:
            lines.append(f"    [{divergence.kind}] line {divergence.line}: {_one_line(divergence.detail)}")
    return "\n".join(lines)
