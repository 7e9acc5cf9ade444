"""Comparison: the divergences between an expected (torch) trace and an actual one."""

import ast
import copy
import re
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from .observe import decode_values

# torch.testing.assert_close defaults, as (rtol, atol); integers and bools compare exactly.
TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}

# Tensor fields other than shape and values, and the kind of divergence each one makes.
TENSOR_FIELD_KINDS = {
    "dtype": "dtype",
    "device": "device",
    "stride": "layout",
    "storage_offset": "layout",
    "is_contiguous": "layout",
    "version": "version",
    "requires_grad": "autograd",
    "is_leaf": "autograd",
    "grad_fn": "grad_fn",
}

EVENT_KINDS = ("output", "warning")

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|(?:nan|inf)\b)")


@dataclass
class Divergence:
    """One way the actual backend differed from torch, located at the first statement it shows."""

    kind: str
    step: int
    line: int
    statement: str
    variable: str | None
    expected: object
    actual: object
    detail: str

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**data)


class _Difference(NamedTuple):
    """One difference found in one step, before it is placed at a statement."""

    kind: str
    variable: str | None
    expected: object
    actual: object
    detail: str
    field: str | None = None  # tells apart differences of one kind in one variable (stride vs offset)


@dataclass(frozen=True)
class Options:
    """How strictly a case is compared."""

    tolerance: dict | None = None  # overrides rtol/atol for floating values
    unspecified: tuple = ()  # names whose values are undefined
    output_mode: str = "exact"  # or "structure": numbers masked

    @classmethod
    def for_case(cls, case):
        return cls(case.tolerance, tuple(case.unspecified), case.compare_output)


def mask_numbers(text):
    """Printed output with every number replaced by '#' and all whitespace dropped: padding
    and line wrapping depend on the widths of the numbers. Brackets, commas, words and
    suffixes such as ``dtype=`` remain."""
    return re.sub(r"\s+", "", _NUMBER.sub("#", text))


# -- device normalisation ----------------------------------------------------------------------
# With the implementation on its CUDA device and torch on the CPU (``--reference-device cuda``),
# the fields that only name the device are rewritten as the CPU's on both traces before they are
# compared. This is the only place that does it; what it rewrote is recorded on each trace.

NORMALIZED_DEVICE = "cuda:0"  # the device the implementation's CUDA tensors report
_SUFFIX = r"(?:size=\([^)]*\)|dtype=[\w.]+|layout=[\w.]+|requires_grad=True|grad_fn=<[^>\n]*>|names=\([^)]*\))"
_DEVICE_SUFFIX = re.compile(rf",\s*device='cuda:0'(?P<rest>(?:,\s*{_SUFFIX})*)(?=\))")
_LINE_WIDTH = 80  # torch's default print options; _add_suffixes wraps the suffixes at this width
_INDENT = len("tensor(")
_DEVICE_REPR = re.compile(r"device\(type='cuda', index=0\)")
_DEVICE_NAME = re.compile(r"(?<![\w:])cuda:0(?![\w:])")
_CUDA_TYPE_NAME = re.compile(r"\btorch\.cuda\.(?=\w+Tensor\b)")  # torch.cuda.FloatTensor: a CPU type's CUDA twin
# A message about devices (a mismatch, numpy() of a CUDA tensor): its device names are the point.
_ABOUT_DEVICES = re.compile(r"device|(?<![\w:.])cpu(?![\w:(])|\b(?:CPU|GPU|CUDA|host)\b")


def normalize_device_text(text, error=False):
    """Printed text with the CUDA device named as the CPU: tensor reprs lose ``, device='cuda:0'``
    (the suffixes after it wrapped as torch wraps them at the default line width of 80),
    ``device(type='cuda', index=0)`` becomes ``device(type='cpu')``, and in an error message a bare
    ``cuda:0`` becomes ``cpu`` (and a type name such as ``torch.cuda.FloatTensor`` its CPU twin
    ``torch.FloatTensor``) where it is purely the name of the device: not in a message about
    devices (one that says device, cpu, CPU, GPU, CUDA or host, such as a device mismatch or
    numpy() of a CUDA tensor), whose device names are the point and stay as they are."""
    text = _DEVICE_REPR.sub("device(type='cpu')", _DEVICE_SUFFIX.sub(_drop_device_suffix, text))
    if error and not _ABOUT_DEVICES.search(text):
        text = _CUDA_TYPE_NAME.sub("torch.", _DEVICE_NAME.sub("cpu", text))
    return text


def _drop_device_suffix(match):
    """The suffixes after ``device='cuda:0'``, wrapped again as torch's _add_suffixes wraps them
    without it (a suffix goes to a new line when the line would pass the line width)."""
    text = match.string
    start = text.rfind("tensor(", 0, match.start())
    suffixes = re.findall(_SUFFIX, match.group("rest"))
    if start < 0 or not suffixes:
        return ""
    head = text[start:match.start()]
    last_line = len(head) - head.rfind("\n") + 1
    parts = []
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _LINE_WIDTH:
            parts.append(",\n" + " " * _INDENT + suffix)
            last_line = _INDENT + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts)


def normalize_devices(trace):
    """A copy of ``trace`` with its device fields normalised, ``cuda:0`` read as ``cpu``.

    Rewritten: a tensor's (and its grad's) ``device``; observed ``torch.device`` values; strings
    that are exactly ``cuda:0`` (``str(t.device)``); names bound straight to ``t.is_cuda`` (True
    becomes False) and an echoed ``t.is_cuda``; printed output, warnings and error messages as in
    normalize_device_text. Anything computed from a device (``t.device == cpu``) is left alone:
    such cases go in the device-differences file. The copy's ``normalized`` lists what was
    rewritten, each with the first line where it was, e.g. ``x.device (from line 3)``.
    """
    trace = copy.deepcopy(trace)
    rewrites = {}  # what -> the first line where it was rewritten

    def note(step, what):
        rewrites.setdefault(what, step.line)

    is_cuda_names = set()
    for step in trace.steps:
        bound, echoes_is_cuda = _is_cuda_bindings(step.source)
        is_cuda_names = (is_cuda_names - bound.keys()) | {name for name, flag in bound.items() if flag}
        stdout = normalize_device_text(step.stdout)
        if echoes_is_cuda and stdout == "True\n":
            stdout = "False\n"
        if stdout != step.stdout:
            note(step, "printed output")
            step.stdout = stdout
        for warning in step.warnings:
            message = normalize_device_text(warning["message"])
            if message != warning["message"]:
                note(step, "warning")
                warning["message"] = message
        if step.error is not None:
            message = normalize_device_text(step.error["message"], error=True)
            if message != step.error["message"]:
                note(step, "error message")
                step.error["message"] = message
        for name, observation in step.variables.items():
            for what in _normalize_observation(name, observation, name in is_cuda_names):
                note(step, what)
    trace.normalized = [f"{what} (from line {line})" for what, line in rewrites.items()]
    return trace


def _is_cuda_bindings(source):
    """({name: bound to an ``.is_cuda``?} for names the statement binds, whether it echoes one)."""
    try:
        node = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return {}, False
    if isinstance(node, ast.Expr):
        return {}, _is_is_cuda(node.value)
    bound = {}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        from_is_cuda = isinstance(node, ast.Assign) and _is_is_cuda(node.value)
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    bound[sub.id] = from_is_cuda and isinstance(target, ast.Name)
    return bound, False


def _is_is_cuda(node):
    return isinstance(node, ast.Attribute) and node.attr == "is_cuda"


def _normalize_observation(name, observation, from_is_cuda):
    """Rewrite one observation in place; yield what was rewritten."""
    if not isinstance(observation, dict):
        return
    kind = observation.get("type")
    if kind == "tensor":
        if observation.get("device") == NORMALIZED_DEVICE:
            observation["device"] = "cpu"
            yield f"{name}.device"
        if isinstance(observation.get("grad"), dict):
            yield from _normalize_observation(f"{name}.grad", observation["grad"], False)
    elif kind == "device" and _DEVICE_REPR.fullmatch(str(observation.get("value"))):
        observation["value"] = "device(type='cpu')"
        yield name
    elif kind == "str" and observation.get("value") == NORMALIZED_DEVICE:
        observation["value"] = "cpu"
        yield name
    elif kind == "bool" and from_is_cuda and observation.get("value") is True:
        observation["value"] = False
        yield name
    elif kind in ("list", "tuple"):
        for index, item in enumerate(observation["items"]):
            yield from _normalize_observation(f"{name}[{index}]", item, False)
    elif kind == "dict":
        for key, item in observation["items"].items():
            yield from _normalize_observation(f"{name}[{key!r}]", item, False)


def compare_traces(expected, actual, options=Options()):
    """Divergences in statement order; each (kind, variable, field) is reported once, where it starts."""
    found = []
    seen = set()
    comparator = _Comparator(options)
    for exp_step, act_step in zip(expected.steps, actual.steps):
        for d in comparator.step_differences(exp_step, act_step):
            # State (a variable's field) is reported where it first differs; events (what a
            # statement printed or warned) at every statement.
            key = (d.kind, d.variable, d.field, exp_step.index if d.kind in EVENT_KINDS else None)
            if key in seen:
                continue
            seen.add(key)
            found.append(Divergence(d.kind, exp_step.index, exp_step.line, exp_step.source, d.variable,
                                    d.expected, d.actual, d.detail))
    return found


class _Comparator:
    def __init__(self, options):
        self.options = options

    def step_differences(self, exp, act):
        if exp.error != act.error:
            yield _Difference(*_error_difference(exp.error, act.error))
            if (exp.error is None) != (act.error is None):
                return  # one side stopped mid-statement: its variables would only echo the error
        if self._output(exp.stdout) != self._output(act.stdout):
            yield _Difference("output", None, exp.stdout, act.stdout, "printed output differs")
        if exp.warnings != act.warnings:
            yield _Difference("warning", None, exp.warnings, act.warnings, "warnings differ")
        for name in sorted(set(exp.variables) | set(act.variables)):
            if name not in act.variables or name not in exp.variables:
                yield _Difference("variable", name, exp.variables.get(name), act.variables.get(name),
                                  f"{name} exists on only one backend")
                continue
            yield from self.observations(name, exp.variables[name], act.variables[name])
        yield from _relation_differences("sharing", "share memory", exp.sharing, act.sharing)
        yield from _relation_differences("identity", "are the same object", exp.identity, act.identity)

    def _output(self, text):
        return mask_numbers(text) if self.options.output_mode == "structure" else text

    def observations(self, name, exp, act):
        """Yield a _Difference for each way two observations differ."""
        if exp is None or act is None or exp["type"] != act["type"]:
            if exp != act:
                yield _Difference("type", name, exp, act, f"{name} is {_describe(act)}, torch gives {_describe(exp)}")
            return
        kind = exp["type"]
        if kind in ("tensor", "ndarray"):
            yield from self._arrays(name, exp, act)
        elif kind in ("list", "tuple"):
            if len(exp["items"]) != len(act["items"]) or exp.get("class") != act.get("class"):
                yield _Difference("shape", name, exp, act,
                                  f"{name} has {len(act['items'])} items, torch {len(exp['items'])}")
                return
            for index, (e, a) in enumerate(zip(exp["items"], act["items"])):
                yield from self.observations(f"{name}[{index}]", e, a)
        elif kind == "float" and name not in self.options.unspecified:
            if not self._close(np.array([exp["value"]], dtype=float), np.array([act["value"]], dtype=float),
                               "float64"):
                yield _Difference("value", name, exp, act, f"{name} = {act['value']!r}, torch gives {exp['value']!r}")
        elif exp != act and not (kind in ("int", "float") and name in self.options.unspecified):
            yield _Difference("value", name, exp, act, f"{name} differs")

    def _arrays(self, name, exp, act):
        for field, kind in TENSOR_FIELD_KINDS.items():
            if field in exp and exp[field] != act.get(field):
                yield _Difference(kind, name, exp[field], act.get(field),
                                  f"{name}.{field} is {_short(act.get(field))}, torch {_short(exp[field])}", field)
        if exp["shape"] != act["shape"]:
            yield _Difference("shape", name, exp["shape"], act["shape"],
                              f"{name}.shape is {act['shape']}, torch {exp['shape']}")
            return
        if name not in self.options.unspecified:
            dtype_name = exp["dtype"].removeprefix("torch.")
            kind_letter = "f" if dtype_name in TOLERANCES else "other"
            exp_values = decode_values(exp["values"], kind_letter)
            act_values = decode_values(act["values"], kind_letter)
            if not self._close(exp_values, act_values, dtype_name):
                yield _Difference("value", name, exp["values"], act["values"],
                                  _value_detail(name, exp_values, act_values))
        if "grad" in exp or "grad" in act:
            yield from self._grads(name, exp.get("grad"), act.get("grad"))

    def _grads(self, name, exp, act):
        if exp is None or act is None or exp.get("type") != "tensor" or act.get("type") != "tensor":
            if exp != act:
                yield _Difference("grad", name, exp, act,
                                  f"{name}.grad is {_describe(act)}, torch gives {_describe(exp)}")
            return
        for difference in self._arrays(f"{name}.grad", exp, act):
            yield difference._replace(kind="grad", variable=name, field=f"grad.{difference.field or difference.kind}")

    def _close(self, exp, act, dtype_name):
        return close(exp, act, dtype_name, self.options.tolerance)


def close(expected, actual, dtype_name, tolerance=None):
    """assert_close's rule: |a - e| <= atol + rtol * |e|, NaN equal to NaN, exact for ints.

    ``tolerance`` ({"rtol", "atol"}, either optional) overrides the dtype's defaults.
    """
    if expected.shape != actual.shape:
        return False
    if dtype_name not in TOLERANCES:
        return bool(np.array_equal(expected, actual))
    rtol, atol = TOLERANCES[dtype_name]
    if tolerance:
        rtol, atol = tolerance.get("rtol", rtol), tolerance.get("atol", atol)
    return bool(np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True))


def _describe(observation):
    if observation is None:
        return "None"
    if isinstance(observation, dict) and "type" in observation:
        return f"a {observation['type']}"
    return _short(observation)


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _error_difference(exp, act):
    if exp is None:
        return "error", None, None, act, f"raised {act['type']}: {act['message']} where torch did not"
    if act is None:
        return "error", None, exp, None, f"torch raised {exp['type']}: {exp['message']}; this did not"
    if exp["type"] != act["type"]:
        return "error-type", None, exp, act, f"raised {act['type']} where torch raised {exp['type']}"
    return "error-message", None, exp, act, "same exception type, different message"


def _relation_differences(kind, verb, exp_pairs, act_pairs):
    exp_set = {tuple(pair) for pair in exp_pairs}
    act_set = {tuple(pair) for pair in act_pairs}
    for pair in sorted(exp_set ^ act_set):
        in_torch = pair in exp_set
        detail = (f"{pair[0]} and {pair[1]} {verb} in torch but not here" if in_torch
                  else f"{pair[0]} and {pair[1]} {verb} here but not in torch")
        yield _Difference(kind, f"{pair[0]} & {pair[1]}", in_torch, not in_torch, detail)


def _value_detail(name, exp, act):
    if exp.dtype.kind != "f":
        mismatched = int(np.count_nonzero(exp != act)) if exp.shape == act.shape else exp.size
        return f"{name}: {mismatched} of {exp.size} values differ"
    with np.errstate(invalid="ignore"):
        diff = np.abs(act - exp)
    finite = diff[np.isfinite(diff)]
    worst = float(finite.max()) if finite.size else float("nan")
    return f"{name}: values differ (max abs difference {worst:.3g})"
