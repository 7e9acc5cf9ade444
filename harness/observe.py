"""Observation: turn live values of one backend into plain, comparable, JSON-ready data.

Only torch's public API is used on tensors, so any torch-like module can be observed.
"""

import math
import re
import warnings

import numpy as np

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_TRIGGERED_INTERNALLY = re.compile(r" \(Triggered internally at [^)]*\)")


class ObjectId(int):
    """What ``id()`` returns inside a case: a real id, observed as an order-of-first-use token."""


def normalize_text(text):
    """Hide what differs from run to run: object addresses and torch's C++ source locations."""
    return _TRIGGERED_INTERNALLY.sub("", _ADDRESS.sub("0x…", text))


def encode_values(array):
    """Nested lists of a numpy array's values, ready for JSON: floats that JSON can't hold
    become 'nan', 'inf', '-inf'; anything but bools, ints and floats becomes its repr."""
    if array.dtype.kind == "f":
        return _encode_floats(array.astype(np.float64).tolist())
    if array.dtype.kind in "biu":
        return array.tolist()
    return np.vectorize(repr, otypes=[object])(array).tolist() if array.size else array.tolist()


def encode_tensor_values(tensor):
    """A tensor's values via ``tolist()``, encoded like encode_values.

    Not via ``numpy()``: exporting torch storage to numpy marks it non-resizable for good,
    which would change what later ``out=`` and ``resize_`` calls in the case do.
    """
    values = tensor.tolist()
    return _encode_floats(values) if tensor.dtype.is_floating_point else values


def _encode_floats(value):
    if isinstance(value, list):
        return [_encode_floats(item) for item in value]
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def decode_values(values, dtype_kind):
    """The inverse of encode_values, as a numpy array (float64 for floating data)."""
    if dtype_kind == "f":
        return np.array(_decode_floats(values), dtype=np.float64)
    return np.array(values)


def _decode_floats(value):
    if isinstance(value, list):
        return [_decode_floats(item) for item in value]
    return float(value)


def byte_range(address, shape, strides, itemsize):
    """[lowest, highest+1) byte addresses an array touches; None when it has no elements."""
    if any(size == 0 for size in shape):
        return None
    low = high = address
    for size, stride in zip(shape, strides):
        extent = (size - 1) * stride
        if extent < 0:
            low += extent
        else:
            high += extent
    return [low, high + itemsize]


MAX_OBSERVED_ELEMENTS = 100_000  # a case holding a bigger tensor, list or string is refused, not observed
MAX_OBSERVED_INT_BITS = 14_000  # about 4,200 digits: Python (and so JSON) writes no longer ints


class TooLarge(Exception):
    """A case created a tensor or array above the size cap."""


class Observer:
    """Observes values of one backend during one case run.

    It keeps every object passed to ``id()`` alive, so ids are never reused mid-case, and
    numbers them in order of first use so that two backends can be compared.
    """

    def __init__(self, backend):
        self.backend = backend
        self._id_tokens = {}
        self._id_holders = []

    def object_id(self, value):
        """The sandbox's ``id``: a real id whose object stays alive for the whole case."""
        self._id_holders.append(value)
        return ObjectId(id(value))

    def observe(self, value):
        """Plain data describing ``value``; never raises except TooLarge."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. torch warns when reading a non-leaf's .grad
                return self._observe(value)
        except TooLarge:
            raise
        except Exception as error:  # a broken implementation must not stop the harness
            return {"type": "unobservable", "error": f"{type(error).__name__}: {error}"}

    def _observe(self, value):
        if isinstance(value, ObjectId):
            token = self._id_tokens.setdefault(int(value), len(self._id_tokens) + 1)
            return {"type": "object_id", "token": token}
        if self.backend.is_tensor(value):
            return self._tensor(value)
        if isinstance(value, np.ndarray):
            return self._ndarray(value)
        if isinstance(value, (bool, int, float, str, type(None))):
            _check_scalar(value)
            return {"type": type(value).__name__, "value": _plain_scalar(value)}
        if isinstance(value, np.generic):
            return {"type": f"numpy.{type(value).__name__}", "value": _plain_scalar(value.item())}
        if self._is_public(value, "Size"):
            return {"type": "Size", "value": list(value)}
        if self._is_public(value, "dtype") or self._is_public(value, "device"):
            return {"type": type(value).__name__, "value": repr(value)}
        if hasattr(value, "next_functions"):
            return self._node(value)
        if isinstance(value, (list, tuple, dict)):
            _check_length(type(value).__name__, len(value))
        if isinstance(value, (list, tuple)):
            observed = {"type": "list" if isinstance(value, list) else "tuple",
                        "items": [self._observe(item) for item in value]}
            if type(value) not in (list, tuple):  # named tuples such as torch.return_types.max
                observed["class"] = type(value).__name__
            return observed
        if isinstance(value, dict):
            return {"type": "dict", "items": {str(k): self._observe(v) for k, v in value.items()}}
        return {"type": "object", "class": type(value).__name__}

    def _is_public(self, value, class_name):
        cls = getattr(self.backend.module, class_name, None)
        return isinstance(cls, type) and isinstance(value, cls)

    @staticmethod
    def _node(node):
        """An autograd node: its class name and the names of the nodes it feeds into."""
        if node is None:
            return None
        return {"type": "grad_fn", "name": type(node).__name__,
                "next": [None if fn is None else type(fn).__name__ for fn, _ in node.next_functions]}

    def _tensor(self, tensor):
        _check_size("tensor", tensor.shape, tensor.numel())
        requires_grad = _attempt(lambda: bool(tensor.requires_grad))
        readable = tensor.detach() if requires_grad is True else tensor
        if str(getattr(readable, "device", "cpu")) != "cpu":
            readable = readable.cpu()
        shape = list(tensor.shape)
        strides = list(tensor.stride())
        itemsize = tensor.element_size()
        is_leaf = _attempt(lambda: bool(tensor.is_leaf))
        observed = {
            "type": "tensor",
            "shape": shape,
            "dtype": repr(tensor.dtype),
            "device": _attempt(lambda: str(tensor.device)),
            "values": encode_tensor_values(readable),
            "stride": strides,
            "storage_offset": tensor.storage_offset(),
            "is_contiguous": _attempt(lambda: bool(tensor.is_contiguous())),
            "version": _attempt(lambda: int(tensor._version)),
            "requires_grad": requires_grad,
            "is_leaf": is_leaf,
            "grad_fn": _attempt(lambda: self._node(tensor.grad_fn)),
            "memory": byte_range(tensor.data_ptr(), shape, [s * itemsize for s in strides], itemsize),
        }
        if is_leaf is True or _attempt(lambda: bool(tensor.retains_grad)) is True:
            grad = _attempt(lambda: tensor.grad)
            observed["grad"] = grad if isinstance(grad, dict) or grad is None else self._tensor(grad)
        return observed

    @staticmethod
    def _ndarray(array):
        _check_size("array", array.shape, array.size)
        return {
            "type": "ndarray",
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "values": encode_values(array),
            "memory": byte_range(array.__array_interface__["data"][0], array.shape,
                                 array.strides, array.itemsize),
        }


def _check_size(what, shape, count):
    if count > MAX_OBSERVED_ELEMENTS:
        raise TooLarge(f"a {what} of shape {list(shape)} is above the cap of {MAX_OBSERVED_ELEMENTS} elements")


def _check_length(what, length):
    if length > MAX_OBSERVED_ELEMENTS:
        raise TooLarge(f"a {what} of length {length} is above the cap of {MAX_OBSERVED_ELEMENTS} items")


def _check_scalar(value):
    if isinstance(value, str):
        _check_length("str", len(value))
    elif isinstance(value, int) and value.bit_length() > MAX_OBSERVED_INT_BITS:
        raise TooLarge(f"an int of {value.bit_length()} bits is above the cap of {MAX_OBSERVED_INT_BITS} bits")


def _attempt(read):
    """The value ``read()`` gives, or a marker saying why the backend could not give it."""
    try:
        return read()
    except Exception as error:
        return {"unavailable": f"{type(error).__name__}: {error}"}


def _plain_scalar(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def memory_pairs(observations):
    """Sorted name pairs whose tensors or arrays overlap in memory, by real byte ranges."""
    ranged = sorted((name, obs["memory"]) for name, obs in observations.items()
                    if obs.get("memory") is not None)
    pairs = []
    for i, (name_a, (low_a, high_a)) in enumerate(ranged):
        for name_b, (low_b, high_b) in ranged[i + 1:]:
            if low_a < high_b and low_b < high_a:
                pairs.append([name_a, name_b])
    return pairs


def identity_pairs(namespace, names):
    """Sorted name pairs bound to the very same object (value types like ints excluded)."""
    by_id = {}
    for name in sorted(names):
        value = namespace[name]
        if isinstance(value, (bool, int, float, str, type(None))):
            continue
        by_id.setdefault(id(value), []).append(name)
    return [[group[i], other] for group in by_id.values()
            for i in range(len(group)) for other in group[i + 1:]]
