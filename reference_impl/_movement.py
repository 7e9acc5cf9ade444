"""Movement: views that re-describe the same storage (transpose, expand, squeeze, split …),
and the ops that copy elements into a new arrangement (cat, stack, gather, index_select …).

A view op is layout arithmetic only (``_layout``): a new (shape, strides, offset) around the
same storage, made with ``_view_as``. A copy op computes its values with numpy and stores
them in a fresh tensor. Both record their chain rule for autograd beside them, written with
these same ops as torch's formulas are, so that a gradient has a graph of its own (second
derivatives). Most gradients are the incoming one put back where the elements came from,
in zeros: ``placed`` computes that, and each op that reads elements has a writing op as
its chain rule (select and select_backward, gather and scatter_add …), each the other's.
"""

import warnings

import numpy as np

from . import _autograd, _dtype, _errors, _layout
from ._autograd import history_snapshot, is_recording_for, no_grad, record, record_multi
from ._ops import as_array, check_argument_devices, new_tensor, store, tensor_method
from ._storage import Storage
from ._tensor import Tensor

__all__ = [
    "argwhere", "cat", "chunk", "concat", "concatenate", "flatten", "flip", "gather", "index_select",
    "masked_select", "moveaxis", "movedim", "narrow", "nonzero", "permute", "ravel", "reshape", "select", "split",
    "squeeze", "stack", "swapaxes", "swapdims", "t", "transpose", "unbind", "unsqueeze",
]


def _sizes(args, keyword, op_name, name):
    """``f(1, 0)``, ``f((1, 0))``, ``f([1, 0])`` or ``f(name=(1, 0))`` as one tuple of ints."""
    if keyword is not None:
        args = (keyword,)
    if not args:
        raise _errors.missing_argument(op_name, name)
    return _layout.normalize_shape(args)


def _view(input, op, layout, backward):
    """A view of ``input`` with ``layout`` ((shape, strides) at the same offset, or (shape,
    strides, offset)), recorded for autograd as ``op``."""
    shape, strides, *offset = layout
    view = input._view_as(shape, strides, offset[0] if offset else input.storage_offset())
    return record(view, op, (input,), backward)


def _reshaped_back(shape):
    """The chain rule of an op that only changes the shape: the gradient takes it back."""
    return lambda grad: grad.reshape(shape)


def placed(values, shape, key, dtype, accumulate=False, writes=0):
    """Zeros of ``shape`` holding ``values`` (numpy, broadcast to ``zeros[key]``) at the
    numpy ``key`` (a 0-dim ``shape`` is keyed as one element along dim 0): the gradient of
    reading ``key``. With ``accumulate``, values landing on one element add up. ``writes``
    is the version torch leaves on it (it writes its zeros in place)."""
    # like=: numpy makes the zeros where ``values`` live (on the device for a CUDA gradient)
    full = np.zeros(shape or (1,), dtype.numpy_dtype, like=values if hasattr(values, "__array_function__") else None)
    if accumulate:
        np.add.at(full, key, values)
    else:
        full[key] = values
    result = new_tensor(full.reshape(shape), dtype)
    for _ in range(writes):
        result._bump_version()
    return result


def alias(input):
    """A new view of all of ``input``: what ``x[...]`` gives."""
    return _view(input, "alias", (input.shape, input.stride()), lambda grad: grad)


def _along(dim, index):
    """A numpy key picking ``index`` (an int, slice or array) along ``dim``."""
    return (slice(None),) * dim + (index,)


# -- reordering dims ---------------------------------------------------------------------------------


@tensor_method()
def permute(input, *args, dims=None):
    """The same elements with dims reordered: dim ``i`` of the result is ``dims[i]``."""
    dims = _sizes(args, dims, "permute", "dims")
    if len(dims) != input.dim():
        raise _errors.permute_length_mismatch(input.dim(), len(dims))
    order = tuple(_layout.wrap_dim(d, input.dim()) for d in dims)
    if len(set(order)) != len(order):
        raise _errors.permute_duplicate_dims()
    return _permuted(input, "permute", order)


def _permuted(input, op, order):
    inverse = tuple(np.argsort(order).tolist())
    return _view(input, op, _layout.permuted(input.shape, input.stride(), order),
                 lambda grad: permute(grad, inverse))


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(input, dim0, dim1):
    """Swap two dims (their sizes and strides); a 0-dim tensor accepts 0 and -1."""
    return _swapped(input, "transpose", dim0, dim1)


def _swapped(input, op, dim0, dim1):
    order = list(range(input.dim()))
    first, second = _layout.wrap_dim(dim0, input.dim()), _layout.wrap_dim(dim1, input.dim())
    if order:
        order[first], order[second] = order[second], order[first]
    return _view(input, op, _layout.permuted(input.shape, input.stride(), order),
                 t if op == "t" else lambda grad: transpose(grad, first, second))


swapaxes = swapdims = transpose


@tensor_method()
def t(input):
    """Transpose a matrix; vectors and 0-dim tensors come back as new views of themselves."""
    if input.dim() > 2:
        raise _errors.t_too_many_dims(input.dim())
    return _swapped(input, "t", 0, 1 if input.dim() == 2 else 0)


@tensor_method("movedim", "moveaxis")
def movedim(input, source, destination):
    """Move the dims ``source`` to the positions ``destination``; the others keep their order."""
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(source) != len(destination):
        raise _errors.movedim_length_mismatch(source, destination)
    moved = [tuple(_layout.wrap_dim(d, input.dim()) for d in dims) for dims in (source, destination)]
    for which, dims, wrapped in zip(("source", "destination"), (source, destination), moved):
        if len(set(wrapped)) != len(wrapped):
            raise _errors.movedim_repeated(which, dims)
    if input.dim() == 0:  # torch returns an alias (AliasBackward0), not a permutation
        return alias(input)
    order = [None] * input.dim()
    for src, dst in zip(*moved):
        order[dst] = src
    staying = iter(d for d in range(input.dim()) if d not in moved[0])
    return permute(input, [d if d is not None else next(staying) for d in order])


moveaxis = movedim


def _reversed_dims(self):
    """``x.T``: all dims reversed; torch deprecates it for anything but matrices."""
    if self.dim() == 0:
        warnings.warn(_errors.zero_dim_transpose_warning("Tensor.T", "This function is the identity in these cases."),
                      UserWarning, stacklevel=2)
    elif self.dim() != 2:
        warnings.warn(_errors.reversed_dims_warning(), UserWarning, stacklevel=2)
    return _permuted(self, "T", tuple(range(self.dim() - 1, -1, -1)))


def _matrix_transpose(attribute, advice):
    """``x.mT`` / ``x.mH``: swap the last two dims (real dtypes have nothing to conjugate)."""

    def transposed(self):
        if self.dim() == 0:
            warnings.warn(_errors.zero_dim_transpose_warning(f"Tensor.{attribute}", advice), UserWarning,
                          stacklevel=2)
            return self
        if self.dim() == 1:
            raise _errors.batch_transpose_needs_matrices(attribute, 1)
        return _swapped(self, "mT", -2, -1)

    return transposed


def _adjoint(self):
    """``x.H``: the conjugate transpose of a matrix (a plain transpose for real dtypes)."""
    if self.dim() == 0:
        warnings.warn(_errors.zero_dim_transpose_warning("Tensor.H", "Consider using x.conj()."), UserWarning,
                      stacklevel=2)
        return self
    if self.dim() != 2:
        raise _errors.adjoint_needs_matrix(self.dim())
    return _swapped(self, "mT", 0, 1)


setattr(Tensor, "T", property(_reversed_dims))
setattr(Tensor, "mT", property(_matrix_transpose("mT", "This function is the identity in these cases.")))
setattr(Tensor, "mH", property(_matrix_transpose("mH", "Consider using x.conj().")))
setattr(Tensor, "H", property(_adjoint))


# -- changing the shape ---------------------------------------------------------------------------


@tensor_method()
def reshape(input, *args, shape=None):
    """A view when the strides allow one (as ``view``), else a contiguous copy."""
    new_shape = _layout.infer_size(_sizes(args, shape, "reshape", "shape"), input.numel())
    strides = _layout.view_strides(input.shape, input.stride(), new_shape)
    if strides is not None:
        return _view(input, "reshape_view", (new_shape, strides), _reshaped_back(input.shape))
    copy = _contiguous_copy(input)
    return _view(copy, "reshape_copy", (new_shape, _layout.contiguous_strides(new_shape)), _reshaped_back(copy.shape))


@tensor_method()
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a view when possible, like ``reshape``)."""
    start, end = _layout.wrap_dim(start_dim, input.dim()), _layout.wrap_dim(end_dim, input.dim())
    if start > end:
        raise _errors.flatten_bad_range()
    if input.dim() == 0:
        return reshape(input, 1)
    if start == end:
        return input
    shape = input.shape
    return reshape(input, shape[:start] + (_layout.numel(shape[start:end + 1]),) + shape[end + 1:])


@tensor_method()
def ravel(input):
    """All elements as one dim: a view of a contiguous tensor, else a contiguous copy."""
    return contiguous(input).view(-1)


@tensor_method()
def view_as(self, other):
    return self.view(other.shape)


@tensor_method()
def reshape_as(self, other):
    return reshape(self, other.shape)


@tensor_method()
def squeeze(input, dim=None):
    """Drop size-1 dims: all of them, or those among ``dim`` (an int or a tuple)."""
    dims = set(range(input.dim()) if dim is None else _layout.wrap_dims(dim, input.dim()))
    op = "squeeze" if dim is None else "squeeze_dim" if isinstance(dim, int) else "squeeze_dims"
    shape = input.shape
    return _view(input, op, _layout.squeezed(shape, input.stride(), dims),
                 lambda grad: _unsqueezed_to(grad, shape, dims))


def _unsqueezed_to(grad, shape, dims):
    """squeeze's chain rule: the dropped size-1 dims put back, one unsqueeze each."""
    for d, size in enumerate(shape):
        if d in dims and size == 1:
            grad = unsqueeze(grad, d)
    return grad


@tensor_method()
def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim`` (which may be ``ndim``, or negative counting from it)."""
    dim = _layout.wrap_dim(dim, input.dim() + 1)
    layout = _layout.unsqueezed(input.shape, input.stride(), dim)
    return _view(input, "unsqueeze", layout, lambda grad: squeeze(grad, dim))


@tensor_method()
def expand(self, *args, size=None):
    """A stride-0 view repeating size-1 dims (and new leading dims); ``-1`` keeps a size."""
    sizes = _sizes(args, size, "expand", "size")
    if len(sizes) < self.dim():
        raise _errors.expand_too_few_sizes(self.type(), self.shape, sizes)
    # autograd sums the gradient back down to our shape
    return _view(self, "expand", _layout.expanded(self.shape, self.stride(), sizes), lambda grad: grad)


@tensor_method()
def expand_as(self, other):
    return expand(self, other.shape)


@tensor_method()
def contiguous(self, memory_format=None):
    """Ourselves when already contiguous, else a contiguous copy."""
    return self if self.is_contiguous() else _contiguous_copy(self)


def _contiguous_copy(tensor):
    """A row-major copy; autograd sees it as torch's clone."""
    return record(new_tensor(tensor._array().copy(), tensor.dtype), "contiguous", (tensor,), lambda grad: grad)


def _in_place(view_op, name, key):
    """``x.op_()``: ``x`` itself takes the layout that ``op`` would give a new view (torch
    counts that as an in-place change). When recording, ``x``'s history becomes the view's
    chain rule applied to its old self, as the node ``key`` names (TBackward1 …: a probed
    key, or a function of the arguments giving one); a view's base keeps its history."""

    def in_place(self, *args, **kwargs):
        # ``self`` as it was (shape and history): what the gradient flows back to
        before = history_snapshot(self) if is_recording_for(self) else None
        view = view_op(self, *args, **kwargs)
        backward = view.grad_fn._backward if before is not None else None  # the view op's chain rule
        self._bump_version()
        if before is not None:
            record(self, key(*args, **kwargs) if callable(key) else key, (before,), backward)
        self._set_layout(self._storage, view.shape, view.stride(), self._offset)
        return self

    in_place.__name__ = in_place.__qualname__ = name
    return tensor_method(name)(in_place)


def _squeeze_key(dim=None):
    return "squeeze_" if dim is None else "squeeze_dim_" if isinstance(dim, int) else "squeeze_dims_"


for _name, _op, _key in (("t_", t, "t_"), ("transpose_", transpose, "transpose_"),
                         ("swapaxes_", transpose, "transpose_"), ("swapdims_", transpose, "transpose_"),
                         ("squeeze_", squeeze, _squeeze_key), ("unsqueeze_", unsqueeze, "unsqueeze_")):
    _in_place(_op, _name, _key)


# -- parts of a tensor ----------------------------------------------------------------------------


@tensor_method()
def select(input, dim, index):
    """The slice at ``index`` along ``dim``, which goes away."""
    if input.dim() == 0:
        raise _errors.select_zero_dim()
    dim = _layout.wrap_dim(dim, input.dim())
    size = input.shape[dim]
    if not -size <= index < size:
        raise _errors.select_out_of_range(index, input.shape, dim)
    index %= size
    shape = input.shape
    return _view(input, "select", _layout.selected(input.shape, input.stride(), input.storage_offset(), dim, index),
                 lambda grad: select_backward(grad, shape, dim, index))


def select_backward(grad, shape, dim, index):
    """select's chain rule: ``grad`` as the slice at ``index`` along ``dim`` of zeros."""
    result = placed(grad._array(), shape, _along(dim, index), grad.dtype)
    return record(result, "select_backward", (grad,), lambda grad: select(grad, dim, index))


@tensor_method()
def narrow(input, dim, start, length):
    """``length`` elements along ``dim`` from ``start`` (which may count from the end)."""
    if input.dim() == 0:
        raise _errors.narrow_zero_dim()
    if length < 0:
        raise _errors.narrow_negative_length()
    dim = _layout.wrap_dim(dim, input.dim())
    size = input.shape[dim]
    start = start.__index__()
    if not -size <= start <= size:
        raise _errors.narrow_start_out_of_range(start, size)
    if start < 0:
        start += size
    if start > size - length:
        raise _errors.narrow_past_end(start, length, size)
    return slice_view(input, dim, start, start + length)


def slice_view(input, dim, start=None, stop=None, step=1):
    """``input[..., start:stop:step]`` along ``dim`` (``step`` > 0), as the view it is."""
    shape = input.shape
    return _view(input, "slice", _layout.sliced(shape, input.stride(), input.storage_offset(), dim, start, stop, step),
                 lambda grad: slice_backward(grad, shape, dim, start, stop, step))


def slice_backward(grad, shape, dim, start, stop, step):
    """slice's chain rule: ``grad`` as the slice ``start:stop:step`` along ``dim`` of zeros."""
    bounds = slice(*slice(start, stop, step).indices(shape[dim]))
    result = placed(grad._array(), shape, _along(dim, bounds), grad.dtype)
    return record(result, "slice_backward", (grad,), lambda grad: slice_view(grad, dim, start, stop, step))


@tensor_method()
def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
    smaller), or of the listed sizes."""
    if tensor.dim() == 0:
        raise _errors.split_zero_dim("split")
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0:
            raise _errors.split_negative_size(step)
        dim = _layout.wrap_dim(dim, tensor.dim())
        size = tensor.shape[dim]
        if step == 0 and size != 0:
            raise _errors.split_size_zero(size)
        sizes = _equal_pieces(size, step)
    else:
        sizes = [int(s) for s in split_size_or_sections]
        dim = _layout.wrap_dim(dim, tensor.dim())
        if any(s < 0 for s in sizes):
            raise _errors.split_sizes_negative(sizes)
        if sum(sizes) != tensor.shape[dim]:
            raise _errors.split_sizes_sum(tensor.shape[dim], dim, sizes)
        return _pieces(tensor, "split_with_sizes", dim, sizes)
    return _pieces(tensor, "split", dim, sizes)


def _equal_pieces(size, step):
    """Sizes of ``step`` covering ``size``, the last one smaller if need be (one piece at least)."""
    count = max(-(-size // step), 1) if step else 1
    return [step] * (count - 1) + [size - step * (count - 1)]


def _pieces(input, op, dim, sizes):
    """Consecutive views of ``sizes`` along ``dim``; their gradients are joined back with
    ``cat`` (zeros for pieces that got none)."""
    starts = np.cumsum([0] + sizes[:-1]).tolist()
    with no_grad():
        pieces = tuple(slice_view(input, dim, start, start + size) for start, size in zip(starts, sizes))
    shapes, dtype = [piece.shape for piece in pieces], input.dtype
    return _multiple_views(record_multi(pieces, op, (input,), lambda grads: cat(
        [_zeros(shape, dtype, input.device) if grad is None else grad for shape, grad in zip(shapes, grads)], dim)))


def _multiple_views(views):
    """Mark the outputs of an op that returns several views, which torch forbids writing in place
    while recording (as pieces made in no_grad mode, when they were)."""
    for view in views:
        view._creation_meta = "multi_output" if _autograd.is_grad_enabled() else "no_grad"
    return views


def _zeros(shape, dtype, device):
    """Zeros as torch's chain rules make them (at::zeros, whose fill shows as version 1)."""
    zeros = new_tensor(np.zeros(shape, dtype.numpy_dtype), dtype, device)
    zeros._bump_version()
    return zeros


@tensor_method()
def chunk(input, chunks, dim=0):
    """``chunks`` views along ``dim`` of equal size, rounded up (so there may be fewer)."""
    if input.dim() == 0:
        raise _errors.split_zero_dim("chunk")
    if chunks <= 0:
        raise _errors.chunk_not_positive(chunks)
    dim = _layout.wrap_dim(dim, input.dim())
    step = -(-input.shape[dim] // chunks)
    # an empty dim still gives ``chunks`` empty pieces
    sizes = _equal_pieces(input.shape[dim], step) if step else [0] * chunks
    return _pieces(input, "chunk", dim, sizes)


@tensor_method()
def unbind(input, dim=0):
    """Every slice along ``dim``, as views."""
    dim = _layout.wrap_dim(dim, input.dim())
    if input.dim() == 0:
        raise _errors.unbind_zero_dim()
    with no_grad():
        slices = tuple(select(input, dim, i) for i in range(input.shape[dim]))
    shape, dtype = tuple(input.shape[:dim]) + tuple(input.shape[dim + 1:]), input.dtype
    # slices that got no gradient contribute zeros, expanded from one as torch's are
    return _multiple_views(record_multi(slices, "unbind", (input,), lambda grads: stack(
        [expand(_zeros((), dtype, input.device), shape) if grad is None else grad for grad in grads], dim)))


# -- copies into a new arrangement ----------------------------------------------------------------


def _tensor_list(tensors, op_name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise _errors.tensors_not_a_sequence(op_name, type(tensors).__name__)
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise _errors.not_a_tensor_element(position, type(tensor).__name__)
    return list(tensors)


def _skipped_by_cat(tensor):
    """torch's legacy rule: a 1-D empty tensor may join any cat, and is left out of it."""
    return tensor.shape == (0,)


def cat(tensors, dim=0, *, out=None):
    """Join tensors along an existing dim; the others must match. Promotes dtypes."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise _errors.cat_empty()
    check_argument_devices("wrapper_CUDA_cat", tensors[0], *(("tensors", t) for t in tensors[1:]))
    for position, tensor in enumerate(tensors):
        if tensor.dim() == 0:
            raise _errors.cat_zero_dim(position)
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = _dtype.promote_types(dtype, tensor.dtype)
    if out is not None and not _dtype.can_cast(dtype, out.dtype):
        raise _errors.cat_out_cast(out.dtype)
    joined = [(position, tensor) for position, tensor in enumerate(tensors) if not _skipped_by_cat(tensor)]
    if not joined:
        return store(np.empty(0, dtype.numpy_dtype, like=tensors[0]._array()), dtype, out, inputs=tensors)
    first = joined[0][1]
    dim = _layout.wrap_dim(dim, first.dim())
    for position, tensor in joined:
        if tensor.dim() != first.dim():
            raise _errors.cat_ndim_mismatch(first.dim(), tensor.dim())
        for d in range(first.dim()):
            if d != dim and tensor.shape[d] != first.shape[d]:
                raise _errors.cat_size_mismatch(dim, first.shape[d], tensor.shape[d], position)
    values = np.concatenate([as_array(tensor, dtype) for _, tensor in joined], axis=dim)
    sizes = [None if _skipped_by_cat(tensor) else tensor.shape[dim] for tensor in tensors]
    return record(store(values, dtype, out, inputs=tensors), "cat", tensors, lambda grad: _cut(grad, dim, sizes))


def _cut(grad, dim, sizes):
    """``cat``'s chain rule: each input's part of the gradient (empty for skipped inputs)."""
    parts, start = [], 0
    for size in sizes:
        parts.append(_zeros((0,), grad.dtype, grad.device) if size is None else narrow(grad, dim, start, size))
        start += size or 0
    return tuple(parts)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join equally shaped tensors along a new dim ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise _errors.stack_empty()
    check_argument_devices("wrapper_CUDA_cat", tensors[0], *(("tensors", t) for t in tensors[1:]))
    dim = _layout.wrap_dim(dim, tensors[0].dim() + 1)
    for position, tensor in enumerate(tensors[1:], 1):
        if tensor.shape != tensors[0].shape:
            raise _errors.stack_size_mismatch(tensors[0].shape, tensor.shape, position)
    with no_grad():
        result = cat([unsqueeze(tensor, dim) for tensor in tensors], dim, out=out)
    count = len(tensors)
    return record(result, "stack", tensors, lambda grad: tuple(select(grad, dim, i) for i in range(count)))


@tensor_method()
def flip(input, *args, dims=None):
    """A copy with the order of elements reversed along ``dims``; keeps a dense layout."""
    dims = _layout.wrap_dims(_sizes(args, dims, "flip", "dims"), input.dim())
    with no_grad():
        result = input.clone()
    np.copyto(result._array(), np.flip(input._array(), axis=dims if input.dim() else ()))
    return record(result, "flip", (input,), lambda grad: flip(grad, dims))


@tensor_method()
def repeat(self, *args, repeats=None):
    """A copy tiling the tensor ``repeats[i]`` times along dim ``i`` (new leading dims allowed)."""
    repeats = _sizes(args, repeats, "repeat", "repeats")
    if len(repeats) < self.dim():
        raise _errors.repeat_too_few_dims()
    padded = (1,) * (len(repeats) - self.dim()) + tuple(self.shape)
    target = tuple(size * times for size, times in zip(padded, repeats))
    if any(size < 0 for size in target):
        raise _errors.negative_dimension_in(target)
    result = new_tensor(np.tile(self._array().reshape(padded), repeats), self.dtype)
    shape = self.shape
    return record(result, "repeat", (self,), lambda grad: _summed_tiles(grad, shape, repeats))


def _summed_tiles(grad, shape, repeats):
    """``repeat``'s chain rule: the gradients of all copies of each element, added up. New
    leading dims are summed away one by one, then each repeated dim is split in two
    (repeats, size) and the repeats summed."""
    if 0 in repeats:
        return _zeros(shape, grad.dtype, grad.device)
    for _ in range(len(repeats) - len(shape)):
        grad = grad.sum(0)
    split, summed = [], []
    for size, times in zip(shape, repeats[len(repeats) - len(shape):]):
        if times != 1:
            split.append(times)
            summed.append(len(split) - 1)
        split.append(size)
    return grad.reshape(split).sum(summed) if summed else grad


def _index_array(index):
    return index._array().reshape(-1).astype(np.int64)


@tensor_method()
def index_select(input, dim, index):
    """A copy of the slices at ``index`` (a 1-D int tensor, no negatives) along ``dim``."""
    check_argument_devices("wrapper_CUDA__index_select", input, ("index", index))
    dim = _layout.wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise _errors.index_select_not_vector()
    if input.dim() == 0 and index.numel() != 1:
        raise _errors.index_select_scalar_many(index.numel())
    if index.dtype not in (_dtype.int64, _dtype.int32):
        raise _errors.index_select_dtype()
    positions = _index_array(index)
    source = input._array().reshape(input.shape or (1,))
    _check_index_select_bounds(input, dim, positions, source.shape[dim])
    picked = np.take(source, positions, axis=dim)
    result = new_tensor(picked.reshape(_replaced(input.shape, dim, len(positions))), input.dtype)
    shape = input.shape
    return record(result, "index_select", (input,), lambda grad, i: index_select_backward(grad, shape, dim, i),
                  saved=(index,))


def index_select_backward(grad, shape, dim, index):
    """index_select's chain rule, ``zeros(shape).index_add_(dim, index, grad)``: rows picked
    more than once add their gradients. Its own chain rule is index_select again."""
    positions = _index_array(index)
    values = grad._array().reshape(_replaced(shape or (1,), dim, len(positions)))
    result = placed(values, shape, _along(dim, positions), grad.dtype, accumulate=True, writes=1)
    source_shape = grad.shape
    return record(result, "index_add", (None, grad),
                  lambda grad: (None, expand(index_select(grad, dim, index), source_shape)))


def _replaced(shape, dim, size):
    return tuple(shape[:dim]) + (size,) + tuple(shape[dim + 1:]) if shape else ()


def _check_index_select_bounds(input, dim, positions, size):
    """torch's kernels word the error differently depending on the path they take."""
    if input.dim() > 1 and positions.size and input.numel() == 0 and size == 0:
        raise _errors.index_select_empty_axis()
    bad = (positions < 0) | (positions >= size)
    if not bad.any():
        return
    if input.dim() > 1 and (dim == 1 or input.numel() == 0):
        raise _errors.indices_out_of_data_bounds(int(positions[np.argmax(bad)]), size)
    raise _errors.index_out_of_range_in_self()


@tensor_method()
def gather(input, dim, index, *, sparse_grad=False, out=None):
    """``result[i][j] = input[i][index[i][j]]`` (for ``dim=1``): picks along ``dim`` by ``index``."""
    check_argument_devices("wrapper_CUDA_gather", input, ("index", index))
    dim = _layout.wrap_dim(dim, input.dim())
    shape = input.shape
    if index.numel() == 0:
        result = store(np.empty(index.shape, input.dtype.numpy_dtype), input.dtype, out, inputs=(input, index))
        return record(result, "gather", (input,), lambda grad, i: scattered(grad, shape, dim, i, accumulate=True),
                      saved=(index,))
    if index.dtype not in (_dtype.int64, _dtype.int32):
        raise _errors.gather_dtype()
    source = input._array().reshape(input.shape or (1,))
    positions = index._array().reshape(index.shape or (1,)).astype(np.int64)
    if source.ndim != positions.ndim:
        raise _errors.gather_ndim_mismatch()
    for d in range(source.ndim):
        if d != dim and positions.shape[d] > source.shape[d]:
            raise _errors.gather_size_mismatch(d, index.shape, input.shape, dim)
    size = source.shape[dim]
    bad = (positions < 0) | (positions >= size)
    if bad.any():
        raise _errors.gather_out_of_bounds(int(positions.reshape(-1)[np.argmax(bad)]), dim, size)
    cropped = source[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(positions.shape))]
    values = np.take_along_axis(cropped, positions, axis=dim).reshape(index.shape)
    return record(store(values, input.dtype, out, inputs=(input, index)), "gather", (input,),
                  lambda grad, i: scattered(grad, shape, dim, i, accumulate=True), saved=(index,))


def scattered(source, shape, dim, index, accumulate=False):
    """``zeros(shape).scatter_(dim, index, source)``, or ``scatter_add_`` with ``accumulate``:
    each value of ``source`` put back where gather along ``dim`` by ``index`` took it from.
    The chain rule of gather (adding), and of max over a dim, sort and topk (writing); its
    own chain rule is gather again. torch writes into its zeros in place: the version is
    1 (scatter_add_) or 2 (scatter_)."""
    positions = index._array().reshape(index.shape or (1,)).astype(np.int64)
    key = tuple(positions if d == dim else axis for d, axis in enumerate(np.indices(positions.shape, sparse=True)))
    values = source._array().reshape(positions.shape)
    result = placed(values, shape, key, source.dtype, accumulate, writes=1 if accumulate else 2)
    return record(result, "scatter_add" if accumulate else "scatter", (None, source),
                  lambda grad: (None, gather(grad, dim, index)))


@tensor_method()
def masked_select(input, mask):
    """A 1-D copy of the elements where ``mask`` (a bool tensor, broadcast) is True."""
    if mask.dtype is not _dtype.bool:
        raise _errors.masked_select_not_bool()
    shape = _layout.broadcast_shapes(mask.shape, input.shape)
    picked = np.broadcast_to(mask._array(), shape).copy()
    result = new_tensor(np.broadcast_to(input._array(), shape)[picked], input.dtype)
    # the gradient comes back in the broadcast shape; autograd sums it down to ours
    return record(result, "masked_select", (input,), lambda grad, m: _masked_scattered(grad, shape, m), saved=(mask,))


def _masked_scattered(source, shape, mask):
    """masked_select's chain rule, ``zeros(shape).masked_scatter_(mask, source)``: the
    selected values put back in order where ``mask`` is True. Its own chain rule is
    masked_select again."""
    picked = np.broadcast_to(mask._array(), shape)
    result = placed(source._array(), shape, np.nonzero(picked), source.dtype, writes=1)
    source_shape = source.shape
    return record(result, "masked_scatter", (None, source),
                  lambda grad: (None, masked_select(grad, mask).view(source_shape)))


@tensor_method()
def nonzero(input, *, as_tuple=False):
    """The positions of non-zero elements: an (n, ndim) int64 tensor, laid out column by
    column as torch's is (strides ``(1, n)``), or with ``as_tuple`` one index tensor per dim."""
    if as_tuple:
        return unbind(nonzero(input if input.dim() else unsqueeze(input, 0)), 1)
    array = input._array()
    columns = np.nonzero(array) if input.dim() else ()
    count = int(np.count_nonzero(array))
    buffer = np.concatenate(columns).astype(np.int64) if columns else np.empty(0, np.int64, like=array)
    storage = Storage(buffer.reshape(-1), _dtype.int64, device=input.device)
    # torch's CUDA kernel transposes a contiguous (ndim, count) buffer, so no match gives stride 1
    return Tensor._make(storage, (count, input.dim()), (1, max(count, 1) if input.is_cuda else count))


@tensor_method()
def argwhere(input):
    """``nonzero(input)``: one row per non-zero element, holding its position."""
    return nonzero(input)
