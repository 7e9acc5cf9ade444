"""Runner: each case on torch and on the implementation under test, compared into a verdict."""

import traceback
from dataclasses import dataclass, field

from .backends import BackendUnavailable, load_backend
from .cases import Case
from .compare import Divergence, compare_traces
from .sandbox import CaseCodeError
from .trace import CaseTimeout, Trace, run_trace

AGREE, DIVERGE, ERROR = "agree", "diverge", "error"


@dataclass
class CaseResult:
    """The verdict for one case, with everything needed to explain it later."""

    case: Case
    verdict: str
    divergences: list = field(default_factory=list)
    traces: dict = field(default_factory=dict)  # "expected"/"actual" -> Trace
    error: str | None = None  # why the case could not be run, for the ERROR verdict

    def to_dict(self):
        return {
            "case": self.case.to_dict(),
            "verdict": self.verdict,
            "divergences": [d.to_dict() for d in self.divergences],
            "traces": {role: trace.to_dict() for role, trace in self.traces.items()},
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            Case.from_dict(data["case"]),
            data["verdict"],
            [Divergence.from_dict(d) for d in data["divergences"]],
            {role: Trace.from_dict(t) for role, t in data["traces"].items()},
            data.get("error"),
        )


class Runner:
    """Runs cases on an expected backend (torch) and an actual one (the implementation)."""

    def __init__(self, expected="torch", actual="reference_impl"):
        self.expected_name = expected
        self.actual_name = actual
        self._backends = {}

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

    def run_case(self, case):
        """A CaseResult; problems with the case or a backend become an ERROR verdict."""
        traces = {}
        try:
            for role, name in (("expected", self.expected_name), ("actual", self.actual_name)):
                traces[role] = run_trace(case, self._backend(name))
            divergences = compare_traces(traces["expected"], traces["actual"])
        except (CaseCodeError, CaseTimeout, BackendUnavailable) as error:
            return CaseResult(case, ERROR, traces=traces, error=str(error))
        except Exception:  # a harness bug must be reported without stopping other cases
            return CaseResult(case, ERROR, traces=traces, error="harness error:\n" + traceback.format_exc())
        return CaseResult(case, DIVERGE if divergences else AGREE, divergences, traces)

    def versions(self):
        """Versions of the backends that could be loaded so far, by module name."""
        return {name: backend.version for name, backend in self._backends.items()
                if not isinstance(backend, BackendUnavailable)}
