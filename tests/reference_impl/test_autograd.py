"""The autograd engine, checked against hand-derived gradients and torch's rules."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as torch


def leaf(values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def test_document_chain_gives_four_and_a_half():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    z.backward(torch.ones(2, 2) / 4)  # the gradient of z.mean()
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    assert type(y.grad_fn).__name__ == "AddBackward0" and type(z.grad_fn).__name__ == "MulBackward0"
    assert x.is_leaf and not y.is_leaf and x.grad_fn is None


def test_next_functions_have_one_accumulator_per_leaf_and_none_for_scalars():
    x = torch.ones(2, requires_grad=True)
    first, second = (x * 2).grad_fn, (x + x).grad_fn
    assert [type(f).__name__ if f else None for f, _ in first.next_functions] == ["AccumulateGrad", None]
    assert first.next_functions[0][0] is second.next_functions[0][0]
    assert first.next_functions[0][0].variable is x


FUNCTIONS = {
    "exp": (lambda t: t.exp(), np.exp),
    "log": (lambda t: t.log(), lambda v: 1 / v),
    "sqrt": (lambda t: t.sqrt(), lambda v: 0.5 / np.sqrt(v)),
    "sin": (lambda t: t.sin(), np.cos),
    "tanh": (lambda t: t.tanh(), lambda v: 1 - np.tanh(v) ** 2),
    "sigmoid": (lambda t: t.sigmoid(), lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2),
    "reciprocal": (lambda t: t.reciprocal(), lambda v: -1 / v ** 2),
    "pow3": (lambda t: t ** 3, lambda v: 3 * v ** 2),
    "rdiv": (lambda t: 2 / t, lambda v: -2 / v ** 2),
    "rpow": (lambda t: 2 ** t, lambda v: np.log(2) * 2 ** v),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.1, 3.0), min_size=1, max_size=5))
def test_unary_chain_rules_match_their_derivatives(name, values):
    function, derivative = FUNCTIONS[name]
    x = leaf(values)
    function(x).backward(torch.ones(len(values), dtype=torch.float64))
    np.testing.assert_allclose(x.grad.numpy(), derivative(np.array(values)), rtol=1e-9)


def test_broadcast_gradients_are_summed_back_to_each_shape_and_cast_to_each_dtype():
    row = torch.ones(1, 3, requires_grad=True)
    column = torch.ones(2, 1, dtype=torch.float64, requires_grad=True)
    (row * column).backward(torch.ones(2, 3, dtype=torch.float64))
    assert row.grad.tolist() == [[2.0, 2.0, 2.0]] and row.grad.dtype is torch.float32
    assert column.grad.tolist() == [[3.0], [3.0]] and column.grad.dtype is torch.float64


def test_gradients_accumulate_until_zeroed():
    x = torch.ones(2, requires_grad=True)
    (x * 3).backward(torch.ones(2))
    (x * 3).backward(torch.ones(2))
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad.zero_()
    (x * 3).backward(torch.ones(2))
    assert x.grad.tolist() == [3.0, 3.0]


def test_graph_is_freed_unless_retained():
    x = torch.ones(2, requires_grad=True)
    y = x * x
    y.backward(torch.ones(2), retain_graph=True)
    y.backward(torch.ones(2))
    assert x.grad.tolist() == [4.0, 4.0]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward(torch.ones(2))
    z = x + 1  # saves nothing, so it may run twice
    z.backward(torch.ones(2))
    z.backward(torch.ones(2))


def test_modified_saved_tensor_is_detected():
    x = torch.ones(2, requires_grad=True)
    y = x.exp()
    z = y * 1
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of Exp, is at version 1;"
                                           " expected version 0 instead"):
        z.backward(torch.ones(2))


def test_backward_errors():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[3\]\)"):
        (x * 2).backward(torch.ones(3))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        torch.ones(1).backward()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        torch.ones(1, dtype=torch.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        x.numpy()


def test_no_grad_detach_and_data():
    x = torch.tensor(1.0, requires_grad=True)
    with torch.no_grad():
        y = x ** 3
        with torch.enable_grad():
            w = x * 2
    assert not y.requires_grad and y.grad_fn is None and w.requires_grad
    d = x.detach()
    assert d.data_ptr() == x.data_ptr() and not d.requires_grad
    assert x.data._version == 0
    x.data.add_(1)  # unseen by autograd: x's own counter does not move
    assert x._version == 0 and x.item() == 2.0


def test_in_place_ops_rebase_history():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    y.mul_(3)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.backward(torch.ones(2))
    assert x.grad.tolist() == [6.0, 6.0]


def test_hooks_and_retain_grad():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    handle = x.register_hook(lambda grad: grad * 10)
    (y * 3).backward(torch.ones(2))
    assert y.grad.tolist() == [3.0, 3.0] and x.grad.tolist() == [60.0, 60.0]
    handle.remove()
    x.grad = None
    (x * 1).backward(torch.ones(2))
    assert x.grad.tolist() == [1.0, 1.0]


def test_autograd_grad_returns_instead_of_accumulating_and_can_build_a_graph():
    x = torch.tensor([2.0], requires_grad=True)
    (first,) = torch.autograd.grad(x ** 3, x, torch.ones(1), create_graph=True)
    (second,) = torch.autograd.grad(first, x, torch.ones(1))
    assert first.tolist() == [12.0] and second.tolist() == [12.0] and x.grad is None
    unused = torch.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used"):
        torch.autograd.grad(x * 2, [x, unused], torch.ones(1))


def test_first_gradient_keeps_the_leafs_layout():
    base = torch.zeros(2, 3)
    transposed = torch.Tensor._make(base._storage, (3, 2), (1, 3)).requires_grad_()
    (transposed * 2).backward(torch.ones(3, 2))
    assert transposed.grad.stride() == (1, 3)


def test_out_refuses_recording():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="mul\\(\\): functions with out=... arguments don't support automatic"):
        torch.mul(x, 2, out=torch.zeros(2))


def test_printing_shows_grad_fn_or_requires_grad():
    x = torch.ones(2, requires_grad=True)
    assert repr(x) == "tensor([1., 1.], requires_grad=True)"
    assert repr(x + 1) == "tensor([2., 2.], grad_fn=<AddBackward0>)"
    assert repr(x.grad_fn) == "None" or x.grad_fn is None


def node_names(node):
    return type(node).__name__, [None if f is None else type(f).__name__ for f, _ in node.next_functions]


def test_writing_through_a_view_records_copy_slices_on_the_base():
    x = torch.ones(2, 3, requires_grad=True)
    t = torch.ones(3, requires_grad=True)
    z = x.clone()
    z[0] = t
    assert node_names(z.grad_fn) == ("CopySlices", ["CloneBackward0", "AccumulateGrad"])
    (z * torch.arange(6.0).view(2, 3)).sum().backward()
    assert x.grad.tolist() == [[0, 0, 0], [3, 4, 5]] and t.grad.tolist() == [0, 1, 2]


def test_other_views_of_a_written_base_are_read_back_out_of_it():
    x = torch.ones(4, requires_grad=True)
    y = x * 2
    whole = y.view(2, 2)
    y[:2].mul_(3)
    assert node_names(whole.grad_fn) == ("AsStridedBackward0", ["CopySlices"])
    whole.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 2.0, 2.0]


def test_in_place_on_a_view_of_a_leaf_is_refused():
    x = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used"):
        x[0].mul_(2)


def test_inference_mode_marks_tensors_and_records_nothing():
    x = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        inside = x * 2
        assert torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    assert inside.is_inference() and not inside.requires_grad
    assert not (x * 2).is_inference() and not torch.is_inference_mode_enabled()


def test_the_engine_is_iterative_for_long_chains():
    x = torch.ones(1, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward(torch.ones(1, dtype=torch.float64))
    assert abs(x.grad.item() - 1.0001 ** 10_000) < 1e-9
