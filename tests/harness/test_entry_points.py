"""The two ways users run cases: ``python -m harness`` and ``pytest spec_cases/``."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="running cases compares against real PyTorch, absent in this env")

REPO = Path(__file__).resolve().parents[2]

CASES = """\
section: "9.9"
cases:
  - id: agreeing-add
    title: adding ones
    code: |
      x = torch.ones(2) + 1
  - id: view-case
    title: a view shares memory
    code: |
      x = torch.ones(2, 3)
      y = x.view(6)
"""

MUTANT_MODULE = """\
import sys
import reference_impl
from tests import mutants
mutants.apply("view-copies")
sys.modules[__name__] = reference_impl
"""


def populate(directory, monkeypatch):
    """Give ``directory`` a spec_cases/ folder and a mutant implementation module, and run there."""
    (directory / "spec_cases").mkdir()
    (directory / "spec_cases" / "cases.yaml").write_text(CASES)
    (directory / "mutant_impl.py").write_text(MUTANT_MODULE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(directory), str(REPO)]))
    monkeypatch.chdir(directory)
    return directory


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    return populate(tmp_path, monkeypatch)


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300)


def test_cli_exit_codes_and_outputs(workspace):
    agreeing = harness("run", "spec_cases")
    assert agreeing.returncode == 0, agreeing.stdout + agreeing.stderr
    assert "2 results: 2 agree; 0 with document drift; 0 file errors" in agreeing.stdout
    saved = json.loads((workspace / "reports" / "results.json").read_text())
    assert saved["counts"] == {"agree": 2}
    assert (workspace / "reports" / "index.html").read_text().startswith("<!doctype html>")

    diverging = harness("run", "spec_cases", "--impl", "mutant_impl", "--json", "m.json", "--html", "m.html")
    assert diverging.returncode == 1
    assert "[sharing] spec_cases/cases.yaml:11: y = x.view(6)" in diverging.stdout

    rebuilt = harness("report", "m.json", "-o", "again.html")
    assert rebuilt.returncode == 0
    assert (workspace / "again.html").read_text() == (workspace / "m.html").read_text()

    (workspace / "runs").mkdir()
    for env in ("alpha", "beta"):
        finished = harness("run", "spec_cases", "--env", env, "--json", f"runs/{env}.json", "--html", "x.html")
        assert finished.returncode == 0
    merged = harness("report", "runs", "-o", "merged.html")
    assert merged.returncode == 0
    page = (workspace / "merged.html").read_text()
    assert "<th>alpha</th><th>beta</th>" in page

    (workspace / "spec_cases" / "broken.yaml").write_text("section: '1'\ncases:\n  - id: x\n    titel: t\n")
    broken = harness("run", "spec_cases")
    assert broken.returncode == 2
    assert "spec_cases/broken.yaml:4:5: unknown key 'titel' (did you mean 'title'?)" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr
    assert "2 results: 2 agree" in broken.stdout  # the good file still ran

    missing = harness("run", "no/such/dir")
    assert missing.returncode == 2 and "no such file or directory: no/such/dir" in missing.stderr


def test_pytest_plugin_items_failures_and_file_errors(pytester, monkeypatch):
    workspace = populate(pytester.path, monkeypatch)
    result = pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "--impl", "mutant_impl",
                                           "spec_cases", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "spec_cases/cases.yaml::view-case" in output
    assert "spec_cases/cases.yaml:7: case 'view-case' (a view shares memory)" in output
    assert ">   11 | y = x.view(6)" in output
    assert "[sharing] spec_cases/cases.yaml:11: y = x.view(6)" in output

    (workspace / "spec_cases" / "broken.yaml").write_text("section: '1'\ncases: [\n")
    broken = pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "spec_cases", "-p", "no:cacheprovider")
    broken_output = broken.stdout.str()
    assert "\nspec_cases/broken.yaml:3:1: YAML syntax error" in broken_output
    assert "Traceback" not in broken_output
    assert "1 error" in broken_output


def test_pytest_plugin_under_xdist(pytester, monkeypatch):
    populate(pytester.path, monkeypatch)
    result = pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "--impl", "mutant_impl", "-n", "2",
                                           "spec_cases", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "[sharing] spec_cases/cases.yaml:11: y = x.view(6)" in result.stdout.str()


def test_readme_quick_start_names_the_commands_ci_runs():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    test_command = next(line for line in readme.splitlines() if line.startswith("python -m pip install tox"))
    assert test_command in ci
    assert textwrap.dedent("python -m harness run") in readme
