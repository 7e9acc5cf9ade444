"""Backends: importable torch-like modules that a case can run on."""

import importlib
import random
from dataclasses import dataclass

import numpy as np

EXPECTED = "torch"  # the ground truth every implementation is compared against
DEFAULT_IMPL = "reference_impl"


class BackendUnavailable(Exception):
    """The module for a backend cannot be imported here (e.g. torch in a torch-free env)."""


@dataclass(frozen=True)
class Backend:
    """A torch-like module, known by its import name."""

    name: str
    module: object

    @property
    def version(self):
        return str(getattr(self.module, "__version__", "unknown"))

    def seed(self, seed):
        """Seed every generator a case can reach: Python's, numpy's and the backend's."""
        random.seed(seed)
        np.random.seed(seed)
        manual_seed = getattr(self.module, "manual_seed", None)
        if manual_seed is not None:
            manual_seed(seed)

    def supports(self, device):
        """Whether tensors can be made on ``device`` ("cpu" always; "cuda" when usable)."""
        if device == "cpu":
            return True
        cuda = getattr(self.module, "cuda", None)
        return bool(cuda is not None and cuda.is_available())

    def is_tensor(self, value):
        return isinstance(value, self.module.Tensor)


def load_backend(name):
    """Import the backend module ``name``; raise BackendUnavailable with the reason."""
    try:
        return Backend(name, importlib.import_module(name))
    except ImportError as error:
        raise BackendUnavailable(f"backend {name!r} cannot be imported: {error}") from None
