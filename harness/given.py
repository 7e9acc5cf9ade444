"""Parametrised cases: ``given:`` parameters drawn from hypothesis strategies.

A case may declare ``given: {name: strategy expression}``. The expressions use a small,
whitelisted grammar, parsed with ``ast`` and never evaluated as Python:

    expression := NAME | NAME "(" [argument {"," argument}] ")"
    argument   := literal | NAME "=" literal
    literal    := number | -number | string | True | False | None | torch.DTYPE
                | "[" literal, ... "]" | "(" literal, ... ")"

with the strategies in STRATEGIES (a bare NAME calls one with its defaults, or names one of
the dtype sets). Each drawn example becomes an ordinary Case whose code starts with one line
of assignments, ``shape = (2, 0); dtype = torch.float32``, placed on the line before the
code. Both backends run that line in their own namespace, so ``torch.float32`` is each
backend's own dtype. The examples are searched with ``hypothesis.find``, seeded with the
case's seed, so runs are reproducible and a failing example is shrunk to a minimal one.

Parsing does not import hypothesis, so case files load where it is not installed; running a
``given:`` case needs it.
"""

import ast
import dataclasses
import difflib
import keyword
import math
import random
from dataclasses import dataclass

import numpy as np

from .observe import MAX_OBSERVED_ELEMENTS
from .sandbox import CaseCodeError

DEFAULT_EXAMPLES = 20  # examples drawn when a case gives no ``examples:``
MAX_EXPRESSION_LENGTH = 1000
RESERVED_NAMES = frozenset({"torch", "np", "device"})  # bound by the harness in every case

FLOAT_DTYPES = ("float32", "float64", "float16")  # the first is what a failing example shrinks to
INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8")
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)
DTYPE_SETS = {"float_dtypes": FLOAT_DTYPES, "int_dtypes": INT_DTYPES, "dtypes": ALL_DTYPES}


class GivenError(ValueError):
    """A strategy expression that is not in the grammar, or has arguments out of range.

    ``parameter`` names the ``given`` entry it is about, when known.
    """

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class DType:
    """A dtype drawn for a parameter: written into the example's code as ``torch.<name>``."""

    name: str

    def __repr__(self):
        return f"torch.{self.name}"


@dataclass(frozen=True)
class Strategy:
    """One parsed expression: a STRATEGIES entry and its arguments, checked."""

    function: str
    arguments: dict

    def build(self):
        """The hypothesis strategy (imports hypothesis)."""
        return _BUILDERS[self.function](**self.arguments)


@dataclass(frozen=True)
class _Signature:
    parameters: tuple  # (name, default) pairs; the default _REQUIRED marks a required one
    check: object  # function(arguments) raising GivenError


_REQUIRED = object()
_FLOAT_WIDTHS = {16: np.float16, 32: np.float32, 64: np.float64}


def _check_integers(a):
    _need_type(a, ("min_value", "max_value"), int)
    _need_order(a, "min_value", "max_value")


def _check_floats(a):
    _need_type(a, ("min_value", "max_value"), (int, float))
    for name in ("min_value", "max_value"):
        if not math.isfinite(a[name]):
            raise GivenError(f"{name} must be finite (use allow_infinity=True for infinities)")
    _need_order(a, "min_value", "max_value")
    _need_type(a, ("allow_nan", "allow_infinity"), bool)
    if a["width"] not in _FLOAT_WIDTHS:
        raise GivenError(f"width must be 16, 32 or 64, not {a['width']!r}")
    for name in ("min_value", "max_value"):
        if float(_FLOAT_WIDTHS[a["width"]](a[name])) != a[name]:
            raise GivenError(f"{name}={a[name]!r} is not exactly a float of width {a['width']}")


def _check_sampled_from(a):
    values = a["values"]
    if not isinstance(values, (list, tuple)) or not values:
        raise GivenError("sampled_from needs a non-empty list of literals, e.g. sampled_from([1, 2, 3])")


def _check_shapes(a):
    _need_type(a, ("min_dims", "max_dims", "min_side", "max_side"), int)
    if a["min_dims"] < 0 or a["min_side"] < 0:
        raise GivenError("min_dims and min_side must be at least 0")
    _need_order(a, "min_dims", "max_dims")
    _need_order(a, "min_side", "max_side")
    if a["max_dims"] > 8:
        raise GivenError(f"max_dims is at most 8, not {a['max_dims']}")
    largest = a["max_side"] ** a["max_dims"]
    if largest > MAX_OBSERVED_ELEMENTS:
        raise GivenError(f"shapes up to max_side={a['max_side']} in max_dims={a['max_dims']} dims reach "
                         f"{largest} elements, above the cap of {MAX_OBSERVED_ELEMENTS} per tensor")


def _check_broadcastable_shapes(a):
    _need_type(a, ("num_shapes",), int)
    if not 1 <= a["num_shapes"] <= 4:
        raise GivenError(f"num_shapes must be 1 to 4, not {a['num_shapes']}")
    _check_shapes(a)


def _check_nothing(a):
    """For strategies whose arguments need no check."""


def _need_type(arguments, names, kinds):
    for name in names:
        value = arguments[name]
        if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is not bool):
            wanted = kinds.__name__ if isinstance(kinds, type) else "a number"
            raise GivenError(f"{name} must be {'an ' if wanted == 'int' else ''}{wanted}, not {value!r}")


def _need_order(arguments, low, high):
    if arguments[low] > arguments[high]:
        raise GivenError(f"{low} ({arguments[low]!r}) is above {high} ({arguments[high]!r})")


_SHAPE_PARAMETERS = (("min_dims", 0), ("max_dims", 3), ("min_side", 0), ("max_side", 4))

STRATEGIES = {
    "integers": _Signature((("min_value", _REQUIRED), ("max_value", _REQUIRED)), _check_integers),
    "floats": _Signature((("min_value", _REQUIRED), ("max_value", _REQUIRED), ("allow_nan", False),
                          ("allow_infinity", False), ("width", 64)), _check_floats),
    "booleans": _Signature((), _check_nothing),
    "sampled_from": _Signature((("values", _REQUIRED),), _check_sampled_from),
    "just": _Signature((("value", _REQUIRED),), _check_nothing),
    "shapes": _Signature(_SHAPE_PARAMETERS, _check_shapes),
    "broadcastable_shapes": _Signature((("num_shapes", 2),) + _SHAPE_PARAMETERS, _check_broadcastable_shapes),
}
"""Every strategy an expression may call, with its parameters and defaults:

- ``integers(min_value, max_value)``, ``floats(min_value, max_value, allow_nan=False,
  allow_infinity=False, width=64)``, ``booleans``, ``sampled_from([...])``, ``just(value)``;
- ``shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)``: a tuple of sizes, 0-dim,
  empty and size-1 dims included;
- ``broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=4)``: a
  tuple of ``num_shapes`` shapes that broadcast together;
- the dtype sets ``float_dtypes``, ``int_dtypes`` and ``dtypes`` (all of them, bool included).
"""


def _integers(min_value, max_value):
    from hypothesis import strategies as st
    return st.integers(min_value, max_value)


def _floats(min_value, max_value, allow_nan, allow_infinity, width):
    from hypothesis import strategies as st
    specials = ([math.nan] if allow_nan else []) + ([math.inf, -math.inf] if allow_infinity else [])
    finite = st.floats(min_value, max_value, width=width)
    return st.one_of(finite, st.sampled_from(specials)) if specials else finite


def _booleans():
    from hypothesis import strategies as st
    return st.booleans()


def _sampled_from(values):
    from hypothesis import strategies as st
    return st.sampled_from(list(values))


def _just(value):
    from hypothesis import strategies as st
    return st.just(value)


def _shapes(min_dims, max_dims, min_side, max_side):
    from hypothesis.extra import numpy as hnp
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _broadcastable_shapes(num_shapes, min_dims, max_dims, min_side, max_side):
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side).map(lambda b: b.input_shapes)


_BUILDERS = {"integers": _integers, "floats": _floats, "booleans": _booleans, "sampled_from": _sampled_from,
             "just": _just, "shapes": _shapes, "broadcastable_shapes": _broadcastable_shapes}


# -- parsing ----------------------------------------------------------------------------------------

def parse(text):
    """The Strategy an expression stands for; raises GivenError saying what is wrong."""
    if not isinstance(text, str):
        raise GivenError(f"a strategy expression must be a string, not {text!r}"
                         + (" (examples: goes beside given:, not inside it)" if isinstance(text, int) else ""))
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise GivenError(f"a strategy expression is at most {MAX_EXPRESSION_LENGTH} characters, not {len(text)}")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise GivenError(f"invalid strategy expression {text.strip()!r}: {error.msg}") from None
    except (ValueError, MemoryError, RecursionError) as error:  # null bytes; nesting too deep for the parser
        raise GivenError(f"invalid strategy expression: {type(error).__name__}") from None
    if isinstance(node, ast.Name):
        if node.id in DTYPE_SETS:
            return Strategy("sampled_from", {"values": tuple(DType(name) for name in DTYPE_SETS[node.id])})
        return _call(node.id, [], [])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in DTYPE_SETS:
            raise GivenError(f"{node.func.id} is a set of dtypes, written without parentheses")
        return _call(node.func.id, node.args, node.keywords)
    raise GivenError(f"expected a strategy such as shapes(max_dims=3) or float_dtypes, not {_source(node)!r}")


def _call(name, args, keywords):
    signature = STRATEGIES.get(name)
    if signature is None:
        known = sorted(STRATEGIES) + sorted(DTYPE_SETS)
        hint = difflib.get_close_matches(name, known, n=1)
        raise GivenError(f"unknown strategy {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint
                                                         else f" (known: {', '.join(known)})"))
    names = [parameter for parameter, _ in signature.parameters]
    if any(isinstance(arg, ast.Starred) for arg in args) or any(kw.arg is None for kw in keywords):
        raise GivenError(f"{name}(): * and ** arguments are not allowed")
    if len(args) > len(names):
        raise GivenError(f"{name}() takes at most {len(names)} arguments ({', '.join(names) or 'none'}), "
                         f"{len(args)} given")
    arguments = {parameter: _literal(arg) for parameter, arg in zip(names, args)}
    for kw in keywords:
        if kw.arg not in names:
            raise GivenError(f"{name}() has no parameter {kw.arg!r}"
                             + (f" (it has {', '.join(names)})" if names else " (it takes none)"))
        if kw.arg in arguments:
            raise GivenError(f"{name}() got {kw.arg!r} twice")
        arguments[kw.arg] = _literal(kw.value)
    for parameter, default in signature.parameters:
        if parameter not in arguments:
            if default is _REQUIRED:
                raise GivenError(f"{name}() needs {parameter}: {name}({', '.join(names)})")
            arguments[parameter] = default
    try:
        signature.check(arguments)
    except GivenError as error:
        raise GivenError(f"{name}(): {error}") from None
    return Strategy(name, arguments)


def _literal(node):
    """The value of a literal argument (lists become tuples); anything else is refused."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, type(None))):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_literal(item) for item in node.elts)
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "torch"
            and node.attr in ALL_DTYPES):
        return DType(node.attr)
    raise GivenError("strategies take only literals (numbers, strings, True/False/None, lists, tuples, "
                     f"torch.<dtype> for {', '.join(ALL_DTYPES)}), not {_source(node)!r}")


def _source(node, limit=60):
    """The node's source, shortened (and never failing on deep nesting)."""
    try:
        text = ast.unparse(node)
    except RecursionError:
        return "a deeply nested expression"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_name(name):
    """Raise GivenError unless ``name`` can be a parameter."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise GivenError(f"parameter {name!r} is not a Python name")
    if name in RESERVED_NAMES or name.startswith("_"):
        raise GivenError(f"parameter {name!r} is reserved (torch, np, device and names starting with _)")


def parse_all(given):
    """{name: Strategy} for a case's ``given`` mapping; GivenError names the parameter."""
    strategies = {}
    for name, text in given.items():
        try:
            check_name(name)
            strategies[name] = parse(text)
        except GivenError as error:
            raise GivenError(f"given.{name}: {error}", name) from None
    return strategies


# -- examples --------------------------------------------------------------------------------------

def render(value):
    """Python source for a drawn value, the same on every backend (dtypes as ``torch.<name>``)."""
    if isinstance(value, DType):
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, tuple):
        inner = ", ".join(render(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def prelude(values):
    """The line of assignments that binds the parameters: ``shape = (2, 0); dtype = torch.float32``."""
    return "; ".join(f"{name} = {render(value)}" for name, value in values.items())


def example_case(case, values):
    """The plain Case for one example: the code after a line binding ``values``, one line up."""
    return dataclasses.replace(case, code=f"{prelude(values)}\n{case.code}", code_line=case.code_line - 1,
                               given=None, examples=None)


def check_examples(case, run, fails):
    """Run ``case`` over examples drawn from its ``given`` strategies; return one CaseResult.

    ``run(example_case)`` gives an example's CaseResult; ``fails(result)`` says whether it is a
    failure to search for. The search is ``hypothesis.find`` with a ``random.Random(case.seed)``,
    so it is the same on every run; the first failing example found is shrunk. The result is
    that of the failing example, shrunk (``shown``: "failing"); with none, that of the first
    example with divergences that do not fail (known, not yet agreeing...: "diverging"), or else
    of the first example ("first"). An example that could not run (result.error set: refused
    code, time limit, missing device) stops the search at once ("unrunnable"). The result's
    ``given`` records the parameters, the budget, how many distinct examples ran (shrinking
    included), what was shown, and the example's values as source text.
    Raises CaseCodeError for an invalid ``given`` or when hypothesis is missing.
    """
    try:
        strategies = parse_all(case.given)
    except GivenError as error:
        raise CaseCodeError(f"{case.file}:{case.line}: {error}") from None
    try:
        from hypothesis import HealthCheck, Phase, Verbosity, find, settings
        from hypothesis import strategies as st
        from hypothesis.errors import InvalidArgument, NoSuchExample
    except ImportError:
        raise CaseCodeError(f"{case.file}:{case.line}: cases with given: need the hypothesis package") from None
    budget = case.examples or DEFAULT_EXAMPLES
    ran = {}  # prelude -> (values, CaseResult), in the order the examples ran

    def outcome(values):
        key = prelude(values)
        if key not in ran:
            ran[key] = (values, run(example_case(case, values)))
            if ran[key][1].error is not None:
                raise _Stop(key)
        return fails(ran[key][1])

    strategy = st.fixed_dictionaries({name: s.build() for name, s in strategies.items()})
    try:
        strategy.validate()
    except InvalidArgument as error:
        raise CaseCodeError(f"{case.file}:{case.line}: given: {error}") from None
    config = settings(max_examples=budget, database=None, deadline=None, verbosity=Verbosity.quiet,
                      phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    try:
        key, shown = prelude(find(strategy, outcome, settings=config, random=random.Random(case.seed))), "failing"
    except _Stop as stop:
        key, shown = stop.key, "unrunnable"
    except NoSuchExample:
        diverging = [key for key, (_, result) in ran.items() if result.divergences or result.spec_errors]
        key, shown = (diverging[0], "diverging") if diverging else (next(iter(ran)), "first")
    values, result = ran[key]
    result.given = {
        "parameters": dict(case.given),
        "examples": budget,
        "ran": len(ran),
        "shown": shown,
        "example": {name: render(value) for name, value in values.items()},
    }
    return result


class _Stop(BaseException):
    """Raised out of hypothesis.find (which catches Exception) when an example cannot run."""

    def __init__(self, key):
        super().__init__(key)
        self.key = key
