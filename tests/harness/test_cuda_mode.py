"""The emulated-CUDA run: reference_impl on its CUDA device against torch on the CPU.

Normalisation and the device-differences file are tested as pure functions; one end-to-end
test runs three small cases with reference_impl's CUDA kernels emulated on the CPU (g++).
"""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import devices
from harness.compare import compare_traces, normalize_device_text, normalize_devices
from harness.trace import Step, Trace
from harness.yaml_source import SourceError

ROOT = Path(__file__).resolve().parents[2]


# -- normalisation (pure) --------------------------------------------------------------------------

@pytest.mark.parametrize("cuda, cpu", [
    ("tensor([1., 2.], device='cuda:0')", "tensor([1., 2.])"),
    ("tensor([[1., 2.]], device='cuda:0', requires_grad=True)", "tensor([[1., 2.]], requires_grad=True)"),
    ("tensor([], device='cuda:0', size=(0, 3), dtype=torch.int64)", "tensor([], size=(0, 3), dtype=torch.int64)"),
    ("[tensor([1], device='cuda:0'), tensor([2.], device='cuda:0', grad_fn=<MulBackward0>)]",
     "[tensor([1]), tensor([2.], grad_fn=<MulBackward0>)]"),
    ("device(type='cuda', index=0)", "device(type='cpu')"),
    # the device suffix pushed dtype to a new line; without it torch keeps dtype on the first
    ("tensor([0.2939, 0.5186, 0.6978, 0.7998, 0.1610], device='cuda:0',\n       dtype=torch.float16)",
     "tensor([0.2939, 0.5186, 0.6978, 0.7998, 0.1610], dtype=torch.float16)"),
    # ... and a line that is full without it still wraps
    ("tensor([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000],\n"
     "       device='cuda:0', dtype=torch.int32)",
     "tensor([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000],\n       dtype=torch.int32)"),
    ("cuda:1 and device(type='cuda', index=1) and cuda", "cuda:1 and device(type='cuda', index=1) and cuda"),
])
def test_printed_device_suffixes_and_devices_read_as_the_cpu(cuda, cpu):
    assert normalize_device_text(cuda) == cpu


def test_suffix_wrapping_follows_torchs_own_rule():
    torch = pytest.importorskip("torch")
    tensor_str = pytest.importorskip("torch._tensor_str")
    for n in range(1, 24):
        for dtype in (torch.float16, torch.int32, torch.float64):
            t = torch.arange(n, dtype=dtype) * 999
            t = t / 7 if dtype.is_floating_point else t
            body = "tensor(" + tensor_str._tensor_str(t, len("tensor("))
            suffixes = [f"dtype={t.dtype}", "requires_grad=True"] if dtype.is_floating_point else [f"dtype={t.dtype}"]
            on_cuda = tensor_str._add_suffixes(body, ["device='cuda:0'", *suffixes], len("tensor("), False)
            on_cpu = tensor_str._add_suffixes(body, suffixes, len("tensor("), False)
            assert normalize_device_text(on_cuda) == on_cpu, (n, dtype)


def test_error_texts_are_normalised_only_where_they_name_just_the_device():
    assert normalize_device_text("sizes must match, got 2 and 3 on cuda:0", error=True) == (
        "sizes must match, got 2 and 3 on cpu")
    assert normalize_device_text("sizes must match, got 2 and 3 on cuda:0") == (
        "sizes must match, got 2 and 3 on cuda:0")  # printed output: only reprs are rewritten
    assert normalize_device_text("bad value tensor([1.], device='cuda:0')", error=True) == "bad value tensor([1.])"
    assert normalize_device_text("can't assign a list to a torch.cuda.FloatTensor", error=True) == (
        "can't assign a list to a torch.FloatTensor")
    about_devices = [
        "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.",
        "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
        "Tensor on cuda:0 is not on the expected CPU",
        '"normal_kernel_cuda" not implemented for \'Long\'',
    ]
    for message in about_devices:
        assert normalize_device_text(message, error=True) == message


def _tensor(device, values=(1.0,), grad=None):
    observed = {"type": "tensor", "shape": [len(values)], "dtype": "torch.float32", "device": device,
                "values": list(values), "stride": [1], "storage_offset": 0}
    if grad is not None:
        observed["grad"] = grad
    return observed


def _trace(steps):
    return Trace("reference_impl", "0", "cpu", [Step(i, 10 + i, source, **fields)
                                                 for i, (source, fields) in enumerate(steps)], "cuda")


def test_device_fields_of_a_trace_are_normalised_and_recorded():
    trace = _trace([
        ("x = torch.ones(1, requires_grad=True)", {"variables": {"x": _tensor("cuda:0", grad=_tensor("cuda:0"))}}),
        ("x", {"stdout": "tensor([1.], device='cuda:0', requires_grad=True)\n",
               "variables": {"x": _tensor("cuda:0")}}),
        ("where = str(x.device)", {"variables": {"where": {"type": "str", "value": "cuda:0"}}}),
        ("on_gpu = x.is_cuda", {"variables": {"on_gpu": {"type": "bool", "value": True}}}),
        ("x.is_cuda", {"stdout": "True\n", "variables": {"on_gpu": {"type": "bool", "value": True}}}),
        ("d = [x.device]", {"variables": {"d": {"type": "list", "items": [
            {"type": "device", "value": "device(type='cuda', index=0)"}]}}}),
        ("on_gpu = True", {"variables": {"on_gpu": {"type": "bool", "value": True}}}),
        ("x[3]", {"error": {"type": "IndexError", "message": "index 3 is out of bounds on cuda:0"}}),
    ])
    original = json.dumps(trace.to_dict())
    normalized = normalize_devices(trace)
    assert json.dumps(trace.to_dict()) == original  # the trace itself is untouched (torch's are cached)
    steps = normalized.steps
    assert steps[0].variables["x"]["device"] == "cpu" and steps[0].variables["x"]["grad"]["device"] == "cpu"
    assert steps[1].stdout == "tensor([1.], requires_grad=True)\n"
    assert steps[2].variables["where"]["value"] == "cpu"
    assert steps[3].variables["on_gpu"]["value"] is False
    assert steps[4].stdout == "False\n" and steps[4].variables["on_gpu"]["value"] is False
    assert steps[5].variables["d"]["items"][0]["value"] == "device(type='cpu')"
    assert steps[6].variables["on_gpu"]["value"] is True  # rebound to a plain True: not a device field
    assert steps[7].error["message"] == "index 3 is out of bounds on cpu"
    assert normalized.normalized == [
        "x.device (from line 10)", "x.grad.device (from line 10)", "printed output (from line 11)",
        "where (from line 12)", "on_gpu (from line 13)", "d[0] (from line 15)", "error message (from line 17)"]


def test_what_normalisation_leaves_alone_still_diverges():
    torch_side = _trace([("same = x.device == cpu", {"variables": {"same": {"type": "bool", "value": True},
                                                                    "x": _tensor("cpu")}})])
    ours = _trace([("same = x.device == cpu", {"variables": {"same": {"type": "bool", "value": False},
                                                              "x": _tensor("cuda:0")}})])
    divergences = compare_traces(normalize_devices(torch_side), normalize_devices(ours))
    assert [(d.kind, d.variable) for d in divergences] == [("value", "same")]


# -- the device-differences file ------------------------------------------------------------------

def _write(tmp_path, text):
    path = tmp_path / "differences.txt"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_differences_file_is_parsed_by_pairing(tmp_path):
    path = _write(tmp_path, """\
        # header comment
        np-numpy                         # numpy() refuses CUDA tensors

        rng-draw   torch-cuda            # Philox
        both-ways  torch-cpu torch-cuda  # claims about the CPU
        gpu-case[cuda] torch-cuda        # default device
        """)
    entries = devices.read_device_differences(path)
    assert entries["np-numpy"] == devices.DeviceDifference("np-numpy", ("cpu",), "numpy() refuses CUDA tensors", 2)
    assert entries["both-ways"].torch_devices == ("cpu", "cuda")
    assert devices.differences_for("cpu", path) == {"np-numpy": "numpy() refuses CUDA tensors",
                                                    "both-ways": "claims about the CPU"}
    assert set(devices.differences_for("cuda", path)) == {"rng-draw", "both-ways", "gpu-case[cuda]"}
    assert devices.differences_for("cpu", "") == {}


@pytest.mark.parametrize("line, message", [
    ("some-case", "differences.txt:1:10: some-case: a reason is required after '#'"),
    ("some-case   #   ", "differences.txt:1:14: some-case: a reason is required after '#'"),
    ("some-case torch-gpu # why",
     "differences.txt:1:11: unknown pairing 'torch-gpu' (expected torch-cpu or torch-cuda)"),
    ("Some_Case # why", "differences.txt:1:1: 'Some_Case' is not a case id (lowercase letters, digits, '-')"),
])
def test_a_broken_line_names_the_file_and_line(tmp_path, line, message):
    path = _write(tmp_path, line + "\n")
    with pytest.raises(SourceError) as raised:
        devices.read_device_differences(path)
    assert str(raised.value) == f"{path.parent}/{message}"


def test_a_case_listed_twice_names_both_lines(tmp_path):
    path = _write(tmp_path, "# c\na # one\nb # two\na torch-cuda # again\n")
    with pytest.raises(SourceError, match=r"differences.txt:4:1: a is listed twice \(first at line 2\)"):
        devices.read_device_differences(path)


def test_the_bundled_file_parses_and_names_real_cases():
    from harness.cases import load_suite

    suite = load_suite([ROOT / "spec_cases"])
    keys = {case.id if device == "cpu" else f"{case.id}[{device}]" for case in suite.cases for device in case.devices}
    entries = devices.read_device_differences(ROOT / devices.DEVICE_DIFFERENCES_FILE)
    assert entries and set(entries) <= keys, sorted(set(entries) - keys)
    random_cases = {case.id for case in suite.cases if "random" in case.tags and "errors" not in case.tags}
    assert all("cuda" in entries[key].torch_devices for key in random_cases - {"rng-generator-seed-type-error"}
               if key in entries)


# -- the harness without jsonschema (the GPU machine has none) ---------------------------------------

def test_the_command_line_runs_without_jsonschema():
    code = ("import sys; sys.modules['jsonschema'] = None\n"
            "from harness import cases, cli\n"
            "assert cases._VALIDATOR is None\n"
            "suite = cases.load_suite(['spec_cases'])\n"
            "assert len(suite.cases) > 100 and not suite.errors, suite.errors\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_without_jsonschema_a_broken_file_is_still_refused_with_its_line(tmp_path, monkeypatch):
    from harness import cases

    monkeypatch.setattr(cases, "_VALIDATOR", None)
    path = tmp_path / "bad.yaml"
    path.write_text("section: '1'\ncases:\n  - id: a\n    title: t\n    code: x = 1\n    colour: red\n")
    with pytest.raises(SourceError, match=r"bad.yaml:6:5: unknown key 'colour'"):
        cases.load_file(path)


# -- end to end: three cases with reference_impl's kernels emulated on the CPU ---------------------------

CASES = """\
section: "9.9"
title: emulated CUDA
cases:
  - id: cuda-mode-agrees
    title: arithmetic on the default device, its device fields and repr
    code: |
      x = torch.ones(2, 3)
      y = x * 2 + 1
      y
      where = str(y.device)
      on_gpu = y.is_cuda
    expect:
      values: {where: cpu, on_gpu: false}
  - id: cuda-mode-numpy
    title: numpy() of a tensor on the default device
    code: |
      a = torch.ones(2)
      b = a.numpy()
  - id: cuda-mode-compares-devices
    title: a comparison of devices is not a device field
    code: |
      t = torch.arange(3)
      on_cpu = t.device == torch.device("cpu")
"""


@pytest.fixture
def emulated_cuda(monkeypatch):
    pytest.importorskip("torch", reason="the run compares against real PyTorch, absent in this env")
    if shutil.which("g++") is None:
        pytest.skip("g++ is missing: the CUDA emulation compiles our kernels with it")
    import reference_impl
    from reference_impl.cuda import runtime

    saved = runtime._backend, runtime._chosen
    monkeypatch.setenv("REFERENCE_IMPL_CUDA", "emulate")
    runtime.use("emulate")
    yield reference_impl
    runtime._backend, runtime._chosen = saved


def test_an_emulated_cuda_run_normalises_devices_and_uses_the_differences_file(emulated_cuda, tmp_path, capsys):
    from harness import cli, results
    from harness.runner import AGREE, DEVICE_DIFFERENCE, DIVERGE

    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    differences = _write(tmp_path, "cuda-mode-numpy  # numpy() refuses a CUDA tensor\n")
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    code = cli.main(["run", str(cases), "--reference-device", "cuda", "--device-differences", str(differences),
                     "--pending", "", "--json", str(json_path), "--html", str(html_path)])
    printed = capsys.readouterr().out
    run = results.load(json_path)
    verdicts = {r.case.id: r.verdict for r in run.results}
    assert verdicts == {"cuda-mode-agrees": AGREE, "cuda-mode-numpy": DEVICE_DIFFERENCE,
                        "cuda-mode-compares-devices": DIVERGE}, printed
    assert code == 1  # the unlisted divergence fails the run
    assert emulated_cuda.get_default_device() == emulated_cuda.device("cpu")  # restored after each case

    agrees = next(r for r in run.results if r.case.id == "cuda-mode-agrees")
    actual = agrees.traces["actual"]
    assert actual.default_device == "cuda" and agrees.traces["expected"].default_device is None
    assert actual.steps[-1].variables["y"]["device"] == "cpu"
    assert actual.steps[2].stdout == "tensor([[3., 3., 3.],\n        [3., 3., 3.]])\n"
    assert actual.normalized == ["x.device (from line 7)", "y.device (from line 8)", "printed output (from line 9)",
                                 "where (from line 10)", "on_gpu (from line 11)"]

    numpy_case = next(r for r in run.results if r.case.id == "cuda-mode-numpy")
    assert numpy_case.device_difference == "numpy() refuses a CUDA tensor"
    assert [d.kind for d in numpy_case.divergences] == ["error"]

    devices_info = run.environment["devices"]
    assert devices_info["reference"] == "cuda" and devices_info["torch"] == "cpu"
    assert devices_info["REFERENCE_IMPL_CUDA"] == "emulate" and devices_info["cuda_backend"] == "emulate"
    assert devices_info["normalized"] and devices_info["differences"] == 1
    assert "devices: implementation on cuda (emulate), torch on cpu; device fields normalised" in printed
    assert "device difference: numpy() refuses a CUDA tensor" not in printed  # shown with -v only
    page = html_path.read_text()
    assert "device mode" in page and "Declared device difference" in page and "Device fields normalised" in page
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "harness" / "results.schema.json").read_text())
    jsonschema.validate(json.loads(json_path.read_text()), schema)


def test_a_device_assert_case_runs_in_a_child_on_the_cuda_side_only(emulated_cuda, make_case, monkeypatch):
    """torch's device-side asserts break its process, so a tagged case runs on CUDA in a child
    (harness/isolation.py); here reference_impl is the CUDA side, torch the CPU one."""
    from harness import isolation, runner

    isolated = []
    run_isolated = isolation.run_trace_isolated
    monkeypatch.setattr(runner, "run_trace_isolated",
                        lambda case, name, *rest: isolated.append(name) or run_isolated(case, name, *rest))
    case = make_case("x = torch.arange(6).view(2, 3)\ny = x[:, [0, 3]]", tags=(isolation.ISOLATED_TAG,))
    result = runner.Runner(actual_device="cuda").run_case(case)
    assert isolated == ["reference_impl"]
    assert result.verdict == runner.AGREE, result.divergences
    assert result.traces["actual"].final_error()["type"] == "IndexError"


def test_a_listed_case_that_agrees_fails_and_the_file_is_ignored_in_normal_runs(emulated_cuda, tmp_path):
    from harness.cli import run_suite
    from harness.runner import AGREE, NOW_AGREEING

    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    differences = _write(tmp_path, "cuda-mode-agrees  # listed by mistake\n")
    emulated = run_suite([cases], selection={"ids": ["cuda-mode-agrees"]}, reference_device="cuda",
                         device_differences=str(differences))
    assert [r.verdict for r in emulated.results] == [NOW_AGREEING]
    normal = run_suite([cases], selection={"ids": ["cuda-mode-agrees"]}, device_differences=str(differences))
    assert [r.verdict for r in normal.results] == [AGREE] and "devices" not in normal.environment
    assert normal.results[0].traces["actual"].normalized == []


def test_without_a_cuda_device_the_run_stops_with_the_reason(tmp_path, monkeypatch, capsys):
    from harness import cli
    from reference_impl.cuda import runtime

    saved = runtime._backend, runtime._chosen
    monkeypatch.setenv("REFERENCE_IMPL_CUDA", "")  # set, so the command line's setdefault leaves it; undone after
    runtime.use(None)  # chosen already: REFERENCE_IMPL_CUDA=emulate, set by the command line, comes too late
    try:
        code = cli.main(["run", str(ROOT / "spec_cases"), "--reference-device", "cuda",
                         "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    finally:
        runtime._backend, runtime._chosen = saved
    assert code == 2
    assert "--reference-device cuda: reference_impl.cuda.is_available() is False" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_torch_without_cuda_cannot_be_the_cuda_side(make_case):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    from harness.runner import ERROR, Runner

    result = Runner(expected_device="cuda").run_case(make_case("x = torch.ones(2)\n"))
    assert result.verdict == ERROR and result.error == "torch has no cuda device to run on by default"


def test_a_run_stopped_by_sigterm_keeps_the_results_that_ran(make_case, monkeypatch, tmp_path):
    from harness import cli
    from harness.runner import AGREE, CaseResult, Runner

    path = tmp_path / "cases.yaml"
    path.write_text(CASES)
    calls = []

    def run_case(self, case, device="cpu"):
        calls.append(case.id)
        if len(calls) == 2:
            cli._interrupt(cli.signal.SIGTERM, None)
        return CaseResult(case, AGREE, device)

    monkeypatch.setattr(Runner, "run_case", run_case)
    run = cli.run_suite([path])
    assert [r.case.id for r in run.results] == ["cuda-mode-agrees"]
    assert run.environment["interrupted"] == "SIGTERM: stopped after 1 results"
    assert cli.exit_code(run) == 2
