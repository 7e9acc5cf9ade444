"""The comparator on hand-built traces (no backend needed)."""

from harness.compare import compare_traces
from harness.trace import Step, Trace


def tensor(values, dtype="torch.float32", shape=None, stride=None, memory=None):
    shape = shape if shape is not None else [len(values)]
    return {"type": "tensor", "shape": shape, "dtype": dtype, "values": values,
            "stride": stride or [1], "storage_offset": 0, "memory": memory}


def traces(expected_steps, actual_steps):
    return Trace("torch", "x", "cpu", expected_steps), Trace("impl", "y", "cpu", actual_steps)


def step(index=0, **fields):
    return Step(index=index, line=10 + index, source=f"statement {index}", **fields)


def kinds(divergences):
    return [(d.kind, d.variable, d.step) for d in divergences]


def test_float32_values_within_assert_close_tolerance_agree():
    exp = step(variables={"x": tensor([1.0, 100.0, "nan"])})
    act = step(variables={"x": tensor([1.0 + 1e-6, 100.0 + 1e-4, "nan"])})
    assert compare_traces(*traces([exp], [act])) == []


def test_values_outside_tolerance_diverge_with_the_worst_difference():
    exp = step(variables={"x": tensor([1.0, 2.0])})
    act = step(variables={"x": tensor([1.0, 2.001])})
    [divergence] = compare_traces(*traces([exp], [act]))
    assert (divergence.kind, divergence.variable, divergence.line) == ("value", "x", 10)
    assert "max abs difference 0.001" in divergence.detail


def test_nan_against_a_number_and_integers_compare_exactly():
    assert kinds(compare_traces(*traces([step(variables={"x": tensor(["nan"])})],
                                        [step(variables={"x": tensor([0.0])})]))) == [("value", "x", 0)]
    exp = step(variables={"n": tensor([3], dtype="torch.int64")})
    act = step(variables={"n": tensor([4], dtype="torch.int64")})
    assert kinds(compare_traces(*traces([exp], [act]))) == [("value", "n", 0)]


def test_dtype_shape_and_layout_are_separate_kinds():
    exp = step(variables={"a": tensor([1.0]), "b": tensor([1.0, 2.0], stride=[1])})
    act = step(variables={"a": tensor([1.0], dtype="torch.float64"), "b": tensor([1.0, 2.0], stride=[2])})
    assert kinds(compare_traces(*traces([exp], [act]))) == [("dtype", "a", 0), ("layout", "b", 0)]


def test_each_divergence_is_reported_once_at_the_statement_where_it_starts():
    same = {"x": tensor([1.0])}
    exp = [step(0, variables=same), step(1, variables={"x": tensor([2.0])}), step(2, variables={"x": tensor([2.0])})]
    act = [step(0, variables=same), step(1, variables={"x": tensor([1.0])}), step(2, variables={"x": tensor([1.0])})]
    assert kinds(compare_traces(*traces(exp, act))) == [("value", "x", 1)]


def test_errors_outputs_and_relations():
    error = {"type": "RuntimeError", "message": "boom"}
    cases = [
        (step(error=error), step(), "error"),
        (step(error=error), step(error={"type": "ValueError", "message": "boom"}), "error-type"),
        (step(error=error), step(error={"type": "RuntimeError", "message": "bang"}), "error-message"),
        (step(stdout="True\n"), step(stdout="False\n"), "output"),
        (step(sharing=[["x", "y"]]), step(), "sharing"),
        (step(), step(identity=[["x", "y"]]), "identity"),
    ]
    for exp, act, kind in cases:
        [divergence] = compare_traces(*traces([exp], [act]))
        assert divergence.kind == kind


def test_object_id_tokens_and_containers():
    exp = step(variables={"i": {"type": "object_id", "token": 1},
                          "t": {"type": "tuple", "items": [tensor([1.0]), {"type": "int", "value": 2}]}})
    act = step(variables={"i": {"type": "object_id", "token": 2},
                          "t": {"type": "tuple", "items": [tensor([1.0]), {"type": "int", "value": 3}]}})
    assert kinds(compare_traces(*traces([exp], [act]))) == [("value", "i", 0), ("value", "t[1]", 0)]
