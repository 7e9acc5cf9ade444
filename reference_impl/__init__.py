"""reference_impl: a from-scratch tensor library that behaves like PyTorch.

Import it as ``import reference_impl as torch``. It never imports torch: CPU storage is a
flat numpy buffer, and every tensor is a (shape, strides, offset) view into one. Each
module below holds one area and lists its public names in ``__all__``.
"""

from . import autograd, cuda
from ._autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ._creation import *  # noqa: F403
from ._device import device, get_default_device, set_default_device
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
from ._elementwise import *  # noqa: F403
from ._errors import AcceleratorError
from ._linalg import *  # noqa: F403
from ._memory_format import contiguous_format, memory_format, preserve_format
from ._movement import *  # noqa: F403
from ._printing import set_printoptions
from ._random import *  # noqa: F403
from ._reduction import *  # noqa: F403
from ._size import Size
from ._tensor import Tensor

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64

__version__ = "0.1.0"
