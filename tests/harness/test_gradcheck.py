"""The third opinion on gradients: float64 central differences say which side is closer."""

import json

import pytest

torch = pytest.importorskip("torch", reason="grads are judged against real PyTorch, absent in this env")

from harness import gradcheck, html_report, results  # noqa: E402
from harness.cli import exit_code  # noqa: E402
from harness.runner import DIVERGE, REFERENCE_MORE_ACCURATE, Runner  # noqa: E402
from harness.terminal import format_run  # noqa: E402
from tests import mutants  # noqa: E402

SINE = """\
x = torch.tensor([0.5, 1.5, -2.0], requires_grad=True)
w = torch.randn(3)
loss = (torch.sin(x) * w).sum()
loss.backward()
"""


@pytest.fixture
def skewed_torch(monkeypatch):
    """torch with every leaf's grad made ``grad * scale + shift`` after each backward: a torch-like
    backend that is off, against a reference that is not."""

    def skew(scale=1.001, shift=0.0, bump_version=False):
        original = torch.autograd.backward

        def backward(tensors, *args, **kwargs):
            original(tensors, *args, **kwargs)
            stack = [t.grad_fn for t in ([tensors] if isinstance(tensors, torch.Tensor) else tensors)]
            seen = set()
            while stack:
                node = stack.pop()
                if node is None or node in seen:
                    continue
                seen.add(node)
                if hasattr(node, "variable"):  # AccumulateGrad: the node of a leaf
                    # .data has a version counter of its own: through it, only the values differ
                    grad = node.variable.grad if bump_version else node.variable.grad.data
                    grad.mul_(scale).add_(shift)
                stack.extend(fn for fn, _ in node.next_functions)

        monkeypatch.setattr(torch.autograd, "backward", backward)

    return skew


def run(case):
    return Runner().run_case(case)


def test_the_reference_is_more_accurate_where_torch_is_off(make_case, skewed_torch):
    skewed_torch(scale=1.001)
    result = run(make_case(SINE))
    assert result.verdict == REFERENCE_MORE_ACCURATE
    assert [d.kind for d in result.divergences] == ["grad"]
    [entry] = result.third_opinion
    assert (entry["variable"], entry["line"], entry["reason"], entry["closer"]) == ("x", 10, None, "actual")
    assert entry["actual_within"] and not entry["expected_within"]
    assert entry["actual_error"] < 1e-6 < 1e-4 < entry["expected_error"] and entry["uncertainty"] < 1e-8
    estimate = torch.cos(torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64))
    torch.manual_seed(0)
    estimate *= torch.randn(3).double()
    assert sorted(entry["elements"]) == [0, 1, 2]
    assert entry["estimate"] == pytest.approx([float(estimate[i]) for i in entry["elements"]], rel=1e-7)


def test_reference_more_accurate_does_not_fail_and_is_reported(make_case, skewed_torch, tmp_path):
    import jsonschema

    skewed_torch(scale=1.001)
    result = run(make_case(SINE))
    run_results = results.RunResults({"expected": "torch", "actual": "reference_impl"}, {}, [result], [], "now")
    assert exit_code(run_results) == 0
    printed = format_run(run_results, verbose=True)
    assert "ref+" in printed and "1 reference more accurate" in printed
    assert "[third opinion] x.grad at line 10, by float64 central differences: reference_impl is closer" in printed
    page = html_report.render([run_results])
    assert "reference more accurate" in page and "Third opinion" in page
    results.save(run_results, tmp_path / "r.json")
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), json.loads(results.SCHEMA_PATH.read_text()))
    assert results.load(tmp_path / "r.json").results[0].third_opinion == result.third_opinion


def test_torch_is_closer_where_the_reference_is_broken(make_case):
    case = make_case("x = torch.tensor([0.5, 1.5, -2.0], requires_grad=True)\ny = (x * x).sum()\n"
                     "y.backward(retain_graph=True)\ny.backward()\n")
    with mutants.applied("grads-overwrite"):
        result = run(case)
    assert result.verdict == DIVERGE
    [entry] = result.third_opinion
    assert (entry["line"], entry["closer"], entry["expected_within"], entry["actual_within"]) == (10, "expected",
                                                                                                True, False)
    # the second backward adds 2x to the 2x already there: torch's 4x is right
    assert entry["estimate"] == pytest.approx([-8.0, 6.0, 2.0], rel=1e-8)
    assert "torch is closer" in format_run(results.RunResults(
        {"expected": "torch", "actual": "reference_impl"}, {}, [result], [], "now")).replace("impl is", "")


@pytest.mark.parametrize("code, reason", [
    ("x = torch.tensor([0.0, 1.5], requires_grad=True)\ny = torch.relu(x).sum()\ny.backward()\n",
     "the loss has a kink at x[0]"),
    ("x = torch.tensor([0.5, 1.5], dtype=torch.float32, requires_grad=True)\ny = torch.sin(x).sum()\ny.backward()\n",
     "x is not float64 in the float64 replay"),
    ("x = torch.tensor([0.5, 1.5], requires_grad=True)\ny = (torch.sin(x) * torch.rand(2)).sum()\ny.backward()\n",
     "the float64 replay does not reproduce y"),
    ("x = torch.tensor([0.5, 1.5], requires_grad=True)\nwith torch.no_grad():\n    x.mul_(2)\n"
     "y = torch.sin(x).sum()\ny.backward()\n", "x is modified in place between line 7 and the backward()"),
    ("x = torch.tensor([0.5, 1.5], requires_grad=True)\ny = torch.sin(x).sum()\nif True:\n    y.backward()\n",
     "a statement other than LOSS.backward(...)"),
])
def test_no_third_opinion_where_finite_differences_cannot_judge(make_case, skewed_torch, code, reason):
    skewed_torch(scale=1.001, shift=1e-3)
    result = run(make_case(code))
    assert result.verdict == DIVERGE, result.divergences
    [entry] = result.third_opinion
    assert reason in entry["reason"] and "closer" not in entry


def test_a_cast_loss_gives_no_float64_estimate(make_case, skewed_torch):
    skewed_torch(scale=1.001)
    result = run(make_case("x = torch.tensor([0.5, 1.5], requires_grad=True)\ny = torch.sin(x).float().sum()\n"
                           "y.backward()\n"))
    [entry] = result.third_opinion
    assert entry["reason"] == "the loss is a torch.float32 tensor in the float64 replay, not a float64 tensor " \
                              "(the code casts)"


def test_the_gradient_argument_weights_the_loss(make_case, skewed_torch):
    skewed_torch(scale=1.001)
    result = run(make_case("x = torch.tensor([0.5, 1.5], requires_grad=True)\ny = x * x\n"
                           "y.backward(torch.tensor([3.0, -1.0]))\n"))
    [entry] = result.third_opinion
    assert result.verdict == REFERENCE_MORE_ACCURATE
    assert dict(zip(entry["elements"], entry["estimate"])) == pytest.approx({0: 3.0, 1: -3.0}, rel=1e-8)


def test_other_divergences_keep_the_verdict_diverge(make_case, skewed_torch):
    skewed_torch(scale=1.001)
    result = run(make_case(SINE + "g = x.grad.clone()\n"))
    assert {d.kind for d in result.divergences} == {"grad", "value"}
    assert result.verdict == DIVERGE and result.third_opinion[0]["closer"] == "actual"
    assert not gradcheck.settles(result)


def test_grads_that_differ_in_more_than_values_keep_the_verdict_diverge(make_case, skewed_torch):
    skewed_torch(scale=1.001, bump_version=True)
    result = run(make_case(SINE))
    [entry] = result.third_opinion
    assert entry["closer"] == "actual" and entry["actual_within"] and entry["other_differences"] == ["version"]
    assert result.verdict == DIVERGE


def test_grads_with_equal_values_are_not_estimated(make_case, skewed_torch):
    skewed_torch(scale=1.0, bump_version=True)
    result = run(make_case("x = torch.tensor([0.5, 1.5], requires_grad=True)\n(x * 3).sum().backward()\n"))
    assert result.third_opinion == [{"variable": "x", "line": 8, "reason": "x.grad has the same values on both "
                                                                           "sides (it differs in version)"}]


def test_agreeing_grads_are_not_judged(make_case):
    result = run(make_case(SINE))
    assert result.verdict == "agree" and result.third_opinion is None
