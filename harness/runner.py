"""Runner: each case on torch and on the implementation under test, compared into a verdict."""

import traceback
from dataclasses import dataclass, field

from .backends import BackendUnavailable, load_backend
from .cases import Case
from .compare import Divergence, Options, compare_traces, normalize_devices
from .expectations import document_check, failed_claims
from .given import check_examples
from .gradcheck import settles, third_opinion
from .isolation import IsolatedRunFailed, needs_isolation, run_trace_isolated
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
DEVICE_DIFFERENCE = "device_difference"  # differs, and is listed as differing only for being on a GPU
REFERENCE_MORE_ACCURATE = "reference_more_accurate"  # differs only in grads, which finite differences find it has right

VERDICTS = (AGREE, DIVERGE, KNOWN, PENDING, DEVICE_DIFFERENCE, REFERENCE_MORE_ACCURATE, NOW_AGREEING, SPEC_ERROR,
            ERROR, SKIPPED)
LABELS = {AGREE: "agree", DIVERGE: "diverge", KNOWN: "known divergence", PENDING: "not yet agreeing",
          DEVICE_DIFFERENCE: "device difference", REFERENCE_MORE_ACCURATE: "reference more accurate",
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
    device_difference: str | None = None  # the reason, when listed in the device-differences file
    given: dict | None = None  # a `given:` case: its parameters and the example shown (given.check_examples)
    third_opinion: list | None = None  # finite-difference estimates where grads differ (gradcheck.third_opinion)

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
            "device_difference": self.device_difference,
            "given": self.given,
            "third_opinion": self.third_opinion,
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
            data.get("device_difference"),
            data.get("given"),
            data.get("third_opinion"),
        )


class Runner:
    """Runs cases on an expected backend (torch) and an actual one (the implementation).

    ``pending`` holds the ids of cases known not to agree yet (the ratchet list). Expected
    traces are kept, so running many implementations against one Runner runs torch once.

    ``expected_device`` and ``actual_device`` (None, "cpu" or "cuda") are each backend's default
    device while a case runs. With the implementation on cuda and torch on the CPU, device
    fields are normalised before comparing (compare.normalize_devices). ``device_differences``
    ({case key: reason}) lists cases that differ only because of the devices: they get the
    DEVICE_DIFFERENCE verdict instead of failing.
    """

    def __init__(self, expected="torch", actual="reference_impl", pending=(), time_limit=DEFAULT_TIME_LIMIT,
                 expected_device=None, actual_device=None, device_differences=None):
        self.expected_name = expected
        self.actual_name = actual
        self.pending = frozenset(pending)
        self.time_limit = time_limit
        self.expected_device = None if expected_device == "cpu" else expected_device
        self.actual_device = None if actual_device == "cpu" else actual_device
        self.device_differences = dict(device_differences or {})
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

    def backend_module(self, name):
        """The module of a backend loaded so far, or None."""
        backend = self._backends.get(name)
        return None if backend is None or isinstance(backend, BackendUnavailable) else backend.module

    def versions(self):
        """Versions of the backends that could be loaded so far, by module name."""
        return {name: backend.version for name, backend in self._backends.items()
                if not isinstance(backend, BackendUnavailable)}

    @property
    def normalizes_devices(self):
        """True when the implementation runs on cuda and torch on the CPU."""
        return self.actual_device == "cuda" and self.expected_device is None

    def run(self, case):
        """One CaseResult per device the case asks for."""
        return [self.run_case(case, device) for device in case.devices]

    def run_case(self, case, device="cpu"):
        """A CaseResult; problems with the case or a backend become an ERROR verdict.

        A case with ``given:`` parameters runs over drawn examples (given.check_examples): its
        result is the failing example's, shrunk, if any example diverges or breaks a claim.
        """
        if case.given:
            try:
                return check_examples(case, lambda example: self.run_case(example, device),
                                      lambda result: result.verdict in (DIVERGE, SPEC_ERROR))
            except CaseCodeError as error:
                return CaseResult(case, ERROR, device, error=str(error))
        traces = {}
        try:
            backends = {"expected": self._backend(self.expected_name), "actual": self._backend(self.actual_name)}
            for role, default in (("expected", self.expected_device), ("actual", self.actual_device)):
                if default and not backends[role].supports(default):
                    return CaseResult(case, ERROR, device, error=f"{backends[role].name} has no {default} device "
                                      f"to run on by default{_cuda_hint(backends[role])}")
            missing = [b.name for b in backends.values() if not b.supports(device)]
            if missing:
                return CaseResult(case, SKIPPED, device, error=f"{device} is not available to {', '.join(missing)}")
            key = (case.id, case.code, case.seed, device, self.expected_device)
            if key not in self._expected_traces:
                self._expected_traces[key] = self._trace(case, backends["expected"], device, self.expected_device)
            traces["expected"] = self._expected_traces[key]
            traces["actual"] = self._trace(case, backends["actual"], device, self.actual_device)
            return self._judge(case, device, traces)
        except (CaseCodeError, CaseTimeout, BackendUnavailable, IsolatedRunFailed) as error:
            return CaseResult(case, ERROR, device, traces=traces, error=str(error))
        except Exception:  # a harness bug must be reported without stopping other cases
            return CaseResult(case, ERROR, device, traces=traces, error="harness error:\n" + traceback.format_exc())

    def _trace(self, case, backend, device, default_device):
        """The case's run on ``backend``; in a child process where it could break this one (isolation.py)."""
        if needs_isolation(case, device, default_device):
            return run_trace_isolated(case, backend.name, device, self.time_limit, default_device)
        return run_trace(case, backend, device, self.time_limit, default_device)

    def _judge(self, case, device, traces):
        spec_errors = failed_claims(case.expect, traces["expected"], case.tolerance)  # on torch as it ran
        if self.normalizes_devices:
            traces = {role: normalize_devices(trace) for role, trace in traces.items()}
        divergences = compare_traces(traces["expected"], traces["actual"], Options.for_case(case))
        broken_claims = [claim for claim in failed_claims(case.expect, traces["actual"], case.tolerance)
                         if claim not in spec_errors]
        if broken_claims:
            last = traces["actual"].steps[-1]
            divergences += [Divergence("expect", last.index, last.line, last.source, None, None, None, claim)
                            for claim in broken_claims]
        result = CaseResult(case, AGREE, device, divergences, traces, spec_errors=spec_errors,
                            document=document_check(case.doc_output, traces) if case.doc_output else None)
        result.device_difference = self.device_differences.get(result.key)
        result.verdict = self._verdict(case, result)
        if any(d.kind == "grad" for d in result.divergences):
            result.third_opinion = third_opinion(case, result, self._backend(self.expected_name), self.time_limit)
            if result.verdict == DIVERGE and settles(result):
                result.verdict = REFERENCE_MORE_ACCURATE
        return result

    def _verdict(self, case, result):
        listed = result.key in self.pending
        if result.device_difference is not None:  # claims about torch on the CPU may fail on a GPU too
            return DEVICE_DIFFERENCE if result.spec_errors or result.divergences else NOW_AGREEING
        if result.spec_errors:
            return SPEC_ERROR
        if not result.divergences:
            return NOW_AGREEING if listed or case.known_divergence else AGREE
        if case.known_divergence and {d.kind for d in result.divergences} <= set(case.known_divergence["what"]):
            return KNOWN
        return PENDING if listed else DIVERGE


def _cuda_hint(backend):
    return " (set REFERENCE_IMPL_CUDA=emulate, or cupy on a GPU)" if backend.name == "reference_impl" else ""
