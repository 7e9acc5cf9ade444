"""Trace: one backend's run of one case, snapshotted after every top-level statement."""

import ast
import builtins
import contextlib
import io
import types
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .observe import Observer, identity_pairs, memory_pairs, normalize_text

ALLOWED_IMPORTS = ("torch", "numpy")


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
    steps: list = field(default_factory=list)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(data["backend"], data["version"], [Step(**step) for step in data["steps"]])


class CaseCodeError(Exception):
    """A case's code does not parse or does something cases may not do; names file and line."""


def split_statements(case):
    """The case's top-level statements as (yaml line, source text, AST node).

    Raises CaseCodeError, with the YAML line, for code that does not parse or that
    imports anything but torch and numpy.
    """
    try:
        module = ast.parse(case.code)
    except SyntaxError as error:
        line = case.code_line + (error.lineno or 1) - 1
        raise CaseCodeError(f"{case.file}:{line}: invalid Python: {error.msg}") from None
    for node in ast.walk(module):
        for name in _imported_modules(node):
            if name.partition(".")[0] not in ALLOWED_IMPORTS or name.startswith("torch."):
                line = case.code_line + node.lineno - 1
                raise CaseCodeError(f"{case.file}:{line}: cases may import only torch and numpy, not {name!r}")
    return [(case.code_line + node.lineno - 1, ast.get_source_segment(case.code, node), node)
            for node in module.body]


def run_trace(case, backend):
    """Run ``case`` on ``backend`` and observe it after every statement."""
    observer = Observer(backend)
    namespace = {"__builtins__": _case_builtins(backend, observer), "torch": backend.module, "np": np}
    trace = Trace(backend.name, backend.version)
    backend.seed(case.seed)
    with backend_state_restored(backend):
        for index, (line, source, node) in enumerate(split_statements(case)):
            step = Step(index, line, source)
            trace.steps.append(step)
            _execute(node, namespace, step, case)
            _snapshot(namespace, observer, step)
            if step.error is not None:
                break
    return trace


@contextlib.contextmanager
def backend_state_restored(backend):
    """Undo global settings a case may change (e.g. the default dtype) once it ends."""
    module = backend.module
    get_dtype = getattr(module, "get_default_dtype", None)
    default_dtype = get_dtype() if get_dtype else None
    try:
        yield
    finally:
        if default_dtype is not None:
            module.set_default_dtype(default_dtype)


def _imported_modules(node):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")]
    return []


def _execute(node, namespace, step, case):
    stdout = io.StringIO()
    filename = f"<case {case.id}>"
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(stdout):
        warnings.simplefilter("always")
        try:
            if isinstance(node, ast.Expr):  # echo the value, as a notebook cell does
                value = eval(compile(ast.Expression(node.value), filename, "eval"), namespace)
                if value is not None:
                    print(repr(value))
            else:
                exec(compile(ast.Module([node], type_ignores=[]), filename, "exec"), namespace)
        except (Exception, SystemExit) as error:  # the case's own exception is an observation
            step.error = {"type": type(error).__name__, "message": normalize_text(str(error))}
    step.stdout = normalize_text(stdout.getvalue())
    step.warnings = [{"category": w.category.__name__, "message": normalize_text(str(w.message))}
                     for w in caught]


def _snapshot(namespace, observer, step):
    names = [name for name, value in namespace.items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType)]
    step.variables = {name: observer.observe(namespace[name]) for name in sorted(names)}
    step.sharing = memory_pairs(step.variables)
    step.identity = identity_pairs(namespace, names)


def _case_builtins(backend, observer):
    allowed = dict(vars(builtins))
    allowed["id"] = observer.object_id
    allowed["__import__"] = _importer(backend)
    return allowed


def _importer(backend):
    """``import torch`` in a case means the backend; other imports (checked statically in
    split_statements, and made by library code running under the case's builtins) pass on."""

    def backend_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "torch" and level == 0:
            return backend.module
        return builtins.__import__(name, globals, locals, fromlist, level)

    return backend_import
