"""Comparison: the divergences between an expected (torch) trace and an actual one."""

from dataclasses import asdict, dataclass

import numpy as np

from .observe import decode_values

# torch.testing.assert_close defaults, as (rtol, atol); integers and bools compare exactly.
TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


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


def compare_traces(expected, actual):
    """Divergences in statement order; each (kind, variable) is reported once, where it starts."""
    found = []
    seen = set()
    for exp_step, act_step in zip(expected.steps, actual.steps):
        for kind, variable, exp, act, detail in _step_differences(exp_step, act_step):
            if (kind, variable) in seen:
                continue
            seen.add((kind, variable))
            found.append(Divergence(kind, exp_step.index, exp_step.line, exp_step.source,
                                    variable, exp, act, detail))
    return found


def _step_differences(exp, act):
    if exp.error != act.error:
        yield _error_difference(exp.error, act.error)
    if exp.stdout != act.stdout:
        yield "output", None, exp.stdout, act.stdout, "printed output differs"
    if exp.warnings != act.warnings:
        yield "warning", None, exp.warnings, act.warnings, "warnings differ"
    for name in sorted(set(exp.variables) | set(act.variables)):
        if name not in act.variables or name not in exp.variables:
            yield ("variable", name, exp.variables.get(name), act.variables.get(name),
                   f"{name} exists on only one backend")
            continue
        yield from compare_observations(name, exp.variables[name], act.variables[name])
    yield from _relation_differences("sharing", "share memory", exp.sharing, act.sharing)
    yield from _relation_differences("identity", "are the same object", exp.identity, act.identity)


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
        yield kind, f"{pair[0]} & {pair[1]}", in_torch, not in_torch, detail


def compare_observations(name, exp, act):
    """Yield (kind, variable, expected, actual, detail) for each way two observations differ."""
    if exp["type"] != act["type"]:
        yield "type", name, exp, act, f"{name} is a {act['type']}, torch gives a {exp['type']}"
        return
    kind = exp["type"]
    if kind in ("tensor", "ndarray"):
        yield from _compare_arrays(name, exp, act)
    elif kind in ("list", "tuple"):
        if len(exp["items"]) != len(act["items"]):
            yield "shape", name, exp, act, f"{name} has {len(act['items'])} items, torch {len(exp['items'])}"
            return
        for index, (e, a) in enumerate(zip(exp["items"], act["items"])):
            yield from compare_observations(f"{name}[{index}]", e, a)
    elif kind == "float":
        if not _close(np.array([exp["value"]], dtype=float), np.array([act["value"]], dtype=float), "float64"):
            yield "value", name, exp, act, f"{name} = {act['value']!r}, torch gives {exp['value']!r}"
    elif exp != act:
        yield "value", name, exp, act, f"{name} differs"


def _compare_arrays(name, exp, act):
    if exp["dtype"] != act["dtype"]:
        yield "dtype", name, exp["dtype"], act["dtype"], f"{name} has dtype {act['dtype']}, torch {exp['dtype']}"
    if exp["shape"] != act["shape"]:
        yield "shape", name, exp["shape"], act["shape"], f"{name} has shape {act['shape']}, torch {exp['shape']}"
        return
    for field in ("stride", "storage_offset"):
        if field in exp and exp[field] != act.get(field):
            yield ("layout", name, {field: exp[field]}, {field: act.get(field)},
                   f"{name}.{field} is {act.get(field)}, torch {exp[field]}")
    dtype_name = exp["dtype"].removeprefix("torch.")
    kind_letter = "f" if dtype_name in TOLERANCES else "other"
    exp_values = decode_values(exp["values"], kind_letter)
    act_values = decode_values(act["values"], kind_letter)
    if not _close(exp_values, act_values, dtype_name):
        yield "value", name, exp["values"], act["values"], _value_detail(name, exp_values, act_values)


def _close(exp, act, dtype_name):
    """assert_close's rule: |a - e| <= atol + rtol * |e|, NaN equal to NaN, exact for ints."""
    if exp.shape != act.shape:
        return False
    if dtype_name not in TOLERANCES:
        return bool(np.array_equal(exp, act))
    rtol, atol = TOLERANCES[dtype_name]
    return bool(np.allclose(act, exp, rtol=rtol, atol=atol, equal_nan=True))


def _value_detail(name, exp, act):
    if exp.dtype.kind != "f":
        mismatched = int(np.count_nonzero(exp != act))
        return f"{name}: {mismatched} of {exp.size} values differ"
    with np.errstate(invalid="ignore"):
        diff = np.abs(act - exp)
    finite = diff[np.isfinite(diff)]
    worst = float(finite.max()) if finite.size else float("nan")
    return f"{name}: values differ (max abs difference {worst:.3g})"
