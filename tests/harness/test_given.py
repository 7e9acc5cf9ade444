"""Parametrised cases (``given:``): expressions parsed safely, examples drawn reproducibly,
failing examples shrunk and reported with their values."""

import json
import textwrap
from types import SimpleNamespace

import pytest

from harness import given
from harness.cases import Case, load_file
from harness.given import DType, GivenError, Strategy, check_examples, parse
from harness.sandbox import CaseCodeError
from harness.yaml_source import SourceError

# -- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, function, arguments", [
    ("shapes(max_dims=3)", "shapes", {"min_dims": 0, "max_dims": 3, "min_side": 0, "max_side": 4}),
    ("shapes", "shapes", {"min_dims": 0, "max_dims": 3, "min_side": 0, "max_side": 4}),
    ("floats(-10, 10)", "floats",
     {"min_value": -10, "max_value": 10, "allow_nan": False, "allow_infinity": False, "width": 64}),
    ("floats(0.5, 2.5, width=32, allow_nan=True)", "floats",
     {"min_value": 0.5, "max_value": 2.5, "allow_nan": True, "allow_infinity": False, "width": 32}),
    ("integers(-3, +3)", "integers", {"min_value": -3, "max_value": 3}),
    ("booleans", "booleans", {}),
    ("sampled_from([1, 2.5, 'a', None, (1, 2), torch.int8])", "sampled_from",
     {"values": (1, 2.5, "a", None, (1, 2), DType("int8"))}),
    ("just(torch.float64)", "just", {"value": DType("float64")}),
    ("broadcastable_shapes(num_shapes=3, max_side=2)", "broadcastable_shapes",
     {"num_shapes": 3, "min_dims": 0, "max_dims": 3, "min_side": 0, "max_side": 2}),
])
def test_valid_expressions_parse_into_strategies(text, function, arguments):
    assert parse(text) == Strategy(function, arguments)


def test_dtype_sets_are_sampled_dtypes_written_as_torch_names():
    strategy = parse("float_dtypes")
    assert strategy.function == "sampled_from"
    assert [repr(d) for d in strategy.arguments["values"]] == ["torch.float32", "torch.float64", "torch.float16"]
    assert DType("bool") in parse("dtypes").arguments["values"]
    assert {d.name for d in parse("int_dtypes").arguments["values"]} == {"int8", "int16", "int32", "int64", "uint8"}


@pytest.mark.parametrize("text, message", [
    ("shape(max_dims=3)", "unknown strategy 'shape' (did you mean 'shapes'?)"),
    ("floats(-10)", "floats() needs max_value"),
    ("integers(0, eval('1'))", "strategies take only literals"),
    ("integers(0, n)", "not 'n'"),
    ("__import__('os').system('true')", "expected a strategy"),
    ("shapes().map(len)", "expected a strategy"),
    ("lambda: 1", "expected a strategy"),
    ("shapes(", "invalid strategy expression"),
    ("float_dtypes()", "written without parentheses"),
    ("shapes(max_dims=9)", "max_dims is at most 8"),
    ("shapes(max_side=100)", "above the cap of 100000"),
    ("shapes(min_dims=3, max_dims=2)", "min_dims (3) is above max_dims (2)"),
    ("floats(10, -10)", "min_value (10) is above max_value (-10)"),
    ("floats(0.1, 1, width=32)", "min_value=0.1 is not exactly a float of width 32"),
    ("integers(0, 1.5)", "max_value must be an int"),
    ("integers(True, 3)", "min_value must be an int"),
    ("sampled_from([])", "non-empty list"),
    ("shapes(max_dims=3, maxdims=4)", "shapes() has no parameter 'maxdims'"),
    ("booleans(True)", "booleans() takes at most 0 arguments"),
    ("integers(*[0, 1])", "* and ** arguments are not allowed"),
    ("sampled_from([torch.float128])", "torch.<dtype>"),
    ("just(" + "-" * 990 + "1)", "not 'a deeply nested expression'"),
    ("just(" + "+".join(["1"] * 600) + ")", "at most 1000 characters"),
    ("(" * 300 + ")" * 300, "too many nested parentheses"),
])
def test_invalid_expressions_say_what_is_wrong(text, message):
    with pytest.raises(GivenError) as caught:
        parse(text)
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["torch", "np", "device", "_hidden", "class", "two words"])
def test_reserved_and_invalid_parameter_names_are_refused(name):
    with pytest.raises(GivenError, match="parameter"):
        given.parse_all({name: "booleans"})


FILE = """\
section: "0"
cases:
  - id: drawn
    title: a parametrised case
    given:
      shape: shapes(max_dims=2)
      fill: {fill}
    examples: 5
    code: |
      x = torch.full(shape, fill)
"""


def write(tmp_path, text):
    path = tmp_path / "given.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_case_file_with_given_loads_parameters_and_examples(tmp_path):
    [case] = load_file(write(tmp_path, FILE.format(fill="floats(-1, 1)")))
    assert case.given == {"shape": "shapes(max_dims=2)", "fill": "floats(-1, 1)"}
    assert case.examples == 5 and case.code_line == 10


def test_an_invalid_expression_is_reported_at_its_file_and_line(tmp_path):
    path = write(tmp_path, FILE.format(fill="floats(-1)"))
    with pytest.raises(SourceError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}:7:13: given.fill: floats() needs max_value: floats(min_value, max_value, " \
                                "allow_nan, allow_infinity, width)"


def test_a_reserved_parameter_name_is_reported_at_its_line(tmp_path):
    path = write(tmp_path, FILE.format(fill="booleans").replace("      fill:", "      device:"))
    with pytest.raises(SourceError) as caught:
        load_file(path)
    assert caught.value.location.line == 7 and "parameter 'device' is reserved" in str(caught.value)


def test_document_output_cannot_go_with_given(tmp_path):
    path = write(tmp_path, FILE.format(fill="booleans") + "    doc_output:\n      text: tensor([])\n")
    with pytest.raises(SourceError) as caught:
        load_file(path)
    assert caught.value.location.line == 11 and "doc_output cannot go with given" in str(caught.value)


def test_examples_needs_given(tmp_path):
    text = FILE.format(fill="booleans").replace("      shape: shapes(max_dims=2)\n      fill: booleans\n", "")
    text = text.replace("    given:\n", "")
    with pytest.raises(SourceError, match="given"):
        load_file(write(tmp_path, text))


# -- drawing examples (a stand-in runner: no backends needed) ---------------------------------------------


def make_case(given_, examples=12, seed=0):
    return Case(id="drawn", title="t", section="0", code="x = 1\n", file="given.yaml", line=3, code_line=10,
                given=given_, examples=examples, seed=seed)


def stub_run(fails_when=lambda values: False, error_when=lambda values: False):
    """A run() for check_examples that records the examples and judges them by their values."""
    seen = []

    def run(example):
        assert example.given is None and example.code_line == 9 and example.code.endswith("\nx = 1\n")
        first_line = example.code.splitlines()[0]
        values = {}
        exec(first_line, {"torch": SimpleNamespace(**{n: DType(n) for n in given.ALL_DTYPES})}, values)
        seen.append(first_line)
        failing = fails_when(values)
        return SimpleNamespace(case=example, error="could not run" if error_when(values) else None,
                               divergences=["d"] if failing else [], spec_errors=[], failing=failing)

    return run, seen


def fails(result):
    return result.failing


PARAMETERS = {"shape": "shapes(max_dims=3)", "dtype": "float_dtypes", "fill": "floats(-10, 10)"}


def test_examples_are_drawn_reproducibly_from_the_seed():
    runs = []
    for seed in (0, 0, 1):
        run, seen = stub_run()
        check_examples(make_case(PARAMETERS, seed=seed), run, fails)
        runs.append(seen)
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert len(set(runs[0])) == len(runs[0]) > 5  # distinct examples, each run once
    assert runs[0][0] == "shape = (); dtype = torch.float32; fill = 0.0"  # the simplest comes first


def test_an_agreeing_case_shows_its_first_example():
    run, seen = stub_run()
    result = check_examples(make_case(PARAMETERS), run, fails)
    assert result.given == {"parameters": PARAMETERS, "examples": 12, "ran": len(seen), "shown": "first",
                            "example": {"shape": "()", "dtype": "torch.float32", "fill": "0.0"}}


def test_a_failing_example_is_shrunk_and_reported_with_its_values():
    run, seen = stub_run(fails_when=lambda v: len(v["shape"]) >= 2 and v["fill"] >= 1.5)
    result = check_examples(make_case(PARAMETERS, examples=100), run, fails)
    assert result.failing and result.given["shown"] == "failing"
    assert result.given["example"] == {"shape": "(0, 0)", "dtype": "torch.float32", "fill": "2.0"}
    assert result.case.code.startswith("shape = (0, 0); dtype = torch.float32; fill = 2.0\n")
    assert len(seen) > result.given["examples"] / 10 and result.given["ran"] == len(seen)


def test_an_example_that_cannot_run_stops_the_search_at_once():
    run, seen = stub_run(error_when=lambda values: True)
    result = check_examples(make_case(PARAMETERS), run, fails)
    assert len(seen) == 1 and result.given["shown"] == "unrunnable" and result.error == "could not run"


def test_without_failures_the_first_example_with_divergences_is_shown():
    examples = []

    def run(example):
        examples.append(example)
        diverging = len(examples) == 3
        return SimpleNamespace(case=example, error=None, divergences=["known"] if diverging else [],
                               spec_errors=[])

    result = check_examples(make_case({"n": "integers(0, 100)"}), run, lambda result: False)
    assert result.given["shown"] == "diverging" and result.case is examples[2]


def test_values_are_written_as_source_each_backend_reads_the_same_way():
    assert given.render((2, 0)) == "(2, 0)" and given.render((3,)) == "(3,)" and given.render(()) == "()"
    assert given.render(((1,), ())) == "((1,), ())"
    assert given.render(float("nan")) == 'float("nan")' and given.render(float("-inf")) == 'float("-inf")'
    assert given.render(-0.0) == "-0.0" and given.render(DType("int8")) == "torch.int8"
    assert given.prelude({"a": True, "b": "x"}) == "a = True; b = 'x'"


def test_an_invalid_given_in_memory_is_a_case_code_error():
    with pytest.raises(CaseCodeError, match=r"given.yaml:3: given.fill: unknown strategy"):
        check_examples(make_case({"fill": "flaots(0, 1)"}), *stub_run()[:1], fails)


# -- on the real backends ---------------------------------------------------------------------------------


@pytest.fixture
def runner():
    pytest.importorskip("torch", reason="given cases are judged against real PyTorch")
    from harness.runner import Runner
    return Runner()


def test_dtype_parameters_are_each_backends_own_dtype(runner, make_case):
    case = make_case("x = torch.zeros(2, dtype=dtype)\nname = str(x.dtype)\n", given={"dtype": "dtypes"},
                     examples=30)
    result = runner.run_case(case)
    assert result.verdict == "agree" and result.given["ran"] == 9  # every dtype, each once
    assert result.traces["actual"].backend == "reference_impl"
    assert result.traces["actual"].steps[0].variables["dtype"] == {"type": "dtype", "value": "torch.float32"}


def test_a_broken_backend_is_caught_by_a_given_case_with_a_minimal_example(runner, make_case):
    from harness.runner import DIVERGE
    from harness.terminal import format_problems
    from tests import mutants

    case = make_case("a = torch.ones(shapes[0])\nb = torch.zeros(shapes[1])\nc = a + b\n",
                     given={"shapes": "broadcastable_shapes(max_dims=2)"}, examples=50)
    assert runner.run_case(case).verdict == "agree"
    with mutants.applied("broadcast-without-stretching"):
        result = runner.run_case(case)
    assert result.verdict == DIVERGE and result.given["shown"] == "failing"
    assert result.given["example"] == {"shapes": "((0,), ())"}
    [divergence] = result.divergences
    assert (divergence.kind, divergence.line) == ("error", 9)  # c = a + b: line 9, below the bound values at 6
    assert result.case.code_line == 6 and result.case.code.startswith("shapes = ((0,), ())\n")
    report = format_problems(result)
    assert "given: failing example, shrunk" in report and "shapes = ((0,), ())" in report


def test_given_results_are_saved_reported_and_valid(runner, make_case, tmp_path):
    import jsonschema

    from harness import html_report, results
    from harness.terminal import format_run

    result = runner.run_case(make_case("x = torch.full(shape, 1.5)\n", given={"shape": "shapes(max_dims=2)"},
                                       examples=5))
    run = results.RunResults({"expected": "torch", "actual": "reference_impl"}, {}, [result], [], "now")
    results.save(run, tmp_path / "r.json")
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), json.loads(results.SCHEMA_PATH.read_text()))
    loaded = results.load(tmp_path / "r.json").results[0]
    assert loaded.given == result.given and loaded.case == result.case
    assert f"({result.given['ran']} examples)" in format_run(run)
    assert "Checked over" in html_report.render([run]) and "shapes(max_dims=2)" in html_report.render([run])
