"""reference_impl: a from-scratch tensor library that behaves like PyTorch.

Import it as ``import reference_impl as torch``. It never imports torch: CPU storage is a
flat numpy buffer, and every tensor is a (shape, strides, offset) view into one.
"""

from ._creation import arange, empty, from_numpy, ones, tensor, zeros
from ._device import device
from ._dtype import (
    bool,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from ._printing import set_printoptions
from ._size import Size
from ._tensor import Tensor, add, sub

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64

__version__ = "0.1.0"

__all__ = [
    "Size", "Tensor", "add", "arange", "bool", "device", "double", "dtype", "empty", "float", "float16",
    "float32", "float64", "from_numpy", "get_default_dtype", "half", "int", "int16", "int32",
    "int64", "int8", "long", "ones", "promote_types", "result_type", "set_default_dtype", "set_printoptions", "short",
    "sub", "tensor", "uint8", "zeros",
]
