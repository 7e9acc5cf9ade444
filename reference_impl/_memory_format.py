"""torch.memory_format: how ``clone``, ``contiguous`` and the ``*_like`` factories lay out
a new tensor. Only dense row-major (contiguous) and the input's own order (preserve)."""


class memory_format:
    """A layout choice; prints as ``torch.contiguous_format``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
