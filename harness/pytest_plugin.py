"""pytest plugin: every case in a ``spec_cases`` YAML file becomes a test item.

Items are named ``file.yaml::case-id`` (``case-id[cuda]`` on other devices). A failure
shows the case's code with the first divergent line marked, and the divergences. Cases
that are known, listed as not yet agreeing, or declared device differences are reported
as xfail, never as passing. ``--reference-device cuda`` (and ``--torch-device``) work as
on the command line.
"""

import pytest

from . import devices as device_mode
from .backends import DEFAULT_IMPL
from .cases import load_file
from .cli import CUDA_TIME_LIMIT, pending_for
from .repro import repro_snippet
from .runner import DEVICE_DIFFERENCE, ERROR, FAILING, KNOWN, PENDING, SKIPPED, Runner
from .terminal import format_problems
from .yaml_source import SourceError


def pytest_addoption(parser):
    group = parser.getgroup("harness")
    group.addoption("--impl", default=DEFAULT_IMPL, help="module compared against torch in spec cases")
    group.addoption("--pending", default=None,
                    help="not-yet-agreeing list (default spec_cases/not_yet_agreeing.txt for reference_impl)")
    group.addoption("--reference-device", choices=device_mode.DEVICES, default=None,
                    help="the implementation's default device in spec cases (cuda: REFERENCE_IMPL_CUDA=emulate "
                         "unless set)")
    group.addoption("--torch-device", choices=device_mode.DEVICES, default=None,
                    help="torch's default device in spec cases")
    group.addoption("--device-differences", default=None,
                    help=f"device-differences file (default {device_mode.DEVICE_DIFFERENCES_FILE}; '' for none)")


RUNNER = pytest.StashKey[Runner]()


def pytest_configure(config):
    impl = config.getoption("--impl")
    reference_device = config.getoption("--reference-device")
    torch_device = config.getoption("--torch-device")
    on_cuda = "cuda" in (reference_device, torch_device)
    if reference_device == "cuda":
        device_mode.prepare_cuda_backend()
    differences = (device_mode.differences_for(torch_device, config.getoption("--device-differences"))
                   if reference_device == "cuda" else {})
    config.stash[RUNNER] = Runner(actual=impl, pending=pending_for(impl, config.getoption("--pending")),
                                  **({"time_limit": CUDA_TIME_LIMIT} if on_cuda else {}),
                                  expected_device=torch_device, actual_device=reference_device,
                                  device_differences=differences)


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
        if result.verdict == DEVICE_DIFFERENCE:
            pytest.xfail(f"device difference: {result.device_difference}")
        if result.verdict in FAILING or result.verdict == ERROR:
            raise CaseFailure(result)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, CaseFailure):
            return super().repr_failure(excinfo, style)
        result = excinfo.value.result
        case = result.case  # for a case with given: parameters, the failing example (its first line binds them)
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
