"""Autograd through views, indexing and reductions: gradients of gradients.

The chain rules of views, indexing and reductions are written with the library's own ops,
so with ``create_graph=True`` a gradient has a graph of its own. Second derivatives are
checked numerically (Hessian-vector products against central differences of the gradient);
the nodes and versions of gradients against torch 2.13.0's (facts written in as expected
values).
"""

import numpy as np
import pytest

import reference_impl as torch

EPS, RTOL, ATOL = 1e-6, 1e-5, 1e-6


def leaf(values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def name(node):
    return type(node).__name__ if node is not None else None


def next_names(tensor):
    return [name(node) for node, _ in tensor.grad_fn.next_functions]


# -- second derivatives ------------------------------------------------------------------------------

def check_hessian_vector_product(function, values, seed=0):
    """The gradient of ``sum(w * function(x) ** 3)``, built with create_graph and differentiated
    again along a random ``u``, must match central differences of that gradient along ``u``."""
    rng = np.random.default_rng(seed)
    x = leaf(values)
    weights = torch.tensor(rng.standard_normal(tuple(function(x).shape)), dtype=torch.float64)
    direction = rng.standard_normal(tuple(x.shape))

    def gradient(point, create_graph=False):
        (g,) = torch.autograd.grad((weights * function(point) ** 3).sum(), point, create_graph=create_graph)
        return g

    g = gradient(x, create_graph=True)
    assert g.requires_grad, "the gradient has no graph of its own"
    (analytic,) = torch.autograd.grad((g * torch.tensor(direction)).sum(), x)
    plus = gradient(leaf(np.array(values) + EPS * direction)).numpy()
    minus = gradient(leaf(np.array(values) - EPS * direction)).numpy()
    np.testing.assert_allclose(analytic.numpy(), (plus - minus) / (2 * EPS), rtol=RTOL, atol=ATOL)


MATRIX = [[1.0, 2.5, 3.0], [0.5, -1.5, 2.0]]
WITH_ZEROS = [[1.0, 0.0, 2.0, 0.5], [3.0, 1.5, 0.0, 0.0]]

VIEWS = {
    "view": lambda x: x.view(6),
    "reshape_copy": lambda x: x.t().reshape(6),
    "flatten": lambda x: x.flatten(),
    "t": lambda x: x.t(),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.view(1, 2, 3).movedim(0, 2),
    "expand": lambda x: x.view(2, 1, 3).expand(4, 2, 2, 3),
    "squeeze": lambda x: x.view(2, 1, 3, 1).squeeze(),
    "squeeze_dim": lambda x: x.view(2, 1, 3).squeeze(1),
    "squeeze_dims": lambda x: x.view(1, 2, 3, 1).squeeze((0, 3)),
    "unsqueeze": lambda x: x.unsqueeze(-1),
    "select": lambda x: x[1],
    "select_negative": lambda x: x.select(-1, -1),
    "slice_step": lambda x: x[:, ::2],
    "narrow": lambda x: x.narrow(1, -2, 2),
    "alias": lambda x: x[...],
    "split": lambda x: x.split(2, 1)[0],
    "split_with_sizes": lambda x: x.split([1, 2], 1)[0],
    "chunk": lambda x: x.chunk(2, 1)[0],
    "unbind": lambda x: x.unbind(1)[0],
    "cat": lambda x: torch.cat([x, x * x, x[:1]]),
    "stack": lambda x: torch.stack([x, x * x], 1),
    "flip": lambda x: x.flip(1),
    "repeat": lambda x: x.repeat(2, 1, 2),
    "index_tensor": lambda x: x[torch.tensor([1, 1, 0])],
    "index_two_tensors": lambda x: x[torch.tensor([1, 0, 1]), torch.tensor([2, 2, 0])],
    "index_mixed": lambda x: x[1:, torch.tensor([0, 2, 0])],
    "index_mask": lambda x: x[torch.tensor([[True, False, True], [False, True, True]])],
    "index_select": lambda x: x.index_select(1, torch.tensor([2, 0, 2])),
    "gather": lambda x: x.gather(1, torch.tensor([[2, 2, 0], [1, 0, 1]])),
    "masked_select": lambda x: x[0].masked_select(torch.tensor([[True, False, True], [False, True, True]])),
}

REDUCTIONS = {
    "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(1),
    "sum_dims": lambda x: x.sum((0, 1)),
    "sum_keepdim": lambda x: x.sum(0, keepdim=True),
    "mean": lambda x: x.mean(),
    "mean_dim": lambda x: x.mean(-1),
    "prod": lambda x: x.prod(),
    "prod_dim": lambda x: x.prod(1),
    "prod_keepdim": lambda x: x.prod(0, keepdim=True),
    "max": lambda x: x.max(),
    "min": lambda x: x.min(),
    "max_dim": lambda x: x.max(1).values,
    "min_dim_keepdim": lambda x: x.min(0, keepdim=True).values,
    "amax": lambda x: x.amax(1),
    "amin_all": lambda x: x.amin(),
    "var": lambda x: x.var(),
    "var_dim": lambda x: x.var(1),
    "var_keepdim_correction_0": lambda x: x.var(0, keepdim=True, correction=0),
    "std": lambda x: x.std(),
    "std_dim": lambda x: x.std(0),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(1),
    "sort": lambda x: x.sort(1, descending=True).values,
    "topk": lambda x: x.topk(2).values,
}


@pytest.mark.parametrize("op", sorted(VIEWS))
def test_second_derivatives_through_views_and_indexing(op):
    check_hessian_vector_product(VIEWS[op], MATRIX)


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_second_derivatives_through_reductions(op):
    check_hessian_vector_product(REDUCTIONS[op], MATRIX)


@pytest.mark.parametrize("op", ["prod", "prod_dim", "cumprod"])
def test_second_derivatives_where_products_meet_zeros(op):
    function = {"prod": lambda x: x[:, :3].prod(), "prod_dim": lambda x: x.prod(1), "cumprod": lambda x: x.cumprod(1)}
    check_hessian_vector_product(function[op], WITH_ZEROS)


def test_second_derivative_through_an_index_assignment():
    def assigned(x):
        z = x * x
        z[torch.tensor([0, 1]), torch.tensor([2, 0])] = x[0, :2] * 3
        return z

    check_hessian_vector_product(assigned, MATRIX)


def test_second_derivative_through_in_place_view_ops():
    def reshaped(x):
        y = x * 2
        y.t_()
        y.unsqueeze_(0)
        return y

    check_hessian_vector_product(reshaped, MATRIX)


def test_third_derivative_of_a_selected_element():
    x = leaf([1.0, 2.0, 3.0])
    (g,) = torch.autograd.grad(x[1] ** 4, x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = torch.autograd.grad(h.sum(), x)
    assert (g.tolist(), h.tolist(), k.tolist()) == ([0.0, 32.0, 0.0], [0.0, 48.0, 0.0], [0.0, 48.0, 0.0])


# -- the nodes torch records for the gradients -------------------------------------------------------

# op: (the gradient's grad_fn, its next_functions, its version), as torch 2.13.0 gives them for
# the gradient of (op(x) ** 2).sum() with create_graph=True
GRADIENT_NODES = {
    "select": (lambda x: x[1], "SelectBackwardBackward0", ["MulBackward0"], 0),
    "slice": (lambda x: x[:, 1:], "SliceBackwardBackward0", ["MulBackward0"], 0),
    "t": (lambda x: x.t(), "TBackward0", ["MulBackward0"], 0),
    "unsqueeze": (lambda x: x.unsqueeze(1), "SqueezeBackward1", ["MulBackward0"], 0),
    "index": (lambda x: x[torch.tensor([1, 1])], "IndexPutImplBackward0", [None, "MulBackward0"], 1),
    "index_select": (lambda x: x.index_select(1, torch.tensor([0])), "IndexAddBackward0", [None, "MulBackward0"], 1),
    "gather": (lambda x: x.gather(1, torch.tensor([[0], [2]])), "ScatterAddBackward0", [None, "MulBackward0"], 1),
    "masked_select": (lambda x: x[x > 1], "IndexPutImplBackward0", [None, "MulBackward0"], 1),
    "masked_select_op": (lambda x: x.masked_select(x > 1), "MaskedScatterBackward0", [None, "MulBackward0"], 1),
    "split": (lambda x: x.split(2, 1)[0], "CatBackward0", ["MulBackward0", None], 0),
    "unbind": (lambda x: x.unbind(1)[0], "StackBackward0", ["MulBackward0", None, None], 0),
    "repeat": (lambda x: x.repeat(1, 2), "SumBackward1", ["ViewBackward0"], 0),
    "sum": (lambda x: x.sum(), "ExpandBackward0", ["MulBackward0"], 0),
    "sum_dim": (lambda x: x.sum(1), "ExpandBackward0", ["UnsqueezeBackward0"], 0),
    "mean": (lambda x: x.mean(), "DivBackward1", ["ExpandBackward0"], 0),
    "prod": (lambda x: x.prod(), "MulBackward0", ["MulBackward0", "DivBackward0"], 0),
    "max": (lambda x: x.max(), "MaskedFillBackward1", [None, "DivBackward0"], 1),
    "max_dim": (lambda x: x.max(1).values, "ScatterBackward0", [None, "UnsqueezeBackward0"], 2),
    "amax": (lambda x: x.amax(1), "MulBackward0", ["DivBackward0", None], 0),
    "var": (lambda x: x.var(), "MulBackward0", ["MulBackward1", "SubBackward0"], 0),
    "std_dim": (lambda x: x.std(1), "MulBackward0", ["MulBackward1", "SubBackward0"], 0),
    "cumsum": (lambda x: x.cumsum(1), "FlipBackward0", ["CumsumBackward0"], 0),
    "cumprod": (lambda x: x.cumprod(1), "DivBackward0", ["FlipBackward0", "AccumulateGrad"], 0),
    "sort": (lambda x: x.sort(1).values, "ScatterBackward0", [None, "MulBackward0"], 2),
}


@pytest.mark.parametrize("op", sorted(GRADIENT_NODES))
def test_gradients_record_torchs_nodes(op):
    function, node, following, version = GRADIENT_NODES[op]
    x = leaf(MATRIX)
    (g,) = torch.autograd.grad((function(x) ** 2).sum(), x, create_graph=True)
    assert (name(g.grad_fn), next_names(g), g._version) == (node, following, version)


def test_product_with_a_zero_takes_the_exclusive_cumprods():
    x = leaf([[1.0, 0.0], [2.0, 3.0]])
    (g,) = torch.autograd.grad(x.prod(), x, create_graph=True)
    assert name(g.grad_fn) == "ViewBackward0" and g.tolist() == [[0.0, 6.0], [0.0, 0.0]]
    x.prod().backward()  # two zeros or one, no graph: the same values
    assert x.grad.tolist() == [[0.0, 6.0], [0.0, 0.0]]


def test_two_zeros_give_zero_slopes_but_not_zero_curvature():
    x = leaf([[1.0, 0.0], [0.0, 3.0]])
    x.prod().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    (g,) = torch.autograd.grad(x.prod(), x, create_graph=True)
    (h,) = torch.autograd.grad(g[0, 1], x)
    assert g.tolist() == [[0.0, 0.0], [0.0, 0.0]] and h.tolist() == [[0.0, 0.0], [3.0, 0.0]]


def test_cumprod_with_zeros_is_exact_with_and_without_a_graph():
    values = [[1.0, 0.0, 2.0, 0.0, 3.0], [2.0, 3.0, 0.0, 4.0, 1.0]]
    x, y = leaf(values), leaf(values)
    x.cumprod(1).sum().backward()
    (graphed,) = torch.autograd.grad(y.cumprod(1).sum(), y, create_graph=True)
    expected = [[1.0, 3.0, 0.0, 0.0, 0.0], [4.0, 2.0, 54.0, 0.0, 0.0]]
    assert x.grad.tolist() == expected and graphed.tolist() == expected and graphed.requires_grad


def test_std_of_a_constant_slice_has_zero_gradient():
    x = leaf([[2.0, 2.0], [1.0, 3.0]])
    (g,) = torch.autograd.grad(x.std(1).sum(), x, create_graph=True)
    assert name(g.grad_fn) == "MulBackward0"
    np.testing.assert_allclose(g.detach().numpy(), [[0.0, 0.0], [-0.5 ** 0.5, 0.5 ** 0.5]])


def test_max_shares_the_gradient_among_ties():
    x = leaf([[1.0, 3.0, 3.0], [0.5, 2.0, 3.0]])
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 1 / 3, 1 / 3], [0.0, 0.0, 1 / 3]] and x.grad._version == 1


def test_alias_and_split_with_sizes_are_named_as_torch_names_them():
    x = leaf(MATRIX)
    assert name(x[...].grad_fn) == name(x[:, :].grad_fn) == "AliasBackward0"
    assert name(x.split([1, 2], 1)[0].grad_fn) == "SplitWithSizesBackward0"
    assert name(x.split(1, 1)[0].grad_fn) == name(x.chunk(3, 1)[0].grad_fn) == "SplitBackward0"


def test_cat_gives_a_skipped_empty_input_an_empty_gradient():
    x, empty = leaf([[1.0, 2.0]]), leaf([])
    (torch.cat([x, empty]) ** 2).sum().backward()
    assert empty.grad.shape == (0,) and x.grad.tolist() == [[2.0, 4.0]]


def test_in_place_view_ops_record_their_own_nodes():
    x = leaf([[[1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0]]])  # shape (2, 1, 3)
    ops = {"t_": lambda y: y[:, 0].t_(), "transpose_": lambda y: y.transpose_(0, 2), "squeeze_": lambda y: y.squeeze_(),
           "squeeze_ dim": lambda y: y.squeeze_(1), "squeeze_ dims": lambda y: y.squeeze_((1,)),
           "unsqueeze_": lambda y: y.unsqueeze_(0)}
    recorded = {}
    for op, apply in ops.items():
        y = x * 1
        result = apply(y)
        recorded[op] = (name(result.grad_fn), result._version)
        result.sum().backward()
    assert recorded == {"t_": ("TBackward1", 1), "transpose_": ("TransposeBackward1", 1),
                        "squeeze_": ("SqueezeBackward3", 1), "squeeze_ dim": ("SqueezeBackward4", 1),
                        "squeeze_ dims": ("SqueezeBackward5", 1), "unsqueeze_": ("UnsqueezeBackward1", 1)}
    assert x.grad.tolist() == [[[6.0] * 3], [[6.0] * 3]]


def test_in_place_view_op_on_a_view_leaves_the_base_alone():
    x = leaf(MATRIX)
    z = x * 2
    v = z[0]
    v.unsqueeze_(0)
    assert name(v.grad_fn) == "UnsqueezeBackward1" and next_names(v) == ["SelectBackward0"]
    assert name(z.grad_fn) == "MulBackward0"
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf(MATRIX).t_()


# -- assigning through index tensors -----------------------------------------------------------------

def test_index_assignment_into_a_non_leaf_records_index_put():
    x, v = leaf(MATRIX), leaf([10.0, 20.0])
    z = x * 2
    z[torch.tensor([0, 1]), torch.tensor([1, 2])] = v
    assert name(z.grad_fn) == "IndexPutBackward0" and next_names(z) == ["MulBackward0", "AccumulateGrad"]
    assert z._version == 1
    (z * z).sum().backward()
    assert x.grad.tolist() == [[8.0, 0.0, 24.0], [4.0, -12.0, 0.0]] and v.grad.tolist() == [20.0, 40.0]


def test_mask_assignment_of_a_number_is_index_put_too():
    x = leaf(MATRIX)
    z = x * 2
    z[z > 3] = 7.0
    assert name(z.grad_fn) == "IndexPutBackward0" and next_names(z) == ["MulBackward0", None]
    z.sum().backward()
    assert x.grad.tolist() == [[2.0, 0.0, 0.0], [2.0, 2.0, 0.0]]


def test_broadcast_value_gets_the_gradient_of_every_row_it_filled():
    x, row = leaf(MATRIX), leaf([[1.0, 2.0, 3.0]])
    z = x * 1
    z[torch.tensor([1, 0])] = row
    (z * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64)).sum().backward()
    assert row.grad.tolist() == [[5.0, 7.0, 9.0]] and x.grad.tolist() == [[0.0] * 3, [0.0] * 3]


def test_assigning_a_tracked_value_into_a_plain_tensor_tracks_it():
    x = leaf([[1.0, 2.0, 3.0]])
    w = torch.zeros(2, 3, dtype=torch.float64)
    w[torch.tensor([1])] = x
    assert w.requires_grad and name(w.grad_fn) == "IndexPutBackward0"
    assert next_names(w) == [None, "ViewBackward0"]  # the value, its leading 1 dropped by a view
    (w * w).sum().backward()
    assert x.grad.tolist() == [[2.0, 4.0, 6.0]]


def test_index_assignment_into_a_leaf_is_refused_unless_not_recording():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x[torch.tensor([0])] = 5.0
    with torch.no_grad():
        x[torch.tensor([0, 2])] = torch.tensor([5.0, 6.0], dtype=torch.float64)
    assert x.tolist() == [5.0, 2.0, 6.0] and x.is_leaf and x.grad_fn is None
