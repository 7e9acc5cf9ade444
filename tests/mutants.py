"""Deliberately broken variants of reference_impl ("mutants").

Each one breaks a single behaviour. Run against the bundled suite, each must produce a
divergence of its own kind that the unbroken reference does not produce: proof that the
harness can see that kind of mistake.
"""

import contextlib

import numpy as np

import reference_impl
from reference_impl import _autograd, _dtype, _layout, _printing
from reference_impl._tensor import Tensor

_original = {
    "view": Tensor.view,
    "tensor_repr": _printing.tensor_repr,
    "from_numpy": reference_impl.from_numpy,
    "accumulate": _autograd._accumulate,
    "node_class": _autograd.node_class,
    "data": Tensor.data,
}


def _view_that_copies(self, *shape):
    return _original["view"](self.clone(), *shape)


def _add_that_returns_a_new_tensor(self, other, *, alpha=1):
    return reference_impl.add(self, other, alpha=alpha)


def _broadcast_without_stretching(a, b):
    if tuple(a) != tuple(b):
        raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b})")
    return tuple(a)


def _numpy_promotion(a, b):
    return _dtype.from_numpy_dtype(np.promote_types(a.numpy_dtype, b.numpy_dtype))


def _repr_without_dtype(tensor):
    return _original["tensor_repr"](tensor).replace(f", dtype={tensor.dtype!r}", "")


def _from_numpy_that_copies(array):
    return _original["from_numpy"](array.copy())


def _no_version_bump(self):
    pass


def _accumulate_by_overwriting(variable, gradient, owned, create_graph):
    variable._grad = None
    _original["accumulate"](variable, gradient, owned, create_graph)


def _no_grad_that_records(self):
    self._previous = _autograd._mode.enabled


def _misnamed_node_class(name):
    return _original["node_class"](name.replace("Backward", "Bwd"))


def _data_that_copies(self):
    return _original["data"].fget(self).clone()


# name -> (owner, attribute, replacement, the divergence kind it must cause)
MUTANTS = {
    "view-copies": (Tensor, "view", _view_that_copies, "sharing"),
    "add_-returns-new": (Tensor, "add_", _add_that_returns_a_new_tensor, "identity"),
    "broadcast-without-stretching": (_layout, "broadcast_shapes", _broadcast_without_stretching, "error"),
    "numpy-style-promotion": (_dtype, "promote_types", _numpy_promotion, "dtype"),
    "repr-without-dtype": (_printing, "tensor_repr", _repr_without_dtype, "output"),
    "from_numpy-copies": (reference_impl, "from_numpy", _from_numpy_that_copies, "sharing"),
    "version-not-bumped": (Tensor, "_bump_version", _no_version_bump, "version"),
    "grads-overwrite": (_autograd, "_accumulate", _accumulate_by_overwriting, "grad"),
    "no_grad-ignored": (_autograd.no_grad, "__enter__", _no_grad_that_records, "autograd"),
    "misnamed-grad_fn": (_autograd, "node_class", _misnamed_node_class, "grad_fn"),
    ".data-copies": (Tensor, "data", property(_data_that_copies), "value"),
}


def apply(name):
    """Break reference_impl for the rest of this process."""
    owner, attribute, replacement, _ = MUTANTS[name]
    setattr(owner, attribute, replacement)


@contextlib.contextmanager
def applied(name):
    """Break reference_impl inside the ``with`` block only."""
    owner, attribute, _, _ = MUTANTS[name]
    original = vars(owner)[attribute]
    apply(name)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
