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


def _nearest_float32(exact):
    """The float32 nearest to the Fraction ``exact``, ties to even. (Rounding through float64
    first can round twice: a product on a float32 tie plus a tiny addend is not a tie, but
    in float64 the addend is lost.)"""
    guess = np.float32(float(exact))
    neighbours = [np.nextafter(guess, np.float32(-np.inf)), guess, np.nextafter(guess, np.float32(np.inf))]
    return min(neighbours, key=lambda f: (abs(Fraction(float(f)) - exact), int(f.view(np.int32)) & 1))


@given(float32s, float32s, float32s)
def test_fma32_rounds_once(a, b, c):
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    assert float(fma32(a, b, c)) == float(_nearest_float32(exact))


def test_fma32_rounds_a_tie_nudged_by_a_tiny_addend_the_way_it_leans():
    a, b, c = np.float32(1024.9503173828125), np.float32(-1.5), np.float32(1.7868096848452175e-40)
    assert float(a) * float(b) == -1537.42547607421875  # halfway between two float32s
    assert float(fma32(a, b, c)) == -1537.4254150390625  # c > 0: the one nearer zero


def test_a_halfway_case_is_rounded_the_way_the_exact_value_lies():
    # step * 6 is just below 0.5 and the tiny addend pushes the exact value below 0.5 too
    step, index, tiny = -0.08333333333333333, 6.0, -6.622549147901531e-159
    assert float(fma64(-step, index, tiny)) == float(Fraction(-step) * 6 + Fraction(tiny))


@pytest.mark.parametrize("a, b, c", [(0.0, 8.45e270, 2.2e-291), (1e-50, 1e305, 3.0), (0.5, 1e305, -1e-300)])
def test_huge_operands_keep_a_tiny_addend(a, b, c):
    assert float(fma64(a, b, c)) == float(Fraction(a) * Fraction(b) + Fraction(c))


@given(st.floats(-1e300, 1e300), st.floats(-1e300, 1e300))
def test_a_multiplier_of_one_rounds_the_sum_once(a, c):
    assert float(fma64(a, 1.0, c)) == float(Fraction(a) + Fraction(c))


@given(st.floats(-2.0**100, 2.0**100, width=32), st.floats(-2.0**100, 2.0**100, width=32))
def test_a_float32_multiplier_of_one_rounds_the_sum_once(a, c):
    exact = Fraction(float(a)) + Fraction(float(c))
    result = fma32(np.float32(a), np.float32(1), np.float32(c))
    assert result.dtype == np.float32 and float(result) == float(_nearest_float32(exact))


def test_a_multiplier_of_one_adds_infinities_as_the_instruction_does():
    big = np.finfo(np.float64).max
    assert fma64(np.array([np.inf, big, 1.0]), 1.0, np.array([1.0, big, -np.inf])).tolist() == [np.inf, np.inf, -np.inf]
    assert np.isnan(fma64(np.inf, 1.0, -np.inf))


@pytest.mark.parametrize("fma, dtype", [(fma64, np.float64), (fma32, np.float32)])
def test_a_multiplier_of_one_keeps_the_sign_of_zero_as_the_instruction_does(fma, dtype):
    zeros = np.array([0.0, -0.0, -0.0, 0.0], dtype=dtype)
    addends = np.array([0.0, 0.0, -0.0, -0.0], dtype=dtype)
    result = fma(zeros, dtype(1), addends)
    assert result.dtype == dtype
    assert np.signbit(result).tolist() == [False, False, True, False]  # -0 + 0 is +0


def test_a_multiplier_array_of_ones_still_broadcasts():
    assert fma64(np.ones(3), np.ones((2, 3)), 1.0).shape == (2, 3)
