"""Fused multiply-add, emulated exactly with numpy.

torch's CPU kernels are compiled with FMA contraction, so expressions like
``x * (to - from) + from`` (random numbers) and ``step * i + start`` (ranges) are rounded
once. numpy has no fma; error-free transformations (Dekker's exact product, TwoSum) and
rounding to odd (Boldo and Melquiond) give the same single rounding, as long as the
product does not underflow.

A multiplier of exactly 1 (a common case: ``uniform_(0, 1)``, ``normal_(mean, 1)``) makes the
product exact, so fma(a, 1, c) is the sum a + c rounded once: numpy's own addition.
"""

import numpy as np

from ._ops import quiet

_DEKKER_SPLIT = 2.0**27 + 1


def _two_sum(a, b):
    """a + b as a rounded sum and its exact error."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _two_product(a, b):
    """a * b as a rounded product and its exact error (Dekker's split into 26-bit halves)."""
    product = a * b
    a_scaled, b_scaled = _DEKKER_SPLIT * a, _DEKKER_SPLIT * b
    a_high, b_high = a_scaled - (a_scaled - a), b_scaled - (b_scaled - b)
    a_low, b_low = a - a_high, b - b_high
    return product, ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low


def _sum_rounded_to_odd(a, b):
    """a + b rounded to odd: an inexact sum takes the neighbour with an odd last bit. Rounding
    that result again to fewer bits gives the correctly rounded sum (Boldo and Melquiond)."""
    total, error = _two_sum(a, b)
    nudge = (error != 0) & ((total.view(np.int64) & 1) == 0)
    return np.where(nudge, np.nextafter(total, np.where(error > 0, np.inf, -np.inf)), total)


def _is_one(b):
    """Whether ``b`` is the scalar 1 (an array ``b`` may broadcast ``a`` and ``c``, so it takes the general path)."""
    return np.ndim(b) == 0 and b == 1


def fma64(a, b, c):
    """float64 fma: Dekker's exact product and sum, then one rounding of their tail."""
    if _is_one(b):
        with quiet():
            return np.add(a, c, dtype=np.float64)
    a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    # Dekker's split overflows beyond ~1e300: split a scaled-down b, then scale the exact
    # product pieces back up (a power of two, so exact); c is never scaled, so never lost.
    scale = np.where(np.abs(b) > 2.0**900, 2.0**-128, 1.0)
    product_high, product_low = _two_product(a, b * scale)
    with quiet():
        product_high, product_low = product_high / scale, product_low / scale
    high, low = _two_sum(c, product_high)
    return high + _sum_rounded_to_odd(low, product_low)


def fma32(a, b, c):
    """float32 fma of float32 values: the product is exact in float64, the sum is rounded
    once to float32."""
    if _is_one(b):
        with quiet():
            return np.add(a, c, dtype=np.float32)
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    with quiet():
        return _sum_rounded_to_odd(*np.broadcast_arrays(a * b, c)).astype(np.float32)
