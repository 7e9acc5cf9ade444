"""End to end: cases run on real torch and reference_impl, compared, saved and reported."""

import json

import pytest

pytest.importorskip("torch", reason="the pipeline compares against real PyTorch, absent in this env")

from harness import html_report, results  # noqa: E402
from harness.cli import run_suite  # noqa: E402
from harness.runner import AGREE, DIVERGE, ERROR, Runner  # noqa: E402
from tests import mutants  # noqa: E402


def run(case):
    return Runner().run_case(case)


def test_an_agreeing_case_records_every_statement_and_the_sharing(make_case):
    result = run(make_case("""\
        x = torch.ones(2, 3)
        y = x.view(6)
        x += 1
        print(y)
    """))
    assert result.verdict == AGREE, result.divergences
    torch_trace, ref_trace = result.traces["expected"], result.traces["actual"]
    assert [s.line for s in torch_trace.steps] == [7, 8, 9, 10]
    assert torch_trace.steps[1].sharing == ref_trace.steps[1].sharing == [["x", "y"]]
    assert ref_trace.steps[2].variables["y"]["values"] == [2.0] * 6
    assert ref_trace.steps[3].stdout == "tensor([2., 2., 2., 2., 2., 2.])\n"


def test_a_planted_copying_view_is_reported_as_exactly_one_sharing_divergence(make_case):
    case = make_case("x = torch.ones(2, 3)\ny = x.view(6)\n")
    with mutants.applied("view-copies"):
        result = run(case)
    assert result.verdict == DIVERGE
    [divergence] = result.divergences
    assert (divergence.kind, divergence.variable, divergence.line) == ("sharing", "x & y", 8)
    assert divergence.detail == "x and y share memory in torch but not here"
    assert run(case).verdict == AGREE  # the unbroken reference agrees


def test_an_add_that_returns_a_new_tensor_breaks_identity(make_case):
    case = make_case("x = torch.ones(2)\ny = torch.zeros(2)\nz = y.add_(x)\n")
    with mutants.applied("add_-returns-new"):
        result = run(case)
    assert [(d.kind, d.variable) for d in result.divergences] == [
        ("version", "y"), ("value", "y"), ("version", "z"), ("sharing", "y & z"), ("identity", "y & z")]


def test_identical_errors_agree_and_stop_the_case(make_case):
    result = run(make_case("x = torch.zeros(5, 3)\ny = x.view(4)\nz = 1\n"))
    assert result.verdict == AGREE
    last = result.traces["actual"].steps[-1]
    assert last.error == {"type": "RuntimeError", "message": "shape '[4]' is invalid for input of size 15"}
    assert len(result.traces["actual"].steps) == 2


def test_observing_does_not_change_torch_behaviour(make_case):
    # Exporting torch storage to numpy would pin it, and this resize would then fail.
    result = Runner(actual="torch").run_case(make_case(
        "x = torch.ones(2)\nresult = torch.empty(0)\ntorch.add(x, 1, out=result)\nresult.resize_(5)\n"))
    assert [step.error for step in result.traces["expected"].steps] == [None] * 4


def test_odd_values_are_observed_and_saved(make_case, tmp_path):
    case = make_case("objects = np.array([torch.ones(1), 2], dtype=object)\nz = np.array([1 + 2j])\n"
                     "print('a')\nprint('b')\n")
    result = Runner(actual="torch").run_case(case)
    assert result.traces["expected"].steps[0].variables["objects"]["values"] == ["tensor([1.])", "2"]
    run = results.RunResults({"expected": "torch", "actual": "torch"}, {}, [result], [], "now")
    results.save(run, tmp_path / "r.json")
    assert results.load(tmp_path / "r.json").results[0].verdict == AGREE


def test_output_differences_are_reported_at_every_statement(make_case):
    with mutants.applied("repr-without-dtype"):
        result = run(make_case("x = torch.ones(1, dtype=torch.int32)\nx\ny = x + 1\ny\n"))
    assert [(d.kind, d.line) for d in result.divergences] == [("output", 8), ("output", 10)]


def test_ids_are_compared_as_tokens_not_addresses(make_case):
    result = run(make_case("x = torch.ones(1)\nbefore = id(x)\nx = x + 1\nprint(id(x) == before)\n"))
    assert result.verdict == AGREE
    assert result.traces["actual"].steps[1].variables["before"] == {"type": "object_id", "token": 1}


def test_a_case_that_exits_or_has_bad_code_is_contained(make_case):
    assert run(make_case("raise SystemExit(3)\n")).verdict == AGREE
    bad = run(make_case("x = = 1\n"))
    assert bad.verdict == ERROR and bad.error.startswith("inline.yaml:7: invalid Python")
    refused = run(make_case("import os\n"))
    assert refused.verdict == ERROR and "may import only torch and numpy, not 'os'" in refused.error


def test_a_harness_crash_in_one_case_does_not_stop_the_others(tmp_path, monkeypatch):
    (tmp_path / "c.yaml").write_text(
        "section: '1'\ncases:\n"
        "  - {id: fine-a, title: a, code: 'x = torch.ones(1)'}\n"
        "  - {id: crashes, title: b, code: 'y = torch.ones(2)'}\n"
        "  - {id: fine-c, title: c, code: 'z = torch.ones(3)'}\n")
    import harness.runner as runner_module

    real_compare = runner_module.compare_traces

    def compare_or_crash(expected, actual, *options):
        if "y" in expected.steps[0].variables:
            raise ZeroDivisionError("planted harness bug")
        return real_compare(expected, actual, *options)

    monkeypatch.setattr(runner_module, "compare_traces", compare_or_crash)
    run_results = run_suite([tmp_path])
    assert [r.verdict for r in run_results.results] == [AGREE, ERROR, AGREE]
    assert "ZeroDivisionError: planted harness bug" in run_results.results[1].error


def test_results_round_trip_through_json_and_rebuild_the_same_report(tmp_path):
    original = run_suite(["spec_cases"])
    path = tmp_path / "results.json"
    results.save(original, path)
    reloaded = results.load(path)
    assert reloaded.to_dict() == original.to_dict()
    results.save(reloaded, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == path.read_text()
    assert html_report.render([reloaded]) == html_report.render([original])


def test_html_escapes_everything_that_comes_from_cases(tmp_path):
    (tmp_path / "evil.yaml").write_text(
        "section: '<b>1</b>'\ncases:\n"
        "  - id: evil\n    title: \"<script>alert('title')</script>\"\n"
        "    code: |\n      raise ValueError('<script>alert(1)</script>')\n")
    page = html_report.render([run_suite([tmp_path])])
    assert page.count("<script>") == 1 and "<b>1</b>" not in page  # the one script is the report's own
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_results_files_validate_against_the_published_schema(tmp_path):
    import jsonschema

    from harness.results import SCHEMA_PATH

    run = run_suite(["spec_cases/2.2.4-memory-cost.yaml", "spec_cases/2.3.2-tensors-and-gradients.yaml"])
    results.save(run, tmp_path / "r.json")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), schema)
