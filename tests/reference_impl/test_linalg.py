"""matmul and its relatives, trace and norms, checked without torch (facts about torch are spelled out)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch

batch_shapes = st.lists(st.integers(1, 3), max_size=2).map(tuple)


@settings(max_examples=60)
@given(batch_shapes, batch_shapes, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from([0, 1, 2]))
def test_matmul_broadcasts_batches_and_drops_vector_dims_like_numpy(batch1, batch2, n, m, p, vectors):
    left = (m,) if vectors == 1 else batch1 + (n, m)
    right = (m,) if vectors == 2 else batch2 + (m, p)
    a = np.arange(float(np.prod(left))).reshape(left)
    b = np.arange(float(np.prod(right))).reshape(right) - 2
    try:
        expected = np.matmul(a, b)
    except ValueError:
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            torch.tensor(a) @ torch.tensor(b)
        return
    result = torch.matmul(torch.tensor(a), torch.tensor(b))
    assert result.shape == expected.shape and result.dtype is torch.float64 and result.is_contiguous()
    np.testing.assert_array_equal(result.numpy(), expected)


def test_matmul_of_vectors_and_matrices():
    a = torch.arange(6.0).view(2, 3)
    b = torch.arange(6.0).view(3, 2)
    assert (a @ b).tolist() == [[10.0, 13.0], [28.0, 40.0]]
    v = torch.tensor([1.0, 0.0, -1.0])
    assert (a @ v).tolist() == [-2.0, -2.0] and (v @ v).shape == ()
    assert (torch.ones(2) @ a).tolist() == [3.0, 5.0, 7.0]
    assert (torch.ones(4, 1, 2, 3) @ torch.ones(5, 3, 2)).shape == (4, 5, 2, 2)
    assert (torch.ones(2, 0) @ torch.ones(0, 3)).tolist() == [[0.0] * 3] * 2
    ints = torch.tensor([[100, 100]], dtype=torch.uint8) @ torch.tensor([[2], [1]], dtype=torch.uint8)
    assert ints.dtype is torch.uint8 and ints.item() == 44  # 300 wraps around, as in torch


def test_matmul_operator_declines_what_is_not_a_tensor():
    a = torch.ones(2, 2)
    assert a.__matmul__(2) is NotImplemented and a.__rmatmul__([1, 2]) is NotImplemented
    with pytest.raises(TypeError, match="unsupported operand type"):
        a @ [1, 2]


@pytest.mark.parametrize(("left", "right", "message"), [
    ((), (2, 3), "both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    ((2, 3), (2, 3), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"),
    ((3,), (2, 3), r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 2x3\)"),
    ((2, 3), (2,), r"size mismatch, got input \(2\), mat \(2x3\), vec \(2\)"),
    ((3,), (2,), r"inconsistent tensor size, expected tensor \[3\] and src \[2\] to have the same number of "
                 r"elements, but got 3 and 2 elements respectively"),
    # a batch folded into one mm/mv, as torch does when that needs no copy
    ((4, 2, 3), (2, 2), r"mat1 and mat2 shapes cannot be multiplied \(8x3 and 2x2\)"),
    ((4, 2, 3), (2,), r"size mismatch, got input \(8\), mat \(8x3\), vec \(2\)"),
    ((3,), (4, 1, 5), r"size mismatch, got input \(20\), mat \(20x1\), vec \(3\)"),
    # otherwise a bmm over the broadcast batch
    ((2, 3), (4, 2, 5), r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but got: \[4, 2\]\."),
    ((3,), (4, 2, 3), r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but got: \[4, 2\]\."),
    ((4, 2, 3), (5, 3, 2), r"The size of tensor a \(4\) must match the size of tensor b \(5\) at non-singleton "
                           r"dimension 0"),
])
def test_matmul_reports_mismatches_in_the_words_of_the_kernel_torch_picks(left, right, message):
    with pytest.raises(RuntimeError, match=f"^{message}$"):
        torch.ones(*left) @ torch.ones(*right)


def test_dtype_mismatches_are_worded_per_kernel():
    a = torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="^expected m1 and m2 to have the same dtype, but got: float != long int$"):
        a @ torch.ones(3, 2, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="^addmv input tensors must have the same dtype, but got Double, Float, "
                                           "and Double$"):
        a @ torch.ones(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="^dot : expected both vectors to have same dtype, but found Float and "
                                           "Half$"):
        torch.dot(torch.ones(2), torch.ones(2, dtype=torch.float16))
    with pytest.raises(RuntimeError, match="^expected scalar type Float but found Double$"):
        torch.ones(4, 2, 3) @ torch.ones(4, 3, 2, dtype=torch.float64)
    with pytest.raises(NotImplementedError, match="^\"addmm_impl_cpu_\" not implemented for 'Bool'$"):
        torch.ones(1, 1, dtype=torch.bool) @ torch.ones(1, 1, dtype=torch.bool)


def test_mm_bmm_mv_check_their_ranks():
    with pytest.raises(RuntimeError, match="^self must be a matrix$"):
        torch.mm(torch.ones(3), torch.ones(3, 3))
    with pytest.raises(RuntimeError, match="^batch2 must be a 3D tensor$"):
        torch.bmm(torch.ones(2, 2, 3), torch.ones(3, 2))
    with pytest.raises(RuntimeError, match="^vector \\+ matrix @ vector expected, got 1, 2, 2$"):
        torch.mv(torch.ones(2, 3), torch.ones(3, 2))
    assert torch.bmm(torch.ones(2, 2, 3), torch.ones(2, 3, 4)).shape == (2, 2, 4)
    assert torch.ones(2, 3).mv(torch.ones(3)).tolist() == [3.0, 3.0]


def test_dot_outer_trace():
    u = torch.tensor([1.0, 2.0, 3.0])
    assert torch.dot(u, torch.tensor([4.0, 5.0, 6.0])).item() == 32.0
    with pytest.raises(RuntimeError, match="^1D tensors expected, but got 1D and 2D tensors$"):
        u.dot(torch.ones(3, 1))
    outer = torch.outer(torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([1, 2], dtype=torch.int8))
    assert outer.dtype is torch.int16 and outer.tolist() == [[1, 2], [2, 4]]  # promoted, as for *
    with pytest.raises(RuntimeError, match="^outer: Expected 1-D argument vec2, but got 2-D$"):
        u.ger(torch.ones(2, 2))
    rect = torch.arange(6).view(2, 3).trace()
    assert rect.item() == 4 and rect.dtype is torch.int64
    assert torch.ones(2, 2, dtype=torch.int32).trace().dtype is torch.int64
    with pytest.raises(RuntimeError, match="^trace: expected a matrix, but got tensor with dim 1$"):
        u.trace()


def test_norm_orders_and_dims():
    a = torch.arange(6.0).view(2, 3)
    assert a.norm().item() == pytest.approx(math.sqrt(55)) and a.norm("fro").item() == a.norm(2).item()
    assert a.norm(1, dim=0).tolist() == [3.0, 5.0, 7.0]
    assert a.norm(math.inf).item() == 5.0 and a.norm(-math.inf).item() == 0.0 and a.norm(0).item() == 5.0
    assert a.norm(dim=1, keepdim=True).shape == (2, 1)
    assert a.norm("nuc").item() == pytest.approx(np.linalg.svd(np.arange(6.0).reshape(2, 3))[1].sum(), rel=1e-6)
    assert torch.norm(a, dtype=torch.float64).dtype is torch.float64
    assert torch.tensor([1e-30, 1e-30]).norm().item() == 0.0  # squares underflow in float32, as in torch


def test_nuclear_norm_with_keepdim_has_torchs_permuted_strides():
    result = torch.ones(2, 3, 4, 5).norm("nuc", dim=(0, 2), keepdim=True)
    assert result.shape == (1, 3, 1, 5) and result.stride() == (1, 5, 1, 1)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: torch.arange(6).view(2, 3).norm(),
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.ones(2).norm(dtype=torch.float16),
     r"linalg.vector_norm: the dtype of the input \(Float\) should be convertible without narrowing to the "
     r"specified dtype \(Half\)"),
    (lambda: torch.zeros(0, 3).norm(math.inf),
     "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation does not have an "
     "identity"),
    (lambda: torch.zeros(0, 3).norm(-1, dim=-2),
     "linalg.vector_norm cannot compute the -1 norm on the dimension -2because this dimension is empty and the "
     "operation does not have an identity"),
    (lambda: torch.ones(3).norm("abc"), "linalg.matrix_norm: Order abc not supported."),
    (lambda: torch.ones(3).norm("nuc"), "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: torch.ones(2, 2, 2).norm("nuc"), "linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"),
    (lambda: torch.ones(2, 2).norm("nuc", dim=(0, -2)), r"linalg.matrix_norm: dims must be different. Got \(0, 0\)"),
])
def test_norm_errors(call, message):
    with pytest.raises(RuntimeError, match=f"^{message}$"):
        call()


def test_norm_method_refuses_numpy_keywords_as_torchs_does():
    with pytest.raises(TypeError, match=r"^Tensor\.norm\(\) got an unexpected keyword argument 'axis'$"):
        torch.ones(2).norm(axis=0)


# -- autograd ------------------------------------------------------------------------------------------

def node_names(tensor):
    node = tensor.grad_fn
    return type(node).__name__, [type(f).__name__ if f is not None else None for f, _ in node.next_functions]


def test_matmul_records_the_graph_of_the_kernel_torch_picks():
    a = torch.ones(2, 3, requires_grad=True)
    assert node_names(a @ torch.ones(3, 2)) == ("MmBackward0", ["AccumulateGrad", None])
    assert node_names(a @ torch.ones(3)) == ("MvBackward0", ["AccumulateGrad", None])
    assert node_names(torch.ones(4, 2, 3, requires_grad=True) @ torch.ones(3, 2)) == \
        ("UnsafeViewBackward0", ["MmBackward0"])
    # a matrix that requires grad times a batch: folded into one mm on the transposed batch
    folded = a @ torch.ones(4, 3, 2)
    assert node_names(folded) == ("CloneBackward0", ["TransposeBackward0"]) and folded.stride() == (4, 2, 1)
    assert node_names(torch.ones(4, 2, 3) @ torch.ones(4, 3, 2, requires_grad=True)) == \
        ("UnsafeViewBackward0", ["BmmBackward0"])
    row = torch.ones(2, requires_grad=True) @ torch.ones(2, 3)
    assert row._version == 1 and node_names(row)[1] == ["MmBackward0"]  # squeezed in place, as in torch


def test_matmul_gradients_are_row_and_column_sums():
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.tolist() == [[1.0, 1.0, 2.0], [1.0, 1.0, 2.0]]
    assert b.grad.tolist() == [[5.0, 5.0], [7.0, 7.0], [9.0, 9.0]]
    batch = torch.ones(2, 2, 3, requires_grad=True)
    (batch @ torch.arange(3.0)).sum().backward()
    assert batch.grad.tolist() == [[[0.0, 1.0, 2.0]] * 2] * 2


def test_dot_outer_trace_gradients_and_nodes():
    u = torch.tensor([1.0, 2.0], requires_grad=True)
    v = torch.tensor([3.0, 4.0], requires_grad=True)
    torch.dot(u, v).backward()
    assert u.grad.tolist() == [3.0, 4.0] and v.grad.tolist() == [1.0, 2.0]
    assert node_names(torch.outer(u, v)) == ("MulBackward0", ["ViewBackward0", "AccumulateGrad"])
    m = torch.ones(2, 3, requires_grad=True)
    m.trace().backward()
    assert m.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_norm_gradients():
    x = torch.tensor([[1.0, -3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.norm(math.inf).backward()
    assert x.grad.tolist() == [[0.0, -0.5, 0.5], [0.0, 0.0, 0.0]]  # shared among the tied maxima
    x.grad = None
    x.norm(1).backward()
    assert x.grad.tolist() == [[1.0, -1.0, 1.0], [1.0, 0.0, 1.0]]
    x.grad = None
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / math.sqrt(19), -3 / math.sqrt(19), 3 / math.sqrt(19)],
                                                [1 / math.sqrt(2), 0.0, 1 / math.sqrt(2)]], rtol=1e-6)
    assert type(x.norm().grad_fn).__name__ == "LinalgVectorNormBackward0"
    assert node_names(x.norm("nuc", keepdim=True)) == ("PermuteBackward0", ["UnsqueezeBackward0"])
