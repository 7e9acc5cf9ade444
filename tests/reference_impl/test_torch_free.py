"""reference_impl must work where torch cannot be imported at all."""

import ast
import subprocess
import sys
from pathlib import Path

import reference_impl

PACKAGE = Path(reference_impl.__file__).parent

_PROBE = """
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
import reference_impl as torch
x = torch.arange(6.0).view(2, 3)
y = x[0]
y += 1
assert x.tolist()[0] == [1.0, 2.0, 3.0]
print(repr(x + 1))
"""


def test_reference_impl_runs_with_torch_blocked():
    completed = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("tensor([[2., 3., 4.],")


def test_no_module_in_reference_impl_imports_torch():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "torch" for name in names), f"{path} imports torch"
