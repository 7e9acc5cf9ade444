"""Cases tagged cuda-device-assert run on CUDA in a child process (harness/isolation.py): the
trace comes back as the in-process run gives it, and a child that dies, hangs or fails is an
ERROR verdict for that case alone. A statement whose error leaves the backend unable to read
its variables (as a device-side assert does) is observed by that error."""

import pytest

from harness import isolation, runner, trace
from harness.backends import load_backend
from harness.compare import compare_traces
from harness.isolation import ISOLATED_TAG, IsolatedRunFailed, needs_isolation, run_trace_isolated
from harness.observe import Observer
from harness.runner import AGREE, ERROR, Runner
from harness.sandbox import CaseCodeError
from harness.trace import run_trace

from .process_ending_backend import EXIT_CODE

ENDING_BACKEND = "tests.harness.process_ending_backend"


def test_only_tagged_cases_on_cuda_are_isolated(make_case):
    tagged, plain = make_case("x = 1", tags=(ISOLATED_TAG,)), make_case("x = 1")
    assert needs_isolation(tagged, "cuda", None) and needs_isolation(tagged, "cpu", "cuda")
    assert not needs_isolation(tagged, "cpu", None)
    assert not needs_isolation(plain, "cuda", "cuda")


def test_a_child_gives_the_trace_the_in_process_run_gives(make_case):
    case = make_case("""
        x = torch.arange(6.0).view(2, 3)
        y = x[:, 1]
        print(y)
        x[:, [0, 3]]
    """)
    here = run_trace(case, load_backend("reference_impl"), "cpu", 10.0)
    there = run_trace_isolated(case, "reference_impl", "cpu", 10.0, None)
    assert compare_traces(here, there) == []  # raw addresses differ between processes, sharing does not
    assert [step.source for step in there.steps] == [step.source for step in here.steps]
    assert there.stdout() == here.stdout() and "tensor([1., 4.])" in there.stdout()
    assert there.final_error()["type"] == "IndexError"


def test_a_refused_case_names_its_line_from_the_child_too(make_case):
    case = make_case("x = torch.zeros(2)\nopen('x')")
    with pytest.raises(CaseCodeError) as in_process:
        run_trace(case, load_backend("reference_impl"), "cpu", 10.0)
    with pytest.raises(IsolatedRunFailed) as isolated:
        run_trace_isolated(case, "reference_impl", "cpu", 10.0, None)
    assert str(isolated.value) == str(in_process.value) and "inline.yaml:8" in str(isolated.value)


@pytest.fixture
def isolate_every_case(monkeypatch):
    """Isolation as if every case ran on CUDA (there is no GPU here)."""
    monkeypatch.setattr(runner, "needs_isolation", lambda case, device, default_device: True)


def test_a_child_that_dies_is_an_error_for_its_case_alone(make_case, isolate_every_case):
    ends, agrees = (make_case("x = torch.tensor([1.0])\ntorch.end_process()", case_id="ends"),
                    make_case("x = torch.tensor([1.0]) * 2", case_id="agrees"))
    runs = Runner(expected=ENDING_BACKEND, actual="reference_impl")
    ended, next_one = runs.run_case(ends), runs.run_case(agrees)
    assert ended.verdict == ERROR
    assert f"ended its child process (exit code {EXIT_CODE})" in ended.error and "'ends'" in ended.error
    assert next_one.verdict == AGREE, next_one.error


def test_a_child_that_gives_nothing_in_time_is_stopped(make_case, isolate_every_case, monkeypatch):
    monkeypatch.setattr(isolation, "STARTUP_SECONDS", -9.5)  # wait 0.5 s for a case that runs 10 s
    result = Runner(expected="reference_impl", actual="reference_impl").run_case(
        make_case("while True:\n    x = torch.zeros(1)", case_id="loops"))
    assert result.verdict == ERROR and "gave no result within 0.5 s" in result.error


@pytest.fixture
def reading_breaks_after_an_error(monkeypatch):
    """Every read of a variable fails once a statement has raised, as torch's do after a
    device-side assert has broken its CUDA context."""
    broken = []
    execute, observe = trace._execute, Observer.observe

    def executing(code, is_expression, namespace, step, guard):
        execute(code, is_expression, namespace, step, guard)
        if step.error is not None:
            broken.append(step.index)

    def observing(self, value):
        if broken:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return observe(self, value)

    monkeypatch.setattr(trace, "_execute", executing)
    monkeypatch.setattr(Observer, "observe", observing)
    return broken


def test_a_statement_that_breaks_the_backend_is_observed_by_its_error(make_case, reading_breaks_after_an_error):
    found = run_trace(make_case("x = torch.zeros(2, 3)\nx[:, [0, 3]]"), load_backend("reference_impl"), "cpu", 10.0)
    assert reading_breaks_after_an_error == [1]
    assert found.final_error()["type"] == "IndexError" and found.steps[1].variables == {}
    assert set(found.steps[0].variables) == {"x"}


def test_a_variable_that_cannot_be_read_with_no_error_before_it_is_a_harness_bug(make_case, monkeypatch):
    def failing(self, value):
        raise RuntimeError("the observer broke")

    monkeypatch.setattr(Observer, "observe", failing)
    with pytest.raises(RuntimeError, match="the observer broke"):
        run_trace(make_case("x = torch.zeros(2)"), load_backend("reference_impl"), "cpu", 10.0)
