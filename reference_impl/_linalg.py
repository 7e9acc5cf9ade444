"""Linear algebra: matmul and its relatives, trace and norms.

The kernels (mm, bmm, mv, dot) check their operands as torch's do and multiply with numpy.
``matmul`` is composed from them as torch composes it: for the operands' ranks and layouts it
picks dot, mv, mm, one mm/mv over a batch folded into rows, or bmm over broadcast batches,
with the same views around them. So a mismatch is reported in that kernel's words, and
autograd records the graph torch records.
"""

import math

import numpy as np

from . import _autograd, _dtype, _errors, _layout
from ._autograd import is_recording_for, record
from ._elementwise import mul, where
from ._ops import check_argument_devices, new_tensor, quiet, store, tensor_method
from ._reduction import fold, record_weighted, reduced_shape, reduction_dims
from ._tensor import Tensor

__all__ = ["bmm", "dot", "ger", "matmul", "mm", "mv", "norm", "outer", "trace"]

# The C++ type names that torch's mm prints when dtypes differ.
_CPP_NAMES = {
    _dtype.float16: "c10::Half", _dtype.float32: "float", _dtype.float64: "double", _dtype.int8: "signed char",
    _dtype.int16: "short int", _dtype.int32: "int", _dtype.int64: "long int", _dtype.uint8: "unsigned char",
    _dtype.bool: "bool",
}


# -- each kernel's checks, on shapes and dtypes ----------------------------------------------------

def _check_mm(a, b):
    if a.dim() != 2:
        raise _errors.not_a_matrix("self")
    if b.dim() != 2:
        raise _errors.not_a_matrix("mat2")
    if a.shape[1] != b.shape[0]:
        raise _errors.mm_shape_mismatch(a.shape, b.shape)
    if a.dtype is not b.dtype:
        raise _errors.mm_dtype_mismatch(_CPP_NAMES[a.dtype], _CPP_NAMES[b.dtype])
    if a.dtype is _dtype.bool:
        raise _errors.not_implemented_for("addmm_impl_cpu_", a.dtype)


def _check_mv(mat, vec):
    if mat.dim() != 2 or vec.dim() != 1:
        raise _errors.mv_dims(mat.dim(), vec.dim())
    if mat.shape[1] != vec.shape[0]:
        raise _errors.mv_size_mismatch(mat.shape, vec.shape[0])
    if mat.dtype is not vec.dtype:
        raise _errors.addmv_dtype_mismatch(mat.dtype, vec.dtype)
    if mat.dtype is _dtype.bool:
        raise _errors.not_implemented_for("addmv_impl_cpu", mat.dtype)


def _check_bmm(a, b):
    """torch's checks, in its order; with an empty operand it returns (zeros) before the dtypes."""
    if a.dim() != 3:
        raise _errors.bmm_not_3d("batch1")
    if b.dim() != 3:
        raise _errors.bmm_not_3d("batch2")
    expected = (a.shape[0], a.shape[2])
    if tuple(b.shape[:2]) != expected:
        raise _errors.bmm_size_mismatch(expected, b.shape[:2])
    if a.numel() == 0 or b.numel() == 0:
        return
    if a.dtype is not b.dtype:
        raise _errors.scalar_type_mismatch(a.dtype, b.dtype)
    if a.dtype is _dtype.bool:
        raise _errors.not_implemented_for("bmm", a.dtype)


def _check_dot(a, b):
    if a.dim() != 1 or b.dim() != 1:
        raise _errors.dot_not_1d(a.dim(), b.dim())
    if a.dtype is not b.dtype:
        raise _errors.dot_dtype_mismatch(a.dtype, b.dtype)
    if a.shape[0] != b.shape[0]:
        raise _errors.dot_size_mismatch(a.shape[0], b.shape[0])
    if a.dtype is _dtype.bool:
        raise _errors.not_implemented_for("dot", a.dtype)


def _product(a, b):
    """numpy's matmul of two checked operands; float16 multiplies in float32 as torch's CPU kernels do."""
    compute = np.float32 if a.dtype is _dtype.float16 else a.dtype.numpy_dtype
    with quiet():
        values = np.matmul(a._array().astype(compute, copy=False), b._array().astype(compute, copy=False))
    return new_tensor(values, a.dtype)


# -- the kernels ----------------------------------------------------------------------------------

@tensor_method()
def mm(input, mat2):
    """The product of two matrices of the same dtype."""
    check_argument_devices("wrapper_CUDA_mm", input, ("mat2", mat2))
    _check_mm(input, mat2)
    return record(_product(input, mat2), "mm", (input, mat2),
                  lambda grad, a, b: (_mm_gradient(grad, b.t(), a), _mm_gradient(a.t(), grad, b)), saved=(input, mat2))


def _mm_gradient(left, right, operand):
    """``left @ right``, the gradient for ``operand``: torch computes it transposed, as
    ``(right^T @ left^T)^T``, when the operand is column-major, so the gradient is too."""
    if operand.stride() == (1, operand.shape[0]):
        return right.t().mm(left.t()).t()
    return left.mm(right)


@tensor_method()
def bmm(input, mat2):
    """Matrix products of two equally long batches (3-D tensors) of matrices, without broadcasting."""
    check_argument_devices("wrapper_CUDA_bmm", input, ("mat2", mat2))
    _check_bmm(input, mat2)
    if input.dtype is not mat2.dtype:  # an empty operand: zeros, in mat2's dtype (torch's bmm meta)
        product = new_tensor(np.zeros((input.shape[0], input.shape[1], mat2.shape[2]), mat2.dtype.numpy_dtype),
                             mat2.dtype)
    else:
        product = _product(input, mat2)
    return record(product, "bmm", (input, mat2),
                  lambda grad, a, b: (grad.bmm(b.mT), a.mT.bmm(grad)), saved=(input, mat2))


@tensor_method()
def mv(input, vec):
    """A matrix times a vector."""
    check_argument_devices("wrapper_CUDA_addmv_", vec, ("mat", input))  # torch names the matrix
    _check_mv(input, vec)
    return record(_product(input, vec), "mv", (input, vec),
                  lambda grad, a, b: (outer(grad, b), a.t().mv(grad)), saved=(input, vec))


@tensor_method()
def dot(input, tensor):
    """The dot product of two 1-D tensors of one dtype and length (a 0-dim tensor)."""
    check_argument_devices("wrapper_CUDA__dot", input, ("tensor", tensor))
    _check_dot(input, tensor)
    return record(_product(input, tensor), "dot", (input, tensor),
                  lambda grad, a, b: (grad * b, grad * a), saved=(input, tensor))


# -- matmul: the kernel torch picks for the operands' ranks and layouts -------------------------------

@tensor_method()
def matmul(input, other):
    """The matrix product, with torch's rules: vector·vector is a dot product, a vector on the
    left (right) is a row (column) that is dropped from the result, and leading dims are
    batch dims that broadcast."""
    ndim1, ndim2 = input.dim(), other.dim()
    if ndim1 == 0 or ndim2 == 0:
        raise _errors.matmul_needs_1d(ndim1, ndim2)
    if ndim1 == 1 and ndim2 == 1:
        return dot(input, other)
    if ndim1 == 2 and ndim2 == 1:
        return mv(input, other)
    if ndim1 == 1 and ndim2 == 2:
        return _vector_times_matrix(input, other)
    if ndim1 == 2 and ndim2 == 2:
        return mm(input, other)
    folding = _should_fold(input, other)
    check_argument_devices("wrapper_CUDA_mm" if folding else "wrapper_CUDA_bmm", input, ("mat2", other))
    return _folded_product(input, other) if folding else _batched_product(input, other)


def _vector_times_matrix(vector, matrix):
    """torch multiplies a one-row matrix and squeezes the row away in place (so the result's
    version is 1)."""
    row = mm(vector.unsqueeze(0), matrix)
    recording = is_recording_for(row)
    history = _autograd.history_snapshot(row) if recording else None
    row.squeeze_(0)
    if recording:
        _autograd.take_history(row, history.squeeze(0))
    return row


def _should_fold(input, other):
    """torch's choice to run one mm/mv with the batch dims of the larger operand folded into its
    rows, instead of bmm: when the other operand is a vector or matrix and either requires grad
    (sparing the backward a batch-sized gradient) or folding copies nothing."""
    if input.dim() >= other.dim():
        shape, strides, smaller = input.shape, input.stride(), other
    else:  # torch folds the transpose of the larger, right-hand operand
        shape = other.shape[:-2] + (other.shape[-1], other.shape[-2])
        strides = other.stride()[:-2] + (other.stride()[-1], other.stride()[-2])
        smaller = input
    if len(shape) < 3 or smaller.dim() > 2:
        return False
    if smaller.requires_grad:
        return True
    if input.dim() == 2:
        return False
    if _layout.numel(shape) == 0:
        return True
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _folded_product(input, other):
    """One mm (or mv) of the larger operand's batch folded into rows; a larger right-hand
    operand is transposed first, and the result transposed back."""
    transpose = other.dim() > input.dim()
    larger = other.mT if transpose else input
    smaller = (input.t() if input.dim() == 2 else input) if transpose else other
    rows = tuple(larger.shape[:-1])
    folded = larger.reshape(_layout.numel(rows), larger.shape[-1])
    if smaller.dim() == 1:
        return _unsafe_view(mv(folded, smaller), rows)
    output = _unsafe_view(mm(folded, smaller), rows + (smaller.shape[1],))
    return output.mT.contiguous() if transpose else output


def _batched_product(input, other):
    """bmm over the broadcast batch dims, each operand expanded and flattened to one batch dim."""
    ndim1, ndim2 = input.dim(), other.dim()
    batch1, batch2 = tuple(input.shape[:-2]), tuple(other.shape[:-2])
    if ndim1 == 3 and ndim2 == 3 and batch1[0] != batch2[0]:
        # as in _should_fold: a batch of one that requires grad is dropped, not expanded
        if batch1[0] == 1 and input.requires_grad:
            return matmul(input.squeeze(0), other)
        if batch2[0] == 1 and other.requires_grad:
            return matmul(input, other.squeeze(0))
    rows = input.shape[-2] if ndim1 > 1 else 1
    inner = other.shape[-2] if ndim2 > 1 else other.shape[0]
    columns = other.shape[-1] if ndim2 > 1 else 1
    batch = _layout.broadcast_shapes(batch1, batch2)
    count = _layout.numel(batch)
    left = input.expand(batch + (rows, input.shape[-1])).reshape(count, rows, input.shape[-1])
    if ndim2 == 1:
        right = other.expand(batch + (inner,)).reshape(count, inner).unsqueeze(2)
        product = bmm(left, right).squeeze(-1)
    else:
        product = bmm(left, other.expand(batch + (inner, columns)).reshape(count, inner, columns))
    return _unsafe_view(product, batch + ((rows,) if ndim1 > 1 else ()) + ((columns,) if ndim2 > 1 else ()))


def _unsafe_view(tensor, shape):
    """torch's _unsafe_view: a fresh product under its final shape, recorded as its own node
    (UnsafeViewBackward0) rather than as a view."""
    before = tensor.shape
    result = Tensor._make(tensor._storage, shape, _layout.contiguous_strides(shape), tensor.storage_offset())
    return record(result, "matmul_batched", (tensor,), lambda grad: grad.reshape(before))


def _matmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(self, other)


def _reflected_matmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(other, self)


setattr(Tensor, "__matmul__", _matmul_operator)
setattr(Tensor, "__rmatmul__", _reflected_matmul_operator)


@tensor_method("outer", "ger")
def outer(input, vec2):
    """Every product ``input[i] * vec2[j]``: torch computes it as ``input`` viewed as a column times
    ``vec2``, so types promote as for ``*`` and autograd sees a MulBackward0."""
    for name, vector in (("self", input), ("vec2", vec2)):
        if vector.dim() != 1:
            raise _errors.outer_not_1d(name, vector.dim())
    return mul(input.view(-1, 1), vec2)


ger = outer


@tensor_method()
def trace(input):
    """The sum of a matrix's main diagonal; integers sum to int64, as with ``sum``."""
    if input.dim() != 2:
        raise _errors.trace_not_matrix(input.dim())
    if input.dtype is _dtype.bool:
        raise _errors.not_implemented_for("trace", input.dtype)
    dtype = input.dtype if input.dtype.is_floating_point else _dtype.int64
    accumulator = np.float32 if dtype is _dtype.float16 else dtype.numpy_dtype
    diagonal = np.eye(*input.shape)
    return record(new_tensor(np.trace(input._array(), dtype=accumulator), dtype), "trace", (input,),
                  lambda grad: _diagonal_gradient(grad, diagonal))


def _diagonal_gradient(grad, diagonal):
    """trace's chain rule: ``grad`` on the diagonal (torch zero-fills and writes it in place:
    version 2)."""
    gradient = grad * new_tensor(diagonal, grad.dtype)
    gradient._bump_version()
    gradient._bump_version()
    return gradient


# -- norms --------------------------------------------------------------------------------------------

def _check_norm_dtype(op_name, input, dtype):
    if not input.dtype.is_floating_point:
        raise _errors.norm_input_not_floating(op_name, input.dtype)
    if dtype is not None:
        if not dtype.is_floating_point:
            raise _errors.norm_dtype_not_floating(op_name, dtype)
        if _dtype.promote_types(input.dtype, dtype) is not dtype:
            raise _errors.norm_dtype_narrowing(op_name, input.dtype, dtype)


def _vector_norm(input, ord, dim, keepdim, dtype):
    """torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over ``dim``, with inf/-inf the largest/
    smallest |x| and 0 the count of nonzeros, computed in the result dtype (float16 in float32)."""
    _check_norm_dtype("linalg.vector_norm", input, dtype)
    ord = float(ord)
    if input.numel() == 0 and (ord < 0 or math.isinf(ord)):  # no identity to return for nothing
        if dim is None:
            raise _errors.norm_of_empty(f"{ord:g}")
        for d in (dim,) if isinstance(dim, int) else dim:
            if input.shape[_layout.wrap_dim(d, input.dim())] == 0:
                raise _errors.norm_of_empty(f"{ord:g}", d)
    dtype = dtype or input.dtype
    dims = reduction_dims(input, dim)
    compute = np.dtype(np.float32) if dtype is _dtype.float16 else dtype.numpy_dtype
    magnitudes = np.abs(fold(input._array().astype(compute), dims))
    with quiet():
        if ord == math.inf:
            values = np.max(magnitudes, axis=-1)
        elif ord == -math.inf:
            values = np.min(magnitudes, axis=-1)
        elif ord == 0:
            values = np.count_nonzero(magnitudes, axis=-1)
        elif ord == 1:
            values = np.add.reduce(magnitudes, axis=-1)
        elif ord == 2:
            values = np.sqrt(np.add.reduce(magnitudes * magnitudes, axis=-1))
        else:
            values = np.power(np.add.reduce(np.power(magnitudes, compute.type(ord)), axis=-1), compute.type(1 / ord))
    result = new_tensor(np.reshape(values, reduced_shape(input.shape, dims, keepdim)), dtype)
    op = "norm" if dim is None else "norm_dim"
    if ord == 0:  # a count: torch's backward gives no gradient
        return record(result, op, (input,), lambda grad: None)
    named = dims if dim is not None else ()
    return record(result, op, (input,), lambda grad, x, value: _norm_backward(grad, x, value, ord, named, keepdim),
                  saved=(input, result))


def _norm_backward(grad, x, norm, ord, dims, keepdim):
    """torch's norm_backward, in tensor ops so that it is recorded too (second derivatives).
    It defines the gradient at zeros (0 where the norm is 0) and at ties: the inf norms share
    it evenly among the elements that reach the extreme. ``dims`` are the named dims (none
    when every dim was reduced by default: then grad and norm are 0-dim and broadcast)."""
    if not keepdim and x.dim() != 0:
        for d in sorted(dims):
            grad, norm = grad.unsqueeze(d), norm.unsqueeze(d)
    if ord == 1:
        return x.sign() * grad
    if ord == 2:
        return grad * where(norm == 0, 0.0, x / norm)
    if math.isinf(ord):
        magnitude = x.abs()
        hit = (magnitude == norm) | magnitude.isnan()
        return x.sign() * ((grad / hit.sum(dims, keepdim=True)) * hit)
    if ord < 1:
        return x.sign() * where(x == 0, 0.0, x.abs() ** (ord - 1)) * grad * norm ** (1 - ord)
    scaled = x.sign() * x.abs() ** (ord - 1) if ord < 2 else x * x.abs() ** (ord - 2)
    return scaled * where(norm == 0, 0.0, grad / norm ** (ord - 1))


def _matrix_norm(input, ord, dims, keepdim, dtype):
    """torch.linalg.matrix_norm for the orders torch.norm sends it: the nuclear norm (the sum of the
    singular values) of the matrices spanning ``dims``; anything else only reaches its errors."""
    if ord not in ("fro", "nuc"):
        raise _errors.matrix_norm_order(ord)
    if input.dim() < 2:
        raise _errors.matrix_norm_needs_matrix()
    if not input.dtype.is_floating_point:
        raise _errors.norm_input_not_floating("linalg.matrix_norm", input.dtype)
    if ord == "nuc" and input.dtype is _dtype.float16:
        raise _errors.matrix_norm_low_precision(input.dtype)
    if len(dims) != 2:
        raise _errors.matrix_norm_dim_pair(dims)
    rows, columns = (_layout.wrap_dim(d, input.dim()) for d in dims)
    if rows == columns:
        raise _errors.matrix_norm_same_dims(rows, columns)
    _check_norm_dtype("linalg.matrix_norm", input, dtype)
    dtype = dtype or input.dtype
    order = [d for d in range(input.dim()) if d not in (rows, columns)] + [rows, columns]
    matrices = np.transpose(input._array().astype(dtype.numpy_dtype), order)
    # torch records it as a sum of singular values (SumBackward1); d nuc / dA = U V^T
    result = record_weighted(new_tensor(np.linalg.svd(matrices, compute_uv=False).sum(axis=-1), dtype), "sum_dim",
                             input, (rows, columns), False,
                             lambda x: np.transpose(_orthogonal_factor(np.transpose(x._array(), order)),
                                                    np.argsort(order)), saved=(input,))
    if keepdim:  # torch appends two size-1 dims and permutes them back into place
        result = result.unsqueeze(-1).unsqueeze(-1).permute([order.index(d) for d in range(input.dim())])
    return result


def _orthogonal_factor(matrices):
    """U V^T from the singular value decomposition U S V^T of each matrix."""
    u, _, vh = np.linalg.svd(matrices, full_matrices=False)
    return u @ vh


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: the vector norm of order ``p`` (2 for 'fro', the default) over ``dim`` (an int
    or tuple; every element by default), or for ``p='nuc'`` the nuclear norm of matrices."""
    if isinstance(p, Tensor):
        p = p.item()
    if not isinstance(p, str):
        result = _vector_norm(input, 2 if p is None else p, dim, keepdim, dtype)
    elif p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
        result = _vector_norm(input, 2, dim, keepdim, dtype)
    else:
        dims = tuple(range(input.dim())) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
        result = _matrix_norm(input, p, dims, keepdim, dtype)
    return result if out is None else store(result._array(), result.dtype, out, inputs=(input,))


@tensor_method("norm")
def _norm_method(self, p="fro", dim=None, keepdim=False, dtype=None):
    return norm(self, p, dim, keepdim, dtype=dtype)


_norm_method.__qualname__ = "Tensor.norm"  # Python names it so in argument errors, as for torch's method
