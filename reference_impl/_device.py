"""torch.device, and the default device factories use when ``device=`` is not given."""

from . import _errors


class device:
    """A device type plus optional index; prints as ``device(type='cpu')``, str() is ``cpu``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, number = type.partition(":")
            index = int(number)
        if type not in ("cpu", "cuda"):
            raise _errors.unknown_device_type(type)
        self.type = type
        self.index = index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")
CUDA0 = device("cuda", 0)
_default = CPU


def set_default_device(target):
    """Where factories put tensors when no ``device=`` is given (``None`` means the CPU)."""
    global _default
    _default = CPU if target is None else device(target)


def get_default_device():
    return _default if _default.type == "cpu" else resolve(_default)


def resolve(target):
    """The concrete device a tensor made for ``target`` lives on: ``None`` is the default
    device, and ``cuda`` means the current GPU, ``cuda:0``. Refuses a device we don't have."""
    if target is None:
        target = _default
    target = device(target) if not isinstance(target, device) else target
    if target.type == "cpu":
        return CPU
    from . import cuda

    if not cuda.is_available():
        raise _errors.no_cuda()
    index = 0 if target.index is None else target.index
    if index >= cuda.device_count():
        raise _errors.invalid_device_ordinal()
    return CUDA0
