"""The subset of Python a case may use."""

import pytest

from harness.sandbox import CaseCodeError, check


@pytest.mark.parametrize("code, message", [
    ("import os", "cases may import only torch and numpy, not 'os'"),
    ("from torch import _C", "importing '_C' from torch is not allowed"),
    ("from numpy import *", "importing '*' from numpy is not allowed"),
    ("from os import path", "cases may import only torch and numpy, not 'os'"),
    ("import torch.nn", "not 'torch.nn'"),
    ("x = open('f')", "'open' is not available in cases"),
    ("x = eval('1')", "'eval' is not available in cases"),
    ("f = getattr(torch, 'ones')", "'getattr' is not available in cases"),
    ("g = globals()", "'globals' is not available in cases"),
    ("c = torch.ones(1).__class__", "dunder attributes such as '__class__' are not allowed"),
    ("np.save('x.npy', np.ones(1))", "the attribute 'save' (files, code loading or internals) is not allowed"),
    ("torch.load('model.pt')", "the attribute 'load'"),
    ("s = '{0.__class__}'.format(1)", "strings containing '__' are not allowed"),
    ("def __del__(self):\n    pass", "defining '__del__' is not allowed"),
    ("x = 1\ny = = 2", "invalid Python"),
])
def test_refused_code_names_the_yaml_line(make_case, code, message):
    with pytest.raises(CaseCodeError) as caught:
        check(make_case(code))
    assert message in str(caught.value)
    assert str(caught.value).startswith("inline.yaml:")


def test_refusal_points_at_the_offending_line(make_case):
    with pytest.raises(CaseCodeError, match=r"^inline.yaml:9: 'open'"):
        check(make_case("x = torch.ones(1)\ny = x + 1\nz = open('f')\n"))


def test_ordinary_teaching_code_is_allowed(make_case):
    code = """\
    import torch
    import numpy as np
    x = torch.ones(2, 3, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    def square(t):
        return t * t
    values = [square(v) for v in range(3)]
    try:
        x.view(4)
    except RuntimeError as error:
        message = str(error)
    z = x._version
    """
    assert len(check(make_case(code)).body) == 8
