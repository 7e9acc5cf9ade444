"""Claims a case makes (``expect:``) and the document's printed output (``doc_output:``).

Both are checked on each backend separately. A claim that fails on torch means the
document (or the case author) is wrong about today's PyTorch: a spec error.
"""

import re

import numpy as np

from .compare import TOLERANCES, close, mask_numbers
from .observe import decode_values, normalize_text


def failed_claims(expect, trace, tolerance=None):
    """Human-readable descriptions of every claim in ``expect`` that ``trace`` breaks."""
    if not expect or not trace.steps:
        return []
    last = trace.steps[-1]
    failures = []
    failures += _raises(expect.get("raises"), last.error)
    if last.error is not None and "raises" not in expect:
        failures.append(f"the case raised {last.error['type']}: {last.error['message']}")
    for claim, relation, wanted in (("shares_memory", last.sharing, True), ("not_shares_memory", last.sharing, False),
                                    ("same_object", last.identity, True), ("not_same_object", last.identity, False)):
        related = {tuple(sorted(pair)) for pair in relation}
        for a, b in expect.get(claim, []):
            if (tuple(sorted((a, b))) in related) != wanted:
                failures.append(f"{claim}: {a}, {b} does not hold")
    variables = last.variables
    for name, dtype in expect.get("dtypes", {}).items():
        got = _field(variables, name, "dtype")
        if got != dtype:
            failures.append(f"dtypes: {name} is {got}, not {dtype}")
    for name, shape in expect.get("shapes", {}).items():
        got = _field(variables, name, "shape")
        if got != list(shape):
            failures.append(f"shapes: {name} is {got}, not {list(shape)}")
    for name, value in expect.get("values", {}).items():
        observation = variables.get(name)
        if not _matches(observation, value, tolerance):
            failures.append(f"values: {name} is {_shown(observation)}, not {value!r}")
    for name, grad in expect.get("grads", {}).items():
        observation = (variables.get(name) or {}).get("grad")
        if not _matches(observation, grad, tolerance):
            failures.append(f"grads: {name}.grad is {_shown(observation)}, not {grad!r}")
    return failures


def _raises(claim, error):
    if claim is None:
        return []
    wanted = claim if isinstance(claim, dict) else {"type": claim}
    if error is None:
        return [f"raises: expected {wanted['type']}, but nothing was raised"]
    if error["type"] != wanted["type"]:
        return [f"raises: expected {wanted['type']}, got {error['type']}: {error['message']}"]
    if "match" in wanted and not re.search(wanted["match"], error["message"]):
        return [f"raises: message {error['message']!r} does not match {wanted['match']!r}"]
    return []


def _field(variables, name, field):
    observation = variables.get(name)
    if observation is None:
        return "undefined"
    if observation["type"] in ("Size", "dtype") and field in ("shape", "dtype"):
        return observation["value"]
    return observation.get(field, f"a {observation['type']}")


def _shown(observation):
    if observation is None:
        return "undefined (or None)"
    if observation["type"] in ("list", "tuple"):
        return "[" + ", ".join(_shown(item) for item in observation["items"]) + "]"
    return repr(observation.get("values", observation.get("value", observation)))


def _matches(observation, wanted, tolerance):
    if wanted is None or observation is None:
        return wanted is None and observation is None
    if observation["type"] in ("tensor", "ndarray"):
        dtype_name = observation["dtype"].removeprefix("torch.")
        floating = dtype_name in TOLERANCES
        got = decode_values(observation["values"], "f" if floating else "other")
        try:
            expected = np.array(wanted, dtype=np.float64 if floating else None)
        except (TypeError, ValueError):
            return False
        return close(expected, got, dtype_name, tolerance)
    if observation["type"] in ("list", "tuple"):
        return (isinstance(wanted, list) and len(wanted) == len(observation["items"])
                and all(_matches(item, w, tolerance) for item, w in zip(observation["items"], wanted)))
    if observation["type"] == "float" and isinstance(wanted, (int, float)):
        return bool(np.isclose(observation["value"], wanted, rtol=1e-7, atol=1e-7))
    return observation.get("value") == wanted


def normalize_output(text, mode):
    """Printed output as compared with the document: addresses masked, trailing spaces and
    blank lines dropped."""
    lines = [line.rstrip() for line in normalize_text(text).strip("\n").split("\n")]
    joined = "\n".join(lines)
    return mask_numbers(joined) if mode == "structure" else joined


def document_check(doc_output, traces):
    """Whether each backend printed what the document shows, for the report's three-way diff."""
    mode = doc_output.get("mode", "exact")
    wanted = normalize_output(doc_output["text"], mode)
    return {
        "mode": mode,
        "text": doc_output["text"],
        "matches": {role: normalize_output(trace.stdout(), mode) == wanted for role, trace in traces.items()},
    }
