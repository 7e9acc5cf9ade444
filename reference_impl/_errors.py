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


def derivative_not_implemented(op):
    return RuntimeError(f"derivative for {op} is not implemented")


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


# -- movement and indexing ------------------------------------------------------------------------


def missing_argument(op_name, name):
    return TypeError(f'{op_name}() missing 1 required positional arguments: "{name}"')


def t_too_many_dims(ndim):
    return RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")


def reversed_dims_warning():
    return (
        "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will"
        " throw an error in a future release. Consider `x.mT` to transpose batches of matrices or"
        " `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor."
    )


def zero_dim_transpose_warning(attribute, advice):
    return f"{attribute} is deprecated on 0-D tensors. {advice}"


def batch_transpose_needs_matrices(attribute, ndim):
    return RuntimeError(
        f"tensor.{attribute} is only supported on matrices or batches of matrices. Got {ndim}-D tensor."
    )


def adjoint_needs_matrix(ndim):
    advice = " For batches of matrices, consider using tensor.mH" if ndim > 2 else ""
    return RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {ndim}-D tensor.{advice}")


def permute_length_mismatch(ndim, count):
    return RuntimeError(
        "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired"
        f" ordering of dimensions i.e. input.dim() = {ndim} is not equal to len(dims) = {count}"
    )


def permute_duplicate_dims():
    return RuntimeError("permute(): duplicate dims are not allowed.")


def movedim_length_mismatch(source, destination):
    return RuntimeError(
        f"movedim: Invalid source or destination dims: source ({list(source)} dims) should contain the same"
        f" number of dims as destination ({list(destination)} dims)"
    )


def movedim_repeated(which, dims):
    return RuntimeError(f"movedim: repeated dim in `{which}` ({list(dims)})")


def expand_too_few_sizes(type_name, shape, sizes):
    return RuntimeError(
        f"expand({type_name}{{{list(shape)}}}, size={list(sizes)}): the number of sizes provided ({len(sizes)})"
        f" must be greater or equal to the number of dimensions in the tensor ({len(shape)})"
    )


def expand_leading_minus_one(size, dim):
    return RuntimeError(
        f"The expanded size of the tensor ({size}) isn't allowed in a leading, non-existing dimension {dim}"
    )


def numel_overflow():
    return RuntimeError("numel: integer multiplication overflow")


def flatten_bad_range():
    return RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")


def narrow_zero_dim():
    return RuntimeError("narrow() cannot be applied to a 0-dim tensor.")


def narrow_negative_length():
    return RuntimeError("narrow(): length must be non-negative.")


def narrow_start_out_of_range(start, size):
    return IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")


def narrow_past_end(start, length, size):
    return RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")


def select_zero_dim():
    return IndexError("select() cannot be applied to a 0-dim tensor.")


def select_out_of_range(index, shape, dim):
    return IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {dim}")


def split_zero_dim(op_name):
    return RuntimeError(f"{op_name} expects at least a 1-dimensional tensor")


def split_negative_size(size):
    return RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")


def split_size_zero(dim_size):
    return RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {dim_size}")


def split_sizes_negative(sizes):
    return RuntimeError(
        f"split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes={list(sizes)}"
    )


def split_sizes_sum(dim_size, dim, sizes):
    return RuntimeError(
        f"split_with_sizes expects split_sizes to sum exactly to {dim_size} (input tensor's size at dimension"
        f" {dim}), but got split_sizes={list(sizes)}"
    )


def chunk_not_positive(chunks):
    return RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")


def unbind_zero_dim():
    return IndexError("Dimension specified as 0 but tensor has no dimensions")


def index_select_not_vector():
    return IndexError("index_select(): Index is supposed to be a vector")


def index_select_scalar_many(count):
    return RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {count} value(s)")


def index_select_dtype():
    return RuntimeError("index_select(): Expected dtype int32 or int64 for index")


def index_select_empty_axis():
    return RuntimeError("index_select(): self indexing axis dim should be positive")


def indices_out_of_data_bounds(index, size):
    return RuntimeError(f"INDICES element is out of DATA bounds, id={index} axis_dim={size}")


def index_out_of_range_in_self():
    return IndexError("index out of range in self")


def gather_dtype():
    return RuntimeError("gather(): Expected dtype int32/int64 for index")


def gather_ndim_mismatch():
    return RuntimeError("Index tensor must have the same number of dimensions as input tensor")


def gather_size_mismatch(at, index_shape, shape, dim):
    return RuntimeError(
        f"Size does not match at dimension {at} expected index {list(index_shape)} to be no larger than self"
        f" {list(shape)} apart from dimension {dim}"
    )


def gather_out_of_bounds(index, dim, size):
    return RuntimeError(f"index {index} is out of bounds for dimension {dim} with size {size}")


def masked_select_not_bool():
    return RuntimeError("masked_select: expected BoolTensor for mask")


def repeat_too_few_dims():
    return RuntimeError(
        "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
    )


def tensors_not_a_sequence(op_name, type_name):
    return TypeError(f"{op_name}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type_name}")


def not_a_tensor_element(position, type_name):
    return TypeError(f"expected Tensor as element {position} in argument 0, but got {type_name}")


def cat_empty():
    return ValueError("torch.cat(): expected a non-empty list of Tensors")


def cat_zero_dim(position):
    return RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated")


def cat_ndim_mismatch(first, second):
    return RuntimeError(f"Tensors must have same number of dimensions: got {first} and {second}")


def cat_size_mismatch(dim, expected, got, position):
    return RuntimeError(
        f"Sizes of tensors must match except in dimension {dim}. Expected size {expected} but got size {got}"
        f" for tensor number {position} in the list."
    )


def cat_out_cast(out_dtype):
    return TypeError(f"torch.cat(): input types can't be cast to the desired output type {out_dtype.scalar_name}")


def stack_empty():
    return RuntimeError("stack expects a non-empty TensorList")


def stack_size_mismatch(first, shape, position):
    return RuntimeError(
        f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and {list(shape)} at entry"
        f" {position}"
    )


def zero_dim_index():
    return IndexError(
        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a"
        " 0-dim tensor to a number"
    )


def slice_zero_dim():
    return IndexError("slice() cannot be applied to a 0-dim tensor.")


def index_tensor_dtype():
    return IndexError("tensors used as indices must be long, int, byte or bool tensors")


def mask_shape_mismatch(mask_shape, at, shape, dim):
    return IndexError(
        f"The shape of the mask {list(mask_shape)} at index {at} does not match the shape of the indexed tensor"
        f" {list(shape)} at index {dim}"
    )


def index_shapes_mismatch(shapes):
    return IndexError(
        "shape mismatch: indexing tensors could not be broadcast together with shapes "
        + ", ".join(str(list(shape)) for shape in shapes)
    )


def index_into_empty_dim():
    return IndexError("index is out of bounds for dimension with size 0")


def uint8_index_warning():
    return "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead."


def sequence_index_warning():
    return (
        "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in pytorch"
        " 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as tensor index,"
        " x[torch.tensor(seq)], which will result either in an error or a different result"
    )


def expanded_index_put_warning():
    return (
        "Use of index_put_ on expanded tensors is deprecated. Please clone() the tensor before performing this"
        " operation. This also applies to advanced indexing e.g. tensor[indices] = tensor"
    )


def index_put_shape_mismatch(value_shape, shape):
    return RuntimeError(
        f"shape mismatch: value tensor of shape {list(value_shape)} cannot be broadcast to indexing result of"
        f" shape {list(shape)}"
    )


def index_put_dtype_mismatch(destination, source):
    return RuntimeError(
        "Index put requires the source and destination dtypes match, got"
        f" {destination.scalar_name} for the destination and {source.scalar_name} for the source."
    )


def cannot_assign(value_type_name, tensor_type_name):
    return TypeError(f"can't assign a {value_type_name} to a {tensor_type_name}")


def scalar_overflow(c_type):
    return RuntimeError(f"value cannot be converted to type {c_type} without overflow")


# -- reductions, scans, sorting and linear algebra ----------------------------------------------


def mean_needs_float(which, dtype):
    return RuntimeError(
        f"mean(): could not infer output dtype. {which} dtype must be either a floating point or complex"
        f" dtype. Got: {dtype.scalar_name}"
    )


def reduction_of_empty(name):
    return RuntimeError(
        f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim"
        " with the 'dim' argument."
    )


def arg_reduction_of_empty(name):
    return IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")


def empty_reduction_dim(name, dim):
    return IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def arg_reduction_of_bool(name):
    return RuntimeError(f"{name}(): does not support bool input")


def dim_must_be_int(name, dim, position=""):
    return TypeError(f"{name}(): argument 'dim'{position} must be int, not {type(dim).__name__}")


def std_var_needs_float():
    return RuntimeError("std and var only support floating point and complex dtypes")


def degrees_of_freedom_warning(name):
    return (
        f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor"
        " (input numel divided by output numel)."
    )


def topk_out_of_range():
    return RuntimeError("selected index k out of range")


def topk_of_bool():
    return RuntimeError("topk does not support bool dtypes on CPU")


def dim_of_zero_dim_tensor(dim):
    return IndexError(f"Dimension specified as {dim} but tensor has no dimensions")


def matmul_needs_1d(ndim1, ndim2):
    return RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {ndim1}D and {ndim2}D")


def not_a_matrix(argument):
    return RuntimeError(f"{argument} must be a matrix")


def mm_shape_mismatch(shape1, shape2):
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({shape1[0]}x{shape1[1]} and {shape2[0]}x{shape2[1]})"
    )


def mm_dtype_mismatch(cpp_name1, cpp_name2):
    return RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {cpp_name1} != {cpp_name2}")


def mv_dims(mat_ndim, vec_ndim):
    return RuntimeError(f"vector + matrix @ vector expected, got 1, {mat_ndim}, {vec_ndim}")


def mv_size_mismatch(mat_shape, vec_size):
    rows, columns = mat_shape
    return RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{columns}), vec ({vec_size})")


def addmv_dtype_mismatch(mat_dtype, vec_dtype):
    vec, mat = vec_dtype.scalar_name, mat_dtype.scalar_name
    return RuntimeError(f"addmv input tensors must have the same dtype, but got {vec}, {mat}, and {vec}")


def bmm_not_3d(argument):
    return RuntimeError(f"{argument} must be a 3D tensor")


def bmm_size_mismatch(expected, got):
    return RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to be: {list(expected)} but got: {list(got)}."
    )


def scalar_type_mismatch(expected, found):
    return RuntimeError(f"expected scalar type {expected.scalar_name} but found {found.scalar_name}")


def dot_not_1d(ndim1, ndim2):
    return RuntimeError(f"1D tensors expected, but got {ndim1}D and {ndim2}D tensors")


def dot_dtype_mismatch(dtype1, dtype2):
    return RuntimeError(
        f"dot : expected both vectors to have same dtype, but found {dtype1.scalar_name} and {dtype2.scalar_name}"
    )


def dot_size_mismatch(size1, size2):
    return RuntimeError(
        f"inconsistent tensor size, expected tensor [{size1}] and src [{size2}] to have the same number of"
        f" elements, but got {size1} and {size2} elements respectively"
    )


def outer_not_1d(argument, ndim):
    return RuntimeError(f"outer: Expected 1-D argument {argument}, but got {ndim}-D")


def trace_not_matrix(ndim):
    return RuntimeError(f"trace: expected a matrix, but got tensor with dim {ndim}")


def norm_input_not_floating(op_name, dtype):
    return RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got {dtype.scalar_name}")


def norm_dtype_not_floating(op_name, dtype):
    return RuntimeError(f"{op_name}: dtype should be floating point or complex, but got {dtype.scalar_name}")


def norm_dtype_narrowing(op_name, input_dtype, dtype):
    return RuntimeError(
        f"{op_name}: the dtype of the input ({input_dtype.scalar_name}) should be convertible without narrowing"
        f" to the specified dtype ({dtype.scalar_name})"
    )


def norm_of_empty(ord_text, dim=None):
    if dim is None:
        where = "an empty tensor because"
    else:  # torch's message lacks the space before "because"
        where = f"the dimension {dim}because this dimension is empty and"
    return RuntimeError(
        f"linalg.vector_norm cannot compute the {ord_text} norm on {where} the operation does not have an identity"
    )


def matrix_norm_order(ord):
    return RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def matrix_norm_needs_matrix():
    return RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")


def matrix_norm_low_precision(dtype):
    return RuntimeError(f"linalg.matrix_norm: Low precision dtypes not supported. Got {dtype.scalar_name}")


def matrix_norm_dim_pair(dims):
    return RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}")


def matrix_norm_same_dims(first, second):
    return RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({first}, {second})")


# -- random numbers ---------------------------------------------------------------------------

# The C++ names torch prints for a dtype in its random-number bound checks.
_CPP_TYPE_NAMES = {
    "float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
    "uint8": "unsigned char", "int16": "short int", "int32": "int", "int64": "long int", "bool": "bool",
}


def _cpp_number(value):
    """A double as C++'s ostream prints it (six significant digits, like %g)."""
    return f"{value:g}"


def manual_seed_not_int(value):
    return RuntimeError(f"manual_seed expected a long, but got {type(value).__name__}")


def rng_state_not_tensor(value):
    return TypeError(f"expected a torch.ByteTensor, but got {type(value).__name__}")


def rng_state_not_byte_tensor():
    return TypeError("RNG state must be a torch.ByteTensor")


def rng_state_not_contiguous():
    return RuntimeError("RNG state must be contiguous")


def rng_state_wrong_size(expected, got):
    return RuntimeError(
        f"Expected a CPUGeneratorImplState of size {expected} but found the input RNG state size to be {got}"
    )


def invalid_mt19937_state():
    return RuntimeError("Invalid mt19937 state")


def random_bound_out_of_range(name, dtype):
    return RuntimeError(f"{name} is out of bounds for {_CPP_TYPE_NAMES[dtype.name]}")


def random_imprecise_bound_warning(name, digits, dtype):
    return (
        f"{name} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision limitations"
        f" {_CPP_TYPE_NAMES[dtype.name]} can support discrete uniform distribution only within this range."
        " This warning will become an error in version 1.7 release, please fix the code in advance"
    )


def random_from_not_less(low, high):
    return RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")


def random_cast_from_not_less(low, high):
    return RuntimeError(
        f"random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, but got from={low} >= to={high}"
    )


def random_cast_from_above_top(low, top):
    return RuntimeError(
        "random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' casted to dtype, but got"
        f" from={low} > to_inc={top}"
    )


def random_full_range_unsupported():
    return RuntimeError("random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16")


def uniform_reversed_range(low, high):
    return RuntimeError(
        f"uniform_ expects to return a [from, to) range, but found from={_cpp_number(low)} > to={_cpp_number(high)}"
    )


def uniform_range_too_wide(dtype, low, high):
    return RuntimeError(
        f"uniform_ expects to-from <= std::numeric_limits<{dtype.scalar_name}>::max(), but found"
        f" to={_cpp_number(high)} and from={_cpp_number(low)} which result in to-from to exceed the limit"
    )


def normal_negative_std(std):
    return RuntimeError(f"normal expects std >= 0.0, but found std {_cpp_number(std)}")


def normal_negative_std_tensor():
    return RuntimeError("normal expects all elements of std >= 0.0")


def normal_needs_size():
    return TypeError("normal(): with a float mean and a float std, the argument 'size' is required")


def value_overflows(c_type_name):
    return RuntimeError(f"value cannot be converted to type {c_type_name} without overflow")


def randperm_imprecise(dtype):
    limit = {"float16": "2049", "float32": "2^24+1", "float64": "2^53+1"}[dtype.name]
    return RuntimeError(f"n cannot be greater than {limit} for {dtype.scalar_name} type.")


def argument_not_int(op_name, name, position, value):
    return TypeError(f"{op_name}(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")


def argument_not_int_tuple(op_name, name, position, value):
    where = f" (position {position})" if position else ""
    return TypeError(f"{op_name}(): argument '{name}'{where} must be tuple of ints, not {type(value).__name__}")


def zero_slice_step():
    return ValueError("slice step cannot be zero")


def masked_fill_not_bool():
    return RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype unsigned char")


def expanded_masked_fill_warning():
    return (
        "Use of masked_fill_ on expanded tensors is deprecated. Please clone() the tensor before performing this"
        " operation. This also applies to advanced indexing e.g. tensor[mask] = scalar"
    )


# -- autograd ---------------------------------------------------------------------------------


def requires_grad_not_floating():
    return RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def requires_grad_not_floating_method():
    return RuntimeError("only Tensors of floating point dtype can require gradients")


def requires_grad_on_non_leaf():
    return RuntimeError(
        "you can only change requires_grad flags of leaf variables. If you want to use a computed variable"
        " in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
    )


def retain_grad_without_grad():
    return RuntimeError("can't retain_grad on Tensor that has requires_grad=False")


def hook_without_grad():
    return RuntimeError("cannot register a hook on a tensor that doesn't require gradient")


def non_leaf_grad_warning():
    return (
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute"
        " won't be populated during autograd.backward(). If you indeed want the .grad field to be populated"
        " for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf"
        " Tensor by mistake, make sure you access the leaf Tensor instead. See"
        " github.com/pytorch/pytorch/pull/30531 for more information."
    )


def detach_view_in_place():
    return RuntimeError(
        "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP)"
        " for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and"
        " hence detach_() cannot be called on these gradients. To fix this error, please refer to the"
        " Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
    )


def numpy_requires_grad():
    return RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")


def graph_freed():
    return RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors after they"
        " have already been freed). Saved intermediate values of the graph are freed when you call"
        " .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the"
        " graph a second time or if you need to access saved tensors after calling backward."
    )


def saved_tensor_modified(tensor, origin, expected_version):
    made_by = f", which is output {tensor._output_nr} of {origin}," if origin else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation:"
        f" [{tensor.type()} {list(tensor.shape)}]{made_by} is at version"
        f" {tensor._version}; expected version {expected_version} instead. Hint: enable anomaly detection to"
        " find the operation that failed to compute its gradient, with"
        " torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


def leaf_in_place():
    return RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def input_does_not_require_grad(index):
    return RuntimeError("One of the differentiated Tensors does not require grad")


def unused_input(index):
    return RuntimeError(
        f"The differentiated Tensor at index {index} appears to not have been used in the graph. Set"
        " allow_unused=True if this is the desired behavior."
    )


def no_grad_fn(index):
    return RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")


def implicit_grad_not_scalar():
    return RuntimeError("grad can be implicitly created only for scalar outputs")


def grad_shape_mismatch(index, grad_shape, output_shape):
    return RuntimeError(
        f"Mismatch in shape: grad_output[{index}] has a shape of {grad_shape!r} and output[{index}] has a"
        f" shape of {output_shape!r}."
    )


def empty_backward_inputs():
    return RuntimeError("`inputs` argument to `backward()` cannot be empty.")


# -- reductions (continued) ---------------------------------------------------------------------


def unique_of_empty(several_empty_dims):
    if several_empty_dims:
        return RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied ")
    return RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")


def out_with_autograd(op_name):
    return RuntimeError(
        f"{op_name}(): functions with out=... arguments don't support automatic differentiation, but one of"
        " the arguments requires grad."
    )


# -- reductions (continued) ---------------------------------------------------------------------


def struct_sequence_length(name, length):
    return TypeError(f"torch.return_types.{name}() takes a 2-sequence ({length}-sequence given)")


def too_many_indices_got(ndim, count):
    return IndexError(f"too many indices for tensor of dimension {ndim} (got {count})")


def resize_requires_grad():
    return RuntimeError("cannot resize variables that require grad")


def storage_not_resizable():
    return RuntimeError("Trying to resize storage that is not resizable")


_MULTIPLE_VIEWS = ("This view is the output of a function that returns multiple views. Such functions do not "
                   "allow the output views to be modified inplace. You should replace the inplace operation by an "
                   "out-of-place one.")


def multi_output_view_in_place(node_name, output_nr):
    if node_name is None:
        return RuntimeError("A view was created in no_grad mode and is being modified inplace with grad mode "
                            f"enabled. {_MULTIPLE_VIEWS}")
    return RuntimeError(f"Output {output_nr} of {node_name} is a view and is being modified inplace. {_MULTIPLE_VIEWS}")


def no_grad_view_in_place():
    return RuntimeError(
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this "
        "use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view "
        "and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both "
        "outside (if you want the inplace to be tracked)."
    )


def autograd_dtype(dtype):
    return RuntimeError(f"Autograd not support dtype: {dtype.scalar_name}")


def view_of_leaf_in_place():
    return RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def inference_tensor_version():
    return RuntimeError("Inference tensors do not track version counter.")


# -- devices ----------------------------------------------------------------------------------


class AcceleratorError(RuntimeError):
    """torch.AcceleratorError: what a failing CUDA call raises."""


def invalid_device_ordinal():
    return AcceleratorError(
        "CUDA error: invalid device ordinal\nGPU device may be out of range, do you have enough GPUs?\n"
        "CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below"
        " might be incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\nCompile with"
        " `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n"
    )


def numpy_of_cuda_tensor(device):
    return TypeError(
        f"can't convert {device} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to"
        " host memory first."
    )


def device_mismatch_argument(argument, device, other_device, method):
    """An op that checks its arguments one by one (matmul, cat, index ops), not TensorIterator."""
    return RuntimeError(
        f"Expected all tensors to be on the same device, but got {argument} is on {device}, different from"
        f" other tensors on {other_device} (when checking argument in method {method})"
    )
