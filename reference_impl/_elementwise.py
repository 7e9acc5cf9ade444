"""Elementwise operations: arithmetic, math functions, comparisons, logic, where, clamp and
filling. Every binary op broadcasts and promotes as torch does, and takes ``out=``.

Each op is a small spec, kept beside its numpy kernel: how its result dtype follows from
the promoted one, which inputs torch refuses, and what computes the values.
"""

import numpy as np

from . import _autograd, _dtype, _errors, _layout
from ._autograd import is_recording_for, record
from ._ops import (
    as_array,
    check_inplace_shape,
    check_same_device,
    check_writable,
    checked_out,
    empty_in_inputs_layout,
    operand_dtype,
    quiet,
    shape_of,
    store,
    store_inplace,
    tensor_method,
)
from ._tensor import Tensor

__all__ = [
    "abs", "absolute", "add", "allclose", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "ceil",
    "clamp", "clamp_max", "clamp_min", "clip", "cos", "div", "divide", "eq", "equal", "exp", "floor",
    "floor_divide", "fmod", "ge", "greater", "greater_equal", "gt", "isclose", "isfinite", "isinf", "isnan",
    "le", "less", "less_equal", "log", "log10", "log1p", "log2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "lt", "maximum", "minimum", "mul", "multiply", "ne", "neg", "negative", "not_equal", "pow",
    "reciprocal", "relu", "remainder", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "sub",
    "subtract", "tan", "tanh", "true_divide", "trunc", "where", "exp2", "expm1", "sinh", "cosh",
]


# -- binary ops -----------------------------------------------------------------------------

def _binary(a, b, kernel, *, out=None, result=None, compute=None, layout=None):
    """Run a binary kernel with torch's promotion.

    ``compute(promoted)`` gives the dtype to compute in (default: the promoted one) and
    ``result(promoted)`` the dtype of the result (default: the compute dtype). ``layout`` holds
    the operands a new result takes its memory order from (default both; a scalar that torch
    passes to its kernel as a parameter is no operand; empty: a contiguous result).
    """
    layout = (a, b) if layout is None else layout
    check_same_device(a, b)
    shape = _layout.broadcast_shapes(shape_of(a), shape_of(b))
    promoted = _dtype.result_type(a, b)
    compute_dtype = compute(promoted) if compute else promoted
    result_dtype = result(promoted) if result else compute_dtype
    x, y = as_array(a, compute_dtype), as_array(b, compute_dtype)
    if layout and compute_dtype is result_dtype and _writes_result_directly(kernel, a, b):
        if out is None:
            target = empty_in_inputs_layout(shape, result_dtype, layout)
        else:
            target = checked_out(out, shape, result_dtype, (a, b))
            out._bump_version()
        with quiet():
            _in_memory_order(kernel, (x, y), target._array())
        return target
    with quiet():
        values = kernel(x, y)
    if out is not None:
        return store(values, result_dtype, out, inputs=(a, b))
    return store(values, result_dtype, inputs=layout, follow_layout=bool(layout))


# IEEE's basic operations round exactly, so numpy's SIMD, strided and scalar loops all agree.
_EXACTLY_ROUNDED = frozenset((np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.minimum))


def _in_memory_order(kernel, operands, target):
    """``kernel(*operands, out=target)``, walking ``target``'s memory in order, as TensorIterator
    walks its output: numpy walks a transposed output in row-major order, striding through
    memory on every write (a.t() + b: three times slower)."""
    if isinstance(target, np.ndarray) and target.ndim > 1 and not target.flags.c_contiguous:
        order = np.argsort([-stride for stride in target.strides], kind="stable")
        operands = [np.broadcast_to(operand, target.shape).transpose(order) for operand in operands]
        target = target.transpose(order)
    kernel(*operands, out=target, casting="unsafe")


def _writes_result_directly(kernel, a, b):
    """Whether ``kernel`` may write straight into the result (a new one laid out like the
    inputs, or ``out``), saving a temporary and a copy. On the CPU only exactly rounded
    kernels may: other ufuncs (pow, fmod …) run numpy's contiguous loops into a temporary,
    since a strided destination can select loops that round differently. On CUDA every
    ufunc is one of our kernels, which reads and writes any layout."""
    if not isinstance(kernel, np.ufunc):
        return False
    return kernel in _EXACTLY_ROUNDED or any(isinstance(t, Tensor) and t.is_cuda for t in (a, b))


def _saved_for(value, *users):
    """``value`` as torch saves it for a chain rule: only when one of ``users`` (the inputs whose
    gradients read it) requires grad, so that writing it in place later is otherwise no error."""
    if not isinstance(value, Tensor) or any(_autograd.requires_grad(user) for user in users):
        return value
    return None


def _to_float(promoted):
    """Division and float math turn integers and bools into the default float dtype."""
    return promoted if promoted.is_floating_point else _dtype.get_default_dtype()


def _boolean(_):
    return _dtype.bool


def _check_subtractable(a, b):
    bools = [operand_dtype(x) is _dtype.bool for x in (a, b)]
    if all(bools):
        raise _errors.bool_subtraction(both=True)
    if any(bools):
        raise _errors.bool_subtraction(both=False)


def _check_integer_divisor(a, b, kernel):
    """torch's checks in its order: the shapes broadcast, there is a kernel for the dtype (none
    for bool; ``kernel`` names it), and an integer kernel that runs (the result is not empty)
    refuses division or remainder by zero instead of producing garbage."""
    shape = _layout.broadcast_shapes(shape_of(a), shape_of(b))
    dtype = _dtype.result_type(a, b)
    if dtype is _dtype.bool:
        raise _errors.not_implemented_for(kernel, dtype)
    if not dtype.is_floating_point and _layout.numel(shape) and np.any(as_array(b, _dtype.int64) == 0):
        raise _errors.integer_division_by_zero()


def _operand_kind(op, other):
    """The grad_fn table key: torch names some nodes differently for a scalar operand."""
    return op if isinstance(other, Tensor) else op + "_scalar"


@tensor_method()
def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other``."""
    kernel = np.add if alpha == 1 else lambda x, y: np.add(x, y * y.dtype.type(alpha))
    result = _binary(input, other, kernel, out=out)
    # alpha == 1 hands the very same gradient to both inputs, as torch's formula does
    return record(result, _operand_kind("add", other), (input, other),
                  lambda grad: (grad, grad if alpha == 1 else grad * alpha))


@tensor_method()
def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``; torch refuses it for bool operands."""
    _check_subtractable(input, other)
    kernel = np.subtract if alpha == 1 else lambda x, y: np.subtract(x, y * y.dtype.type(alpha))
    result = _binary(input, other, kernel, out=out)
    if not isinstance(input, Tensor):  # ``2 - x``: torch records RsubBackward1 on x alone
        return record(result, "rsub_scalar", (other,), lambda grad: -grad * alpha)
    return record(result, _operand_kind("sub", other), (input, other), lambda grad: (grad, -grad * alpha))


@tensor_method()
def mul(input, other, *, out=None):
    result = _binary(input, other, np.multiply, out=out)
    return record(result, _operand_kind("mul", other), (input, other),
                  lambda grad, a, b: (None if b is None else grad * b, None if a is None else grad * a),
                  saved=(_saved_for(input, other), _saved_for(other, input)))


@tensor_method()
def div(input, other, *, rounding_mode=None, out=None):
    """True division, or rounded toward zero (``trunc``) or down (``floor``)."""
    if rounding_mode is None:
        if not isinstance(input, Tensor):  # ``2 / x``: torch computes x.reciprocal() * 2
            return mul(reciprocal(other), input, out=out)
        result = _binary(input, other, np.true_divide, out=out, compute=_to_float)
        return record(result, _operand_kind("div", other), (input, other),
                      lambda grad, a, b: (grad / b, None if a is None else -grad * a / (b * b)),
                      saved=(_saved_for(input, other), _saved_for(other, input, other)))
    if rounding_mode == "trunc":
        _check_integer_divisor(input, other, "div_trunc_cpu")
        return _binary(input, other, _trunc_divide, out=out)
    if rounding_mode == "floor":
        _check_integer_divisor(input, other, "div_floor_cpu")
        return _binary(input, other, np.floor_divide, out=out)
    raise _errors.bad_rounding_mode(rounding_mode)


def _trunc_divide(x, y):
    if x.dtype.kind == "f":
        return np.trunc(x / y)
    quotient = np.floor_divide(x, y)
    # floor and trunc differ when the signs differ and the division is inexact
    return quotient + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0)))


@tensor_method()
def floor_divide(input, other, *, out=None):
    """Division rounded down. torch has no derivative for it: a result of inputs that require
    grad gets a NotImplemented node (with edges to those inputs only), whose backward raises."""
    _check_integer_divisor(input, other, "div_floor_cpu")
    return _not_differentiable(_binary(input, other, np.floor_divide, out=out), "floor_divide", (input, other))


def _not_differentiable(result, op, inputs):
    """torch's NotImplemented node, for an op without a derivative: its edges lead to the inputs
    that require grad, and its backward raises."""

    def backward(grad):
        raise _errors.derivative_not_implemented(f"aten::{op}")

    # "floor_divide" is where the probe met torch's NotImplemented node
    return record(result, "floor_divide", [v for v in inputs if _autograd.requires_grad(v)], backward)


def _remainder(x, y):
    """torch's remainder on the CPU: for floats fmod's result moved into the divisor's sign, a
    zero keeping fmod's sign (``-1 % 1`` is ``-0.0``, numpy's ``+0.0``); integers as numpy's
    (and so is everything on CUDA, whose kernel is numpy's ufunc)."""
    if x.dtype.kind != "f":
        return np.remainder(x, y)
    mod = np.fmod(x, y)
    return np.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)


def _division_remainder(input, other, kernel, op, rounding_mode):
    """remainder and fmod: ``input - other * (input / other rounded)``, the rounding giving
    the chain rule for a tensor ``other``; a scalar ``other`` is no input of the node, and
    torch has no derivative at all for a scalar ``input`` (``2 % x``)."""
    _check_integer_divisor(input, other, f"{op}_cpu")
    result = _binary(input, other, kernel, out=None)
    if not isinstance(input, Tensor):
        return _not_differentiable(result, op, (other,))
    if not isinstance(other, Tensor):
        return record(result, f"{op}_scalar", (input,), lambda grad: grad)
    return record(result, op, (input, other),
                  lambda grad, a, b: (grad, None if a is None else -grad * div(a, b, rounding_mode=rounding_mode)),
                  saved=(_saved_for(input, other), _saved_for(other, other)))


@tensor_method()
def remainder(input, other, *, out=None):
    """Python's ``%``: the result takes the divisor's sign."""
    if out is not None:
        _check_integer_divisor(input, other, "remainder_cpu")
        return _binary(input, other, _remainder, out=out)
    return _division_remainder(input, other, _remainder, "remainder", "floor")


@tensor_method()
def fmod(input, other, *, out=None):
    """C's fmod: the result takes the dividend's sign."""
    if out is not None:
        _check_integer_divisor(input, other, "fmod_cpu")
        return _binary(input, other, np.fmod, out=out)
    return _division_remainder(input, other, np.fmod, "fmod", "trunc")


@tensor_method()
def pow(input, exponent, *, out=None):
    """``input ** exponent``; integers to negative integer scalar powers are refused."""
    if not isinstance(exponent, Tensor) and isinstance(exponent, int) and exponent < 0 \
            and not _dtype.result_type(input, exponent).is_floating_point:
        raise _errors.negative_integer_power()
    # torch passes a scalar exponent to a unary kernel, and gives ``2 ** x`` a contiguous result
    layout = (input,) if not isinstance(exponent, Tensor) else () if not isinstance(input, Tensor) else None
    result = _binary(input, exponent, _power, out=out, layout=layout)
    if not isinstance(input, Tensor):  # ``2 ** x``
        return record(result, "rpow_scalar", (exponent,), _scalar_base_gradient(input), saved=(result, exponent))
    if not isinstance(exponent, Tensor):
        return record(result, "pow_scalar", (input,),
                      lambda grad, x: grad * _times_scalar(x ** (exponent - 1), exponent) if exponent != 0
                      else grad * 0, saved=(input,))
    return record(result, "pow", (input, exponent), _pow_gradients, saved=(input, exponent, result))


def _pow_gradients(grad, x, e, r):
    """torch's pow_backward_self and pow_backward_exponent: zero where ``e == 0`` for x, and
    where ``x == 0 <= e`` for e (the limit of ``x**e * log(x)``), not 0 * inf."""
    return (where(e == 0, 0.0, grad * (e * x ** (e - 1))),
            grad * where((x == 0) & (e >= 0), 0.0, r * log(x)))


def _scalar_base_gradient(base):
    """d base**e / de = base**e * log(base); for base 0, torch's limit 0 where ``e >= 0``."""
    if base == 0:
        return lambda grad, r, e: grad * where(e >= 0, 0.0, _times_scalar(r, -np.inf))
    with quiet():
        log_base = float(np.log(base))
    return lambda grad, r, e: grad * _times_scalar(r, log_base)


def _power(base, exponent):
    if base.dtype.kind not in "iu" or not np.any(exponent < 0):
        return np.power(base, exponent)
    # torch's integer pow with a negative exponent: 1 stays 1, -1 alternates, the rest is 0
    safe = np.where(exponent < 0, 0, exponent)
    powered = np.power(base, safe)
    negative_result = np.where(base == 1, 1, np.where(base == -1, np.where(exponent % 2 == 0, 1, -1), 0))
    return np.where(exponent < 0, negative_result, powered).astype(base.dtype)


@tensor_method()
def maximum(input, other, *, out=None):
    result = _binary(input, other, np.maximum, out=out)
    return record(result, "maximum", (input, other), _split_ties(gt), saved=(input, other))


@tensor_method()
def minimum(input, other, *, out=None):
    result = _binary(input, other, np.minimum, out=out)
    return record(result, "minimum", (input, other), _split_ties(lt), saved=(input, other))


def _times_scalar(tensor, scalar):
    """``tensor * scalar`` as torch's own chain rules compute it: the scalar is not an input
    of the node (MulBackward1), which shows in the graph of a second derivative."""
    return record(_binary(tensor, scalar, np.multiply), "mul_cpp_scalar", (tensor,), lambda grad: grad * scalar)


def _split_ties(wins):
    """maximum/minimum's chain rule: the gradient goes to the winner, halved on a tie."""

    def backward(grad, a, b):
        tie = eq(a, b)
        share = where(tie, grad / 2, grad)
        return where(wins(a, b) | tie, share, 0.0), where(wins(b, a) | tie, share, 0.0)

    return backward


def _comparison(kernel, name):
    def compare(input, other, *, out=None):
        return _binary(input, other, kernel, out=out, result=_boolean)

    compare.__name__ = compare.__qualname__ = name
    return tensor_method()(compare)


eq = _comparison(np.equal, "eq")
ne = _comparison(np.not_equal, "ne")
lt = _comparison(np.less, "lt")
le = _comparison(np.less_equal, "le")
gt = _comparison(np.greater, "gt")
ge = _comparison(np.greater_equal, "ge")


def _bitwise(kernel, name):
    def bitwise(input, other, *, out=None):
        _layout.broadcast_shapes(shape_of(input), shape_of(other))  # torch checks the shapes first
        dtype = _dtype.result_type(input, other)
        if dtype.is_floating_point:
            raise _errors.not_implemented_for(f"{name}_cpu", dtype)
        return _binary(input, other, kernel, out=out)

    bitwise.__name__ = bitwise.__qualname__ = name
    return tensor_method()(bitwise)


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def _logical(kernel, name):
    def logical(input, other, *, out=None):
        return _binary(input, other, lambda x, y: kernel(x != 0, y != 0), out=out, result=_boolean)

    logical.__name__ = logical.__qualname__ = name
    return tensor_method()(logical)


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")

subtract, multiply, divide, true_divide = sub, mul, div, div
not_equal, greater, greater_equal, less, less_equal = ne, gt, ge, lt, le


# -- unary ops ------------------------------------------------------------------------------

def _unary(input, kernel, *, out=None, floating=False):
    """A unary kernel; ``floating`` ops turn integer and bool inputs into the default float."""
    dtype = _to_float(input.dtype) if floating else input.dtype
    with quiet():
        values = kernel(as_array(input, dtype))
    return store(values, dtype, out, inputs=(input,), follow_layout=True)


def _float_math(kernel, name, chain_rule, saves="input", rounded_from_float64=False):
    """A float unary op with its chain rule ``chain_rule(grad, saved)``, where ``saved`` is the
    op's input or its result, as torch saves it.

    With ``rounded_from_float64``, float32 values on the CPU are computed in float64 and rounded:
    torch's vectorised float32 kernels are nearly always correctly rounded, numpy's float32 loops
    often one ulp off (exp: 39% of values differ from torch's, rounded from float64 1%)."""
    precise = _rounded_from_float64(kernel) if rounded_from_float64 else kernel

    def function(input, *, out=None):
        result = _unary(input, kernel if input.is_cuda else precise, out=out, floating=True)
        saved = input if saves == "input" else result
        return record(result, name, (input,), chain_rule, saved=(saved,))

    return _register_unary(name, function)


def _zeros_like(tensor):
    """Zeros shaped and laid out like ``tensor``: where a kernel takes a number as a parameter,
    not as an operand, so that the result is laid out by the tensors alone."""
    from ._creation import zeros_like

    return zeros_like(tensor)


_BLOCK = 1 << 14  # float64 elements per block: 128 KiB, which stays in the L2 cache


def _rounded_from_float64(kernel):
    """``kernel`` on float32 values computed in float64 and rounded, a block at a time: on
    large inputs a whole float64 copy costs more memory traffic than the math."""

    def rounded(x):
        if x.dtype != np.float32:
            return kernel(x)
        flat = np.ascontiguousarray(x).reshape(-1)
        result = np.empty_like(flat)
        block = np.empty(min(flat.size, _BLOCK), dtype=np.float64)
        for start in range(0, flat.size, _BLOCK):
            part = block[:min(_BLOCK, flat.size - start)]
            part[...] = flat[start:start + _BLOCK]
            kernel(part, out=part)
            result[start:start + _BLOCK] = part
        return result.reshape(x.shape)

    return rounded


def _register_unary(name, function):
    """Make ``function`` torch.<name> and Tensor.<name>, and its in-place form Tensor.<name>_."""

    def in_place(self):
        check_writable(self)  # TensorIterator checks overlap before it looks for a kernel
        return _recorded_in_place(self, function)

    function.__name__ = function.__qualname__ = name
    in_place.__name__ = in_place.__qualname__ = name + "_"
    tensor_method(name)(function)
    tensor_method(name + "_")(in_place)
    return function


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))).astype(x.dtype)


_LN2, _LN10 = float(np.log(2)), float(np.log(10))
exp = _float_math(np.exp, "exp", lambda grad, r: grad * r, saves="result", rounded_from_float64=True)
exp2 = _float_math(np.exp2, "exp2", lambda grad, r: grad * r * _LN2, saves="result")
expm1 = _float_math(np.expm1, "expm1", lambda grad, r: grad * (r + 1), saves="result", rounded_from_float64=True)
log = _float_math(np.log, "log", lambda grad, x: grad / x, rounded_from_float64=True)
log2 = _float_math(np.log2, "log2", lambda grad, x: grad / (x * _LN2), rounded_from_float64=True)
log10 = _float_math(np.log10, "log10", lambda grad, x: grad / (x * _LN10), rounded_from_float64=True)
log1p = _float_math(np.log1p, "log1p", lambda grad, x: grad / (x + 1), rounded_from_float64=True)
sqrt = _float_math(np.sqrt, "sqrt", lambda grad, r: grad / (2 * r), saves="result")
rsqrt = _float_math(lambda x: 1 / np.sqrt(x), "rsqrt", lambda grad, r: -0.5 * grad * r ** 3, saves="result")
sin = _float_math(np.sin, "sin", lambda grad, x: grad * x.cos(), rounded_from_float64=True)
cos = _float_math(np.cos, "cos", lambda grad, x: grad * -x.sin(), rounded_from_float64=True)
tan = _float_math(np.tan, "tan", lambda grad, r: grad * (1 + r * r), saves="result")
sinh = _float_math(np.sinh, "sinh", lambda grad, x: grad * x.cosh(), rounded_from_float64=True)
cosh = _float_math(np.cosh, "cosh", lambda grad, x: grad * x.sinh(), rounded_from_float64=True)
tanh = _float_math(np.tanh, "tanh", lambda grad, r: grad * (1 - r * r), saves="result", rounded_from_float64=True)
sigmoid = _float_math(_sigmoid, "sigmoid", lambda grad, r: grad * r * (1 - r), saves="result")
reciprocal = _float_math(np.reciprocal, "reciprocal", lambda grad, r: -grad * r * r, saves="result")


def _same_dtype_math(kernel, name, chain_rule, refuse_bool=None, saves=None):
    """A unary op that keeps the input's dtype; ``refuse_bool(dtype)`` builds torch's error.

    ``chain_rule(grad, *saved)`` gets the input or the result when ``saves`` says so.
    """

    def function(input, *, out=None):
        if refuse_bool and input.dtype is _dtype.bool:
            raise refuse_bool(input.dtype)
        result = _unary(input, kernel, out=out)
        saved = {"input": (input,), "result": (result,), None: ()}[saves]
        return record(result, name, (input,), chain_rule, saved=saved)

    return _register_unary(name, function)


def _integral_unchanged(kernel):
    return lambda x: kernel(x) if x.dtype.kind == "f" else x.copy()


def _zero_gradient(grad):
    return grad * 0


neg = _same_dtype_math(np.negative, "neg", lambda grad: -grad, lambda _: _errors.bool_negation())
abs = _same_dtype_math(np.abs, "abs", lambda grad, x: grad * x.sign(),
                       lambda d: _errors.not_implemented_for("abs_cpu", d), saves="input")
relu = _same_dtype_math(lambda x: np.maximum(x, x.dtype.type(0)), "relu",
                        lambda grad, r: where(r <= 0, _zeros_like(grad), grad),  # threshold_backward
                        lambda _: _errors.bool_relu(), saves="result")


def _no_bool_kernel(name):
    return lambda d: _errors.not_implemented_for(f"{name}_vml_cpu", d)


floor = _same_dtype_math(_integral_unchanged(np.floor), "floor", _zero_gradient, _no_bool_kernel("floor"))
ceil = _same_dtype_math(_integral_unchanged(np.ceil), "ceil", _zero_gradient, _no_bool_kernel("ceil"))
trunc = _same_dtype_math(_integral_unchanged(np.trunc), "trunc", _zero_gradient, _no_bool_kernel("trunc"))
round = _same_dtype_math(_integral_unchanged(np.round), "round", _zero_gradient,  # half to even, like torch
                         _no_bool_kernel("round"))
sign = _same_dtype_math(lambda x: np.sign(x) if x.dtype.kind != "b" else x.copy(), "sign", _zero_gradient)
_square = _same_dtype_math(np.square, "square", lambda grad, x: grad * 2 * x, saves="input")


def square(input, *, out=None):
    """``input ** 2``, which torch computes as pow: a bool tensor squares to int64."""
    if input.dtype is _dtype.bool:
        return pow(input, 2, out=out)
    return _square(input, out=out)


_register_unary("square", square)
negative, absolute = neg, abs
tensor_method("negative")(neg)
tensor_method("absolute")(abs)


@tensor_method()
def logical_not(input, *, out=None):
    with quiet():
        return store(np.logical_not(input._array()), _dtype.bool, out, inputs=(input,))


@tensor_method()
def bitwise_not(input, *, out=None):
    if input.dtype.is_floating_point:
        raise _errors.invert_not_integral()
    return _unary(input, np.invert, out=out)


def _classify(kernel):
    def function(input):
        return store(kernel(input._array()), _dtype.bool)

    return function


isnan = tensor_method("isnan")(_classify(np.isnan))
isinf = tensor_method("isinf")(_classify(np.isinf))
isfinite = tensor_method("isfinite")(_classify(np.isfinite))


# -- where and clamp --------------------------------------------------------------------------

def where(condition, input=None, other=None, *, out=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (all broadcast).

    With the condition alone, the indices where it holds, as ``nonzero(as_tuple=True)``.
    """
    if input is None and other is None:
        from ._movement import nonzero

        return nonzero(condition, as_tuple=True)
    if condition.dtype is not _dtype.bool:
        raise _errors.where_condition_not_bool(condition.dtype)
    check_same_device(condition, input, other)
    _layout.broadcast_shapes(condition.shape, _layout.broadcast_shapes(shape_of(input), shape_of(other)))
    dtype = _dtype.result_type(input, other)
    values = np.where(condition._array(), as_array(input, dtype), as_array(other, dtype))  # broadcast, writable
    result = store(values, dtype, out, inputs=(condition, input, other), follow_layout=True)
    return record(result, "where", (input, other),
                  lambda grad, c: (where(c, grad, 0.0), where(c, 0.0, grad)), saved=(condition,))


@tensor_method("where")
def _where_method(self, condition, other):
    return where(condition, self, other)


@tensor_method("clamp", "clip")
def clamp(input, min=None, max=None, *, out=None):
    """Limit values to [min, max]; the bounds take part in type promotion."""
    if min is None and max is None:
        raise _errors.clamp_without_bounds()
    bounds = [b for b in (min, max) if b is not None]
    dtype = _dtype.result_type(input, *bounds)
    values = as_array(input, dtype)
    with quiet():
        if min is not None:
            values = np.maximum(values, as_array(min, dtype))
        if max is not None:
            values = np.minimum(values, as_array(max, dtype))
    # scalar bounds are parameters of a unary kernel; tensor bounds are operands
    result = store(values, dtype, out, inputs=(input, *(b for b in bounds if isinstance(b, Tensor))),
                   follow_layout=True)
    if any(isinstance(bound, Tensor) for bound in bounds):
        return record(result, "clamp_tensors", (input, min, max), _clamp_tensors_backward(min, max),
                      saved=(input, min, max))
    return record(result, "clamp_scalars", (input,), lambda grad, x: where(_within(x, min, max), grad, 0.0),
                  saved=(input,))


def _within(x, low, high):
    inside = x == x if low is None else x >= low
    return inside if high is None else inside & (x <= high)


def _clamp_tensors_backward(low, high):
    """With tensor bounds, the gradient goes to whichever of x, min and max was chosen (max
    wherever min > max, since max is applied last)."""

    def backward(grad, x, low_value, high_value):
        below = (x < low_value) if low is not None else None
        above = (x > high_value) if high is not None else None
        if below is not None and above is not None:
            below, above = below & (low_value < high_value), above | (high_value < low_value)
        return (grad * _within(x, low_value, high_value),
                None if below is None else grad * below,
                None if above is None else grad * above)

    return backward


@tensor_method("clamp_", "clip_")
def clamp_(self, min=None, max=None):
    return _recorded_in_place(self, lambda x: clamp(x, min, max))


@tensor_method()
def clamp_min(input, min):
    return clamp(input, min=min)


@tensor_method()
def clamp_max(input, max):
    return clamp(input, max=max)


clip = clamp


# -- comparing whole tensors -------------------------------------------------------------------

@tensor_method()
def equal(input, other):
    """True when shapes and every value match (dtypes may differ)."""
    if input.shape != other.shape:
        return False
    return bool(np.array_equal(input._array(), other._array()))


@tensor_method()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|``, or equal (so inf matches inf).

    Built like torch's: start from equality and merge the other tests into it in place,
    which is why torch's result has a ``_version`` of 0, 1 or 2.
    """
    if input.dtype is not other.dtype:
        raise _errors.dtype_did_not_match(input.dtype, other.dtype)
    close = eq(input, other)
    if equal_nan and input.dtype.is_floating_point:
        close.logical_or_(isnan(input) & isnan(other))
    if rtol == 0 and atol == 0:
        return close
    work = input.dtype if input.dtype.is_floating_point else _dtype.get_default_dtype()
    with quiet():
        error = np.abs(as_array(input, work) - as_array(other, work))
        allowed = atol + np.abs(rtol * as_array(other, work))
        within = np.isfinite(error) & (error <= allowed)
    return close.logical_or_(store(within, _dtype.bool))


@tensor_method()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan)._array()))


# -- in-place variants and operators -------------------------------------------------------------

def _register_in_place():
    for name in ("add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "maximum", "minimum",
                 "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor",
                 "eq", "ne", "lt", "le", "gt", "ge"):
        function = globals()[name]
        tensor_method(name + "_")(_in_place_of(function))


def _in_place_of(function):
    """``x.op_(y)``: the op's result written back into ``x``, which must be able to hold it."""

    def in_place(self, other, **options):
        if is_recording_for(self, other):
            return _recorded_in_place(self, lambda x: function(x, other, **options), inputs=(other,))
        # Untracked, it is the op with ``out=self``, which writes in place once the result's
        # shape is known to be ours (``out=`` would resize instead).
        check_inplace_shape(self, shape_of(other))
        return function(self, other, out=self, **options)

    in_place.__name__ = in_place.__qualname__ = function.__name__ + "_"
    return in_place


def _recorded_in_place(tensor, function, inputs=()):
    """Run ``function`` on ``tensor`` out of place and write the result back into it.

    When recording, the op is first applied to a snapshot that carries ``tensor``'s history
    (so its chain rule keeps the original values), and ``tensor`` then takes the op's node
    as its own grad_fn, as torch rebases an in-place op's history.
    """
    recording = is_recording_for(tensor, *inputs)
    source = _autograd.history_snapshot(tensor) if recording else tensor
    result = function(source)
    store_inplace(tensor, result._array(), result.dtype, inputs=inputs)
    if recording:
        _autograd.take_history(tensor, result)
    return tensor


_register_in_place()


# -- Python operators ------------------------------------------------------------------------------

def _operand(value):
    return isinstance(value, (Tensor, bool, int, float, np.number, np.bool_))


def _operator(function, reflected=False):
    def operator(self, other):
        if not _operand(other):
            return NotImplemented
        return function(other, self) if reflected else function(self, other)

    return operator


def _invert(self):
    if self.dtype is _dtype.bool:
        return logical_not(self)
    return bitwise_not(self)


_OPERATORS = {
    "add": add, "sub": sub, "mul": mul, "truediv": div, "floordiv": floor_divide, "mod": remainder,
    "pow": pow, "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor,
}
_COMMUTATIVE = ("add", "mul", "and", "or", "xor")  # torch computes ``2 * x`` as ``x * 2``
for _name, _function in _OPERATORS.items():
    setattr(Tensor, f"__{_name}__", _operator(_function))
    setattr(Tensor, f"__r{_name}__", _operator(_function, reflected=_name not in _COMMUTATIVE))
    setattr(Tensor, f"__i{_name}__", _operator(getattr(Tensor, _function.__name__ + "_")))
for _name, _function in (("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge)):
    setattr(Tensor, f"__{_name}__", _operator(_function))
setattr(Tensor, "__neg__", neg)
setattr(Tensor, "__abs__", abs)
setattr(Tensor, "__invert__", _invert)
setattr(Tensor, "__hash__", object.__hash__)  # identity, as torch: defining __eq__ keeps tensors hashable
setattr(Tensor, "__array_priority__", 1000)  # numpy scalars defer to our reflected operators


# -- filling ---------------------------------------------------------------------------------------

@tensor_method()
def copy_(self, src, non_blocking=False):
    """Write ``src`` (a tensor, broadcast to our shape) into our elements, casting as needed;
    ``src`` may be on another device (one transfer, then the cast where it lands)."""
    _layout.check_expandable(src.shape, self.shape)
    recording = is_recording_for(self, src) and self.dtype.is_floating_point  # torch: a differentiable dtype
    if recording:
        _autograd.check_in_place(self)
    if not _same_data(self, src):  # torch skips the copy (not the version bump) onto the same data
        _copy_values(self, src)
    self._bump_version()
    if recording:
        source_device = src.device
        _autograd.record_in_place(self, "copy_", (self, src), lambda grad: (grad * 0, grad.to(source_device)))
    return self


def _same_data(a, b):
    """torch's early exit in copy_: the same tensor, or a view of the very same elements."""
    return a is b or (a._storage is b._storage and a.storage_offset() == b.storage_offset()
                      and a.stride() == b.stride() and a.shape == b.shape and a.dtype is b.dtype)


def _copy_values(self, src):
    check_writable(self, (src,))
    values = src._array()
    if src.device != self.device:
        values = src._host_array() if src.is_cuda else src.to(self.device)._array()
    with quiet():
        np.copyto(self._array(), values, casting="unsafe")


@tensor_method()
def fill_(self, value):
    """Every element set to ``value`` (cast to our dtype, as torch does). A 0-dim tensor value
    is an input of the op (FillBackward3): its gradient is the sum of ours."""
    source = None
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise _errors.fill_with_nonscalar(value.dim())
        source, value = value, value.item()
    from ._indexing import checked_scalar

    scalar = checked_scalar(value, self.dtype)
    recording = is_recording_for(self, source)
    if recording:
        _autograd.check_in_place(self)
    if source is not None:  # torch fills from a tensor with copy_, which checks overlap; filling
        check_writable(self)  # with a number is idempotent, so an expanded tensor may be filled
    self._array()[...] = scalar
    self._bump_version()
    if recording and source is None:
        _autograd.record_in_place(self, "fill_", (self,), lambda grad: grad * 0)
    elif recording:
        _autograd.record_in_place(self, "fill_tensor_", (self, source), lambda grad: (grad * 0, grad.sum()))
    return self


@tensor_method()
def zero_(self):
    if not is_recording_for(self):
        return fill_(self, 0)
    _autograd.check_in_place(self)
    with _autograd.no_grad():
        fill_(self, 0)
    return _autograd.record_in_place(self, "zero_", (self,), lambda grad: grad * 0)
