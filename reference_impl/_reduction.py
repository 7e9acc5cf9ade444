"""Reductions over dims (sum, mean, max …), scans (cumsum, cumprod) and sorting.

A reduction takes ``dim`` as an int or a tuple/list of ints (None: every dim), ``keepdim``,
and numpy's spellings ``axis=``/``keepdims=``, as torch's argument parser does. Float sums
(and means) add in the order torch's CPU kernel does, so they equal torch's to the last bit
(see ``_sum_in_torch_order``); reductions whose answer does not depend on the order (max,
min, any, all, integer sums) let numpy reduce the dims where they lie, without a copy.
Results that torch returns as ``torch.return_types`` structs (max, min, sort, topk) are
tuples with named fields.

Chain rules follow torch's formulas op for op, written with this library's own ops, so a
gradient computed with ``create_graph=True`` has the graph torch gives it (and second
derivatives); only where no graph is being built do some take a numpy shortcut.
"""

import builtins
import functools
import types
import warnings

import numpy as np

from . import _dtype, _errors, _layout
from ._autograd import is_grad_enabled, no_grad, record
from ._elementwise import _recorded_in_place, _times_scalar, isnan, maximum, minimum, where
from ._movement import cat, scattered, stack
from ._ops import contiguous, new_tensor, quiet, store, tensor_method
from ._storage import Storage
from ._tensor import Tensor

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "cumprod", "cumsum", "max", "mean", "min",
    "prod", "return_types", "sort", "std", "sum", "topk", "unique", "var",
]


# -- named results ----------------------------------------------------------------------------

class _ReturnType(tuple):
    """A (values, indices) pair that prints, and is named, like torch's ``torch.return_types.<op>``
    (a C struct sequence: built from one 2-sequence, fields read by name or position)."""

    __slots__ = ()
    n_fields = n_sequence_fields = 2
    n_unnamed_fields = 0

    def __new__(cls, sequence):
        items = tuple(sequence)
        if len(items) != 2:
            raise _errors.struct_sequence_length(cls.__name__, len(items))
        return super().__new__(cls, items)

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]

    def __getattr__(self, name):
        raise AttributeError(f"'torch.return_types.{type(self).__name__}' object has no attribute '{name}'")

    def __repr__(self):
        return f"torch.return_types.{type(self).__name__}(\nvalues={self[0]!r},\nindices={self[1]!r})"


return_types = types.SimpleNamespace(**{
    name: type(name, (_ReturnType,), {"__slots__": (), "__module__": "reference_impl.return_types"})
    for name in ("max", "min", "sort", "topk")
})


# -- dims and folding (shared with _linalg) -------------------------------------------------------

def _numpy_names(function):
    """Also accept numpy's ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as torch does."""

    @functools.wraps(function)
    def accepting(*args, **kwargs):
        for numpy_name, torch_name in (("axis", "dim"), ("keepdims", "keepdim")):
            if numpy_name in kwargs and torch_name not in kwargs:
                kwargs[torch_name] = kwargs.pop(numpy_name)
        return function(*args, **kwargs)

    return accepting


def reduction_dims(input, dim, *, empty_is_all=True):
    """The wrapped dims a reduction folds. None means every dim, and so does ``()`` except
    for any/all, where torch reduces over no dim at all."""
    if input.dim() == 0:  # accepts dim 0 or -1, and has no dim to fold
        if dim is not None:
            _layout.wrap_dims(dim, 0)
        return ()
    if dim is None:
        return tuple(range(input.dim()))
    dims = _layout.wrap_dims(dim, input.dim())
    return dims if dims or not empty_is_all else tuple(range(input.dim()))


def fold(array, dims):
    """``array`` with ``dims`` moved last and merged into one contiguous axis (reduce it with axis=-1)."""
    kept = [d for d in range(array.ndim) if d not in dims]
    order = kept + sorted(dims)
    moved = array if order == list(range(array.ndim)) else np.transpose(array, order)
    count = _layout.numel([array.shape[d] for d in dims])
    return contiguous(moved).reshape(moved.shape[:len(kept)] + (count,))


def _permuted(tensor, order):
    """A view whose dim i is ``tensor``'s dim ``order[i]``: torch's layout for results it builds
    contiguous in another dim order and permutes back."""
    return tensor._view_as(tuple(tensor.shape[d] for d in order), tuple(tensor.stride()[d] for d in order),
                           tensor.storage_offset())


def reduced_shape(shape, dims, keepdim):
    """The shape of a reduction's result: reduced dims dropped, or kept with size 1."""
    if keepdim:
        return tuple(1 if d in dims else size for d, size in enumerate(shape))
    return tuple(size for d, size in enumerate(shape) if d not in dims)


def _reduce(input, dims, keepdim, kernel, dtype, *, any_order=False):
    """``kernel(values, axis)`` applied to ``input``'s values as ``dtype`` over ``dims``.

    ``any_order`` kernels (max, min, any, all, integer sums) give the same answer whatever
    order they visit the elements in, so on the CPU numpy reduces the dims where they lie,
    ``axis`` a tuple, without a copy. Other kernels get the dims folded into one contiguous
    last axis (a copy when they are not already last). A CUDA reduction kernel reads one dim
    where it lies, strided, so there is no copy to make."""
    with quiet():
        values = input._array().astype(dtype.numpy_dtype, copy=False)
        if input.is_cuda and len(dims) == 1:
            values = kernel(values, dims[0])
        elif any_order and not input.is_cuda:
            values = kernel(values, dims)
        else:
            values = kernel(fold(values, dims), -1)
    shape = reduced_shape(input.shape, dims, keepdim)
    return values if np.shape(values) == shape else np.reshape(values, shape)


# -- float sums in torch's order ------------------------------------------------------------------

_VECTOR_BYTES = 32  # torch's CPU kernels use AVX2 here: 256-bit vectors, 8 float32 or 4 float64 lanes


def _sum_in_torch_order(array, strides, dims, keepdim):
    """The sums of float ``array`` over ``dims``, added in the order torch's CPU kernel adds
    them (single-threaded), so they equal torch's to the last bit. ``array`` holds the values
    in the result dtype, laid out by ``strides`` (in elements); float16 adds in float32 and
    comes back as float32, for the caller to round once, as torch does.

    Why the order matters: float addition rounds after every step, so ``(a + b) + c`` and
    ``a + (b + c)`` can differ in the last bit, and a sum of many numbers depends on the order
    in which they are added. torch's order (``cascade_sum`` in
    aten/src/ATen/native/cpu/SumKernel.cpp):

    1. The loop layout (TensorIterator): reduced dims first, the one with the smallest stride
       first, then the kept dims; neighbouring dims that step through memory as one merge.
       Dim 0 of that layout is the inner loop.
    2. Each slice along dim 0 is a *cascade sum*: elements go one after another into an
       accumulator; every 16 elements (more for slices over 2**19 long) it is emptied into a
       second-level accumulator, every 16 of those into a third, and so on to a fourth; at the
       end the last part-filled accumulators are added, lowest level first. Only numbers of
       similar size meet, so rounding errors stay small, in one pass over the data.
    3. Cascades run side by side with vector instructions:
       - "inner" reduction (dim 0 contiguous, e.g. ``sum(1)`` of a C-contiguous matrix, or a
         whole contiguous tensor): 4 vectors of 8 float32 lanes make 32 interleaved cascades
         (lane j takes elements j, j + 32, j + 64, ...); the vectors left over past the last
         group of 4 go into the first, the 4 are added, then the elements past the last whole
         vector, then the 8 lanes one by one, are added in order (float64: 4 lanes a vector);
       - "outer" reduction (dim 1 contiguous, e.g. ``sum(0)`` of a C-contiguous matrix): every
         column is its own cascade down the rows, 32 float32 (16 float64) columns per step.
         Columns past the last such block, like every slice of a non-contiguous layout, are
         summed by ``row_sum``: 4 interleaved cascades (element i goes to the (i mod 4)-th),
         added in order at the end.
    4. Reduced dims that did not merge into dim 0 are summed after it: the slice sums are
       added into the result one after another.

    numpy can follow this order because ``np.add.reduce`` along an axis that is not its inner
    loop adds one row after another, vectorised across the other axes: each level of a
    cascade is one reduce over a reshaped view of the input, never a copy. (Along its inner,
    contiguous axis numpy sums pairwise, a different order; ``_in_order`` avoids that case.)
    Down columns numpy's inner loop runs along a whole row, as fast as numpy's own sum; across
    interleaved lanes it runs 32 or 4 elements at a time, several times slower, which is why
    ``_summed`` gives large inputs of such layouts numpy's order. Torch with several threads
    splits a whole-tensor sum of 32768 or more elements between them and adds the parts,
    which this order does not follow."""
    order, sizes, path, reduced, _ = _sum_loop(array.shape, tuple(strides), tuple(dims), keepdim, array.itemsize)
    loop = array.transpose(order).reshape(sizes).T  # axis 0 is the inner loop
    if array.dtype == np.float16:
        loop = loop.astype(np.float32)
    if not reduced:
        sums = loop
    else:
        if loop.ndim == 1:
            loop = loop[:, None]
        sums = path(loop)
        if reduced > 1:  # the slice sums over dims 1.. reduced - 1, dim 1 fastest, one after another
            sums = sums.T.reshape(sums.shape[reduced - 1:][::-1] + (-1,)).T
            sums = _in_order(sums, 0)
    return np.add(sums.T, 0.0).reshape(reduced_shape(array.shape, dims, keepdim))  # 0 + -0.0 is +0.0


@functools.lru_cache(maxsize=1024)
def _sum_loop(shape, strides, dims, keepdim, itemsize):
    """TensorIterator's loop for summing a tensor of ``shape`` and ``strides`` over ``dims``:
    the transpose and reshape that bring it to that loop's dims (slowest first), the kernel
    that sums its dim 0 (given the dims fastest first), how many dims are reduced, and whether
    the kernel goes down 16 or more columns side by side (numpy's inner loop runs along a
    row: fast at any size)."""
    if keepdim:
        out = _layout.contiguous_strides(reduced_shape(shape, dims, True))
        out = [0 if d in dims and shape[d] != 1 else stride for d, stride in enumerate(out)]
    else:
        kept = iter(_layout.contiguous_strides(reduced_shape(shape, dims, False)))
        out = [0 if d in dims else next(kept) for d in range(len(shape))]
    perm = _layout.iteration_order(shape, [(shape, strides)], reduction_output=out)
    merged = []  # [size, input stride, output stride], fastest first; then coalesce_dimensions
    for d in perm:
        if merged and (merged[-1][0] == 1 or shape[d] == 1 or (
                merged[-1][0] * merged[-1][1] == strides[d] and merged[-1][0] * merged[-1][2] == out[d])):
            if merged[-1][0] == 1:
                merged[-1][1:] = [strides[d], out[d]]
            merged[-1][0] *= shape[d]
        else:
            merged.append([shape[d], strides[d], out[d]])
    reduced = builtins.sum(1 for _, _, stride in merged if stride == 0)
    (size0, stride0, _), (size1, stride1, _) = (merged + [[1, 0, 1]] * 2)[:2]
    vector = _VECTOR_BYTES // itemsize
    lanes = _VECTOR_BYTES // _accumulator(np.dtype(f"f{itemsize}")).itemsize
    columnwise = False
    if stride0 == 1 and size0 >= vector:
        path = functools.partial(_inner_sum, vector=vector, lanes=lanes)
    elif stride1 == 1 and size1 >= vector:
        path, columnwise = functools.partial(_outer_sum, block=4 * lanes), True
    elif stride0 < stride1:
        path = _row_sum
    else:
        path, columnwise = functools.partial(_outer_sum, block=4), True
    return (tuple(perm[::-1]), tuple(size for size, _, _ in merged[::-1]), path, reduced,
            bool(columnwise and reduced and size1 >= 16))


def _in_order(x, axis):
    """``x`` summed along ``axis`` one element after another: ``((x0 + x1) + x2) + ...``."""
    n = x.shape[axis]
    at = (slice(None),) * axis
    if n <= 4:
        total = x[at + (0,)]
        for i in range(1, n):
            total = total + x[at + (i,)]
        return total
    step = abs(x.strides[axis])
    for size, stride in zip(x.shape, x.strides):
        if size > 1 and 0 < abs(stride) < step:  # another axis is numpy's inner loop: it adds row after row
            return np.add.reduce(x, axis=axis)
    return np.add.accumulate(x, axis=axis)[at + (-1,)]  # running sums are in order by definition


def _cascade(x):
    """torch's ``multi_row_sum`` down axis 0 of ``x``, for every column at once: elements in
    order into level 0, emptied into level 1 every ``step``, level 1 into level 2 every
    ``step`` of those, level 2 into level 3 likewise; then the tail and levels 1, 2, 3 added."""
    n, rest = x.shape[0], x.shape[1:]
    step = 1 << builtins.max(4, (1 if n <= 2 else (n - 1).bit_length()) // 4)
    whole = n // step
    total = _in_order(x[whole * step:], 0) if n % step else None
    level = _in_order(x[:whole * step].reshape((whole, step) + rest), 1) if whole else None
    for depth in range(3):
        if level is None:
            break
        whole = level.shape[0] // step if depth < 2 else 0  # level 3 is never emptied
        if level.shape[0] > whole * step:
            part = _in_order(level[whole * step:], 0)
            total = part if total is None else total + part
        level = _in_order(level[:whole * step].reshape((whole, step) + rest), 1) if whole else None
    return total


def _row_sum(x):
    """torch's ``row_sum`` down axis 0: elements i, i + 4, i + 8, ... in cascade i (i < 4); the
    elements past the last group of 4 go into cascade 0; then the 4 are added in order."""
    groups = x.shape[0] // 4
    rest = x[4 * groups:]
    if not groups:
        return _in_order(rest, 0)
    partial = _cascade(x[:4 * groups].reshape((groups, 4) + x.shape[1:]))
    first = partial[0]
    for element in rest:
        first = first + element
    return ((first + partial[1]) + partial[2]) + partial[3]


def _inner_sum(x, vector, lanes):
    """torch's ``vectorized_inner_sum`` down contiguous axis 0: ``row_sum`` over whole vectors
    (each lane its own), then the elements past the last vector and the lanes, in order. A
    float16 vector of 16 loads as 8 float32 lanes, its first half plus its second."""
    count = x.shape[0] // vector
    vectors = x[:count * vector].reshape((count, vector // lanes, lanes) + x.shape[1:])
    lane_sums = _row_sum(_in_order(vectors, 1) if vector != lanes else vectors[:, 0])
    return _in_order(np.concatenate([x[count * vector:], lane_sums]), 0)


def _outer_sum(x, block):
    """torch's ``vectorized_outer_sum`` and ``scalar_outer_sum`` over axis 0: a cascade for
    each column in the whole blocks of ``block`` columns (axis 1), ``row_sum`` for the rest."""
    whole = x.shape[1] // block * block
    if whole == x.shape[1]:
        return _cascade(x)
    if not whole:
        return _row_sum(x)
    return np.concatenate([_cascade(x[:, :whole]), _row_sum(x[:, whole:])])


# Following torch's order costs numpy one short inner loop per vector of lanes (or per 4
# elements) everywhere but down columns: several times numpy's own order on large inputs.
# Above torch's own grain size (32768 elements, beyond which torch's order for a whole-tensor
# sum depends on its thread count) such layouts add in numpy's order instead.
_IN_ORDER_UP_TO = 32768


def _sum_in_numpy_order(array, dims, keepdim, accumulator):
    """The sums over ``dims`` in numpy's order: the dims folded into one contiguous last axis
    (a copy unless they already are), summed pairwise; a long axis (2**14 or more) is cut
    into 16 equal slices, added elementwise one after another (long vector runs), whose sums
    numpy then adds pairwise. Within float tolerance of torch's order, not bit for bit."""
    folded = fold(array, dims)
    count = folded.shape[-1]
    if count < 1 << 14:
        sums = np.add.reduce(folded, axis=-1, dtype=accumulator)
    else:
        head = count - count % 16
        slices = folded[..., :head].reshape(folded.shape[:-1] + (16, head // 16))
        sums = np.add.reduce(np.add.reduce(slices, axis=-2, dtype=accumulator), axis=-1)
        if head < count:
            sums = sums + np.add.reduce(folded[..., head:], axis=-1, dtype=accumulator)
    return sums.reshape(reduced_shape(array.shape, dims, keepdim))


def _summed(input, dims, keepdim, dtype):
    """The sums of ``input`` cast to ``dtype`` over ``dims``, float16 as float32 (for the caller
    to round). On the CPU float sums add in torch's order (``_sum_in_torch_order``) up to
    32768 elements, and at any size down 16 or more columns; larger sums of other layouts add
    in numpy's order (``_sum_in_numpy_order``). Integer sums wrap alike in any order."""
    accumulator = _accumulator(dtype.numpy_dtype)
    if input.is_cuda or not dtype.is_floating_point:
        return _reduce(input, dims, keepdim, lambda a, axis: np.add.reduce(a, axis=axis, dtype=accumulator), dtype,
                       any_order=not dtype.is_floating_point)
    array = input._array()
    values = array.astype(dtype.numpy_dtype, copy=False)
    if values.size == 0:
        return np.zeros(reduced_shape(input.shape, dims, keepdim), accumulator)
    # cast, torch's copy keeps a dense layout (so does numpy's order="K")
    strides = input.stride() if values is array else tuple(s // values.itemsize for s in values.strides)
    with quiet():
        if values.size <= _IN_ORDER_UP_TO or _sum_loop(values.shape, strides, dims, keepdim, values.itemsize)[-1]:
            return _sum_in_torch_order(values, strides, dims, keepdim)
        return _sum_in_numpy_order(values, dims, keepdim, accumulator)


def _accumulator(numpy_dtype):
    """The numpy dtype torch sums ``numpy_dtype`` in: float16 in float32, the rest in their own."""
    return np.dtype(np.float32) if numpy_dtype == np.float16 else np.dtype(numpy_dtype)


def _widened(dtype):
    """sum, prod and the scans give bool and integer inputs an int64 result."""
    return dtype if dtype.is_floating_point else _dtype.int64


def _check_int_dim(name, dim, position=""):
    if not isinstance(dim, int):
        raise _errors.dim_must_be_int(name, dim, position)


# -- chain rules ---------------------------------------------------------------------------------------

def record_weighted(result, op, input, dims, keepdim, weights, saved=()):
    """Record a reduction (of _linalg's) whose gradient is the incoming one spread back over
    the reduced elements, times ``weights(*saved)``: numpy values broadcastable to the input,
    which the chain rule treats as constants (so its own gradient is wrong: no second
    derivatives through it)."""
    shape = input.shape

    def backward(grad, *values):
        if not keepdim:
            grad = grad.view(reduced_shape(shape, dims, keepdim=True))
        return grad.expand(shape) * new_tensor(weights(*values), grad.dtype, grad.device)

    return record(result, op, (input,), backward, saved=saved)


def _unsqueezed(grad, dims):
    """torch's unsqueeze_multiple: the reduced ``dims`` put back as size-1 dims, one
    unsqueeze each, in increasing order."""
    for d in sorted(dims):
        grad = grad.unsqueeze(d)
    return grad


def _sum_backward(grad, shape, dims, keepdim, dim):
    """sum's chain rule: the gradient expanded back over the reduced elements (after putting
    the reduced dims back, when some were named and dropped)."""
    if not keepdim and shape and dim not in (None, (), []):
        grad = _unsqueezed(grad, dims)
    return grad.expand(shape)


def _divided(tensor, count):
    """``tensor / count`` as torch's chain rules divide by a C++ number: the count is not an
    input of the node (DivBackward1)."""
    with no_grad():
        result = tensor / count
    return record(result, "div_cpp_scalar", (tensor,), lambda grad: _divided(grad, count))


def _masked_fill(tensor, mask, value):
    """``tensor.masked_fill_(mask, value)`` as torch's chain rules call it (in place on a
    fresh tensor: version 1): ``value`` is a number (MaskedFillBackward0) or a 0-dim tensor
    (MaskedFillBackward1), and ``mask`` a bool tensor."""
    filled = tensor._array().copy()
    picked = np.broadcast_to(mask._array(), filled.shape)
    filled[picked] = value._array() if isinstance(value, Tensor) else value
    result = new_tensor(filled, tensor.dtype)
    result._bump_version()
    if not isinstance(value, Tensor):
        return record(result, "masked_fill_scalar", (tensor,), lambda grad: _masked_fill(grad, mask, 0))
    return record(result, "masked_fill_tensor", (tensor, value),
                  lambda grad: (_masked_fill(grad, mask, 0), grad.masked_select(mask).sum()))


def _value_selecting_backward(grad, shape, dim, indices, keepdim):
    """The chain rule of picking one element per slice along ``dim`` at ``indices`` (max and
    min over a dim, sort, topk): ``grad`` scattered back into zeros."""
    if not keepdim and shape:
        grad, indices = grad.unsqueeze(dim), indices.unsqueeze(dim)
    return scattered(grad, shape, dim, indices)


# -- sum, mean, prod ------------------------------------------------------------------------------

@tensor_method()
@_numpy_names
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The sum over ``dim`` (every dim by default); bool and integers sum to int64 unless ``dtype``
    (or ``out``'s dtype) says otherwise. The input is cast to that dtype first."""
    dtype = dtype or (out.dtype if out is not None else _widened(input.dtype))
    dims = reduction_dims(input, dim)
    values = _summed(input, dims, keepdim, dtype)
    shape = input.shape
    return record(store(values, dtype, out, inputs=(input,)), "sum" if dim is None else "sum_dim", (input,),
                  lambda grad: _sum_backward(grad, shape, dims, keepdim, dim))


@tensor_method()
@_numpy_names
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The mean over ``dim``; torch refuses to guess a float dtype for integer or bool input."""
    if dtype is None and not input.dtype.is_floating_point:
        raise _errors.mean_needs_float("Input", input.dtype)
    if dtype is not None and not dtype.is_floating_point:
        raise _errors.mean_needs_float("Optional", dtype)
    dtype = dtype or input.dtype
    dims = reduction_dims(input, dim)
    accumulator = _accumulator(dtype.numpy_dtype).type
    count = accumulator(_layout.numel([input.shape[d] for d in dims]))
    # torch sums float16 as float32 (input cast first) and divides before rounding; 0/0 = nan
    with quiet():
        values = _summed(input, dims, keepdim, _dtype.float32 if dtype is _dtype.float16 else dtype) / count
    shape, count = input.shape, int(count)
    return record(store(values, dtype, out, inputs=(input,)), "mean" if dim is None else "mean_dim", (input,),
                  lambda grad: _divided(_sum_backward(grad, shape, dims, keepdim, dim), count))


@tensor_method()
@_numpy_names
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The product over one ``dim`` (or every element); bool and integers multiply to int64."""
    if dim is not None:
        _check_int_dim("prod", dim)
    dtype = dtype or (out.dtype if out is not None else _widened(input.dtype))
    dims = reduction_dims(input, dim)
    accumulator = _accumulator(dtype.numpy_dtype)
    values = _reduce(input, dims, keepdim, lambda a, axis: np.multiply.reduce(a, axis=axis, dtype=accumulator),
                     dtype, any_order=not dtype.is_floating_point)  # float products keep the folded order
    result = store(values, dtype, out, inputs=(input,))
    return record(result, "prod" if dim is None else "prod_dim", (input,),
                  lambda grad, x, product: _prod_backward(grad, x, product, dims, keepdim, dim), saved=(input, result))


def _prod_backward(grad, x, product, dims, keepdim, dim):
    """prod's chain rule: the product of the other elements, ``product / x`` where there is
    no zero. With zeros, products before and after each element (exclusive cumprods); once
    no graph is built, two zeros in an all-element product make every slope zero."""
    if x.dim() == 0:
        return grad
    x = x.to(grad.dtype)
    zeros = int(np.count_nonzero(x._array() == 0))
    if dim is None:
        if not zeros:
            return grad * (product / x)
        if zeros > 1 and not is_grad_enabled():
            return new_tensor(np.zeros(x.shape, grad.dtype.numpy_dtype), grad.dtype, grad.device)
        return _products_of_others(grad, x.contiguous().view(-1), 0).view_as(x)
    if not keepdim:
        grad, product = grad.unsqueeze(dims[0]), product.unsqueeze(dims[0])
    return grad * (product / x) if not zeros else _products_of_others(grad, x, dims[0])


def _products_of_others(grad, x, dim):
    """``grad`` times, for each element, the product of the others along ``dim``: exclusive
    cumprods from the front and from the back, multiplied (exact where there are zeros)."""
    size = x.shape[dim]
    if size == 1:
        return grad
    ones = new_tensor(np.ones(_with_size(x.shape, dim, 1), grad.dtype.numpy_dtype), grad.dtype, grad.device)
    before = cat([ones, x.narrow(dim, 0, size - 1)], dim).cumprod(dim)
    after = cat([ones, x.narrow(dim, 1, size - 1).flip(dim)], dim).cumprod(dim).flip(dim)
    return grad * (before * after)


def _with_size(shape, dim, size):
    """``shape`` with ``size`` at ``dim``."""
    return tuple(shape[:dim]) + (size,) + tuple(shape[dim + 1:])


# -- max, min and their arg- and a- forms ------------------------------------------------------------

def _check_reducible(input, name, dims, shown, of_empty=_errors.reduction_of_empty):
    """Max-like reductions have no identity, so torch refuses to reduce over nothing. ``shown``
    are the dims as the error names them (amax/amin as given, the others wrapped), or None when
    no dim was given."""
    if input.numel() != 0:
        return
    if shown is None:
        raise of_empty(name)
    for d, label in zip(dims, shown):
        if input.shape[d] == 0:
            raise _errors.empty_reduction_dim(name, label)


def _extreme_with_index(input, dim, keepdim, name):
    """max/min over one dim: the values and the index of the first extreme (NaN counts as one)."""
    _check_int_dim(name, dim)
    dims = reduction_dims(input, dim)
    _check_reducible(input, name, dims, shown=dims)
    pick = np.argmax if name == "max" else np.argmin  # both take the first NaN, then the first extreme
    folded = fold(input._array(), dims)
    indices = pick(folded, axis=-1, keepdims=True)
    values = np.take_along_axis(folded, indices, axis=-1)
    shape = reduced_shape(input.shape, dims, keepdim)
    indices = new_tensor(indices.reshape(shape), _dtype.int64)
    input_shape, axis = input.shape, dims[0] if dims else 0
    values = record(new_tensor(values.reshape(shape), input.dtype), f"{name}_dim", (input,),
                    lambda grad, picked: _value_selecting_backward(grad, input_shape, axis, picked, keepdim),
                    saved=(indices,))
    return getattr(return_types, name)((values, indices))


def _extreme(input, dim, keepdim, name, kernel):
    """amax/amin (and max()/min() without dim): the extreme values, NaN winning as in torch."""
    dims = reduction_dims(input, dim)
    shown = None if dim in (None, (), []) else (dim,) if isinstance(dim, int) else tuple(dim)
    _check_reducible(input, name, dims, shown)
    result = new_tensor(_reduce(input, dims, keepdim, lambda a, axis: kernel(a, axis=axis), input.dtype,
                                any_order=True), input.dtype)
    if name in ("max", "min"):
        return record(result, name, (input,), _evenly_distributed, saved=(input, result))
    kept = None if keepdim else reduced_shape(input.shape, dims, keepdim=True)
    return record(result, name, (input,), lambda grad, x, value: _shared_by_count(grad, x, value, dims, kept),
                  saved=(input, result))


def _evenly_distributed(grad, x, value):
    """max()/min()'s chain rule: the gradient shared evenly among the elements equal to the
    extreme (the NaNs, if it is NaN), written into zeros with masked_fill_."""
    mask = isnan(x) if isnan(value).item() else x == value
    return _masked_fill(new_tensor(np.zeros(x.shape, grad.dtype.numpy_dtype), grad.dtype, grad.device), mask,
                        grad / mask.sum())


def _shared_by_count(grad, x, value, dims, kept):
    """amax/amin's chain rule: the gradient shared evenly among the elements of each slice
    equal to its extreme. Dropped dims are put back by reshaping to ``kept``."""
    if kept is not None:
        grad, value = grad.reshape(kept), value.reshape(kept)
    mask = value == x
    return grad / mask.sum(dims, keepdim=True) * mask


@tensor_method()
@_numpy_names
def max(input, dim=None, keepdim=False):
    """The largest element; with ``dim``, a ``(values, indices)`` named tuple; with a tensor, ``maximum``."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return _extreme(input, None, False, "max", np.max)
    return _extreme_with_index(input, dim, keepdim, "max")


@tensor_method()
@_numpy_names
def min(input, dim=None, keepdim=False):
    """The smallest element; with ``dim``, a ``(values, indices)`` named tuple; with a tensor, ``minimum``."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return _extreme(input, None, False, "min", np.min)
    return _extreme_with_index(input, dim, keepdim, "min")


@tensor_method()
@_numpy_names
def amax(input, dim=(), keepdim=False):
    """The largest values over ``dim`` (an int or tuple; every dim by default), without indices."""
    return _extreme(input, dim, keepdim, "amax", np.max)


@tensor_method()
@_numpy_names
def amin(input, dim=(), keepdim=False):
    """The smallest values over ``dim`` (an int or tuple; every dim by default), without indices."""
    return _extreme(input, dim, keepdim, "amin", np.min)


def _arg_extreme(input, dim, keepdim, name):
    if dim is not None:
        _check_int_dim(name, dim)
    if input.dtype is _dtype.bool:
        raise _errors.arg_reduction_of_bool(name)
    dims = reduction_dims(input, dim)
    _check_reducible(input, name, dims, None if dim is None else dims, of_empty=_errors.arg_reduction_of_empty)
    pick = np.argmax if name == "argmax" else np.argmin
    return new_tensor(_reduce(input, dims, keepdim, lambda a, axis: pick(a, axis=_one_axis(axis)), input.dtype,
                              any_order=True), _dtype.int64)


def _one_axis(axis):
    """argmax's axis: one dim where it lies, or None (the flattened tensor) for every dim."""
    if isinstance(axis, int):
        return axis
    return axis[0] if len(axis) == 1 else None


@tensor_method()
@_numpy_names
def argmax(input, dim=None, keepdim=False):
    """The index of the largest element along ``dim`` (of the flattened tensor by default); the
    first one among ties, and the first NaN if there is one."""
    return _arg_extreme(input, dim, keepdim, "argmax")


@tensor_method()
@_numpy_names
def argmin(input, dim=None, keepdim=False):
    """The index of the smallest element along ``dim``; the first among ties, or the first NaN."""
    return _arg_extreme(input, dim, keepdim, "argmin")


# -- variance ----------------------------------------------------------------------------------------

def _variance(input, dim, unbiased, keepdim, correction, name):
    if not input.dtype.is_floating_point:
        raise _errors.std_var_needs_float()
    if isinstance(dim, builtins.bool):  # torch's var(input, unbiased) overload
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased else 0
    dims = reduction_dims(input, dim)
    shape = reduced_shape(input.shape, dims, keepdim)
    values = input._array().astype(np.float64)  # torch's CPU kernels accumulate in double
    count = _layout.numel([input.shape[d] for d in dims])
    if (count if _layout.numel(shape) else 0) - correction <= 0:
        warnings.warn(_errors.degrees_of_freedom_warning(name), UserWarning, stacklevel=4)
    # two passes where torch makes one (Welford's), both in double: they differ in double's last
    # bits. numpy reduces the dims where they lie; a CUDA kernel wants one contiguous last axis
    axis = dims
    if input.is_cuda:
        values, axis = fold(values, dims), -1
    with quiet():
        deviations = values - np.add.reduce(values, axis=axis, keepdims=True) / count
        values = np.add.reduce(deviations * deviations, axis=axis) / builtins.max(count - correction, 0)
        if name == "std":
            values = np.sqrt(values)
    result = new_tensor(values.reshape(shape), input.dtype)
    named = None if dim is None else _layout.wrap_dims(dim, builtins.max(input.dim(), 1))
    op = name if dim is None else f"{name}_dim"
    if name == "var":
        return record(result, op, (input,), lambda grad, x: _var_backward(grad, x, named, correction, keepdim),
                      saved=(input,))
    return record(result, op, (input,), lambda grad, x, value: _var_backward(
        _masked_fill(grad / _times_scalar(value, 2), value == 0, 0), x, named, correction, keepdim),
        saved=(input, result))


def _var_backward(grad, x, dims, correction, keepdim):
    """var's chain rule, 2 (x - mean) / (N - correction) times the gradient; std's passes it
    ``grad / (2 std)`` (0 where std is 0). Over all elements, torch's answer where N -
    correction <= 0 is NaN where x is its mean and inf elsewhere; over named ``dims`` it
    divides by N - correction whatever its sign."""
    if x.dim() == 0 or dims is None:
        dof = x.numel() - correction
        if dof <= 0:
            return grad * where(x == x.mean(), float("nan"), float("inf"))
        return _times_scalar(grad, 2.0 / dof) * (x - x.mean())
    if not keepdim and x.dim() > 1:
        grad = _unsqueezed(grad, dims)
    with quiet():
        factor = float(np.float64(2.0) / np.float64(_layout.numel([x.shape[d] for d in dims]) - correction))
    return _times_scalar(grad, factor) * (x - x.mean(dims, keepdim=True))


@tensor_method()
@_numpy_names
def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The variance over ``dim``: squared deviations summed and divided by N - correction
    (correction 1 by default, 0 with ``unbiased=False``); torch warns when that is <= 0."""
    return _variance(input, dim, unbiased, keepdim, correction, "var")


@tensor_method()
@_numpy_names
def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The standard deviation over ``dim``: the square root of ``var`` with the same arguments."""
    return _variance(input, dim, unbiased, keepdim, correction, "std")


# -- any, all ----------------------------------------------------------------------------------------

def _truth(input, dim, keepdim, kernel, out):
    """any/all give bool, except for uint8 input, which torch keeps as uint8."""
    dtype = _dtype.uint8 if input.dtype is _dtype.uint8 else _dtype.bool
    dims = reduction_dims(input, dim, empty_is_all=False)
    values = _reduce(input, dims, keepdim, lambda a, axis: kernel(a != 0, axis=axis), input.dtype, any_order=True)
    return store(values, out.dtype if out is not None else dtype, out, inputs=(input,))


@tensor_method()
@_numpy_names
def any(input, dim=None, keepdim=False, *, out=None):
    """Whether any element over ``dim`` is nonzero (NaN counts); ``dim=()`` reduces nothing."""
    return _truth(input, dim, keepdim, np.any, out)


@tensor_method()
@_numpy_names
def all(input, dim=None, keepdim=False, *, out=None):
    """Whether every element over ``dim`` is nonzero (NaN counts); ``dim=()`` reduces nothing."""
    return _truth(input, dim, keepdim, np.all, out)


# -- scans ---------------------------------------------------------------------------------------------

def _scan_accumulator(dtype):
    """torch's CPU scans carry float32 in double and float16 in float32."""
    return {_dtype.float16: np.float32, _dtype.float32: np.float64}.get(dtype, _widened(dtype).numpy_dtype)


def _scan(input, dim, dtype, out, kernel, name):
    _check_int_dim(name, dim, " (position 1)")
    dtype = dtype or (out.dtype if out is not None else _widened(input.dtype))
    if dtype is _dtype.bool:
        raise _errors.not_implemented_for(f"{name}_out_cpu", dtype)
    axis = _layout.wrap_dim(dim, input.dim())
    array = input._array().astype(dtype.numpy_dtype, copy=False)
    with quiet():
        values = kernel(array, axis=axis, dtype=_scan_accumulator(dtype)) if array.ndim else array.copy()
    return store(values, dtype, out, inputs=(input,))


@tensor_method()
@_numpy_names
def cumsum(input, dim, *, dtype=None, out=None):
    """Running sums along ``dim``; bool and integers accumulate into int64 unless ``dtype`` says otherwise."""
    result = _scan(input, dim, dtype, out, np.cumsum, "cumsum")
    input_dtype = input.dtype
    return record(result, "cumsum", (input,), lambda grad: _reversed_cumsum(grad.to(input_dtype), dim))


def _reversed_cumsum(grad, dim):
    """cumsum's chain rule: each element feeds every running sum from it on."""
    if grad.numel() <= 1 or grad.shape[_layout.wrap_dim(dim, grad.dim())] == 1:
        return grad
    return grad.flip(dim).cumsum(dim).flip(dim)


@tensor_method()
@_numpy_names
def cumprod(input, dim, *, dtype=None, out=None):
    """Running products along ``dim``; bool and integers accumulate into int64 unless ``dtype`` says otherwise."""
    result = _scan(input, dim, dtype, out, np.cumprod, "cumprod")
    return record(result, "cumprod", (input,), lambda grad, x, output: _cumprod_backward(grad, x, dim, output),
                  saved=(input, result))


def _cumprod_backward(grad, x, dim, output):
    """cumprod's chain rule. Without zeros in ``x``: the reversed cumsum of ``output * grad``,
    over ``x``. With zeros, a numpy answer when no graph is being built; else, as torch,
    for each position k the sum of ``grad`` times the products it feeds without it (the
    product before k times the cumprod after it), O(n^2) but differentiable again."""
    if x.numel() <= 1:
        return grad
    dim = _layout.wrap_dim(dim, x.dim())
    size = x.shape[dim]
    if size == 1:
        return grad
    if not np.any(x._array() == 0):
        return _reversed_cumsum(output * grad, dim).div(x)
    if not is_grad_enabled():
        return new_tensor(_cumprod_gradient(x._array(), grad._array(), dim), grad.dtype)
    ones = new_tensor(np.ones(1, grad.dtype.numpy_dtype), grad.dtype, grad.device).expand(_with_size(x.shape, dim, 1))
    slopes = []
    for k in range(size):
        if k == 0:
            omitted = cat([ones, x.narrow(dim, 1, size - 1).cumprod(dim)], dim)
        elif k == size - 1:
            omitted = x.narrow(dim, 0, k).prod(dim, True)
        else:
            before = x.narrow(dim, 0, k).prod(dim, True)
            after = x.narrow(dim, k + 1, size - k - 1).cumprod(dim)
            omitted = cat([before, before.expand_as(after) * after], dim)
        slopes.append((grad.narrow(dim, k, size - k) * omitted).sum(dim))
    # torch writes these into zeros slice by slice (CopySlices); stacking gives the same values
    return stack(slopes, dim)


def _cumprod_gradient(x, grad, axis):
    """The gradient of cumprod along ``axis``, exact where ``x`` has zeros: before a slice's first
    zero z each x_k gets (sum of grad * cumprod from k on) / x_k; x_z gets the product before it
    times the sum of grad times the running product after it; later elements get nothing."""
    x, grad = np.moveaxis(x, axis, -1), np.moveaxis(grad, axis, -1)
    position = np.arange(x.shape[-1])
    zero = x == 0
    first_zero = np.where(zero.any(-1), zero.argmax(-1), x.shape[-1])[..., None]
    before = position < first_zero
    with quiet():
        tails = np.flip(np.cumsum(np.flip(grad * np.cumprod(x, -1), -1), -1), -1)
        gradient = np.where(before, tails / np.where(before, x, 1), 0)
        after = np.cumprod(np.where(position > first_zero, x, 1), -1)
        at_zero = np.prod(np.where(before, x, 1), -1, keepdims=True) * np.sum(
            np.where(position >= first_zero, grad * after, 0), -1, keepdims=True)
    gradient = np.where(position == first_zero, at_zero, gradient)
    return np.moveaxis(gradient, -1, axis)


@tensor_method()
def cumsum_(self, dim, *, dtype=None):
    return _recorded_in_place(self, lambda x: cumsum(x, dim, dtype=dtype or self.dtype))


@tensor_method()
def cumprod_(self, dim, *, dtype=None):
    return _recorded_in_place(self, lambda x: cumprod(x, dim, dtype=dtype or self.dtype))


# -- sorting -------------------------------------------------------------------------------------------

def _sorted_along(array, axis, descending):
    """(values, indices) of ``array`` sorted along ``axis``, ties in their original order, NaN as
    the largest. The values are gathered with indices fresh from argsort, which on CUDA are
    known to fit the axis: no bounds check, so no device read."""
    if not descending:
        order = np.argsort(array, axis=axis, kind="stable")
        return np.take_along_axis(array, order, axis), order
    # Sorting the reversed array ascending and reversing the result keeps ties in order.
    flipped = np.flip(array, axis)
    flipped_order = np.argsort(flipped, axis=axis, kind="stable")
    values = np.flip(np.take_along_axis(flipped, flipped_order, axis), axis)
    return values, array.shape[axis] - 1 - np.flip(flipped_order, axis)


def _moved_back(axis, ndim):
    """The permutation that returns dim 0 to ``axis`` (undoing np.moveaxis(a, axis, 0))."""
    order = list(range(1, ndim))
    order.insert(axis, 0)
    return order


def _first(array, count, axis):
    return array[(slice(None),) * axis + (slice(0, count),)]


@tensor_method()
@_numpy_names
def sort(input, dim=-1, descending=False, *, stable=False):
    """The values along ``dim`` in order and where each came from, as a named tuple; NaN sorts as
    the largest value. Equal values keep their order (a stable sort). So does torch's default
    sort (std::sort) along up to 16 elements; along more it may order ties differently."""
    axis = _layout.wrap_dim(dim, input.dim())
    array = input._array()
    values, order = _sorted_along(array, axis, descending) if array.ndim else (array.copy(), np.zeros((), np.int64))
    indices = _laid_out_like(input, order, _dtype.int64)
    shape = input.shape
    values = record(_laid_out_like(input, values, input.dtype), "sort", (input,),
                    lambda grad, picked: scattered(grad, shape, axis, picked), saved=(indices,))
    return return_types.sort((values, indices))


def _laid_out_like(input, values, dtype):
    """A tensor of the fresh ``values`` with ``input``'s strides where those are dense (torch's
    empty_like), else contiguous strides: ``values`` themselves unless that takes a copy."""
    strides = input.stride()
    if not _layout.is_non_overlapping_and_dense(input.shape, strides) or strides == _layout.contiguous_strides(
            input.shape):
        return new_tensor(values, dtype)
    storage = Storage.allocate(_layout.storage_span(input.shape, strides), dtype, device=input.device)
    result = Tensor._make(storage, input.shape, strides)
    np.copyto(result._array(), values, casting="unsafe")
    return result


@tensor_method()
@_numpy_names
def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that ``sort`` would return."""
    return sort(input, dim, descending, stable=stable).indices


@tensor_method()
@_numpy_names
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` with their indices, as a named tuple.

    Values come in sorted order, NaN counting as the largest, also for ``sorted=False`` (where
    torch's order is unspecified). Among equal values torch's selection picks indices in no
    specified order; this one picks the earliest.
    """
    axis = _layout.wrap_dim(dim, input.dim())
    array = input._array()
    if not 0 <= k <= (array.shape[axis] if array.ndim else 1):
        raise _errors.topk_out_of_range()
    if input.dtype is _dtype.bool:
        raise _errors.topk_of_bool()
    if array.ndim:
        values, order = (_first(part, k, axis) for part in _sorted_along(array, axis, descending=largest))
    else:
        order, values = np.zeros((), np.int64), array.copy()
    indices = new_tensor(order, _dtype.int64)
    shape = input.shape
    values = record(new_tensor(values, input.dtype), "topk", (input,),
                    lambda grad, picked: scattered(grad, shape, axis, picked), saved=(indices,))
    return return_types.topk((values, indices))


@tensor_method()
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (or slices along ``dim``) in ascending order, which torch's CPU kernel
    produces even for ``sorted=False``. NaNs are never equal, so each is kept. Returns a tensor,
    or a tuple that adds the inverse indices and/or the counts when asked for."""
    if dim is None:
        values, inverse, counts = np.unique(input._array().reshape(-1), return_inverse=True, return_counts=True,
                                            equal_nan=False)
        unique_values = new_tensor(values, input.dtype)
        inverse = inverse.reshape(input.shape)
    else:
        unique_values, inverse, counts = _unique_slices(input, dim)
    result = [unique_values]
    if return_inverse:
        result.append(new_tensor(inverse, _dtype.int64))
    if return_counts:
        result.append(new_tensor(counts, _dtype.int64))
    return result[0] if len(result) == 1 else tuple(result)


def _unique_slices(input, dim):
    """unique along ``dim``: torch sorts the slices with ``dim`` moved first, then moves it back
    (an empty input comes back as it is, contiguous)."""
    if input.dim() == 0:
        raise _errors.dim_of_zero_dim_tensor(dim)
    axis = _layout.wrap_dim(dim, input.dim())
    if input.numel() == 0:
        _check_unique_of_empty(input.shape, axis)
        empty = np.zeros(0, np.int64)
        return new_tensor(input._array().copy(), input.dtype), empty, empty
    values, inverse, counts = np.unique(np.moveaxis(input._array(), axis, 0), return_inverse=True,
                                        return_counts=True, axis=0)
    return _permuted(new_tensor(values, input.dtype), _moved_back(axis, input.dim())), inverse.reshape(-1), counts


def _check_unique_of_empty(shape, axis):
    """torch finds unique slices of an empty tensor only along its one empty dim."""
    if builtins.sum(size == 0 for size in shape) > 1:
        raise _errors.unique_of_empty(several_empty_dims=True)
    if shape[axis] != 0:
        raise _errors.unique_of_empty(several_empty_dims=False)
