"""Every error message reference_impl raises, worded exactly as torch words it.

The harness compares messages with torch's, so they live in one place.
"""


def invalid_view_shape(shape, numel):
    return RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def multiple_inferred_dims():
    return RuntimeError("only one dimension can be inferred")


def view_stride_incompatible():
    return RuntimeError(
        "view size is not compatible with input tensor's size and stride (at least one"
        " dimension spans across two contiguous subspaces). Use .reshape(...) instead."
    )


def index_out_of_bounds(index, dim, size):
    return IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")


def too_many_indices(ndim):
    return IndexError(f"too many indices for tensor of dimension {ndim}")


def cannot_cast_result(result_dtype, out_dtype):
    return RuntimeError(
        f"result type {result_dtype.scalar_name} can't be cast to the desired output type"
        f" {out_dtype.scalar_name}"
    )


def broadcast_mismatch(size_a, size_b, dim):
    return RuntimeError(
        f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b})"
        f" at non-singleton dimension {dim}"
    )


def negative_numpy_strides():
    return ValueError(
        "At least one stride in the given numpy array is negative, and tensors with negative"
        " strides are not currently supported. (You can probably work around this by making"
        " a copy of your array  with array.copy().) "
    )


def unaligned_numpy_strides():
    return ValueError(
        "given numpy array strides not a multiple of the element byte size. Copy the numpy"
        " array to reallocate the memory."
    )


def unsupported_numpy_dtype(type_name):
    return TypeError(
        f"can't convert np.ndarray of type numpy.{type_name}. The only supported types are:"
        " float64, float32, float16, complex64, complex128, int64, int32, int16, int8,"
        " uint64, uint32, uint16, uint8, and bool."
    )


def dtype_not_implemented(type_name):
    return TypeError(f"reference_impl has no dtype for numpy.{type_name} yet")


def ragged_sequence(expected, dim, got):
    return ValueError(f"expected sequence of length {expected} at dim {dim} (got {got})")


def arange_zero_step():
    return RuntimeError("step must be nonzero")


def arange_bad_bounds():
    return RuntimeError("upper bound and lower bound inconsistent with step sign")


def negative_dimension(op_name):
    return RuntimeError(f"{op_name}: Dimension size must be non-negative.")


def invalid_shape_dimension(size, index, shape):
    return RuntimeError(f"invalid shape dimension {size} at index {index} of shape {list(shape)}")


def expand_mismatch(target_size, existing_size, dim, target_shape, tensor_shape):
    return RuntimeError(
        f"The expanded size of the tensor ({target_size}) must match the existing size"
        f" ({existing_size}) at non-singleton dimension {dim}.  Target sizes:"
        f" {list(target_shape)}.  Tensor sizes: {list(tensor_shape)}"
    )


def inplace_shape_mismatch(out_shape, broadcast_shape):
    return RuntimeError(
        f"output with shape {list(out_shape)} doesn't match the broadcast shape"
        f" {list(broadcast_shape)}"
    )


def out_resized_warning(old_shape, new_shape):
    return (
        f"An output with one or more elements was resized since it had shape {list(old_shape)},"
        f" which does not match the required output shape {list(new_shape)}. This behavior is"
        " deprecated, and in a future PyTorch release outputs will not be resized unless they"
        " have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace,"
        " to zero elements with t.resize_(0)."
    )


def negative_slice_step():
    return ValueError("step must be greater than zero")


def invalid_index_type(index):
    return IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are"
        f" valid indices (got {type(index).__name__})"
    )


def item_of_many(count):
    return RuntimeError(f"a Tensor with {count} elements cannot be converted to Scalar")


def invalid_data_type(value):
    return TypeError(f"new(): invalid data type '{type(value).__name__}'")


def direct_construction():
    return TypeError("reference_impl.Tensor is not constructed directly; use reference_impl.tensor(...)")


def uninferable_dtype(value):
    return RuntimeError(f"Could not infer dtype of {type(value).__name__}")


def sequence_as_integer(type_name):
    return TypeError(f"'{type_name}' object cannot be interpreted as an integer")


def bool_subtraction(both):
    if both:
        return RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^`"
            " or `logical_xor()` operator instead."
        )
    return RuntimeError(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying"
        " to invert a mask, use the `~` or `logical_not()` operator instead."
    )


def unknown_device_type(name):
    return RuntimeError(
        "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla,"
        f" lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type at start of device string: {name}"
    )


def dim_out_of_range(dim, bound):
    return IndexError(
        f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})"
    )


def repeated_dim(dim):
    return RuntimeError(f"dim {dim} appears multiple times in the list of dims")


def partial_overlap():
    return RuntimeError(
        "unsupported operation: some elements of the input tensor and the written-to tensor refer to a"
        " single memory location. Please clone() the tensor before performing the operation."
    )


def internal_overlap():
    return RuntimeError(
        "unsupported operation: more than one element of the written-to tensor refers to a single"
        " memory location. Please clone() the tensor before performing the operation."
    )


# -- elementwise ------------------------------------------------------------------------------


def device_mismatch(first, second):
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices,"
        f" {first} and {second}!"
    )


def integer_division_by_zero():
    return RuntimeError("ZeroDivisionError")


def bad_rounding_mode(mode):
    return RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")


def negative_integer_power():
    return RuntimeError("Integers to negative integer powers are not allowed.")


def not_implemented_for(kernel, dtype):
    return NotImplementedError(f'"{kernel}" not implemented for \'{dtype.scalar_name}\'')


def bool_negation():
    return RuntimeError(
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a"
        " mask, use the `~` or `logical_not()` operator instead."
    )


def bool_relu():
    return RuntimeError("Boolean inputs not supported for relu")


def invert_not_integral():
    return TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")


def where_condition_not_bool(dtype):
    return RuntimeError(
        f"where expected condition to be a boolean tensor, but got a tensor with dtype {dtype.scalar_name}"
    )


def clamp_without_bounds():
    return RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")


def dtype_did_not_match(a, b):
    return RuntimeError(f"{a.scalar_name} did not match {b.scalar_name}")


def fill_with_nonscalar(ndim):
    return RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {ndim} dimensions.")


# -- creation ---------------------------------------------------------------------------------


def zeros_negative_dimension():
    return RuntimeError("zeros: Dimension size must be non-negative.")


def negative_dimension_in(shape):
    negative = next(size for size in shape if size < 0)
    return RuntimeError(f"Trying to create tensor with negative dimension {negative}: {list(shape)}")


def factory_size_not_ints(op_name, type_name):
    return TypeError(f"{op_name}(): argument 'size' (position 1) must be tuple of ints, not {type_name}")


def factory_size_unpack(op_name, position, type_name):
    return TypeError(
        f"{op_name}(): argument 'size' failed to unpack the object at pos {position + 1} with error"
        f' "type must be tuple of ints,but got {type_name}"'
    )


def no_cuda():
    return AssertionError("Torch not compiled with CUDA enabled")


def no_autograd_yet():
    return NotImplementedError("reference_impl has no autograd yet: requires_grad=True is not supported")


def eye_negative(name, value):
    return RuntimeError(f"{name} must be greater or equal to 0, got {value}")


def unsupported_range(start, end):
    def shown(value):
        return str(int(value)) if isinstance(value, int) or float(value).is_integer() else str(value)

    return RuntimeError(f"unsupported range: {shown(start)} -> {shown(end)}")


def arange_size_overflow():
    return RuntimeError("invalid size, possible overflow?")


def linspace_negative_steps():
    return RuntimeError("number of steps must be non-negative")


def from_numpy_not_ndarray(value):
    return TypeError(f"expected np.ndarray (got {type(value).__name__})")


def read_only_numpy_warning():
    return (
        "The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This means"
        " writing to this tensor will result in undefined behavior. You may want to copy the array to protect"
        " its data or make it writable before converting it to a tensor. This type of warning will be"
        " suppressed for the rest of this program."
    )


def copy_construct_warning():
    return (
        "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or"
        " sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor)."
    )


def int_overflow():
    return ValueError("Overflow when unpacking long long")


# -- conversions ------------------------------------------------------------------------------


def ambiguous_bool(count):
    what = "no values" if count == 0 else "more than one value"
    return RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")


def not_one_element():
    return ValueError("only one element tensors can be converted to Python scalars")


def not_an_index():
    return TypeError("only integer tensors of a single element can be converted to an index")


def no_accelerator():
    return RuntimeError("Cannot access accelerator device when none is available.")


def invalid_type_name(name):
    return ValueError(f"invalid type: '{name}'")


def copy_construct_warning_from(called_as):
    return (
        "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or"
        f" sourceTensor.detach().clone().requires_grad_(True), rather than {called_as}(sourceTensor)."
    )
