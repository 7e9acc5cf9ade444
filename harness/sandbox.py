"""The subset of Python a case may use, checked before anything runs.

A case is data: it may compute with torch and numpy, print, and raise, but it may not
reach the file system, the network, the interpreter's internals or other modules.
"""

import ast
import builtins

ALLOWED_IMPORTS = ("torch", "numpy")

# Builtins that reach the interpreter, files or the user: refused by name.
FORBIDDEN_NAMES = frozenset({
    "exec", "eval", "compile", "open", "__import__", "getattr", "setattr", "delattr", "globals",
    "locals", "vars", "input", "breakpoint", "exit", "quit", "help", "memoryview", "__builtins__",
})

# Attributes of torch/numpy that read or write files, load code, or expose internals.
FORBIDDEN_ATTRIBUTES = frozenset({
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile", "tofile",
    "memmap", "fromregex", "from_file", "ctypes", "ctypeslib", "DataSource", "lib", "distutils", "f2py",
    "os", "sys", "hub", "_C", "ops", "library", "utils", "jit", "compile", "export", "package",
    "multiprocessing", "_dynamo", "_inductor", "cpp_extension",
})


class CaseCodeError(Exception):
    """A case's code does not parse or steps outside the allowed subset; names file and line."""


def check(case):
    """Parse ``case.code`` and refuse anything outside the subset; returns the AST module."""
    try:
        module = ast.parse(case.code)
    except SyntaxError as error:
        raise CaseCodeError(f"{_where(case, error.lineno or 1)}: invalid Python: {error.msg}") from None
    for node in ast.walk(module):
        problem = _problem(node)
        if problem:
            raise CaseCodeError(f"{_where(case, node.lineno)}: {problem}")
    return module


def _where(case, code_line):
    return f"{case.file}:{case.code_line + code_line - 1}"


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _problem(node):
    """Why ``node`` is not allowed in a case, or None."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for name in names:
            if getattr(node, "level", 0) or name not in ALLOWED_IMPORTS:
                return f"cases may import only torch and numpy, not {name!r}"
        for alias in node.names if isinstance(node, ast.ImportFrom) else ():
            if alias.name in FORBIDDEN_ATTRIBUTES or alias.name == "*" or _is_dunder(alias.name):
                return f"importing {alias.name!r} from {node.module} is not allowed in cases"
    elif isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or _is_dunder(node.id)):
        return f"{node.id!r} is not available in cases"
    elif isinstance(node, ast.Attribute) and _is_dunder(node.attr):
        return f"dunder attributes such as {node.attr!r} are not allowed in cases"
    elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
        return f"the attribute {node.attr!r} (files, code loading or internals) is not allowed in cases"
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _is_dunder(node.name):
        return f"defining {node.name!r} is not allowed in cases"
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return "strings containing '__' are not allowed in cases (format strings can reach internals)"
    elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)):
        return f"{type(node).__name__.lower()} statements are not allowed in cases"
    return None


def case_builtins(backend, object_id):
    """The builtins a case sees: the safe ones, ``id`` that the observer tracks, and an
    ``__import__`` that binds ``torch`` to the backend under test."""
    allowed = {name: value for name, value in vars(builtins).items() if name not in FORBIDDEN_NAMES}
    allowed["id"] = object_id

    def backend_import(name, globals=None, locals=None, fromlist=(), level=0):
        # Case code was checked statically; library code running under these builtins
        # (torch's own lazy imports) must still be able to import freely.
        if name == "torch" and level == 0:
            return backend.module
        return builtins.__import__(name, globals, locals, fromlist, level)

    allowed["__import__"] = backend_import
    return allowed
