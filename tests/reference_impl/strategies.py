"""Hypothesis strategies for shapes and strided (permuted, sliced) layouts."""

import numpy as np
from hypothesis import strategies as st

import reference_impl as rt
from harness.fuzz_programs import factorizations  # noqa: F401 (re-exported: one definition)

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


@st.composite
def strided_tensors(draw, shape_strategy=nonempty_shapes):
    """A float32 tensor whose layout is a permutation and optional step-slicing of a base."""
    shape = draw(shape_strategy)
    base = rt.arange(float(max(1, int(np.prod(shape, dtype=np.int64))))).view(*shape) if shape else rt.tensor(1.5)
    permutation = draw(st.permutations(range(len(shape))))
    tensor = _permute(base, permutation)
    if tensor.dim() and draw(st.booleans()):
        tensor = tensor[tuple(slice(None, None, draw(st.integers(1, 2))) for _ in range(tensor.dim()))]
    return tensor


def _permute(tensor, permutation):
    """A permuted view built from layout metadata (reference_impl has no permute() yet)."""
    shape = tuple(tensor.shape[d] for d in permutation)
    strides = tuple(tensor.stride()[d] for d in permutation)
    return rt.Tensor._make(tensor._storage, shape, strides, tensor.storage_offset())
