"""Probe the installed torch for the grad_fn of each differentiable operation: its class
name and the shape of its ``next_functions``.

    python tools/probe_grad_fn_names.py > reference_impl/grad_fn_names.json

torch's node names carry version suffixes (AddBackward0 vs AddBackward1 for a tensor or a
scalar operand) that change between releases, so reference_impl reads them from this data
instead of hard-coding them. Each key names an operation and the form of its operands.
"""

import json
import sys

import torch

x = torch.ones(2, 3, requires_grad=True)
y = torch.ones(2, 3, requires_grad=True)
v = torch.ones(3, requires_grad=True)
m = torch.ones(3, 3, requires_grad=True)
b = torch.ones(2, 3, 3, requires_grad=True)


def leaf(*shape):
    return torch.ones(*shape, requires_grad=True)


PROBES = {
    "add": lambda: x + y, "add_scalar": lambda: x + 2, "sub": lambda: x - y, "sub_scalar": lambda: x - 2,
    "rsub_scalar": lambda: 2 - x, "mul": lambda: x * y, "mul_scalar": lambda: x * 2, "div": lambda: x / y,
    "div_scalar": lambda: x / 2, "rdiv_scalar": lambda: 2 / x, "pow_scalar": lambda: x ** 2, "pow": lambda: x ** y,
    "rpow_scalar": lambda: 2 ** x, "neg": lambda: -x, "abs": lambda: x.abs(), "exp": lambda: x.exp(),
    "log": lambda: x.log(), "sqrt": lambda: x.sqrt(), "rsqrt": lambda: x.rsqrt(), "sin": lambda: x.sin(),
    "cos": lambda: x.cos(), "tan": lambda: x.tan(), "tanh": lambda: x.tanh(), "sigmoid": lambda: x.sigmoid(),
    "relu": lambda: x.relu(), "reciprocal": lambda: x.reciprocal(), "square": lambda: x.square(),
    "floor": lambda: x.floor(), "ceil": lambda: x.ceil(), "round": lambda: x.round(), "sign": lambda: x.sign(),
    "trunc": lambda: x.trunc(), "log2": lambda: x.log2(), "log10": lambda: x.log10(), "log1p": lambda: x.log1p(),
    "expm1": lambda: x.expm1(), "exp2": lambda: x.exp2(), "sinh": lambda: x.sinh(), "cosh": lambda: x.cosh(),
    "clamp_scalars": lambda: x.clamp(0, 1), "clamp_min_scalar": lambda: x.clamp(min=0),
    "clamp_max_scalar": lambda: x.clamp(max=0), "clamp_tensors": lambda: x.clamp(y, y),
    "where": lambda: torch.where(x > 0, x, y), "maximum": lambda: torch.maximum(x, y),
    "minimum": lambda: torch.minimum(x, y), "remainder_scalar": lambda: x % 2, "fmod_scalar": lambda: torch.fmod(x, 2),
    "remainder": lambda: x % y, "fmod": lambda: torch.fmod(x, y), "floor_divide": lambda: x // y,
    "sum": lambda: x.sum(), "sum_dim": lambda: x.sum(0), "mean": lambda: x.mean(), "mean_dim": lambda: x.mean(0),
    "prod": lambda: x.prod(), "prod_dim": lambda: x.prod(0), "max": lambda: x.max(), "max_dim": lambda: x.max(0)[0],
    "min": lambda: x.min(), "min_dim": lambda: x.min(0)[0], "amax": lambda: x.amax(0), "amin": lambda: x.amin(0),
    "std": lambda: x.std(), "std_dim": lambda: x.std(0), "var": lambda: x.var(), "var_dim": lambda: x.var(0),
    "cumsum": lambda: x.cumsum(0), "cumprod": lambda: x.cumprod(0), "norm": lambda: x.norm(),
    "norm_dim": lambda: x.norm(dim=0), "sort": lambda: x.sort()[0], "topk": lambda: x.topk(2)[0],
    "view": lambda: x.view(6), "reshape_view": lambda: x.reshape(6), "reshape_copy": lambda: x.t().reshape(6),
    "flatten": lambda: x.flatten(), "squeeze": lambda: leaf(2, 1).squeeze(),
    "squeeze_dim": lambda: leaf(2, 1).squeeze(1),
    "squeeze_dims": lambda: leaf(2, 1).squeeze((1,)), "unsqueeze": lambda: x.unsqueeze(0), "t": lambda: x.t(),
    "T": lambda: x.T, "mT": lambda: x.mT, "transpose": lambda: x.transpose(0, 1), "permute": lambda: x.permute(1, 0),
    "expand": lambda: v.expand(2, 3), "expand_as": lambda: v.expand_as(x), "narrow": lambda: x.narrow(1, 0, 2),
    "select": lambda: x[0], "slice": lambda: x[:, 1:], "index_tensor": lambda: x[torch.tensor([0, 1])],
    "index_mask": lambda: x[x > 0], "setitem": lambda: _setitem(), "clone": lambda: x.clone(),
    "contiguous": lambda: x.t().contiguous(), "split": lambda: x.split(1)[0], "chunk": lambda: x.chunk(2)[0],
    "unbind": lambda: x.unbind()[0], "cat": lambda: torch.cat([x, y]), "stack": lambda: torch.stack([x, y]),
    "index_select": lambda: x.index_select(0, torch.tensor([1])),
    "gather": lambda: x.gather(1, torch.tensor([[0], [1]])),
    "masked_select": lambda: x.masked_select(x > 0), "repeat": lambda: x.repeat(2, 1), "flip": lambda: x.flip(0),
    "mm": lambda: m.mm(m), "matmul_2d": lambda: m @ m, "matmul_1d": lambda: v @ v, "matmul_2d_1d": lambda: m @ v,
    "matmul_batched": lambda: b @ m, "mv": lambda: m.mv(v), "bmm": lambda: b.bmm(b), "dot": lambda: v.dot(v),
    "outer": lambda: torch.outer(v, v), "trace": lambda: m.trace(), "to_dtype": lambda: x.to(torch.float64),
    "double": lambda: x.double(), "add_": lambda: x.clone().add_(1), "mul_": lambda: x.clone().mul_(2),
    "sub_": lambda: x.clone().sub_(1), "div_": lambda: x.clone().div_(2), "pow_": lambda: x.clone().pow_(2),
    "exp_": lambda: x.clone().exp_(), "neg_": lambda: x.clone().neg_(), "fill_": lambda: x.clone().fill_(1),
    "fill_tensor_": lambda: x.clone().fill_(y.sum()),
    "zero_": lambda: x.clone().zero_(), "copy_": lambda: x.clone().copy_(y), "clamp_": lambda: x.clone().clamp_(0, 1),
    "relu_": lambda: x.clone().relu_(), "sigmoid_": lambda: x.clone().sigmoid_(), "tanh_": lambda: x.clone().tanh_(),
}

# Forms that views, indexing and the chain rules of reductions record.
PROBES.update({
    "alias": lambda: x[...], "split_with_sizes": lambda: x.split([1, 1])[0], "index_put_": lambda: _index_put_(),
    "index_put": lambda: x.index_put((torch.tensor([0]),), y[0]),
    "masked_fill_scalar": lambda: x.masked_fill(x > 0, 0.0),
    "masked_fill_tensor": lambda: x.masked_fill(x > 0, y.sum()),
    "scatter": lambda: x.scatter(1, torch.tensor([[0], [1]]), y),
    "scatter_add": lambda: x.scatter_add(1, torch.tensor([[0], [1]]), y),
    "index_add": lambda: x.index_add(0, torch.tensor([1]), y[:1]), "masked_scatter": lambda: x.masked_scatter(x > 0, y),
    "t_": lambda: x.clone().t_(), "transpose_": lambda: x.clone().transpose_(0, 1),
    "squeeze_": lambda: leaf(2, 1).clone().squeeze_(), "squeeze_dim_": lambda: leaf(2, 1).clone().squeeze_(1),
    "squeeze_dims_": lambda: leaf(2, 1).clone().squeeze_((1,)), "unsqueeze_": lambda: x.clone().unsqueeze_(0),
})

# Nodes that only torch's own chain rules record, keyed by what they compute there: each is
# the grad_fn of a gradient of the op's output, taken with create_graph.
FORMULA_PROBES = {
    "div_cpp_scalar": lambda: x.mean(),  # the gradient of a sum divided by a C++ Scalar count
    "select_backward": lambda: x[0], "slice_backward": lambda: x[:, 1:],
    "index_put_impl": lambda: x[torch.tensor([0, 1])],
}


def _scalar_mul_inside_a_formula():
    """The node of ``tensor * scalar`` in torch's own chain rules (its C++ Scalar overload)."""
    (gradient,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    return gradient.grad_fn.next_functions[1][0]


def _inside_a_formula(output):
    """The first node of the gradient's own graph, for a gradient flowing in that requires grad."""
    incoming = torch.ones_like(output, requires_grad=True)
    (gradient,) = torch.autograd.grad(output, x, incoming, create_graph=True)
    return gradient.grad_fn


def _index_put_():
    z = x.clone()
    z[torch.tensor([0])] = 5.0
    return z


def _view_written_in_place():
    """A view whose base was written through it: torch reads it back out of the base."""
    view = x.clone()[0]
    view.mul_(2)
    return view


def _setitem():
    z = x.clone()
    z[0] = 5
    return z


def describe(node):
    """A node's class name and, per input slot, the class name of what it feeds (or None)."""
    return {"name": type(node).__name__,
            "next": [None if fn is None else type(fn).__name__ for fn, _ in node.next_functions]}


def main():
    nodes = {op: describe(make().grad_fn) for op, make in PROBES.items()}
    nodes["mul_cpp_scalar"] = describe(_scalar_mul_inside_a_formula())
    nodes.update({op: describe(_inside_a_formula(make())) for op, make in FORMULA_PROBES.items()})
    nodes["view_after_in_place"] = describe(_view_written_in_place().grad_fn)
    json.dump({"torch": torch.__version__, "grad_fn": nodes}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
