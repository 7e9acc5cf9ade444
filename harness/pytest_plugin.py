"""pytest plugin: every case in a ``spec_cases`` YAML file becomes a test item.

Items are named ``file.yaml::case-id``; a failure shows the divergences and the YAML lines.
"""

import pytest

from .cases import load_file
from .runner import AGREE, ERROR, Runner
from .terminal import format_divergences
from .yaml_source import SourceError

_runners = {}


def pytest_addoption(parser):
    group = parser.getgroup("harness")
    group.addoption("--impl", default="reference_impl", help="module compared against torch in spec cases")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".yaml" and "spec_cases" in file_path.parts:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self):
        try:
            cases = load_file(self.path, shown_as=self._shown_path())
        except SourceError as error:
            raise CaseFileError(str(error)) from None
        for case in cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)

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


class CaseFileError(Exception):
    """A malformed case file, shown as ``file:line:col: message`` without a traceback."""


class CaseFailure(Exception):
    def __init__(self, result):
        super().__init__(result.verdict)
        self.result = result


class CaseItem(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        impl = self.config.getoption("--impl")
        runner = _runners.setdefault(impl, Runner(actual=impl))
        result = runner.run_case(self.case)
        if result.verdict != AGREE:
            raise CaseFailure(result)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, CaseFailure):
            return super().repr_failure(excinfo, style)
        result = excinfo.value.result
        case = self.case
        header = f"{case.file}:{case.line}: case {case.id!r} ({case.title})"
        if result.verdict == ERROR:
            return f"{header}\n{result.error}"
        lines = case.code.rstrip("\n").split("\n")
        first = result.divergences[0].line
        listing = "\n".join(
            f"{'>' if case.code_line + i == first else ' '} {case.code_line + i:4d} | {text}"
            for i, text in enumerate(lines))
        impl = self.config.getoption("--impl")
        return f"{header}\n{listing}\n\n{format_divergences(result, 'torch', impl)}"

    def reportinfo(self):
        return self.path, self.case.line - 1, f"case {self.case.id}"
