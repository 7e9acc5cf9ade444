"""A third opinion on gradients: float64 central differences of the loss that was backward()-ed.

When torch and the implementation disagree on the values of a leaf's ``.grad``, neither can
be taken as right on accuracy alone: both compute in the leaf's dtype, usually float32. This
module estimates the true gradient from forward evaluations only, so it depends on neither
backward pass, and says which side is closer.

How. The divergence names the leaf ``x`` and the statement where its grad first differs,
which must be a top-level ``LOSS.backward(...)``. A replay case is written from the case's
statements before it: it first sets the default dtype to float64, and after each statement
that binds a floating leaf tensor it copies in the values torch observed for it (so random
numbers and float32 literals are those of the run being judged, now held in float64). ``x``
gets torch's values moved by +-h in one element; the replay ends by binding the loss (and
the ``gradient`` backward was given). Replays run on the expected backend (torch) through
trace.run_trace, in the same sandbox, with the same seed and time limit as any case. With
``f = sum(LOSS * gradient)``, the central difference ``(f(x + h e_i) - f(x - h e_i)) / 2h``
(``h = 1e-6 * max(1, |x_i|)``) estimates how much the statement adds to ``x.grad[i]``;
each side is judged against its own grad before the statement plus that estimate, in units
of the dtype's tolerance (compare.TOLERANCES, or the case's). Only the elements where the
two sides differ are estimated, the MAX_ELEMENTS most different first. The runner's verdict
becomes "reference more accurate" only where ``settles`` holds: every divergence is in grad
values, and the implementation is within tolerance of the estimate and closer than torch.

Limits, each reported as the reason there is no third opinion rather than guessed around:
the statement is not ``LOSS.backward(...)``; ``x`` is not a floating leaf that requires grad,
is modified in place between its binding and the backward, or is not float64 in the replay
(the code names its dtype); the loss is not float64 in the replay (the code casts); the
unperturbed replay does not reproduce the tensors torch had before the backward (within 10x
the dtype's tolerance), e.g. when random numbers are drawn inside an expression; a replay
raises or the leaves hold more than MAX_PINNED values; the loss has a kink at ``x`` (one-sided
differences disagree, as for relu at 0 or max at a tie, where the gradient is a convention
rather than a limit); the estimate is too uncertain to judge at the dtype's tolerance; or the
replays together run past the case's time limit.
"""

import ast
import dataclasses
import time

import numpy as np

from .compare import TOLERANCES
from .given import render
from .observe import decode_values
from .trace import CaseTimeout, run_trace, split_statements

MAX_ELEMENTS = 16  # gradient elements estimated per leaf, the most different first
MAX_PINNED = 10_000  # leaf values a replay may copy in
STEP = 1e-6  # h = STEP * max(1, |x_i|)
KINK = 1e-3  # one-sided differences further apart than KINK * max(1, |central|) mark a kink
REPLAY_SLACK = 10  # the unperturbed replay must match torch's values within 10x the dtype's tolerance
ACCURACY = 0.1  # the estimate's uncertainty must stay below a tenth of the tolerance it judges by
LOSS, WEIGHTS = "third_opinion_loss", "third_opinion_gradient"  # names the replay binds last
_EPS = float(np.finfo(np.float64).eps)


class _Unavailable(Exception):
    """Why there is no third opinion for one grad."""


def third_opinion(case, result, backend, time_limit=None):
    """One entry per leaf whose grad differs, or None when no grad diverges.

    An entry is ``{variable, line, reason}`` when there is no estimate (``reason`` says why),
    else ``{variable, line, reason: None, elements, estimate, uncertainty, expected, actual,
    expected_error, actual_error, expected_within, actual_within, closer, other_differences}``:
    the flat indices estimated; the grad torch should have there; how uncertain that is; both
    sides' grads there; each side's largest absolute error; whether it is within the dtype's
    tolerance; the side closer to the estimate ("expected" or "actual"; torch on a tie); and
    the grads' observed fields other than values that differ too (dtype, stride, version...).
    ``time_limit`` bounds all the replays for one leaf together.
    """
    entries = []
    for divergence in result.divergences:
        if divergence.kind != "grad" or any(e["variable"] == divergence.variable for e in entries):
            continue
        entry = {"variable": divergence.variable, "line": divergence.line, "reason": None}
        try:
            entry.update(_estimate(case, result, divergence, backend, time_limit))
        except _Unavailable as why:
            entry["reason"] = str(why)
        entries.append(entry)
    return entries or None


def settles(result):
    """True when every divergence is in a grad's values, and the third opinion finds the
    implementation to have them right (within tolerance of the estimate) and closer than torch."""
    entries = {entry["variable"]: entry for entry in result.third_opinion or ()}
    return bool(result.divergences) and all(
        d.kind == "grad" and d.variable in entries and entries[d.variable]["reason"] is None
        and entries[d.variable]["closer"] == "actual" and entries[d.variable]["actual_within"]
        and not entries[d.variable]["other_differences"] for d in result.divergences)


def _estimate(case, result, divergence, backend, time_limit):
    name, step = divergence.variable, divergence.step
    expected = result.traces["expected"]
    grads = [result.traces[role].steps[step].variables.get(name, {}).get("grad") for role in ("expected", "actual")]
    if not all(isinstance(g, dict) and g.get("type") == "tensor" for g in grads):
        raise _Unavailable(f"{name}.grad is not a tensor on both sides")
    if grads[0]["shape"] != grads[1]["shape"]:
        raise _Unavailable(f"{name}.grad has shape {grads[1]['shape']}, torch {grads[0]['shape']}")
    dtype_name = grads[0]["dtype"].removeprefix("torch.")
    if dtype_name not in TOLERANCES:
        raise _Unavailable(f"{name}.grad is {grads[0]['dtype']}, not of a floating dtype")
    statements = split_statements(case)
    receiver, gradient = _backward_call(statements[step][2])
    bound_at = _binding(statements, name, step)
    bound, before = expected.steps[bound_at].variables.get(name), expected.steps[step - 1].variables.get(name)
    if not (isinstance(before, dict) and before.get("type") == "tensor" and before.get("is_leaf") is True
            and before.get("requires_grad") is True):
        raise _Unavailable(f"{name} is not a leaf tensor that requires grad before the backward()")
    if bound is None or bound.get("version") != before.get("version"):
        raise _Unavailable(f"{name} is modified in place between line {statements[bound_at][0]} and the backward()")
    x0 = decode_values(before["values"], "f")
    sides = [decode_values(g["values"], "f").reshape(-1) for g in grads]
    priors = [_grad_before(result.traces[role], step, name, x0.size) for role in ("expected", "actual")]
    elements = _most_different(*sides)
    if not elements.size:
        raise _Unavailable(f"{name}.grad has the same values on both sides (it differs in "
                           f"{', '.join(_other_differences(grads))})")
    replay = _Replay(case, statements[:step], expected, backend, name, bound_at, (receiver, gradient), time_limit)
    f0 = replay.loss(x0, check=True)
    estimate, uncertainty = [], []
    for index in elements:
        h = STEP * max(1.0, abs(float(x0.flat[index])))
        f = {k: replay.loss(_moved(x0, index, k * h)) for k in (-2, -1, 1, 2)}
        central, wide = (f[1] - f[-1]) / (2 * h), (f[2] - f[-2]) / (4 * h)
        forward, backward = (f[1] - f0) / h, (f0 - f[-1]) / h
        where = f"{name}{_index(x0.shape, index)}"
        if not np.isfinite([central, wide]).all():
            raise _Unavailable(f"the finite difference for {where} is not finite")
        if abs(forward - backward) > KINK * max(1.0, abs(central)):
            raise _Unavailable(f"the loss has a kink at {where}: one-sided differences {backward:.6g} and "
                               f"{forward:.6g}, so the gradient there is a convention")
        estimate.append(central)
        # Richardson: central(2h) - central(h) is 3x the truncation error of central(h); plus rounding.
        uncertainty.append(abs(wide - central) / 3 + _EPS * (abs(f[1]) + abs(f[-1])) / h)
    central = np.array(estimate)
    judged = _judge(name, [side[elements] for side in sides], [prior[elements] + central for prior in priors],
                    np.array(uncertainty), dtype_name, case.tolerance, elements)
    judged["other_differences"] = _other_differences(grads)
    return judged


def _other_differences(grads):
    """The observed fields of two grads, other than values and memory, that differ."""
    return sorted(key for key in set(grads[0]) | set(grads[1])
                  if key not in ("values", "memory") and grads[0].get(key) != grads[1].get(key))


def _backward_call(node):
    """(receiver, gradient) expressions of a ``RECEIVER.backward(gradient, ...)`` statement."""
    call = node.value if isinstance(node, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "backward"):
        raise _Unavailable("the grad first differs at a statement other than LOSS.backward(...)")
    gradient = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "gradient"), None)
    return call.func.value, gradient


def _binding(statements, name, step):
    """Index of the last statement before ``step`` that binds ``name``."""
    for index in range(step - 1, -1, -1):
        if name in _stored_names(statements[index][2]):
            return index
    raise _Unavailable(f"{name} is not bound by a statement before the backward()")


def _stored_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _grad_before(trace, step, name, size):
    """The leaf's grad, flat, before the backward statement (zeros when it had none)."""
    grad = trace.steps[step - 1].variables.get(name, {}).get("grad")
    if isinstance(grad, dict) and grad.get("type") == "tensor":
        return decode_values(grad["values"], "f").reshape(-1)
    return np.zeros(size)


def _most_different(expected, actual):
    """Flat indices where the grads differ, the MAX_ELEMENTS largest differences first."""
    with np.errstate(invalid="ignore"):
        difference = np.nan_to_num(np.abs(actual - expected), nan=np.inf)
    order = np.argsort(-difference, kind="stable")
    return order[difference[order] > 0][:MAX_ELEMENTS]


def _moved(x, index, delta):
    moved = x.copy()
    moved.flat[index] += delta
    return moved


def _index(shape, flat):
    return str([int(i) for i in np.unravel_index(flat, shape)]) if shape else ""


def _judge(name, grads, estimates, uncertainty, dtype_name, tolerance, elements):
    """Each side's grad against the estimate for it (its own grad before the statement plus the
    central differences), in units of the dtype's tolerance."""
    rtol, atol = TOLERANCES[dtype_name]
    rtol, atol = (tolerance or {}).get("rtol", rtol), (tolerance or {}).get("atol", atol)
    scale = atol + rtol * np.abs(estimates[0])
    if (uncertainty > ACCURACY * scale).any():
        raise _Unavailable(f"the finite differences for {name} are not accurate enough to judge at {dtype_name}'s "
                           f"tolerance (uncertain by up to {uncertainty.max():.3g})")
    with np.errstate(invalid="ignore"):
        errors = [np.nan_to_num(np.abs(grad - estimate), nan=np.inf) for grad, estimate in zip(grads, estimates)]
    normalized = [float((error / scale).max()) for error in errors]
    return {
        "elements": [int(i) for i in elements],
        "estimate": estimates[0].tolist(),
        "uncertainty": float(uncertainty.max()),
        "expected": grads[0].tolist(),
        "actual": grads[1].tolist(),
        "expected_error": float(errors[0].max()),
        "actual_error": float(errors[1].max()),
        "expected_within": normalized[0] <= 1,
        "actual_within": normalized[1] <= 1,
        "closer": "actual" if normalized[1] < normalized[0] else "expected",
    }


class _Replay:
    """The statements before the backward as a float64 case, the leaves pinned to torch's values."""

    def __init__(self, case, statements, trace, backend, name, bound_at, loss, time_limit):
        self.case, self.statements, self.trace, self.backend = case, statements, trace, backend
        self.name, self.bound_at, self.time_limit = name, bound_at, time_limit
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        receiver, gradient = loss
        self.ending = [f"{LOSS} = {ast.unparse(receiver)}"] + (
            [] if gradient is None else [f"{WEIGHTS} = {ast.unparse(gradient)}"])
        leaves = [list(self._leaves(index, statement[2])) for index, statement in enumerate(statements)]
        pinned = sum(len(values) for bound in leaves for _, values in bound)
        if pinned > MAX_PINNED:
            raise _Unavailable(f"the replay would copy in {pinned} leaf values, above {MAX_PINNED}")
        self.pins = [[self._pin(leaf, values) for leaf, values in bound] for bound in leaves]

    def _leaves(self, index, node):
        """(name, flat values) of the floating leaf tensors statement ``index`` binds, but ``name``."""
        variables = self.trace.steps[index].variables
        for leaf in sorted(_stored_names(node) - {self.name}):
            observed = variables.get(leaf)
            if (isinstance(observed, dict) and observed.get("type") == "tensor" and observed.get("is_leaf") is True
                    and observed["dtype"].removeprefix("torch.") in TOLERANCES
                    and not any(stride == 0 and size > 1 for stride, size in zip(observed["stride"],
                                                                                  observed["shape"]))):
                yield leaf, decode_values(observed["values"], "f").reshape(-1).tolist()

    @staticmethod
    def _pin(leaf, values):
        listed = ", ".join(render(float(v)) for v in values)
        return (f"with torch.no_grad(): {leaf}.copy_(torch.tensor([{listed}], dtype={leaf}.dtype, "
                f"device={leaf}.device).reshape({leaf}.shape))")

    def loss(self, x, check=False):
        """``sum(LOSS * gradient)`` in float64 with ``name`` holding ``x``; ``check`` compares the
        tensors before the backward with those torch observed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Unavailable(f"the replays ran past the case's {self.time_limit:g} s time limit")
        lines = ["torch.set_default_dtype(torch.float64)"]
        for index, (_, source, _) in enumerate(self.statements):
            lines += [source, *self.pins[index]]
            if index == self.bound_at:
                lines.append(f"if {self.name}.dtype != torch.float64: raise TypeError('{self.name} is not float64')")
                lines.append(self._pin(self.name, x.reshape(-1).tolist()))
        before_loss = len(lines)
        code = "\n".join(lines + self.ending)
        replay = dataclasses.replace(self.case, code=code, code_line=1, expect={}, doc_output=None, given=None,
                                     examples=None)
        try:
            trace = run_trace(replay, self.backend, self.trace.device, self.time_limit, self.trace.default_device)
        except CaseTimeout:
            raise _Unavailable(f"a replay ran past the case's {self.time_limit:g} s time limit") from None
        error = trace.final_error()
        if error is not None:
            if error["message"] == f"{self.name} is not float64":
                raise _Unavailable(f"{self.name} is not float64 in the float64 replay (the code names its dtype)")
            raise _Unavailable(f"the float64 replay raised {error['type']} at `{trace.steps[-1].source[:80]}`: "
                               f"{error['message']}")
        if check:
            self._check(trace.steps[before_loss - 1].variables)
        return self._value(trace.steps[-1].variables)

    def _value(self, variables):
        loss = variables[LOSS]
        if not (isinstance(loss, dict) and loss.get("type") == "tensor" and loss["dtype"] == "torch.float64"):
            raise _Unavailable(f"the loss is {_describe(loss)} in the float64 replay, not a float64 tensor "
                               "(the code casts)")
        value = decode_values(loss["values"], "f")
        if WEIGHTS in variables:
            weights = variables[WEIGHTS]
            kind = "f" if weights.get("dtype", "").removeprefix("torch.") in TOLERANCES else "other"
            value = value * (decode_values(weights["values"], kind) if "values" in weights else weights["value"])
        return float(np.sum(value))

    def _check(self, variables):
        for name, observed in self.trace.steps[len(self.statements) - 1].variables.items():
            replayed = variables.get(name)
            if not (isinstance(observed, dict) and observed.get("type") == "tensor"
                    and isinstance(replayed, dict) and replayed.get("type") == "tensor"):
                continue
            dtype_name = observed["dtype"].removeprefix("torch.")
            kind = "f" if dtype_name in TOLERANCES else "other"
            ours, theirs = decode_values(replayed["values"], kind), decode_values(observed["values"], kind)
            if ours.shape != theirs.shape:
                same = False
            elif dtype_name in TOLERANCES:
                rtol, atol = TOLERANCES[dtype_name]
                same = np.allclose(ours, theirs, rtol=REPLAY_SLACK * rtol, atol=REPLAY_SLACK * atol, equal_nan=True)
            else:
                same = bool(np.array_equal(ours, theirs))
            if not same:
                raise _Unavailable(f"the float64 replay does not reproduce {name} as torch computed it (random "
                                   "numbers drawn inside an expression, or a result that depends on the dtype)")


def _describe(observation):
    if isinstance(observation, dict) and observation.get("type") == "tensor":
        return f"a {observation['dtype']} tensor"
    return f"a {observation.get('type')}" if isinstance(observation, dict) else repr(observation)
