"""Deliberately broken variants of reference_impl ("mutants").

Each one breaks a single behaviour; the harness must report a divergence of the right
kind for it, which proves that kind of divergence can be seen at all.
"""

import contextlib

import reference_impl
from reference_impl import Tensor

_original_view = Tensor.view
_original_add_ = Tensor.add_


def _view_that_copies(self, *shape):
    return _original_view(self.clone(), *shape)


def _add_that_returns_a_new_tensor(self, other, *, alpha=1):
    return reference_impl.add(self, other, alpha=alpha)


# name -> (class, attribute, replacement)
MUTANTS = {
    "view-copies": (Tensor, "view", _view_that_copies),
    "add_-returns-new": (Tensor, "add_", _add_that_returns_a_new_tensor),
}


def apply(name):
    """Break reference_impl for the rest of this process."""
    owner, attribute, replacement = MUTANTS[name]
    setattr(owner, attribute, replacement)


@contextlib.contextmanager
def applied(name):
    """Break reference_impl inside the ``with`` block only."""
    owner, attribute, _ = MUTANTS[name]
    original = owner.__dict__[attribute]
    apply(name)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
