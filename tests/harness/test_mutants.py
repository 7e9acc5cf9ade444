"""Self-test: the bundled suite catches each deliberately broken reference (mutant)."""

import pytest

pytest.importorskip("torch", reason="mutants are judged against real PyTorch, absent in this env")

from harness.cases import load_suite  # noqa: E402
from harness.runner import Runner  # noqa: E402
from tests import mutants  # noqa: E402


@pytest.fixture(scope="module")
def suite_run():
    """One Runner (torch traces are cached in it) and the unbroken reference's divergences."""
    cases = load_suite(["spec_cases"]).cases
    runner = Runner()
    baseline = {(case.id, d.kind, d.variable, d.line) for case in cases
                for result in runner.run(case) for d in result.divergences}
    return runner, cases, baseline


@pytest.mark.parametrize("name", sorted(mutants.MUTANTS))
def test_each_mutant_causes_a_new_divergence_of_its_kind(name, suite_run):
    runner, cases, baseline = suite_run
    kind = mutants.MUTANTS[name][3]
    with mutants.applied(name):
        found = {(case.id, d.kind, d.variable, d.line) for case in cases
                 for result in runner.run(case) for d in result.divergences}
    new_of_kind = {f for f in found - baseline if f[1] == kind}
    assert new_of_kind, f"mutant {name!r} caused no new {kind!r} divergence in the bundled suite"
