"""The subset of Python a case may use: checked before anything runs, and guarded while it runs.

A case is data: it may compute with torch and numpy, print, and raise, but it may not
reach the file system, the network, the interpreter's internals or other modules.

Two layers keep it there:

- ``check`` reads the code before it runs and refuses imports other than torch and numpy,
  builtins that reach files or the interpreter (``open``, ``exec``, ``getattr``...), dunder
  and private names and attributes, attributes that read or write files or load code,
  frame and generator internals, and catch-all handlers (which would swallow the time limit).
- ``Guard.compile`` rewrites each statement so that, while it runs, every attribute read,
  call result and ``from ... import`` is vetted: no module but torch, numpy and their public
  submodules, no frames, code objects or tracebacks, no forbidden builtin reached another way,
  none of torch's C++ internals (TorchScript, file readers and writers).
  Modules and classes the case did not define cannot be changed, ``str.format`` cannot reach
  private attributes, ``type()`` cannot define dunders, and integer powers and shifts are
  capped. The case's ``iter``, ``range`` and ``pow`` cannot keep C code busy for ever, so the
  time limit can always interrupt it.

Every refusal is a CaseCodeError naming the YAML file and line. One raised while the code
runs is remembered by the Guard, so a case that catches it is refused all the same.
"""

import ast
import builtins
import importlib.util
import os
import re
import string
import sys
import types

import numpy

ALLOWED_IMPORTS = ("torch", "numpy")

# Builtins that reach the interpreter, files or the user, or that would let a case catch
# the harness's own signals (the time limit): refused by name, and absent from the case's builtins.
FORBIDDEN_NAMES = frozenset({
    "exec", "eval", "compile", "open", "__import__", "getattr", "setattr", "delattr", "globals",
    "locals", "vars", "input", "breakpoint", "exit", "quit", "help", "memoryview", "__builtins__",
    "copyright", "credits", "license", "BaseException", "KeyboardInterrupt",
})

# Attributes that read or write files, load code, run tests or threads, or expose internals (of
# torch, numpy, frames, generators, tracebacks and classes).
FORBIDDEN_ATTRIBUTES = frozenset({
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile", "tofile",
    "memmap", "fromregex", "from_file", "ctypes", "ctypeslib", "DataSource", "lib", "distutils", "f2py",
    "os", "sys", "hub", "_C", "ops", "library", "utils", "jit", "compile", "export", "package",
    "multiprocessing", "_dynamo", "_inductor", "cpp_extension", "dump", "test", "mro",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "tb_frame", "tb_next", "fork",
})

# The private attributes teaching code reads: the version counter, a view's base, saved tensors.
ALLOWED_PRIVATE_ATTRIBUTES = frozenset({"_version", "_base", "_is_view"})
ALLOWED_PRIVATE_PREFIXES = ("_saved_",)

# Modules a case may reach: the backend, numpy, and these public submodules of each.
BACKEND_SUBMODULES = ("autograd", "autograd.functional", "autograd.forward_ad", "autograd.graph", "cuda", "nn",
                      "nn.functional", "nn.init", "linalg", "fft", "special", "random", "testing")
NUMPY_SUBMODULES = ("linalg", "random", "fft", "ma", "emath", "char", "strings", "exceptions", "dtypes", "rec")

# Where the functions live that compile or trace code, load or save files, or start processes:
# a Python function from these parts of torch or numpy (torch.cond, say) is refused when reached.
INTERNAL_AREAS = {
    "torch": ("_higher_order_ops", "_dynamo", "_inductor", "fx", "jit", "export", "_export", "compiler", "onnx",
              "package", "hub.py", "serialization.py", "utils", "_utils_internal.py", "multiprocessing",
              "distributed"),
    "numpy": ("testing", "f2py", "distutils", "ctypeslib", "_pytesttester.py", os.path.join("lib", "_npyio_impl.py")),
}

MAX_INT_BITS = 1 << 20  # integer powers and shifts above this would keep C code busy past any time limit
MAX_RANGE_LENGTH = 10 ** 8  # longer ranges, summed or listed in C, could not be interrupted either

# Names of the guard's hooks in the case's builtins: dunders, so case code cannot name them.
_ATTRIBUTE, _CALL, _STORE, _IMPORTED = "__case_attribute__", "__case_call__", "__case_store__", "__case_imported__"
_POWER, _SHIFT, _CHECK_POWER, _CHECK_SHIFT = "__case_power__", "__case_shift__", "__case_exponent__", "__case_count__"

_CLASS_NAMESPACE_DUNDERS = frozenset({"__module__", "__qualname__", "__doc__"})
_FORMAT_METHODS = frozenset({"format", "format_map"})
_FORMAT_INDEX = re.compile(r"\[[^\]]*\]")
_INTERNAL_TYPES = (types.FrameType, types.CodeType, types.TracebackType)
_REAL_BUILTINS = vars(builtins)
_FORBIDDEN_OBJECTS = {id(_REAL_BUILTINS[name]): name for name in FORBIDDEN_NAMES if name in _REAL_BUILTINS}


def _internal_sources():
    """Path prefixes of INTERNAL_AREAS, for the packages installed (found without importing them)."""
    prefixes = []
    for package, areas in INTERNAL_AREAS.items():
        spec = importlib.util.find_spec(package)
        for root in (spec.submodule_search_locations or []) if spec else []:
            prefixes += [os.path.join(root, area) + ("" if area.endswith(".py") else os.sep) for area in areas]
    return tuple(prefixes)


_INTERNAL_SOURCES = _internal_sources()


class CaseCodeError(Exception):
    """A case's code does not parse or steps outside the allowed subset; names file and line."""


def check(case):
    """Parse ``case.code`` and refuse anything outside the subset; returns the AST module."""
    if not isinstance(case.code, str):
        raise CaseCodeError(f"{_where(case, 1)}: the code must be text, not {type(case.code).__name__}")
    try:
        module = ast.parse(case.code)
    except SyntaxError as error:
        raise CaseCodeError(f"{_where(case, error.lineno or 1)}: invalid Python: {error.msg}") from None
    except ValueError as error:  # e.g. a null byte
        raise CaseCodeError(f"{_where(case, 1)}: invalid Python: {error}") from None
    except (RecursionError, MemoryError):
        raise CaseCodeError(f"{_where(case, 1)}: invalid Python: nested too deeply to parse") from None
    for node in ast.walk(module):
        problem = _problem(node)
        if problem:
            raise CaseCodeError(f"{_where(case, node.lineno)}: {problem}")
    return module


def _where(case, code_line):
    return f"{case.file}:{case.code_line + code_line - 1}"


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _is_private(name):
    return (name.startswith("_") and not _is_dunder(name) and name not in ALLOWED_PRIVATE_ATTRIBUTES
            and not name.startswith(ALLOWED_PRIVATE_PREFIXES))


def _problem(node):
    """Why ``node`` is not allowed in a case, or None."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for name in names:
            if getattr(node, "level", 0) or name not in ALLOWED_IMPORTS:
                return f"cases may import only torch and numpy, not {name!r}"
        for alias in node.names if isinstance(node, ast.ImportFrom) else ():
            if alias.name in FORBIDDEN_ATTRIBUTES or alias.name == "*" or alias.name.startswith("_"):
                return f"importing {alias.name!r} from {node.module} is not allowed in cases"
    elif isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or _is_dunder(node.id)):
        return f"{node.id!r} is not available in cases"
    elif isinstance(node, ast.Attribute) and _is_dunder(node.attr):
        return f"dunder attributes such as {node.attr!r} are not allowed in cases"
    elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
        return f"the attribute {node.attr!r} (files, code loading or internals) is not allowed in cases"
    elif isinstance(node, ast.Attribute) and _is_private(node.attr):
        return f"private attributes such as {node.attr!r} are internals, not allowed in cases"
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _is_dunder(node.name):
        return f"defining {node.name!r} is not allowed in cases"
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return "strings containing '__' are not allowed in cases (format strings can reach internals)"
    elif isinstance(node, ast.ExceptHandler) and node.type is None:
        return "a bare 'except:' would also catch the harness's time limit: name the exceptions to catch"
    elif isinstance(node, ast.Match):  # class patterns read attributes by name, value patterns need dotted names
        return "match statements are not allowed in cases"
    elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)):
        return f"{type(node).__name__.lower()} statements are not allowed in cases"
    return None


class _Rewriter(ast.NodeTransformer):
    """Routes attribute reads and stores, calls, ``from ... import``, ``**`` and ``<<`` through the Guard."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            return _hook(_ATTRIBUTE, node, node.value, _at(ast.Constant(node.attr), node))
        node.value = _hook(_STORE, node.value, node.value)  # a store or del: vet the object changed
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "super":
            return node  # zero-argument super() reads its caller's frame: call it directly
        return _hook(_CALL, node, node.func, *node.args, keywords=node.keywords)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        hook = {ast.Pow: _POWER, ast.LShift: _SHIFT}.get(type(node.op))
        return _hook(hook, node, node.left, node.right) if hook else node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        hook = {ast.Pow: _CHECK_POWER, ast.LShift: _CHECK_SHIFT}.get(type(node.op))
        if hook and isinstance(node.target, ast.Name):  # x **= n stays in place: only n is vetted, against x
            node.value = _hook(hook, node.value, _at(ast.Name(node.target.id, ast.Load()), node.target), node.value)
        return node

    def visit_ImportFrom(self, node):
        """``from torch import x`` binds what the module holds: each name bound is vetted right after."""
        names = [alias.asname or alias.name for alias in node.names]
        return [node, *(_at(ast.Assign([_at(ast.Name(name, ast.Store()), node)],
                                       _hook(_IMPORTED, node, _at(ast.Name(name, ast.Load()), node))), node)
                        for name in names)]


def _hook(name, place, *args, keywords=()):
    """A call of the guard's hook ``name`` on ``args``, at ``place``."""
    return _at(ast.Call(_at(ast.Name(name, ast.Load()), place), list(args), list(keywords)), place)


def _at(new, place):
    """``new`` with the source location of ``place``: every node the rewriter makes gets one,
    so that no fix_missing_locations pass over the whole tree is needed."""
    return ast.copy_location(new, place)


class Guard:
    """The runtime half of the sandbox for one run of one case on one backend."""

    def __init__(self, case, backend):
        self.case = case
        self.filename = f"<case {case.id}>"
        self.sources = (self.filename, __file__)  # where code runs for the case: its own, and the guard's
        self.backend = backend
        self.allowed_modules = _allowed_modules(backend.module)
        self.case_classes = {}  # id -> class, for the classes the case defined (and may change), kept alive
        self.refusal = None  # the first refusal while the code ran, kept even if the case caught it
        self.range_type = self._range_type()

    def compile(self, node):
        """A checked top-level statement as (code object, is_expression), with the guard's hooks in it.

        ``node`` is rewritten in place: read anything else from it (its source) first.
        """
        if isinstance(node, ast.Expr):
            return compile(ast.Expression(_Rewriter().visit(node.value)), self.filename, "eval"), True
        statements = _Rewriter().visit(node)
        tree = ast.Module(statements if isinstance(statements, list) else [statements], type_ignores=[])
        return compile(tree, self.filename, "exec"), False

    def builtins(self, object_id):
        """The builtins a case sees: the safe ones, ``id`` that the observer tracks, an ``__import__``
        that binds ``torch`` to the backend under test, bounded ``iter``/``range``/``pow``, a class
        statement that records the classes the case defines, and the guard's hooks."""
        allowed = {name: value for name, value in _REAL_BUILTINS.items() if name not in FORBIDDEN_NAMES}
        backend_module = self.backend.module

        def backend_import(name, globals=None, locals=None, fromlist=(), level=0):
            # Case code was checked statically; library code running under these builtins
            # (torch's own lazy imports) must still be able to import freely.
            if name == "torch" and level == 0:
                return backend_module
            return builtins.__import__(name, globals, locals, fromlist, level)

        def build_class(*args, **kwargs):
            cls = builtins.__build_class__(*args, **kwargs)
            self.case_classes[id(cls)] = cls
            return cls

        allowed.update({
            "id": object_id, "__import__": backend_import, "__build_class__": build_class,
            "iter": _iter, "range": self.range_type, "pow": self.pow,
            _ATTRIBUTE: self.attribute, _CALL: self.call, _STORE: self.store, _IMPORTED: self.vetted,
            _POWER: self.power, _SHIFT: self.shift, _CHECK_POWER: self.check_power, _CHECK_SHIFT: self.check_shift,
        })
        return allowed

    def refuse(self, problem, line=1):
        """Raise (and remember) a CaseCodeError at the case line now running (``line`` of the
        code when none is: the harness printing a statement's value, say)."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        error = CaseCodeError(f"{_where(self.case, frame.f_lineno if frame else line)}: {problem}")
        if self.refusal is None:
            self.refusal = error
        raise error

    def raise_refusal(self):
        """Raise the refusal the case met, if any (it may have caught it and gone on)."""
        if self.refusal is not None:
            raise self.refusal

    def vetted(self, value):
        """``value``, unless it is a module, object or builtin that cases may not hold."""
        if isinstance(value, types.ModuleType) and id(value) not in self.allowed_modules:
            self.refuse(f"the module {value.__name__!r} is not available in cases "
                        "(only torch, numpy and their public submodules)")
        if isinstance(value, _INTERNAL_TYPES):
            self.refuse(f"{type(value).__name__} objects are interpreter internals, not available in cases")
        if id(value) in _FORBIDDEN_OBJECTS and value is _REAL_BUILTINS[_FORBIDDEN_OBJECTS[id(value)]]:
            self.refuse(f"{_FORBIDDEN_OBJECTS[id(value)]!r} is not available in cases")
        if value is _REAL_BUILTINS:
            self.refuse("the interpreter's builtins are not available in cases")
        if isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith(_INTERNAL_SOURCES):
            self.refuse(f"{value.__module__}.{value.__qualname__} compiles or traces code, or reaches files or "
                        "processes: not available in cases")
        if type(value if isinstance(value, type) else type(value)).__name__ == "pybind11_type":
            # torch's C++ internals at its top level: TorchScript, its IR, file readers and writers
            self.refuse(f"{_name_of(value)} belongs to torch's C++ internals, not available in cases")
        if value is builtins.range:  # e.g. type(range(1)): the case's own range, which refuses huge ones
            return self.range_type
        return value

    def attribute(self, obj, name):
        """``obj.name``, vetted; ``str.format`` comes back unable to reach private attributes."""
        if name in _FORMAT_METHODS and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
            return self._checked_format(getattr(obj, name), obj if isinstance(obj, str) else None)
        return self.vetted(getattr(obj, name))

    def call(self, function, /, *args, **kwargs):
        """``function(*args, **kwargs)``, its result vetted (and capped, for integers)."""
        is_class_factory = isinstance(function, type) and issubclass(function, type) and len(args) == 3
        if is_class_factory and isinstance(args[2], dict):
            dunders = sorted(k for k in args[2] if isinstance(k, str) and _is_dunder(k)
                             and k not in _CLASS_NAMESPACE_DUNDERS)
            if dunders:
                self.refuse(f"defining {dunders[0]!r} is not allowed in cases")
        result = self.vetted(function(*args, **kwargs))
        if is_class_factory and isinstance(result, type):
            self.case_classes[id(result)] = result
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            self.refuse(f"an integer of {result.bit_length()} bits is above the cap of {MAX_INT_BITS} bits")
        return result

    def store(self, obj):
        """``obj``, whose attribute the case sets or deletes: not a module or a class it did not define."""
        if isinstance(obj, types.ModuleType):
            self.refuse(f"cases may not change the module {obj.__name__!r}")
        if isinstance(obj, type) and id(obj) not in self.case_classes:
            self.refuse(f"cases may not change the class {obj.__name__!r}, which they did not define")
        return obj

    def check_power(self, base, exponent):
        """``exponent``, unless ``base ** exponent`` is an integer above the cap."""
        if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
            bits = (abs(base).bit_length() - 1) * exponent
            if bits > MAX_INT_BITS:
                self.refuse(f"an integer power of about {bits} bits is above the cap of {MAX_INT_BITS} bits")
        return exponent

    def check_shift(self, value, count):
        """``count``, unless ``value << count`` is an integer above the cap."""
        if _is_int(value) and _is_int(count) and value and count > 0 and value.bit_length() + count > MAX_INT_BITS:
            self.refuse(f"an integer shift to {value.bit_length() + count} bits is above the cap of "
                        f"{MAX_INT_BITS} bits")
        return count

    def power(self, base, exponent):
        return base ** self.check_power(base, exponent)

    def shift(self, value, count):
        return value << self.check_shift(value, count)

    def pow(self, base, exp, mod=None):
        """The case's ``pow``: modular powers stay small; others are capped like ``**``."""
        return builtins.pow(base, exp if mod is not None else self.check_power(base, exp), mod)

    def _checked_format(self, method, template):
        def format(*args, **kwargs):
            text = template if template is not None else (args[0] if args else None)
            if isinstance(text, str):
                self._check_format_fields(text)
            return method(*args, **kwargs)

        return format

    def _check_format_fields(self, text):
        """Refuse replacement fields such as ``{0._x}``: str.format reads attributes by name."""
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError:
            return  # a malformed format string: str.format itself raises the case's error
        for _, field, spec, _ in fields:
            attributes = _FORMAT_INDEX.sub("", field or "").split(".")[1:]  # {0.a[k].b}: a and b
            if any(name.startswith("_") for name in attributes):
                self.refuse(f"format fields such as {{{field}}} read private attributes, not allowed in cases")
            if spec:
                self._check_format_fields(spec)

    def _range_type(self):
        """``range`` for the case: Python's, refusing lengths C code could not finish within the time limit."""
        guard = self

        class RangeType(type):
            def __instancecheck__(cls, instance):
                return isinstance(instance, builtins.range)

            def __subclasscheck__(cls, subclass):
                return issubclass(subclass, builtins.range)

        class range(metaclass=RangeType):
            def __new__(cls, *args):
                result = builtins.range(*args)
                if _range_length(result) > MAX_RANGE_LENGTH:
                    guard.refuse(f"a range of more than {MAX_RANGE_LENGTH} items is too long for a case")
                return result

        return range


def _name_of(value):
    cls = value if isinstance(value, type) else type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _range_length(r):
    """len(r), without the OverflowError len() raises past sys.maxsize."""
    sign = 1 if r.step > 0 else -1
    return max(0, (r.stop - r.start + r.step - sign) // r.step)


def _iter(obj, *sentinel):
    """The case's ``iter``: ``iter(function, sentinel)`` calls back from Python, so that C code
    consuming it (``sum``, ``set``...) returns to the interpreter, where the time limit can strike."""
    if len(sentinel) != 1 or not callable(obj):
        return builtins.iter(obj, *sentinel)  # the builtin's own result, or its own error
    return _call_until(obj, sentinel[0])


def _call_until(function, sentinel):
    while True:
        value = function()
        if value == sentinel:
            return
        yield value


def _allowed_modules(backend_module):
    """Ids of the modules a case may hold: the backend, numpy, and their public submodules."""
    allowed = set()
    for root, paths in ((backend_module, BACKEND_SUBMODULES), (numpy, NUMPY_SUBMODULES)):
        allowed.add(id(root))
        for path in paths:
            module = root
            for part in path.split("."):
                module = getattr(module, part, None)
            if isinstance(module, types.ModuleType):
                allowed.add(id(module))
    return allowed
