"""Comparison: the divergences between an expected (torch) trace and an actual one."""

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
