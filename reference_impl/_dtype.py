"""Tensor element types, their torch names, and torch's type-promotion rules."""

import builtins

import numpy as np

BOOL, INTEGRAL, FLOATING = 0, 1, 2  # promotion categories, lowest first


class dtype:
    """An element type. Instances are singletons that print like ``torch.float32``."""

    __slots__ = ("name", "scalar_name", "numpy_dtype", "category")

    def __init__(self, name, scalar_name, numpy_dtype, category):
        self.name = name
        self.scalar_name = scalar_name  # the name torch uses inside error messages
        self.numpy_dtype = np.dtype(numpy_dtype)
        self.category = category

    @property
    def itemsize(self):
        return self.numpy_dtype.itemsize

    @property
    def is_floating_point(self):
        return self.category == FLOATING

    @property
    def is_signed(self):
        return self.name not in ("uint8", "bool")

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # pickles as the module-level singleton of that name


float16 = dtype("float16", "Half", np.float16, FLOATING)
float32 = dtype("float32", "Float", np.float32, FLOATING)
float64 = dtype("float64", "Double", np.float64, FLOATING)
int8 = dtype("int8", "Char", np.int8, INTEGRAL)
int16 = dtype("int16", "Short", np.int16, INTEGRAL)
int32 = dtype("int32", "Int", np.int32, INTEGRAL)
int64 = dtype("int64", "Long", np.int64, INTEGRAL)
uint8 = dtype("uint8", "Byte", np.uint8, INTEGRAL)
bool = dtype("bool", "Bool", np.bool_, BOOL)  # shadows the builtin here, as torch.bool does

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)


_BY_NUMPY = {d.numpy_dtype: d for d in ALL}

_default_float = float32


def get_default_dtype():
    """The dtype that Python floats and float-only factories produce (float32 unless changed)."""
    return _default_float


def set_default_dtype(d):
    """Change the default floating dtype; torch only accepts floating types here."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


_PYTHON_TYPES = {float: "float64", int: "int64", builtins.bool: "bool"}


def resolve(value, op_name):
    """A ``dtype=`` argument as one of our dtypes (None stays None). Like torch, the Python
    types float, int and bool stand for float64, int64 and bool; anything else is refused."""
    if value is None or isinstance(value, dtype):
        return value
    if value in _PYTHON_TYPES:
        return globals()[_PYTHON_TYPES[value]]
    raise TypeError(f"{op_name}(): argument 'dtype' must be torch.dtype, not {type(value).__name__}")


def from_numpy_dtype(np_dtype):
    """Our dtype for a numpy dtype, or None when there is none."""
    return _BY_NUMPY.get(np.dtype(np_dtype))


def promote_types(a, b):
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to safely.

    Across categories the higher category wins outright (int64 + float16 -> float16,
    unlike numpy); within a category numpy's lattice matches torch's.
    """
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NUMPY[np.promote_types(a.numpy_dtype, b.numpy_dtype)]


def scalar_dtype(value):
    """The dtype torch gives a Python scalar that takes part in an operation."""
    if isinstance(value, (np.bool_, builtins.bool)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int64
    return _default_float


_SCALARS = (builtins.bool, int, float, complex, np.generic)  # an operand that is none of these is a tensor


def can_cast(src, dst):
    """torch.can_cast for results: no float->int, and nothing non-bool into bool."""
    if src.category > dst.category:
        return False
    return True


def result_type(*operands):
    """torch.result_type over tensors and Python scalars.

    Operands fall into three priority classes: tensors with dims, zero-dim tensors, and
    Python scalars. A lower-priority class only matters when it is of a higher category
    (bool < integral < floating) than everything above it.
    """
    tensors = [operand for operand in operands if not isinstance(operand, _SCALARS)]
    if not all(hasattr(tensor, "_storage") for tensor in tensors):
        got = ", ".join("Tensor" if hasattr(operand, "_storage") else type(operand).__name__ for operand in operands)
        raise TypeError(f"result_type() received an invalid combination of arguments - got ({got})")
    if len(tensors) == len(operands) and all(t.dtype is tensors[0].dtype for t in tensors):
        return tensors[0].dtype  # tensors of one dtype keep it, whatever their dims
    dim_result = zero_dim_result = scalar_result = None
    for operand in operands:
        if not isinstance(operand, _SCALARS):
            if operand.dim() > 0:
                dim_result = _promote_optional(dim_result, operand.dtype)
            else:
                zero_dim_result = _promote_optional(zero_dim_result, operand.dtype)
        else:
            scalar_result = _promote_optional(scalar_result, scalar_dtype(operand))
    return _combine_categories(dim_result, _combine_categories(zero_dim_result, scalar_result))


def _promote_optional(a, b):
    return b if a is None else promote_types(a, b)


def _combine_categories(higher, lower):
    """Merge two priority classes: ``lower`` only counts when its category is higher."""
    if higher is None:
        return lower
    if lower is None or higher.category >= lower.category:
        return higher
    if lower.category == FLOATING:
        return lower
    return promote_types(higher, lower)
