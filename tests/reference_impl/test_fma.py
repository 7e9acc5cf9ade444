"""The emulated fused multiply-add rounds exactly once, like the hardware instruction."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl._fma import fma32, fma64


def clear_of_underflow(low, high):
    """Exactness is promised while products do not underflow."""
    return st.floats(low, high).filter(lambda x: x == 0 or abs(x) > 1e-100)


@given(clear_of_underflow(-1e6, 1e6), clear_of_underflow(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_fma64_rounds_once(a, b, c):
    assert float(fma64(a, b, c)) == float(Fraction(a) * Fraction(b) + Fraction(c))


@given(st.floats(0, 1), clear_of_underflow(-1e300, 1e300), st.floats(-1e300, 1e300))
def test_fma64_rounds_once_for_huge_operands(a, b, c):
    if a != 0 and abs(a * b) < 1e-100:
        return
    assert float(fma64(a, b, c)) == float(Fraction(a) * Fraction(b) + Fraction(c))


float32s = st.floats(-1e4, 1e4, width=32)


@given(float32s, float32s, float32s)
def test_fma32_rounds_once(a, b, c):
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    assert float(fma32(a, b, c)) == float(np.float32(float(exact)))


def test_a_halfway_case_is_rounded_the_way_the_exact_value_lies():
    # step * 6 is just below 0.5 and the tiny addend pushes the exact value below 0.5 too
    step, index, tiny = -0.08333333333333333, 6.0, -6.622549147901531e-159
    assert float(fma64(-step, index, tiny)) == float(Fraction(-step) * 6 + Fraction(tiny))


@pytest.mark.parametrize("a, b, c", [(0.0, 8.45e270, 2.2e-291), (1e-50, 1e305, 3.0), (0.5, 1e305, -1e-300)])
def test_huge_operands_keep_a_tiny_addend(a, b, c):
    assert float(fma64(a, b, c)) == float(Fraction(a) * Fraction(b) + Fraction(c))
