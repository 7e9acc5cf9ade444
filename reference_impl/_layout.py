"""Shape and stride arithmetic, kept apart from any storage so every device path can share it.

Strides are counted in elements, as torch counts them.
"""

import functools
import numbers

from . import _errors


def numel(shape):
    """Number of elements in a tensor of ``shape`` (1 for a 0-dim tensor)."""
    count = 1
    for size in shape:
        count *= size
    return count


def contiguous_strides(shape):
    """Row-major strides for ``shape``; torch gives size-0 and size-1 dims the same rule."""
    return _contiguous_strides(tuple(shape))


@functools.lru_cache(maxsize=4096)  # shapes repeat, and every new tensor asks
def _contiguous_strides(shape):
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def is_contiguous(shape, strides):
    """True when the layout is row-major, ignoring dims of size 1 (as torch does)."""
    if tuple(strides) == contiguous_strides(shape):
        return True
    if numel(shape) == 0:
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


def normalize_shape(args):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` as the same shape."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(int(size) for size in args)


def infer_size(shape, total):
    """Resolve a single ``-1`` in ``shape`` so the shape holds ``total`` elements."""
    inferred_at = None
    known = 1
    for index, size in enumerate(shape):
        if size == -1:
            if inferred_at is not None:
                raise _errors.multiple_inferred_dims()
            inferred_at = index
        elif size < 0:
            raise _errors.invalid_shape_dimension(size, index, shape)
        else:
            known *= size
    if inferred_at is None:
        if known != total:
            raise _errors.invalid_view_shape(shape, total)
        return tuple(shape)
    if known == 0 or total % known != 0:
        raise _errors.invalid_view_shape(shape, total)
    resolved = list(shape)
    resolved[inferred_at] = total // known
    return tuple(resolved)


def view_strides(old_shape, old_strides, new_shape):
    """Strides that let ``new_shape`` view the same elements in the same order, or None.

    Walks the old dims from the right, grouping them into chunks that are contiguous
    with each other; each chunk must be covered exactly by a run of new dims. This is
    the rule that makes ``x.t().view(-1)`` fail while ``x.view(-1)`` works.
    """
    if numel(old_shape) == 0 or len(old_shape) == 0:
        return contiguous_strides(new_shape)
    old_shape = tuple(old_shape)  # a plain tuple: a Size indexes in Python code
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = old_strides[-1]
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        chunk_ends = tensor_d == 0 or (
            old_shape[tensor_d - 1] != 1
            and old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride
        )
        if not chunk_ends:
            continue
        while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
            new_strides[view_d] = view_numel * chunk_base_stride
            view_numel *= new_shape[view_d]
            view_d -= 1
        if view_numel != tensor_numel:
            return None
        if tensor_d > 0:
            chunk_base_stride = old_strides[tensor_d - 1]
            tensor_numel = 1
            view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def broadcast_shapes(a, b):
    """The shape two operands broadcast to, aligning dims from the right.

    Like torch, a mismatch is reported at the rightmost dim where it occurs.
    """
    if a == b:
        return tuple(a)
    ndim = max(len(a), len(b))
    padded_a = (1,) * (ndim - len(a)) + tuple(a)
    padded_b = (1,) * (ndim - len(b)) + tuple(b)
    result = [0] * ndim
    for dim in range(ndim - 1, -1, -1):
        size_a, size_b = padded_a[dim], padded_b[dim]
        if size_a == size_b or size_b == 1:
            result[dim] = size_a
        elif size_a == 1:
            result[dim] = size_b
        else:
            raise _errors.broadcast_mismatch(size_a, size_b, dim)
    return tuple(result)


def storage_span(shape, strides):
    """How many elements of storage a layout with non-negative strides reaches."""
    if numel(shape) == 0:
        return 0
    return 1 + sum((size - 1) * stride for size, stride in zip(shape, strides))


def is_non_overlapping_and_dense(shape, strides):
    """True when the elements exactly tile a block of storage in some dim order. As in c10,
    dims of size 0 and 1 are left out (they hold no second element to overlap with), and an
    empty tensor, being contiguous, counts as dense."""
    if numel(shape) == 0 or tuple(strides) == contiguous_strides(shape):
        return True
    dims = sorted((stride, size) for size, stride in zip(shape, strides) if size > 1)
    expected = 1
    for stride, size in dims:
        if stride != expected:
            return False
        expected *= size
    return True


def has_internal_overlap(shape, strides):
    """True when two elements of one layout share memory (a stride-0 dim of size > 1), as
    torch decides it: a layout that is not dense but has no such dim counts as fine."""
    if is_non_overlapping_and_dense(shape, strides):
        return False
    return any(size > 1 and stride == 0 for size, stride in zip(shape, strides))


def wrap_dim(dim, ndim):
    """A dim index in [0, ndim), accepting negatives; a 0-dim tensor accepts -1 and 0."""
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise _errors.dim_out_of_range(dim, bound)
    return dim % bound


def wrap_dims(dims, ndim):
    """wrap_dim for an int or a sequence of dims; duplicates are refused as torch does."""
    if isinstance(dims, int):
        dims = (dims,)
    wrapped = tuple(wrap_dim(d, ndim) for d in dims)
    for index, dim in enumerate(wrapped):
        if dim in wrapped[:index]:
            raise _errors.repeated_dim(dim)
    return wrapped


def check_expandable(src_shape, target_shape):
    """Refuse, with torch's message, a ``src_shape`` that cannot broadcast to ``target_shape``
    without changing it (dims align on the right; each src dim must equal its target or be 1)."""
    if len(src_shape) > len(target_shape):
        raise _errors.inplace_shape_mismatch(target_shape, broadcast_shapes(target_shape, src_shape))
    lead = len(target_shape) - len(src_shape)
    for dim, size in enumerate(src_shape):
        target = target_shape[lead + dim]
        if size != target and size != 1:
            raise _errors.expand_mismatch(target, size, lead + dim, target_shape, src_shape)


def factory_shape(args, op_name):
    """The size arguments of a factory (``zeros(2, 3)``, ``zeros((2, 3))``) as a shape tuple,
    refusing non-integers with torch's TypeError text."""
    single = len(args) == 1 and isinstance(args[0], (tuple, list))
    sizes = args[0] if single else args
    for position, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            if len(sizes) == 1 and not single:
                raise _errors.factory_size_not_ints(op_name, type(size).__name__)
            raise _errors.factory_size_unpack(op_name, position, type(size).__name__)
    return tuple(int(size) for size in sizes)


# -- movement and indexing: the layouts of views ------------------------------------------------


def permuted(shape, strides, order):
    """Layout with dims reordered: dim ``i`` of the result is dim ``order[i]`` of the input."""
    return tuple(shape[d] for d in order), tuple(strides[d] for d in order)


def unsqueezed(shape, strides, dim):
    """Layout with a size-1 dim inserted before ``dim``. torch strides it like the extent of
    the dim it lands before (1 at the end), so a contiguous layout stays contiguous."""
    stride = shape[dim] * strides[dim] if dim < len(shape) else 1
    return tuple(shape[:dim]) + (1,) + tuple(shape[dim:]), tuple(strides[:dim]) + (stride,) + tuple(strides[dim:])


def squeezed(shape, strides, dims):
    """Layout without those of ``dims`` that have size 1 (other dims in ``dims`` stay)."""
    keep = [d for d in range(len(shape)) if d not in dims or shape[d] != 1]
    return tuple(shape[d] for d in keep), tuple(strides[d] for d in keep)


def selected(shape, strides, offset, dim, index):
    """Layout of element ``index`` (in range, non-negative) along ``dim``, which goes away."""
    return (tuple(shape[:dim]) + tuple(shape[dim + 1:]), tuple(strides[:dim]) + tuple(strides[dim + 1:]),
            offset + index * strides[dim])


def sliced(shape, strides, offset, dim, start, stop, step=1):
    """Layout of ``[start:stop:step]`` along ``dim`` (step > 0); bounds are clamped as Python
    clamps them, so the offset never passes the end of the dim."""
    shape, strides = tuple(shape), tuple(strides)  # plain tuples: a Size indexes in Python code
    start, stop, step = slice(start, stop, step).indices(shape[dim])
    size = max(0, (stop - start + step - 1) // step)
    return (shape[:dim] + (size,) + shape[dim + 1:],
            strides[:dim] + (strides[dim] * step,) + strides[dim + 1:],
            offset + start * strides[dim])


def expanded(shape, strides, sizes):
    """Layout of ``expand(sizes)``, aligned on the right: a size-1 dim stretches with stride 0,
    ``-1`` keeps a dim's size, and new leading dims are added. Raises torch's errors."""
    new_shape, new_strides = list(sizes), [0] * len(sizes)
    if shape:  # a 0-dim tensor takes the sizes as they are, all with stride 0
        for i in range(len(sizes) - 1, -1, -1):
            new_shape[i], new_strides[i] = _expanded_dim(shape, strides, sizes, i, new_shape, new_strides)
    if any(size < 0 for size in new_shape):
        raise _errors.numel_overflow()
    return tuple(new_shape), tuple(new_strides)


def _expanded_dim(shape, strides, sizes, i, new_shape, new_strides):
    """Size and stride of dim ``i`` of an expand; a new leading dim strides past the dims after it."""
    dim = i - (len(sizes) - len(shape))
    size = shape[dim] if dim >= 0 else 1
    stride = strides[dim] if dim >= 0 else new_shape[i + 1] * new_strides[i + 1]
    target = sizes[i]
    if target == -1:
        if dim < 0:
            raise _errors.expand_leading_minus_one(target, i)
        target = size
    if size != target:
        if size != 1:
            raise _errors.expand_mismatch(target, size, i, sizes, shape)
        size, stride = target, 0
    return size, stride


def iteration_order(shape, operands, reduction_output=None):
    """The order, fastest-moving dim first, in which torch's TensorIterator walks ``shape``
    for ``operands`` ((shape, strides) pairs, broadcast to ``shape``): dims sorted by stride,
    the first operand deciding first, ties and broadcast dims left as they are (row-major).
    A reduction's output strides (``reduction_output``, 0 along the reduced dims) are the
    first operand, and put the reduced dims first, as TensorIterator does for reductions."""
    aligned = [iteration_strides(operand_shape, strides, shape) for operand_shape, strides in operands]
    if reduction_output is not None:
        aligned.insert(0, tuple(reduction_output))
    ndim = len(shape)
    order = list(range(ndim - 1, -1, -1))

    def should_swap(dim0, dim1):
        for number, strides in enumerate(aligned):
            stride0, stride1 = strides[dim0], strides[dim1]
            if number == 0 and reduction_output is not None and (stride0 == 0) != (stride1 == 0):
                return 1 if stride1 == 0 else -1
            if stride0 == 0 or stride1 == 0:
                continue
            if stride0 != stride1:
                return 1 if stride0 > stride1 else -1
            if shape[dim0] > shape[dim1]:
                return 1
        return 0

    for i in range(1, ndim):  # insertion sort that leaves ambiguous pairs alone
        moving = i
        for before in range(i - 1, -1, -1):
            comparison = should_swap(order[before], order[moving])
            if comparison > 0:
                order[before], order[moving] = order[moving], order[before]
                moving = before
            elif comparison < 0:
                break
    return order


def iteration_output_strides(shape, operands):
    """Strides TensorIterator gives a new output of ``shape`` computed from ``operands``
    ((shape, strides) pairs). Operands of the output's very shape that are all contiguous,
    or all dense with equal strides, lend it their layout; otherwise it is dense in the
    walking order, so it follows its inputs' memory order."""
    if all(tuple(operand_shape) == tuple(shape) for operand_shape, _ in operands):
        if all(is_contiguous(operand_shape, strides) for operand_shape, strides in operands):
            return contiguous_strides(shape)
        if len({tuple(strides) for _, strides in operands}) == 1 and is_non_overlapping_and_dense(*operands[0]):
            return tuple(operands[0][1])
    order = iteration_order(shape, operands)
    if order == list(range(len(shape) - 1, -1, -1)):
        return contiguous_strides(shape)
    strides = [0] * len(shape)
    step = 1
    for dim in order:
        strides[dim] = step
        step *= shape[dim]
    return tuple(strides)


def infer_dense_strides(shape, strides):
    """Dense strides in the memory order of a (non-dense) layout, as torch's ``_to_copy`` gives
    a copy with ``preserve_format``: dims ordered as TensorIterator orders them, each stride the
    product of the sizes before it in that order (sizes 0 and 1 counting as 1)."""
    if len(shape) <= 1:
        return (1,) * len(shape)
    result = [0] * len(shape)
    step = 1
    for dim in iteration_order(shape, [(shape, strides)]):
        result[dim] = step
        step *= max(shape[dim], 1)
    return tuple(result)


def iteration_strides(shape, strides, iteration_shape):
    """An operand's strides as TensorIterator sees them in ``iteration_shape``: aligned on
    the right, 0 for missing leading dims and for size-1 dims that are broadcast."""
    lead = len(iteration_shape) - len(shape)
    return (0,) * lead + tuple(0 if size == 1 and iteration_shape[lead + d] != 1 else stride
                               for d, (size, stride) in enumerate(zip(shape, strides)))


def merged_dims(shape, *stride_lists):
    """``shape`` without its size-1 dims, neighbouring dims merged where every stride list
    steps through the pair as through one dim (as TensorIterator coalesces dims), with each
    stride list to match: (sizes, [strides of each list]). At least one dim (of size 1)
    remains, so a kernel always gets a list."""
    dims = []
    for d, size in enumerate(shape):
        if size == 1:
            continue
        strides = [stride_list[d] for stride_list in stride_lists]
        if dims and all(outer == inner * size for outer, inner in zip(dims[-1][1], strides)):
            dims[-1] = (dims[-1][0] * size, strides)
        else:
            dims.append((size, strides))
    if not dims:
        return [1], [[0] for _ in stride_lists]
    return [size for size, _ in dims], [[strides[k] for _, strides in dims] for k in range(len(stride_lists))]
