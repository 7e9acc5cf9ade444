"""The fuzzer: its program strategies, the differential engine, saved findings and the CLI.

The bounded run (test_a_bounded_run_finds_no_new_divergence) is the derandomized fuzz pass
of the default test command: a fixed seed, so it runs the same programs every time.
"""

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

pytest.importorskip("torch", reason="the fuzzer compares against real PyTorch, absent in this env")

from harness import cli  # noqa: E402
from harness.cases import load_file  # noqa: E402
from harness.compare import Divergence  # noqa: E402
from harness.fuzz import (  # noqa: E402
    IGNORED_KINDS,
    Finding,
    case_id_for,
    finding_yaml,
    format_report,
    fuzz,
    known_signatures,
    program_case,
    run_program,
    save_finding,
    signature_of,
)
from harness.fuzz_programs import AREAS, Program, Statement, programs  # noqa: E402
from harness.runner import AGREE, DIVERGE, KNOWN, Runner  # noqa: E402
from harness.sandbox import check  # noqa: E402
from tests import mutants  # noqa: E402

GENERATE_ONLY = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                         phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow])

# What the issue asks the programs to exercise, as features the generator records.
REQUIRED_FEATURES = {
    "shape:0-dim", "shape:empty", "shape:size-1", "dtype:float32", "dtype:float64", "dtype:int64", "dtype:bool",
    "create:randn", "create:arange", "create:tensor", "elementwise:binary", "elementwise:scalar",
    "elementwise:broadcast", "elementwise:unary", "view:permute", "view:transpose", "view:slice", "slice:step",
    "view:expand", "view:view", "view:reshape", "view:noncontiguous", "inplace:op", "inplace:through-view",
    "reduce:dim", "reduce:keepdim", "index:basic", "index:list", "index:tensor", "index:mask", "setitem:basic",
    "setitem:mask", "setitem:list", "setitem:through-view", "numpy:numpy", "numpy:from_numpy", "numpy:array-write",
    "autograd:leaf", "autograd:chain", "autograd:backward", "autograd:retain_grad",
}

# The text each feature must show in the code of a program that claims it.
FEATURE_TEXT = {
    "view:permute": ".permute(", "view:transpose": ".transpose(", "view:expand": ".expand(",
    "view:view": ".view(", "view:reshape": ".reshape(", "reduce:keepdim": "keepdim=True",
    "numpy:numpy": ".numpy()", "numpy:from_numpy": "torch.from_numpy(", "autograd:backward": ".backward(",
    "autograd:retain_grad": ".retain_grad()", "create:randn": "torch.randn(", "index:mask": " > ",
}


@GENERATE_ONLY
@given(programs())
def test_programs_are_valid_python_that_the_sandbox_accepts(program):
    module = ast.parse(program.code)
    assert len(module.body) == len(program.statements)  # one top-level statement each
    check(program_case(program))  # raises CaseCodeError for anything outside the subset
    assert all(statement.area in AREAS for statement in program.statements)
    for feature, text in FEATURE_TEXT.items():
        if feature in program.features:
            assert text in program.code, (feature, program.code)


def test_programs_cover_every_area_the_issue_lists():
    seen = Counter()

    @settings(GENERATE_ONLY, max_examples=300)
    @given(programs())
    def collect(program):
        seen.update(program.features)

    collect()
    assert REQUIRED_FEATURES <= set(seen), sorted(REQUIRED_FEATURES - set(seen))
    assert {f"area:{area}" for area in AREAS} <= set(seen)


def test_programs_restricted_to_some_areas_use_only_those():
    @settings(max_examples=30, derandomize=True, database=None, phases=[Phase.generate])
    @given(programs(areas=("view",)))
    def only_views(program):
        assert {statement.area for statement in program.statements} <= {"create", "view"}

    only_views()


def _divergence(kind, step, detail="d"):
    return Divergence(kind, step, step + 1, "x", "x", None, None, detail)


def _program(*sources):
    return Program(tuple(Statement(source, "view", source.split(".")[-1].split("(")[0]) for source in sources))


def test_a_signature_names_the_most_telling_kind_at_the_first_divergent_statement():
    program = _program("x = torch.ones(2)", "y = x.view(2)", "z = y.sum()")
    divergences = [_divergence("version", 1), _divergence("value", 1), _divergence("shape", 2)]
    assert signature_of(divergences, program) == "value@view"


def test_only_error_messages_are_ignored():
    assert IGNORED_KINDS == {"error-message"}


def test_a_program_raising_in_both_backends_agrees_on_the_exception_type():
    outcome, result = run_program(_program("x = torch.zeros(5, 3)", "y = x.view(4)"))
    assert outcome.verdict == AGREE
    assert result.traces["expected"].final_error()["type"] == "RuntimeError"


def test_a_divergence_is_found_shrunk_trimmed_and_saved_as_a_case(tmp_path):
    with mutants.applied("view-copies"):
        report = fuzz(max_examples=40, seed=1, areas=("view",), max_findings=1)
    assert report.findings, "a view that copies must be found"
    finding = report.findings[0]
    assert finding.signature == "sharing@view"
    assert len(finding.program.statements) == 2  # the tensor and its view: nothing else is needed
    path = save_finding(finding, tmp_path)
    assert path.name == f"{case_id_for(finding)}.yaml"
    [case] = load_file(path)
    assert case.seed == finding.seed and f"fuzz:{finding.signature}" in case.tags
    assert f"--seed {finding.seed}" in path.read_text(encoding="utf-8")
    assert cli.main(["check", str(tmp_path)]) == 0
    with mutants.applied("view-copies"):
        assert Runner().run_case(case).verdict == DIVERGE
    assert Runner().run_case(case).verdict == AGREE


def test_saved_known_divergences_are_known_to_the_next_run(tmp_path):
    program = _program("x = torch.ones(2)", "y = x.view(2)")
    finding = Finding("sharing@view", program, (_divergence("sharing", 1),), 7, "view")
    (tmp_path / "declared.yaml").write_text(
        finding_yaml(finding, {"reason": "views copy here", "what": ["sharing"]}), encoding="utf-8")
    other = Finding("value@sum", program, (_divergence("value", 1),), 7, "reduce")
    (tmp_path / "fixed.yaml").write_text(finding_yaml(other), encoding="utf-8")
    numeric = Finding("value@add", program, (_divergence("value", 1),), 7, "elementwise")
    (tmp_path / "rounding.yaml").write_text(
        finding_yaml(numeric, {"reason": "rounding", "what": ["value"]}), encoding="utf-8")
    # a fixed finding is not known, nor a declared numeric one (it would hide every value bug at add)
    assert known_signatures(tmp_path) == {"sharing@view"}
    with mutants.applied("view-copies"):
        outcome, _ = run_program(program, known=known_signatures(tmp_path))
    assert outcome.verdict == KNOWN


def test_the_case_id_is_a_stable_slug_of_the_finding():
    finding = Finding("error-type@add_", _program("x = torch.ones(2)"), (_divergence("error-type", 0),), 3,
                      "inplace")
    assert re.fullmatch(r"fuzz-error-type-add-[0-9a-f]{8}", case_id_for(finding))
    assert case_id_for(finding) == case_id_for(finding)


def test_every_saved_regression_names_its_finding_and_seed():
    paths = sorted(Path(cli.REGRESSIONS_DIR).glob("*.yaml"))
    for path in paths:
        [case] = load_file(path)
        signatures = [tag for tag in case.tags if tag.startswith("fuzz:")]
        assert len(signatures) == 1 and case.title.startswith("fuzz: "), path
        kind = signatures[0].removeprefix("fuzz:").split("@")[0]
        assert f"{kind} divergence" in case.title, path
        assert f"fuzz --seed {case.seed}`" in path.read_text(encoding="utf-8"), path
        assert path.stem == case.id


def test_a_bounded_run_finds_no_new_divergence():
    report = fuzz(max_examples=200, seed=0, known=known_signatures(cli.REGRESSIONS_DIR))
    assert not report.findings, format_report(report)
    assert report.examples == 200
    assert not report.errors.get("sandbox") and not report.errors.get("harness"), format_report(report)


def test_the_command_line_prints_a_summary(capsys):
    assert cli.main(["fuzz", "--max-examples", "5", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "fuzz: 5 examples" in out and "seed 0" in out and "0 distinct findings" in out

