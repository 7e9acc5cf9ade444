"""pytest plugin: every case in a ``spec_cases`` YAML file becomes a test item.

Items are named ``file.yaml::case-id`` (``case-id[cuda]`` on other devices). A failure
shows the case's code with the first divergent line marked, and the divergences. Cases
that are known or listed as not yet agreeing are reported as xfail, never as passing.
"""

import pytest

from .backends import DEFAULT_IMPL
from .cases import load_file
from .cli import pending_for
from .repro import repro_snippet
from .runner import ERROR, FAILING, KNOWN, PENDING, SKIPPED, Runner
from .terminal import format_problems
from .yaml_source import SourceError


def pytest_addoption(parser):
    group = parser.getgroup("harness")
    group.addoption("--impl", default=DEFAULT_IMPL, help="module compared against torch in spec cases")
    group.addoption("--pending", default=None,
                    help="not-yet-agreeing list (default spec_cases/not_yet_agreeing.txt for reference_impl)")


RUNNER = pytest.StashKey[Runner]()


def pytest_configure(config):
    impl = config.getoption("--impl")
    config.stash[RUNNER] = Runner(actual=impl, pending=pending_for(impl, config.getoption("--pending")))


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".yaml" and "spec_cases" in file_path.parts:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFileError(Exception):
    """A malformed case file, shown as ``file:line:col: message`` without a traceback."""


class CaseFile(pytest.File):
    def collect(self):
        try:
            cases = load_file(self.path, shown_as=self._shown_path())
        except SourceError as error:
            raise CaseFileError(str(error)) from None
        for case in cases:
            for device in case.devices:
                name = case.id if device == "cpu" else f"{case.id}[{device}]"
                yield CaseItem.from_parent(self, name=name, case=case, device=device)

    def _shown_path(self):
        """The file as pytest shows it: relative to the rootdir when it lies inside."""
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CaseFailure(Exception):
    def __init__(self, result):
        super().__init__(result.verdict)
        self.result = result


class CaseItem(pytest.Item):
    def __init__(self, *, case, device, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.device = device

    def runtest(self):
        result = self.config.stash[RUNNER].run_case(self.case, self.device)
        if result.verdict == SKIPPED:
            pytest.skip(result.error)
        if result.verdict == PENDING:
            pytest.xfail(f"not yet agreeing: {result.divergences[0].detail}")
        if result.verdict == KNOWN:
            pytest.xfail(f"known divergence: {self.case.known_divergence['reason']}")
        if result.verdict in FAILING or result.verdict == ERROR:
            raise CaseFailure(result)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, CaseFailure):
            return super().repr_failure(excinfo, style)
        result = excinfo.value.result
        case = self.case
        header = f"{case.file}:{case.line}: case {case.id!r} ({case.title}): {result.verdict}"
        impl = self.config.getoption("--impl")
        problems = format_problems(result, "torch", impl)
        if not result.divergences:
            return f"{header}\n{problems}"
        first = result.divergences[0]
        listing = "\n".join(
            f"{'>' if case.code_line + i == first.line else ' '} {case.code_line + i:4d} | {text}"
            for i, text in enumerate(case.code.rstrip("\n").split("\n")))
        snippet = repro_snippet(case, first.step, "torch", impl)
        return f"{header}\n{listing}\n\n{problems}\n\nrepro:\n{snippet}"

    def reportinfo(self):
        return self.path, self.case.line - 1, f"case {self.name}"
