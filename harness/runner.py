"""Runner: each case on torch and on the implementation under test, compared into a verdict."""

import traceback
from dataclasses import dataclass, field

from .backends import BackendUnavailable, load_backend
from .cases import Case
from .compare import Divergence, Options, compare_traces
from .expectations import document_check, failed_claims
from .sandbox import CaseCodeError
from .trace import DEFAULT_TIME_LIMIT, CaseTimeout, Trace, run_trace

AGREE = "agree"
DIVERGE = "diverge"
KNOWN = "known"  # diverges only as its known_divergence says
PENDING = "pending"  # listed as not yet agreeing (the ratchet) and still diverging
NOW_AGREEING = "now_agreeing"  # a known or pending case that agrees: update the YAML or the list
SPEC_ERROR = "spec_error"  # the case's own claims fail on torch
ERROR = "error"  # the case could not be run: bad code, timeout, missing backend, harness bug
SKIPPED = "skipped"  # the device is not available here

VERDICTS = (AGREE, DIVERGE, KNOWN, PENDING, NOW_AGREEING, SPEC_ERROR, ERROR, SKIPPED)
LABELS = {AGREE: "agree", DIVERGE: "diverge", KNOWN: "known divergence", PENDING: "not yet agreeing",
          NOW_AGREEING: "now agreeing", SPEC_ERROR: "spec error", ERROR: "harness error", SKIPPED: "skipped"}
FAILING = (DIVERGE, NOW_AGREEING, SPEC_ERROR)  # verdicts that fail a test run


@dataclass
class CaseResult:
    """The verdict for one case on one device, with everything needed to explain it later."""

    case: Case
    verdict: str
    device: str = "cpu"
    divergences: list = field(default_factory=list)
    traces: dict = field(default_factory=dict)  # "expected"/"actual" -> Trace
    error: str | None = None  # why the case could not be run (ERROR, SKIPPED)
    spec_errors: list = field(default_factory=list)  # claims that fail on torch
    document: dict | None = None  # doc_output check: {"mode", "text", "matches": {role: bool}}

    @property
    def key(self):
        """The case id, with the device appended when it is not the CPU."""
        return self.case.id if self.device == "cpu" else f"{self.case.id}[{self.device}]"

    @property
    def drifted(self):
        """True when torch no longer prints what the document shows."""
        return bool(self.document) and not self.document["matches"].get("expected", True)

    def to_dict(self):
        return {
            "case": self.case.to_dict(),
            "verdict": self.verdict,
            "device": self.device,
            "divergences": [d.to_dict() for d in self.divergences],
            "traces": {role: trace.to_dict() for role, trace in self.traces.items()},
            "error": self.error,
            "spec_errors": self.spec_errors,
            "document": self.document,
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            Case.from_dict(data["case"]),
            data["verdict"],
            data["device"],
            [Divergence.from_dict(d) for d in data["divergences"]],
            {role: Trace.from_dict(t) for role, t in data["traces"].items()},
            data["error"],
            data["spec_errors"],
            data["document"],
        )


class Runner:
    """Runs cases on an expected backend (torch) and an actual one (the implementation).

    ``pending`` holds the ids of cases known not to agree yet (the ratchet list). Expected
    traces are kept, so running many implementations against one Runner runs torch once.
    """

    def __init__(self, expected="torch", actual="reference_impl", pending=(), time_limit=DEFAULT_TIME_LIMIT):
        self.expected_name = expected
        self.actual_name = actual
        self.pending = frozenset(pending)
        self.time_limit = time_limit
        self._backends = {}
        self._expected_traces = {}

    def _backend(self, name):
        if name not in self._backends:
            try:
                self._backends[name] = load_backend(name)
            except BackendUnavailable as error:
                self._backends[name] = error
        backend = self._backends[name]
        if isinstance(backend, BackendUnavailable):
            raise backend
        return backend

    def versions(self):
        """Versions of the backends that could be loaded so far, by module name."""
        return {name: backend.version for name, backend in self._backends.items()
                if not isinstance(backend, BackendUnavailable)}

    def run(self, case):
        """One CaseResult per device the case asks for."""
        return [self.run_case(case, device) for device in case.devices]

    def run_case(self, case, device="cpu"):
        """A CaseResult; problems with the case or a backend become an ERROR verdict."""
        traces = {}
        try:
            backends = {"expected": self._backend(self.expected_name), "actual": self._backend(self.actual_name)}
            missing = [b.name for b in backends.values() if not b.supports(device)]
            if missing:
                return CaseResult(case, SKIPPED, device, error=f"{device} is not available to {', '.join(missing)}")
            key = (case.id, case.code, case.seed, device)
            if key not in self._expected_traces:
                self._expected_traces[key] = run_trace(case, backends["expected"], device, self.time_limit)
            traces["expected"] = self._expected_traces[key]
            traces["actual"] = run_trace(case, backends["actual"], device, self.time_limit)
            return self._judge(case, device, traces)
        except (CaseCodeError, CaseTimeout, BackendUnavailable) as error:
            return CaseResult(case, ERROR, device, traces=traces, error=str(error))
        except Exception:  # a harness bug must be reported without stopping other cases
            return CaseResult(case, ERROR, device, traces=traces, error="harness error:\n" + traceback.format_exc())

    def _judge(self, case, device, traces):
        divergences = compare_traces(traces["expected"], traces["actual"], Options.for_case(case))
        spec_errors = failed_claims(case.expect, traces["expected"], case.tolerance)
        broken_claims = [claim for claim in failed_claims(case.expect, traces["actual"], case.tolerance)
                         if claim not in spec_errors]
        if broken_claims:
            last = traces["actual"].steps[-1]
            divergences += [Divergence("expect", last.index, last.line, last.source, None, None, None, claim)
                            for claim in broken_claims]
        result = CaseResult(case, AGREE, device, divergences, traces, spec_errors=spec_errors,
                            document=document_check(case.doc_output, traces) if case.doc_output else None)
        result.verdict = self._verdict(case, result)
        return result

    def _verdict(self, case, result):
        listed = result.key in self.pending
        if result.spec_errors:
            return SPEC_ERROR
        if not result.divergences:
            return NOW_AGREEING if listed or case.known_divergence else AGREE
        if case.known_divergence and {d.kind for d in result.divergences} <= set(case.known_divergence["what"]):
            return KNOWN
        return PENDING if listed else DIVERGE
