"""Numeric gradient checks, as torch.autograd.gradcheck and gradgradcheck do them.

Each chain rule is checked against float64 central differences: for random weights ``w`` on
an op's outputs, the gradient of ``sum(w * op(inputs))`` that backward() computes must match
``(f(x + eps) - f(x - eps)) / 2 eps`` for every input element. Inputs come in contiguous,
transposed, step-sliced and expanded layouts, with broadcasting shapes, and their values keep
away from the points where an op is not differentiable (ties, kinks, zeros of log and sqrt).
"""

import math
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import reference_impl as rt

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-5
PER_OP = settings(max_examples=4, deadline=None)  # for tests run once per op: they add up
VARIANTS = settings(max_examples=12, deadline=None)  # for tests that draw dims and options too


# -- the check -------------------------------------------------------------------------------------

def check_gradients(op, function, inputs, fast=False):
    """Assert that backward() through ``function(*inputs)`` (float64 leaves that require grad)
    gives the central-difference gradient of a random weighting of its outputs.

    ``function`` returns a tensor or a tuple of them; outputs that do not require grad
    contribute no analytic gradient (their weighted sum must then not depend on the inputs).
    ``fast`` compares one derivative, along a random direction, instead of every element's
    (torch's fast mode: two evaluations instead of two per element).
    """
    outputs = _outputs(function(*inputs))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(out.shape) for out in outputs]
    analytic = _vector_jacobian(outputs, weights, inputs)
    for number, (value, gradient) in enumerate(zip(inputs, analytic)):
        assert gradient.shape == value.shape and gradient.dtype is rt.float64, (
            f"{op}: the gradient of input {number} is {tuple(gradient.shape)} {gradient.dtype}, "
            f"not {tuple(value.shape)} float64")
    analytic = [gradient.detach().numpy() for gradient in analytic]
    if fast:
        directions = [rng.standard_normal(value.shape) for value in inputs]
        numeric = _central_differences(function, weights, inputs, directions)
        along = sum(float(np.sum(gradient * direction)) for gradient, direction in zip(analytic, directions))
        compared = [("along a random direction", along, numeric)]
    else:
        numeric = _central_differences(function, weights, inputs)
        compared = [(f"of input {number} at {index}", float(actual[index]), float(expected[index]))
                    for number, (actual, expected) in enumerate(zip(analytic, numeric))
                    for index in np.ndindex(expected.shape)]
    where, got, want = max(compared, key=lambda pair: _excess(*pair[1:]), default=("", 0.0, 0.0))
    if _excess(got, want) > 0:
        layouts = "; ".join(f"#{n} shape {tuple(x.shape)} stride {x.stride()} offset {x.storage_offset()}"
                            for n, x in enumerate(inputs))
        raise AssertionError(f"{op}: gradient {where} is {got!r}, central differences give {want!r} "
                             f"(|diff| {abs(got - want):.3g})\ninputs: {layouts}")


def _excess(got, want):
    """How far an analytic value is beyond the tolerance around the numeric one (inf for NaN)."""
    if got == want:  # infinities included
        return -math.inf
    if math.isnan(got) or math.isnan(want):
        return math.inf
    return abs(got - want) - (ATOL + RTOL * abs(want))


def check_second_order(op, function, inputs):
    """gradgradcheck: the gradients backward() computes with ``create_graph=True`` (for output
    weights that are inputs too) are themselves checked with ``check_gradients`` (fast mode)."""
    outputs = _outputs(function(*inputs))
    rng = np.random.default_rng(1)
    weights = [rt.tensor(rng.standard_normal(out.shape), dtype=rt.float64, requires_grad=True) for out in outputs]

    def first_derivative(*values):
        leaves, grad_outputs = values[:len(inputs)], values[len(inputs):]
        with rt.enable_grad():
            gradients = rt.autograd.grad(_outputs(function(*leaves)), leaves, grad_outputs=list(grad_outputs),
                                         create_graph=True, allow_unused=True)
        return tuple(rt.zeros_like(x) if g is None else g for x, g in zip(leaves, gradients))

    check_gradients(f"{op} (second order)", first_derivative, list(inputs) + weights, fast=True)


def _outputs(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _vector_jacobian(outputs, weights, inputs):
    """backward()'s gradients of ``sum(w * out)``, zeros for inputs it does not reach."""
    recorded = [(out, w) for out, w in zip(outputs, weights) if out.requires_grad]
    gradients = [None] * len(inputs)
    if recorded:
        gradients = rt.autograd.grad([out for out, _ in recorded], inputs,
                                     grad_outputs=[rt.tensor(w, dtype=out.dtype) for out, w in recorded],
                                     allow_unused=True)
    return [rt.zeros_like(x) if g is None else g for x, g in zip(inputs, gradients)]


def _central_differences(function, weights, inputs, directions=None):
    """d sum(w * function(inputs)) / d input, one element at a time (each element moved in
    place), or along ``directions`` (one array per input, all moved together)."""

    def weighted():
        return sum(float(np.sum(out.detach().numpy() * w)) for out, w in zip(_outputs(function(*inputs)), weights))

    def moved(steps):
        for value, step in zip(inputs, steps):
            value._array()[...] += step  # written directly: no version bump, the leaf stays the same tensor
        return weighted()

    with rt.no_grad():
        if directions is not None:
            plus = moved([EPS * u for u in directions])
            minus = moved([-2 * EPS * u for u in directions])
            moved([EPS * u for u in directions])
            return (plus - minus) / (2 * EPS)
        gradients = []
        for value in inputs:
            elements = value._array()
            gradient = np.zeros(elements.shape)
            for index in np.ndindex(elements.shape):
                original = elements[index]
                elements[index] = original + EPS
                plus = weighted()
                elements[index] = original - EPS
                minus = weighted()
                elements[index] = original
                gradient[index] = (plus - minus) / (2 * EPS)
            gradients.append(gradient)
    return gradients


# -- inputs ----------------------------------------------------------------------------------------

small_shapes = st.integers(0, 3).flatmap(lambda rank: st.tuples(*[st.integers(1, 3)] * rank)).filter(
    lambda shape: math.prod(shape) <= 12)
sometimes = st.sampled_from((False, False, True))


def _broadcastable_to(draw, shape):
    """``shape`` with, sometimes, leading dims dropped and some dims of size 1."""
    lead = draw(st.integers(1, len(shape))) if shape and draw(sometimes) else 0
    return tuple(1 if draw(sometimes) else size for size in shape[lead:])


def _values(draw, count, kind):
    """``count`` float64 values of one kind: ``smooth`` anywhere in [-2, 2], ``positive``,
    ``nonzero`` (|x| >= 0.25), ``tan`` (within +-1.2), ``zero or positive`` and ``whole``
    (from a few values each), or ``distinct``: on a grid of (k + 1/2)/4, no two alike, so no
    ties, no zeros, and at least 1/8 from every multiple of 1/4 (where bounds are drawn);
    ``distinct magnitudes`` also has no two alike in absolute value."""
    if kind == "distinct":
        ks = draw(st.lists(st.integers(-20, 19), min_size=count, max_size=count, unique=True))
        return (np.array(ks, dtype=np.float64) + 0.5) / 4
    if kind == "distinct magnitudes":
        ks = draw(st.lists(st.integers(0, 19), min_size=count, max_size=count, unique=True))
        signs = draw(st.lists(st.sampled_from((-1.0, 1.0)), min_size=count, max_size=count))
        return np.array(signs) * (np.array(ks, dtype=np.float64) + 0.5) / 4
    magnitude = st.floats(0.25, 2.0)
    element = {
        # no subnormals: a product that underflows to 0 loses its gradients (in torch too)
        "smooth": st.floats(-2.0, 2.0, allow_subnormal=False),
        "positive": magnitude,
        "nonzero": st.tuples(st.sampled_from((-1.0, 1.0)), magnitude).map(lambda pair: pair[0] * pair[1]),
        "tan": st.floats(-1.2, 1.2),
        "zero or positive": st.sampled_from((0.0, 0.5, 1.5)),
        "whole": st.sampled_from((1.0, 2.0, 3.0)),
    }[kind]
    return np.array(draw(st.lists(element, min_size=count, max_size=count)), dtype=np.float64)


def _laid_out(draw, data):
    """A float64 leaf holding ``data``: its storage permuted and/or strided with steps of 2 from
    an offset, the gaps filled with NaN (which any stray read would show)."""
    order = draw(st.permutations(range(data.ndim)))
    steps = [draw(st.sampled_from((1, 2))) for _ in range(data.ndim)]
    starts = [draw(st.sampled_from((0, 1))) if step > 1 else 0 for step in steps]
    stored = data.transpose(order)
    storage = np.full([start + step * size for start, step, size in zip(starts, steps, stored.shape)], np.nan)
    window = tuple(slice(start, None, step) for start, step in zip(starts, steps))
    storage[window] = stored
    view = rt.tensor(storage, dtype=rt.float64)[window] if data.ndim else rt.tensor(storage, dtype=rt.float64)
    return view.permute(tuple(np.argsort(order).tolist())).detach().requires_grad_()


class Operand(NamedTuple):
    """A leaf, and the shape the op sees: the leaf's own, or the leaf expanded to it."""

    leaf: rt.Tensor
    shape: tuple

    def __call__(self, leaf):
        return leaf if tuple(leaf.shape) == self.shape else leaf.expand(*self.shape)

    def describe(self):
        return f"{tuple(self.leaf.shape)} expanded to {self.shape}" if tuple(self.leaf.shape) != self.shape \
            else f"{self.shape}"


@st.composite
def operands(draw, shapes, kind="smooth"):
    """One Operand per shape, their values drawn together (so ``distinct`` holds across them);
    each is either its own leaf or a leaf with some dims of size 1 (or missing) expanded."""
    leaf_shapes = [_broadcastable_to(draw, tuple(shape)) if draw(sometimes) else tuple(shape) for shape in shapes]
    counts = [math.prod(shape) for shape in leaf_shapes]
    values = _values(draw, sum(counts), kind)
    starts = np.cumsum([0] + counts)
    return [Operand(_laid_out(draw, values[start:start + count].reshape(leaf_shape)), tuple(shape))
            for start, count, leaf_shape, shape in zip(starts, counts, leaf_shapes, shapes)]


@st.composite
def broadcasting(draw, count):
    """``count`` shapes that broadcast together: leading dims dropped, some dims of size 1."""
    full = draw(small_shapes)
    return [_broadcastable_to(draw, full) for _ in range(count)]


def check_op(op, function, operand_list, second_order=False):
    """``check_gradients`` (and ``check_second_order``) of ``function`` applied to the operands
    as the op sees them; the op's label lists the shapes it saw."""
    label = f"{op} on " + ", ".join(operand.describe() for operand in operand_list)

    def applied(*leaves):
        return function(*(operand(leaf) for operand, leaf in zip(operand_list, leaves)))

    leaves = [operand.leaf for operand in operand_list]
    check_gradients(label, applied, leaves)
    if second_order:
        check_second_order(label, applied, leaves)


def _dims(draw, ndim):
    """None, or a tuple of distinct dims (some given negative)."""
    if ndim == 0 or draw(st.booleans()):
        return None
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in dims)


def _dim(draw, ndim):
    """One dim of a tensor of rank ``ndim`` (at least 1), possibly negative."""
    return draw(st.integers(-ndim, ndim - 1))


# -- elementwise -----------------------------------------------------------------------------------

UNARY = {
    "neg": ("smooth", lambda x: -x),
    "abs": ("distinct", rt.abs),
    "exp": ("smooth", rt.exp),
    "exp2": ("smooth", rt.exp2),
    "expm1": ("smooth", rt.expm1),
    "log": ("positive", rt.log),
    "log2": ("positive", rt.log2),
    "log10": ("positive", rt.log10),
    "log1p": ("positive", rt.log1p),
    "sqrt": ("positive", rt.sqrt),
    "rsqrt": ("positive", rt.rsqrt),
    "sin": ("smooth", rt.sin),
    "cos": ("smooth", rt.cos),
    "tan": ("tan", rt.tan),
    "sinh": ("smooth", rt.sinh),
    "cosh": ("smooth", rt.cosh),
    "tanh": ("smooth", rt.tanh),
    "sigmoid": ("smooth", rt.sigmoid),
    "relu": ("distinct", rt.relu),
    "reciprocal": ("nonzero", rt.reciprocal),
    "square": ("smooth", rt.square),
    "pow 2": ("smooth", lambda x: x ** 2),
    "pow 3": ("smooth", lambda x: rt.pow(x, 3)),
    "pow 0": ("smooth", lambda x: x ** 0),
    "pow -1.5": ("positive", lambda x: x ** -1.5),
    "pow 0.5": ("positive", lambda x: x.pow(0.5)),
    "scalar ** x": ("smooth", lambda x: 1.7 ** x),
    "add scalar": ("smooth", lambda x: x + 1.5),
    "add scalar alpha": ("smooth", lambda x: rt.add(x, 1.5, alpha=-2)),
    "sub scalar": ("smooth", lambda x: x - 0.5),
    "scalar - x": ("smooth", lambda x: 2 - x),
    "mul scalar": ("smooth", lambda x: 3 * x),
    "div scalar": ("smooth", lambda x: x / 4),
    "scalar / x": ("nonzero", lambda x: 2 / x),
    "clamp min": ("distinct", lambda x: rt.clamp(x, min=-0.5)),
    "clamp max": ("distinct", lambda x: x.clamp(max=0.25)),
    "clamp both": ("distinct", lambda x: rt.clamp(x, -1.0, 1.5)),
    "clamp_min": ("distinct", lambda x: rt.clamp_min(x, 0.0)),
    "clamp_max": ("distinct", lambda x: rt.clamp_max(x, 0.0)),
}


@pytest.mark.parametrize("name", list(UNARY))
@PER_OP
@given(data=st.data())
def test_unary_elementwise_gradients(name, data):
    kind, function = UNARY[name]
    shape = data.draw(small_shapes)
    check_op(name, function, data.draw(operands([shape], kind)), second_order=True)


BINARY = {
    "add": ("smooth", rt.add),
    "add alpha": ("smooth", lambda a, b: rt.add(a, b, alpha=2.5)),
    "sub": ("smooth", lambda a, b: a - b),
    "sub alpha": ("smooth", lambda a, b: a.sub(b, alpha=-0.5)),
    "mul": ("smooth", rt.mul),
    "div": ("nonzero", rt.div),
    "pow": ("positive", rt.pow),
    "maximum": ("distinct", rt.maximum),
    "minimum": ("distinct", rt.minimum),
    "max of tensors": ("distinct", rt.max),
    "min of tensors": ("distinct", rt.min),
    "clamp tensor min": ("distinct", lambda x, low: rt.clamp(x, min=low)),
    "clamp tensor max": ("distinct", lambda x, high: x.clamp(max=high)),
}


@pytest.mark.parametrize("name", list(BINARY))
@PER_OP
@given(data=st.data())
def test_binary_elementwise_gradients_broadcast(name, data):
    kind, function = BINARY[name]
    check_op(name, function, data.draw(operands(data.draw(broadcasting(2)), kind)), second_order=True)


@VARIANTS
@given(data=st.data())
def test_pow_at_zero_base(data):
    """``0 ** e`` is 0 near any e > 0, so its gradient for e is 0 there (torch's limit), and
    for the base ``e * 0 ** (e - 1)``; neither may come out as 0 * inf."""
    base_shape, exponent_shape = data.draw(broadcasting(2))
    base, = data.draw(operands([base_shape], "zero or positive"))
    exponent, = data.draw(operands([exponent_shape], "whole"))
    check_op("pow", rt.pow, [base, exponent])
    check_op("0.0 ** e", lambda e: 0.0 ** e, [exponent])


@VARIANTS
@given(data=st.data())
def test_clamp_with_both_tensor_bounds_in_either_order(data):
    """With min above max torch's result is max, so the gradient goes to max there."""
    shapes = data.draw(broadcasting(3))
    check_op("clamp tensor bounds", lambda x, low, high: rt.clamp(x, low, high),
             data.draw(operands(shapes, "distinct")), second_order=True)


@VARIANTS
@given(data=st.data())
def test_where_gradients_broadcast(data):
    shapes = data.draw(broadcasting(3))
    condition = rt.tensor(np.array(data.draw(st.lists(st.booleans(), min_size=math.prod(shapes[0]),
                                                      max_size=math.prod(shapes[0])))).reshape(shapes[0]))
    check_op("where", lambda a, b: rt.where(condition, a, b), data.draw(operands(shapes[1:])), second_order=True)


@VARIANTS
@given(data=st.data())
def test_a_chain_of_elementwise_ops_on_shared_inputs(data):
    """Gradients of one input reaching the output along several paths are summed."""
    shapes = data.draw(broadcasting(2))
    check_op("chain", lambda a, b: (a * b).sin() + a.exp() / (1 + b * b) - a.sigmoid() * 2,
             data.draw(operands(shapes)), second_order=True)


# -- reductions ------------------------------------------------------------------------------------

@VARIANTS
@given(data=st.data())
def test_sum_and_mean_over_dims_gradients(data):
    operand, = data.draw(operands([data.draw(small_shapes)]))
    dims, keepdim = _dims(data.draw, len(operand.shape)), data.draw(st.booleans())
    if dims is None:
        check_op("sum", rt.sum, [operand])
        check_op("mean", lambda x: x.mean(), [operand])
    else:
        check_op(f"sum dims {dims} keepdim {keepdim}", lambda x: rt.sum(x, dims, keepdim), [operand])
        check_op(f"mean dims {dims} keepdim {keepdim}", lambda x: x.mean(dims, keepdim=keepdim), [operand])


@VARIANTS
@given(data=st.data())
def test_prod_gradients_including_zeros(data):
    """prod is a polynomial: differentiable at zeros too, where result / x cannot give its gradient."""
    shape = data.draw(small_shapes)
    kind = data.draw(st.sampled_from(("smooth", "nonzero")))
    operand, = data.draw(operands([shape], kind))
    check_op("prod", rt.prod, [operand])
    if shape:
        dim, keepdim = _dim(data.draw, len(shape)), data.draw(st.booleans())
        check_op(f"prod dim {dim} keepdim {keepdim}", lambda x: x.prod(dim, keepdim), [operand])


@VARIANTS
@given(data=st.data())
def test_max_min_amax_amin_gradients(data):
    shape = data.draw(small_shapes)
    operand, = data.draw(operands([shape], "distinct"))
    check_op("max", rt.max, [operand])
    check_op("min", lambda x: x.min(), [operand])
    dims, keepdim = _dims(data.draw, len(shape)), data.draw(st.booleans())
    dims = () if dims is None else dims
    check_op(f"amax dims {dims} keepdim {keepdim}", lambda x: rt.amax(x, dims, keepdim), [operand])
    check_op(f"amin dims {dims} keepdim {keepdim}", lambda x: x.amin(dims, keepdim), [operand])
    if shape:
        dim = _dim(data.draw, len(shape))
        check_op(f"max dim {dim} keepdim {keepdim}", lambda x: rt.max(x, dim, keepdim).values, [operand])
        check_op(f"min dim {dim} keepdim {keepdim}", lambda x: x.min(dim=dim, keepdim=keepdim)[0], [operand])


@VARIANTS
@given(data=st.data())
def test_std_and_var_gradients(data):
    shape = data.draw(small_shapes)
    operand, = data.draw(operands([shape], "distinct"))
    dims, keepdim = _dims(data.draw, len(shape)), data.draw(st.booleans())
    correction = data.draw(st.sampled_from((0, 1)))
    values = operand(operand.leaf).detach().numpy()
    # std has no gradient where the values have no spread (one value, or copies of one)
    assume(values.size and np.ptp(values, axis=dims, keepdims=True).min() > 0)
    if dims is None and not keepdim:
        check_op(f"std unbiased {bool(correction)}", lambda x: rt.std(x, unbiased=bool(correction)), [operand])
        check_op(f"var unbiased {bool(correction)}", lambda x: x.var(unbiased=bool(correction)), [operand])
    else:
        check_op(f"std dims {dims} correction {correction} keepdim {keepdim}",
                 lambda x: rt.std(x, dims, keepdim=keepdim, correction=correction), [operand])
        check_op(f"var dims {dims} correction {correction} keepdim {keepdim}",
                 lambda x: x.var(dims, keepdim=keepdim, correction=correction), [operand])


@VARIANTS
@given(data=st.data())
def test_cumsum_and_cumprod_gradients(data):
    """cumprod is a polynomial too, so zeros (which hypothesis likes to draw) are fair inputs."""
    shape = data.draw(small_shapes.filter(len))
    operand, = data.draw(operands([shape], data.draw(st.sampled_from(("smooth", "nonzero")))))
    dim = _dim(data.draw, len(shape))
    check_op(f"cumsum dim {dim}", lambda x: rt.cumsum(x, dim), [operand])
    check_op(f"cumprod dim {dim}", lambda x: x.cumprod(dim), [operand])


@VARIANTS
@given(data=st.data())
def test_vector_norm_gradients(data):
    shape = data.draw(small_shapes)
    p = data.draw(st.sampled_from((2, 1, 3, 1.5, 0.5, math.inf, -math.inf, "fro")))
    operand, = data.draw(operands([shape], "distinct magnitudes"))  # no ties for the inf norms
    dims, keepdim = _dims(data.draw, len(shape)), data.draw(st.booleans())
    if p == "fro" and dims is not None and len(dims) > 2:
        dims = dims[:2]
    check_op(f"norm p {p} dims {dims} keepdim {keepdim}", lambda x: rt.norm(x, p, dims, keepdim), [operand],
             second_order=True)


@VARIANTS
@given(data=st.data())
def test_nuclear_norm_gradients(data):
    shape = data.draw(st.lists(st.integers(2, 3), min_size=2, max_size=3).map(tuple))
    operand, = data.draw(operands([shape], "nonzero"))
    dims = tuple(data.draw(st.permutations(range(len(shape))))[:2])
    matrices = np.moveaxis(operand(operand.leaf).detach().numpy(), dims, (-2, -1))
    singular = np.linalg.svd(matrices, compute_uv=False)
    # U V^T is its gradient only where the singular values are apart from 0 and each other
    assume(singular.min() > 0.05 and (singular.shape[-1] < 2 or np.abs(np.diff(singular)).min() > 0.05))
    keepdim = data.draw(st.booleans())
    check_op(f"norm nuc dims {dims} keepdim {keepdim}", lambda x: rt.norm(x, "nuc", dims, keepdim), [operand])


# -- linear algebra --------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 2)), ((2, 2, 3), (3, 2)), ((2, 2, 3), (3,)),
    ((3,), (2, 3, 2)), ((2, 3), (2, 3, 2)), ((2, 2, 3), (2, 3, 2)), ((1, 2, 3), (2, 3, 2)), ((2, 2, 3), (1, 3, 2)),
    ((2, 1, 1, 3), (3, 3, 1)), ((3, 1, 2, 3), (2, 3, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@PER_OP
@given(data=st.data())
def test_matmul_gradients(shapes, data):
    check_op("matmul", rt.matmul, data.draw(operands(shapes)), second_order=True)


@VARIANTS
@given(data=st.data())
def test_matmul_operator_with_one_operand_constant(data):
    """An operand that does not require grad changes the kernel torch picks (folding)."""
    shapes = data.draw(st.sampled_from(MATMUL_SHAPES))
    first, second = data.draw(operands(shapes))
    constant = second(second.leaf).detach()
    check_op("x @ constant", lambda x: x @ constant, [first], second_order=True)


KERNELS = {
    "mm": (((2, 3), (3, 2)), rt.mm),
    "bmm": (((2, 2, 3), (2, 3, 1)), rt.bmm),
    "mv": (((2, 3), (3,)), rt.mv),
    "dot": (((3,), (3,)), rt.dot),
    "outer": (((3,), (2,)), rt.outer),
    "ger": (((2,), (3,)), lambda a, b: a.ger(b)),
}


@pytest.mark.parametrize("name", list(KERNELS))
@PER_OP
@given(data=st.data())
def test_product_kernel_gradients(name, data):
    shapes, function = KERNELS[name]
    check_op(name, function, data.draw(operands(shapes)), second_order=True)


@VARIANTS
@given(data=st.data())
def test_trace_gradients(data):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=2).map(tuple))
    check_op("trace", rt.trace, data.draw(operands([shape])), second_order=True)


# -- views and copies ------------------------------------------------------------------------------

@VARIANTS
@given(data=st.data())
def test_view_and_reshape_gradients(data):
    shape = data.draw(small_shapes)
    operand, = data.draw(operands([shape]))
    target = [math.prod(shape)] + [1] * data.draw(st.integers(0, 2))
    target = data.draw(st.permutations(target))
    check_op(f"reshape {target}", lambda x: x.reshape(*target), [operand])
    check_op("reshape -1", lambda x: rt.reshape(x, (-1,)), [operand])
    check_op(f"view {target}", lambda x: x.contiguous().view(*target), [operand])
    check_op("view with a dim inserted", lambda x: x.view(*x.shape[:1], 1, *x.shape[1:]), [operand])


@VARIANTS
@given(data=st.data())
def test_select_slice_and_narrow_gradients(data):
    shape = data.draw(small_shapes.filter(len))
    operand, = data.draw(operands([shape]))
    dim = _dim(data.draw, len(shape))
    index = data.draw(st.integers(-shape[dim], shape[dim] - 1))
    check_op(f"select {dim} {index}", lambda x: x.select(dim, index), [operand])
    check_op(f"x[..., {index}] along {dim}", lambda x: x[(slice(None),) * (dim % len(shape)) + (index,)], [operand])
    start = data.draw(st.integers(0, shape[dim] - 1))
    length = data.draw(st.integers(0, shape[dim] - start))
    check_op(f"narrow {dim} {start} {length}", lambda x: rt.narrow(x, dim, start, length), [operand])
    window = tuple(slice(data.draw(st.integers(-3, 2)), None, data.draw(st.integers(1, 3))) for _ in shape)
    check_op(f"x[{window}]", lambda x: x[window], [operand])
    check_op("x[None, ..., 0:2]", lambda x: x[None, ..., 0:2], [operand])


@VARIANTS
@given(data=st.data())
def test_expand_and_transpositions_gradients(data):
    shape = data.draw(small_shapes)
    operand, = data.draw(operands([shape]))
    ndim = len(shape)
    sizes = [data.draw(st.integers(1, 2))] + [data.draw(st.sampled_from((s, -1, 2))) if s == 1 else
                                              data.draw(st.sampled_from((s, -1))) for s in shape]
    check_op(f"expand {sizes}", lambda x: x.expand(*sizes), [operand])
    order = data.draw(st.permutations(range(ndim)))
    check_op(f"permute {order}", lambda x: x.permute(tuple(order)), [operand])
    check_op(f"permute {order} (function)", lambda x: rt.permute(x, order), [operand])
    if ndim <= 2:
        check_op("t", lambda x: x.t(), [operand])
        check_op("torch.t", rt.t, [operand])
    if ndim:
        first, second = _dim(data.draw, ndim), _dim(data.draw, ndim)
        check_op(f"transpose {first} {second}", lambda x: rt.transpose(x, first, second), [operand])
    if ndim >= 2:
        check_op("mT", lambda x: x.mT, [operand])


@VARIANTS
@given(data=st.data())
def test_squeeze_and_unsqueeze_gradients(data):
    shape = data.draw(st.lists(st.integers(1, 2), min_size=0, max_size=4).map(tuple))
    operand, = data.draw(operands([shape]))
    check_op("squeeze", rt.squeeze, [operand])
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(f"unsqueeze {dim}", lambda x: x.unsqueeze(dim), [operand])
    if shape:
        dims = _dims(data.draw, len(shape))
        dims = _dim(data.draw, len(shape)) if dims is None else dims
        check_op(f"squeeze {dims}", lambda x: x.squeeze(dims), [operand])


@VARIANTS
@given(data=st.data())
def test_cat_and_stack_gradients(data):
    shape = data.draw(small_shapes.filter(len))
    count = data.draw(st.integers(1, 3))
    dim = _dim(data.draw, len(shape))
    shapes = [tuple(data.draw(st.integers(0, 2)) if d == dim % len(shape) else s for d, s in enumerate(shape))
              for _ in range(count)]
    check_op(f"cat dim {dim}", lambda *xs: rt.cat(xs, dim), data.draw(operands(shapes)))
    new_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(f"stack dim {new_dim}", lambda *xs: rt.stack(list(xs), dim=new_dim),
             data.draw(operands([shape] * count)))


@VARIANTS
@given(data=st.data())
def test_index_select_gather_and_tensor_indexing_gradients(data):
    """Repeated indices gather the same element twice, so its gradients are summed."""
    shape = data.draw(small_shapes.filter(len))
    operand, = data.draw(operands([shape]))
    dim = _dim(data.draw, len(shape))
    size = shape[dim]
    picks = data.draw(st.lists(st.integers(0, size - 1), min_size=0, max_size=4))
    index = rt.tensor(picks, dtype=rt.int64)
    check_op(f"index_select dim {dim} {picks}", lambda x: rt.index_select(x, dim, index), [operand])
    rows = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=0, max_size=4))
    check_op(f"x[{rows}]", lambda x: x[rt.tensor(rows, dtype=rt.int64)], [operand])
    gathered = list(shape)
    gathered[dim] = data.draw(st.integers(1, 3))
    positions = data.draw(st.lists(st.integers(0, size - 1), min_size=math.prod(gathered),
                                   max_size=math.prod(gathered)))
    where = rt.tensor(np.array(positions, dtype=np.int64).reshape(gathered))
    check_op(f"gather dim {dim} {positions}", lambda x: rt.gather(x, dim, where), [operand])
    if len(shape) > 1:
        columns = data.draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=1, max_size=3))
        check_op(f"x[:, {columns}]", lambda x: x[:, rt.tensor(columns)], [operand])
        check_op(f"x[{columns}, {columns}]" , lambda x: x[rt.tensor(columns) % shape[0], rt.tensor(columns)],
                 [operand])
    mask = operand(operand.leaf).detach() > 0  # drawn once: moving an element must not change what is picked
    check_op("x[mask]", lambda x: x[mask], [operand])
