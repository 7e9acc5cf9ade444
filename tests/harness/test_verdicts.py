"""How a case's own options turn comparisons into verdicts."""

import pytest

pytest.importorskip("torch", reason="verdicts are judged against real PyTorch, absent in this env")

from harness.runner import (  # noqa: E402
    AGREE,
    DIVERGE,
    ERROR,
    KNOWN,
    NOW_AGREEING,
    PENDING,
    SKIPPED,
    SPEC_ERROR,
    Runner,
)
from tests import mutants  # noqa: E402

VIEW_CODE = "x = torch.ones(2, 3)\ny = x.view(6)\n"


def test_claims_that_fail_on_torch_are_spec_errors(make_case):
    result = Runner().run_case(make_case(VIEW_CODE, expect={"not_shares_memory": [["x", "y"]],
                                                            "dtypes": {"y": "torch.float64"}}))
    assert result.verdict == SPEC_ERROR
    assert result.spec_errors == [
        "not_shares_memory: x, y does not hold", "dtypes: y is torch.float32, not torch.float64"]


def test_claims_that_hold_on_torch_but_fail_on_the_impl_are_divergences(make_case):
    case = make_case(VIEW_CODE, expect={"shares_memory": [["x", "y"]], "values": {"y": [1.0] * 6},
                                        "shapes": {"y": [6]}})
    assert Runner().run_case(case).verdict == AGREE
    with mutants.applied("view-copies"):
        result = Runner().run_case(case)
    assert [(d.kind, d.detail) for d in result.divergences if d.kind == "expect"] == [
        ("expect", "shares_memory: x, y does not hold")]


def test_value_claims_on_lists_scalars_and_sizes(make_case):
    code = "dims = [0, (1, 2.5)]\nn = 3\nshape = torch.ones(2, 3).shape\n"
    holds = make_case(code, expect={"values": {"dims": [0, [1, 2.5]], "n": 3, "shape": [2, 3]}})
    assert Runner().run_case(holds).verdict == AGREE
    fails = Runner().run_case(make_case(code, expect={"values": {"dims": [0, [1, 2.0]]}}))
    assert fails.spec_errors == ["values: dims is [0, [1, 2.5]], not [0, [1, 2.0]]"]


def test_raises_claims_check_type_and_message(make_case):
    code = "x = torch.zeros(3)\nx.view(4)\n"
    assert Runner().run_case(make_case(code, expect={"raises": "RuntimeError"})).verdict == AGREE
    wrong = Runner().run_case(make_case(code, expect={"raises": {"type": "RuntimeError", "match": "^nope"}}))
    assert wrong.verdict == SPEC_ERROR and "does not match '^nope'" in wrong.spec_errors[0]


def test_known_divergences_and_the_ratchet(make_case):
    known = make_case(VIEW_CODE, known_divergence={"reason": "teaching copy", "what": ["sharing"]})
    pending_ids = {"inline"}
    with mutants.applied("view-copies"):
        assert Runner().run_case(known).verdict == KNOWN
        assert Runner(pending=pending_ids).run_case(make_case(VIEW_CODE)).verdict == PENDING
        assert Runner().run_case(make_case(VIEW_CODE)).verdict == DIVERGE
        other_kind = make_case(VIEW_CODE, known_divergence={"reason": "r", "what": ["dtype"]})
        assert Runner().run_case(other_kind).verdict == DIVERGE
    assert Runner().run_case(known).verdict == NOW_AGREEING
    assert Runner(pending=pending_ids).run_case(make_case(VIEW_CODE)).verdict == NOW_AGREEING


def test_document_drift_is_information_not_a_verdict(make_case):
    code = "x = torch.ones(2, requires_grad=True)\ny = (x * 2).view(2, 1)\nprint(y)\n"
    doc = {"text": "tensor([[2.],\n        [2.]], grad_fn=<ViewBackward>)\n"}
    result = Runner(actual="torch").run_case(make_case(code, doc_output=doc))
    assert result.verdict == AGREE and result.drifted
    assert result.document["matches"] == {"expected": False, "actual": False}
    structure = make_case("print(torch.tensor([0.25, 4.0]))\n",
                          doc_output={"text": "tensor([0.9000, 1.5000])", "mode": "structure"})
    assert not Runner(actual="torch").run_case(structure).drifted


def test_unspecified_values_and_structure_output(make_case):
    code = "x = torch.empty(3, 4)\nprint(x)\n"
    loose = make_case(code, unspecified=("x",), compare_output="structure")
    strict_values = make_case("x = torch.empty(3, 4)\n")
    assert Runner().run_case(loose).verdict == AGREE
    assert strict_values.unspecified == ()


def test_tolerance_override_loosens_value_comparison(make_case):
    code = "x = torch.tensor([1.0, 2.0]) / 3\n"
    assert Runner(actual="torch").run_case(make_case(code, tolerance={"rtol": 0, "atol": 0})).verdict == AGREE


def test_cuda_cases_are_skipped_with_a_reason_where_there_is_no_gpu(make_case):
    [cpu, cuda] = Runner().run(make_case("x = torch.ones(1)\n", devices=("cpu", "cuda")))
    assert cpu.verdict == AGREE and cpu.key == "inline"
    assert cuda.verdict == SKIPPED and cuda.key == "inline[cuda]"
    assert "cuda is not available to torch" in cuda.error


def test_a_hanging_case_hits_the_time_limit_and_the_run_goes_on(make_case):
    runner = Runner(time_limit=0.5)
    hung = runner.run_case(make_case("while True:\n    pass\n"))
    assert hung.verdict == ERROR and "ran past its 0.5 s time limit" in hung.error
    assert runner.run_case(make_case("x = torch.ones(1)\n")).verdict == AGREE


def test_tensors_above_the_size_cap_are_refused(make_case):
    result = Runner().run_case(make_case("x = torch.zeros(1000, 1000)\n"))
    assert result.verdict == ERROR
    assert result.error == "inline.yaml:7: a tensor of shape [1000, 1000] is above the cap of 100000 elements"
