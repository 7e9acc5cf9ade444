"""Trace: one backend's run of one case, snapshotted after every top-level statement."""

import ast
import contextlib
import io
import signal
import threading
import types
import warnings
from dataclasses import dataclass, field, fields

import numpy as np

from .observe import Observer, TooLarge, identity_pairs, memory_pairs, normalize_text
from .sandbox import CaseCodeError, Guard, check

DEFAULT_TIME_LIMIT = 10.0  # seconds per case and backend
MAX_OUTPUT_CHARS = 1_000_000  # printed text kept per statement; a case printing more is refused
_RETRY_INTERVAL = 0.05  # seconds between further interrupts once the time limit has passed


@dataclass
class Step:
    """The state after one statement: what it printed, warned or raised, and every variable."""

    index: int
    line: int  # line in the YAML file
    source: str
    stdout: str = ""
    warnings: list = field(default_factory=list)
    error: dict | None = None
    variables: dict = field(default_factory=dict)
    sharing: list = field(default_factory=list)
    identity: list = field(default_factory=list)


@dataclass
class Trace:
    """All steps of a case on one backend; the run stops at the first statement that raises."""

    backend: str
    version: str
    device: str = "cpu"  # the case's device: what the name ``device`` is bound to
    steps: list = field(default_factory=list)
    default_device: str | None = None  # the backend's default device for the run, when set (cuda)
    normalized: list = field(default_factory=list)  # device fields rewritten by compare.normalize_devices

    def to_dict(self):
        """Plain data, sharing the steps' observations (already plain data): a deep copy of
        every snapshot would cost more than running the case."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["steps"] = [{f.name: getattr(step, f.name) for f in fields(step)} for step in self.steps]
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(data["backend"], data["version"], data["device"], [Step(**step) for step in data["steps"]],
                   data.get("default_device"), data.get("normalized", []))

    def final_error(self):
        return self.steps[-1].error if self.steps else None

    def stdout(self):
        return "".join(step.stdout for step in self.steps)


class CaseTimeout(BaseException):
    """A case ran past its time limit on one backend.

    A BaseException, so that ``except Exception`` in case code cannot swallow it (the sandbox
    refuses bare ``except:`` and the name BaseException).
    """


def split_statements(case):
    """The case's top-level statements as (yaml line, source text, AST node), after the safety check."""
    module = check(case)
    return [(case.code_line + node.lineno - 1, ast.get_source_segment(case.code, node), node)
            for node in module.body]


def run_trace(case, backend, device="cpu", time_limit=DEFAULT_TIME_LIMIT, default_device=None):
    """Run ``case`` on ``backend`` and observe it after every statement.

    ``default_device`` (e.g. "cuda") is made the backend's default device for the run, where
    factories put tensors that are not given a ``device=``; the previous default is restored.
    Raises CaseCodeError for code outside the allowed subset (found before it runs, or by the
    sandbox's guard while it runs) or tensors above the size cap, and CaseTimeout when the time
    limit passes.
    """
    guard = Guard(case, backend)
    statements = [(line, source, *guard.compile(node)) for line, source, node in split_statements(case)]
    observer = Observer(backend)
    namespace = {"__builtins__": guard.builtins(observer.object_id),
                 "torch": backend.module, "np": np, "device": device}
    trace = Trace(backend.name, backend.version, device, default_device=default_device)
    backend.seed(case.seed)
    try:
        with backend_state_restored(backend), default_device_set(backend, default_device), \
                _time_limit(time_limit, case, guard.sources):
            for index, (line, source, code, is_expression) in enumerate(statements):
                step = Step(index, line, source)
                trace.steps.append(step)
                _execute(code, is_expression, namespace, step, guard)
                try:
                    _snapshot(namespace, observer, step)
                except TooLarge as error:
                    raise CaseCodeError(f"{case.file}:{line}: {error}") from None
                except Exception:
                    if step.error is None:
                        raise
                    # The statement's error left the backend unable to read its tensors (a device-side
                    # assert breaks torch's CUDA context): that error is the observation, with no snapshot.
                guard.raise_refusal()  # the observer may have run the case's own functions
                if step.error is not None:
                    break
    except CaseTimeout:
        guard.raise_refusal()  # a refusal the case caught, then looped on, is the finding
        raise
    return trace


# Global settings a case may change, as (getter, setter) names on the backend module: put back once it ends.
_BACKEND_SETTINGS = (("get_default_dtype", "set_default_dtype"), ("is_grad_enabled", "set_grad_enabled"),
                     ("is_anomaly_enabled", "set_anomaly_enabled"),
                     ("are_deterministic_algorithms_enabled", "use_deterministic_algorithms"))


@contextlib.contextmanager
def backend_state_restored(backend):
    """Undo global settings a case may change (default dtype, grad mode, print options, numpy's
    print options and floating-point error handling) once it ends.

    torch's warn-once warnings are made to warn every time meanwhile, so that each case
    sees what a fresh interpreter would, whatever ran before it in this process.
    """
    module = backend.module
    settings = [(getattr(module, getter), getattr(module, setter)) for getter, setter in _BACKEND_SETTINGS
                if hasattr(module, getter) and hasattr(module, setter)]
    values = [get() for get, _ in settings]
    numpy_print_options, numpy_errors = np.get_printoptions(), np.geterr()
    warn_always = getattr(getattr(module, "_C", None), "_set_warnAlways", None)
    if warn_always:
        previous_warn_always = module._C._get_warnAlways()
        warn_always(True)
    try:
        yield
    finally:
        if warn_always:
            warn_always(previous_warn_always)
        for (get, set_), value in zip(settings, values):
            if get() != value:  # only when changed: torch's setters can be slow (deterministic mode imports inductor)
                set_(value)
        if hasattr(module, "set_printoptions"):
            module.set_printoptions(profile="default")
        np.set_printoptions(**numpy_print_options)
        np.seterr(**numpy_errors)


@contextlib.contextmanager
def default_device_set(backend, device):
    """Make ``device`` the backend's default device meanwhile (nothing when it is None)."""
    if device is None:
        yield
        return
    module = backend.module
    previous = module.get_default_device()
    module.set_default_device(device)
    try:
        yield
    finally:  # None, not device('cpu'): torch then drops its device mode altogether
        module.set_default_device(None if str(previous) == "cpu" else previous)


@contextlib.contextmanager
def _time_limit(seconds, case, case_sources):
    """Interrupt the case after ``seconds`` (only possible on the main thread, via SIGALRM).

    Once the limit has passed, the interrupt comes back every _RETRY_INTERVAL while code from
    ``case_sources`` runs (the case's own, and the sandbox's on its behalf), so that a
    ``finally:`` or a handler that goes on looping is stopped too, and so is a case whose first
    interrupt was swallowed (by a finalizer it landed in, say); the rest of the harness is not
    interrupted again. A case that got past its limit ends with CaseTimeout all the same.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    message = f"{case.file}:{case.line}: case {case.id!r} ran past its {seconds:g} s time limit"
    expired = False

    def interrupt(signum, frame):
        nonlocal expired
        if expired and (frame is None or frame.f_code.co_filename not in case_sources):
            return
        expired = True
        raise CaseTimeout(message)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, _RETRY_INTERVAL)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired:
        raise CaseTimeout(message)


class _CappedOutput(io.StringIO):
    """What a statement prints, refused past MAX_OUTPUT_CHARS (a printing loop must not fill memory)."""

    def __init__(self, guard, line):
        super().__init__()
        self.guard, self.line = guard, line
        self.size = 0

    def write(self, text):
        self.size += len(text)
        if self.size > MAX_OUTPUT_CHARS:
            self.guard.refuse(f"the case printed more than {MAX_OUTPUT_CHARS} characters in one statement", self.line)
        return super().write(text)


def _execute(code, is_expression, namespace, step, guard):
    stdout = _CappedOutput(guard, step.line - guard.case.code_line + 1)
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(stdout):
        warnings.simplefilter("always")
        try:
            if is_expression:  # echo the value, as a notebook cell does
                value = eval(code, namespace)
                if value is not None:
                    print(repr(value))
            else:
                exec(code, namespace)
        except CaseCodeError as error:
            raise guard.refusal or error from None
        except (Exception, SystemExit, GeneratorExit) as error:  # the case's own exception is an observation
            step.error = {"type": type(error).__name__, "message": normalize_text(str(error))}
    guard.raise_refusal()
    step.stdout = normalize_text(stdout.getvalue())
    step.warnings = [{"category": w.category.__name__, "message": normalize_text(str(w.message))}
                     for w in caught]


def _snapshot(namespace, observer, step):
    names = [name for name, value in namespace.items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "device"]
    step.variables = {name: observer.observe(namespace[name]) for name in sorted(names)}
    step.sharing = memory_pairs(step.variables)
    step.identity = identity_pairs(namespace, names)


