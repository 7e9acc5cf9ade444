"""Autograd: operations recorded as a graph of nodes, and the engine that runs it backwards.

An op computes its result without autograd, then calls ``record`` with its inputs, the
tensors its chain rule needs (``saved``) and the chain rule itself, written beside the op:

    return record(result, "mul", (input, other), lambda grad, a, b: (grad * b, grad * a),
                  saved=(input, other))

The engine sums each input's gradient down to the input's shape and dtype, so chain rules
stay as simple as their formulas. Node class names (``MulBackward0``) come from
``grad_fn_names.json``, probed from the pinned torch.
"""

import functools
import heapq
import itertools
import json
import re
import threading
from pathlib import Path

from . import _errors, _layout
from ._memory_format import contiguous_format

_NODE_DATA = json.loads(Path(__file__).with_name("grad_fn_names.json").read_text(encoding="utf-8"))["grad_fn"]


# -- grad mode -----------------------------------------------------------------------------------

class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled():
    return _mode.enabled


class set_grad_enabled:
    """Turn recording on or off: immediately as a call, or for a block as a context manager."""

    def __init__(self, mode):
        self._previous = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __repr__(self):
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _mode.enabled = self._previous

    def __call__(self, function):
        mode = _mode.enabled
        _mode.enabled = self._previous  # used as a decorator: nothing changes until it is called

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)

        return wrapper


class no_grad:
    """Nothing computed inside is recorded (a context manager and a decorator)."""

    _mode = False

    def __enter__(self):
        self._previous = _mode.enabled
        _mode.enabled = self._mode

    def __exit__(self, *exc):
        _mode.enabled = self._previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Recording back on inside a ``no_grad`` block."""

    _mode = True


# -- nodes --------------------------------------------------------------------------------------------

class Node:
    """One recorded operation: the chain rule from its outputs' gradients to its inputs'.

    ``next_functions`` pairs each input with the node its gradient flows to (None for
    inputs that need no gradient), as torch's nodes do.
    """

    _counter = itertools.count()

    def __init__(self, inputs, backward, saved, outputs=1):
        self.next_functions = tuple([_edge(value) for value in inputs])
        self._input_meta = [(value.shape, value.dtype) if _is_tensor(value) else None for value in inputs]
        self._backward = backward
        # each saved tensor with its version and the node that made it, both as of now
        self._saved = [(value, value._version, value.grad_fn) if _is_tensor(value) else (value, None, None)
                       for value in saved]
        self._freed = False
        self._outputs = outputs
        self._pre_hooks = {}  # output number -> hooks on the gradient arriving there
        self._retained = {}  # output number -> non-leaf tensor whose .grad keeps that gradient
        self._sequence_nr = next(Node._counter)

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def _saved_values(self):
        """The saved tensors, refusing freed or since-modified ones with torch's errors."""
        if self._freed and self._saved:
            raise _errors.graph_freed()
        values = []
        for value, version, origin in self._saved:
            if version is not None and value._version != version:
                raise _errors.saved_tensor_modified(value, _short_name(origin), version)
            values.append(value)
        return values

    def _adopt(self, output):
        """Saved copies of this node's own output were made by this node."""
        self._saved = [(value, version, self if value is output else origin)
                       for value, version, origin in self._saved]

    def _apply(self, grads):
        outputs = self._backward(grads[0] if self._outputs == 1 else grads, *self._saved_values())
        return outputs if isinstance(outputs, tuple) else (outputs,)

    def _release(self):
        self._freed = True
        self._saved = [(None, None, None)] * len(self._saved)


class AccumulateGrad(Node):
    """Where gradients end: adds them into a leaf's ``.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._saved = []
        self._freed = False
        self._outputs = 1
        self._pre_hooks = {}
        self._retained = {}
        self._sequence_nr = -1  # runs after every operation that feeds it


@functools.cache
def node_class(name):
    return type(name, (Node,), {"__module__": "torch.autograd.graph"})


def _short_name(node):
    """``Exp`` for ExpBackward0, as torch names a saved tensor's origin in version errors."""
    return re.sub(r"Backward\d*$", "", type(node).__name__) if node is not None else None


def _is_tensor(value):
    return hasattr(value, "_storage")


def requires_grad(value):
    return _is_tensor(value) and value.requires_grad


def _edge(value):
    """(node, output number): where a gradient for ``value`` goes, and into which of that
    node's outputs (a piece of split or unbind is one of several outputs of one node)."""
    node = gradient_edge(value)
    return node, value._output_nr if node is not None and node is value.grad_fn else 0


def gradient_edge(value):
    """The node a gradient for ``value`` flows into: its grad_fn, or its leaf accumulator."""
    if not requires_grad(value):
        return None
    if value.grad_fn is not None:
        return value.grad_fn
    if not value._requires_grad:  # a view that requires grad only through its base: no edge
        return None
    if value._accumulator is None:
        value._accumulator = AccumulateGrad(value)
    return value._accumulator


# -- recording ----------------------------------------------------------------------------------------

def record(result, op, inputs, backward, saved=()):
    """Attach a node to ``result`` when recording is on and some input requires grad.

    ``op`` names the operation in grad_fn_names.json; ``backward(grad, *saved)`` returns
    one gradient (or None) per input. Results that cannot carry gradients (integers,
    bools) are returned untouched.
    """
    if not (_mode.enabled and any(requires_grad(value) for value in inputs)):
        return result
    if not result.dtype.is_floating_point:
        # an integer tensor that requires grad (torch's assignment of a value that does can make
        # one) cannot give its history to an integer result
        if any(requires_grad(value) and not value.dtype.is_floating_point for value in inputs):
            raise _errors.autograd_dtype(result.dtype)
        return result
    node = node_class(_NODE_DATA[op]["name"])(inputs, backward, saved)
    if saved:
        node._adopt(result)
    rebase_history(result, node)  # an in-place view op (unsqueeze_) records on its own input
    result._history_version = result._version
    return result


def record_multi(results, op, inputs, backward, saved=()):
    """``record`` for an op with several differentiable outputs (split, unbind …); its
    ``backward`` receives one gradient per output (None where none flowed)."""
    if not (_mode.enabled and any(requires_grad(value) for value in inputs)):
        return results
    node = node_class(_NODE_DATA[op]["name"])(inputs, backward, saved, outputs=len(results))
    for number, tensor in enumerate(results):
        tensor._grad_fn = node
        tensor._output_nr = number
        tensor._requires_grad = True
    return results


# -- the engine -------------------------------------------------------------------------------------------

def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every reachable leaf's ``.grad`` (or only ``inputs``)."""
    roots, grads = _roots(tensors, grad_tensors)
    targets = None
    if inputs is not None:
        if not _as_list(inputs):
            raise _errors.empty_backward_inputs()
        targets = [gradient_edge(value) for value in _as_list(inputs)]
        if None in targets:
            raise _errors.no_grad_fn(targets.index(None))
    _run(roots, grads, retain_graph if retain_graph is not None else create_graph, create_graph, targets, None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None):
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of stored."""
    roots, grads = _roots(outputs, grad_outputs)
    inputs = _as_list(inputs)
    for index, value in enumerate(inputs):
        if not requires_grad(value):
            raise _errors.input_does_not_require_grad(index)
    captured = {}
    edges = [gradient_edge(value) for value in inputs]
    _run(roots, grads, retain_graph if retain_graph is not None else create_graph, create_graph, edges, captured)
    results = []
    for index, edge in enumerate(edges):
        if edge not in captured and not allow_unused:
            raise _errors.unused_input(index)
        results.append(captured.get(edge))
    return tuple(results)


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _roots(tensors, grad_tensors):
    from ._creation import ones_like

    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    roots, grads = [], []
    for index, (tensor, gradient) in enumerate(zip(tensors, grad_tensors)):
        if not tensor.requires_grad:
            raise _errors.no_grad_fn(index)
        if gradient is None:
            if tensor.numel() != 1:
                raise _errors.implicit_grad_not_scalar()
            gradient = ones_like(tensor)
        elif gradient.shape != tensor.shape:
            raise _errors.grad_shape_mismatch(index, gradient.shape, tensor.shape)
        roots.append(gradient_edge(tensor))
        grads.append((tensor._output_nr, gradient))
    return roots, grads


def _run(roots, root_grads, retain_graph, create_graph, targets, captured):
    """Run the graph from ``roots`` in reverse creation order, each node once all the
    gradients flowing into it have arrived."""
    dependencies = _count_dependencies(roots)
    buffers = {}
    for node, (output_nr, gradient) in zip(roots, root_grads):
        _add_to_buffer(buffers, node, output_nr, gradient, owned=False, create_graph=create_graph)
    ready = [(-node._sequence_nr, id(node), node) for node in set(roots) if dependencies.get(node, 0) == 0]
    heapq.heapify(ready)
    with set_grad_enabled(create_graph):
        while ready:
            _, _, node = heapq.heappop(ready)
            slots = buffers.pop(node, None) or [(None, False)] * node._outputs
            grads = _run_hooks(node, [gradient for gradient, _ in slots])
            owned_incoming = {id(gradient) for gradient, owned in slots if owned and gradient is not None}
            if captured is not None and node in targets:
                captured[node] = grads[0]
            if isinstance(node, AccumulateGrad):
                if captured is None and (targets is None or node in targets) and grads[0] is not None:
                    _accumulate(node.variable, grads[0], slots[0][1], create_graph)
                continue
            _propagate(node, grads, owned_incoming, buffers, dependencies, ready, create_graph)
            if not retain_graph:
                node._release()


def _count_dependencies(roots):
    dependencies = {}
    seen = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for child, _ in node.next_functions:
            if child is not None:
                dependencies[child] = dependencies.get(child, 0) + 1
                stack.append(child)
    return dependencies


def _run_hooks(node, grads):
    for number, hooks in node._pre_hooks.items():
        for hook in hooks:
            if grads[number] is not None:
                changed = hook(grads[number])
                if changed is not None:
                    grads[number] = changed
    for number, tensor in node._retained.items():
        if grads[number] is not None:  # torch's retain_grad hook keeps a contiguous clone
            gradient = grads[number] if _mode.enabled else grads[number].detach()
            tensor._grad = gradient.clone(memory_format=contiguous_format) if tensor._grad is None \
                else tensor._grad + gradient
    return grads


def _propagate(node, grads, owned_incoming, buffers, dependencies, ready, create_graph):
    """Apply a node's chain rule and pass each input's gradient on.

    A node that received no gradient at all passes none on, as torch's engine skips it; an
    input whose gradient is None gets none (a leaf's ``.grad`` then stays None).
    """
    if all(gradient is None for gradient in grads):
        input_grads = (None,) * len(node.next_functions)
    else:
        input_grads = node._apply(grads)
    incoming = {id(gradient) for gradient in grads if gradient is not None}
    # what goes on along an edge (a gradient returned for a scalar operand goes nowhere)
    returned = [id(gradient) for gradient, (child, _) in zip(input_grads, node.next_functions)
                if gradient is not None and child is not None]
    for (child, number), meta, gradient in zip(node.next_functions, node._input_meta, input_grads):
        if child is None:
            continue
        if gradient is not None:
            fitted = _fit(gradient, *meta)
            # A gradient only this edge holds may be added into in place, as torch steals it;
            # one passed straight through stays stealable if the node's buffer held it alone.
            fresh = id(gradient) not in incoming or id(gradient) in owned_incoming
            owned = fitted is not gradient or (fresh and returned.count(id(gradient)) == 1)
            _add_to_buffer(buffers, child, number, fitted, owned, create_graph)
        dependencies[child] -= 1
        if dependencies[child] == 0:
            heapq.heappush(ready, (-child._sequence_nr, id(child), child))


def _add_to_buffer(buffers, node, output_nr, gradient, owned, create_graph):
    """Sum gradients arriving at one node output: in place into a gradient the buffer owns
    (torch's version counters show it), else out of place."""
    slots = buffers.setdefault(node, [(None, False)] * node._outputs)
    current, current_owned = slots[output_nr]
    if current is None:
        slots[output_nr] = (gradient, owned)
    elif current_owned and not create_graph and _dense(current):
        current.add_(gradient)
    else:
        slots[output_nr] = (current + gradient, True)


def _dense(tensor):
    return _layout.is_non_overlapping_and_dense(tensor.shape, tensor.stride())


def _obeys_layout_contract(gradient, variable):
    """torch's "gradient layout contract": for a dense leaf, the gradient's strides equal the
    leaf's in every dim whose size is not 1 (and are not 0 in those that are); for any other
    leaf, a contiguous gradient."""
    if _dense(variable):
        return all(grad_stride != 0 if size == 1 else grad_stride == stride
                   for size, grad_stride, stride in zip(gradient.shape, gradient.stride(), variable.stride()))
    return gradient.is_contiguous()


def _fit(gradient, shape, dtype):
    """A gradient summed down to its input's (broadcast) shape and cast to its dtype."""
    if gradient.shape != shape:
        lead = gradient.dim() - len(shape)
        dims = tuple(range(lead)) + tuple(lead + d for d, size in enumerate(shape)
                                          if size == 1 and gradient.shape[lead + d] != 1)
        if dims:
            from ._reduction import sum as reduce_sum  # _reduction records through this module

            gradient = reduce_sum(gradient, dims, keepdim=True)
        if lead:
            gradient = gradient.view(shape)
    return gradient if gradient.dtype is dtype else gradient.to(dtype)


def _accumulate(variable, gradient, owned, create_graph):
    """torch's AccumulateGrad: the first gradient is kept as it is when it is ours and obeys
    the leaf's layout contract, else copied into the leaf's layout; later ones are added (in
    place, unless building a graph of the gradient itself)."""
    if variable._grad is None:
        if create_graph or (owned and _obeys_layout_contract(gradient, variable)):
            variable._grad = gradient if create_graph else gradient.detach()
        else:
            from ._creation import empty_like  # _creation records through this module

            with no_grad():
                variable._grad = empty_like(variable).copy_(gradient)
    elif create_graph:
        variable._grad = variable._grad + gradient
    else:
        with no_grad():
            variable._grad.add_(gradient)


# -- in-place ops -------------------------------------------------------------------------------------------

def is_recording_for(*values):
    """Whether an op on ``values`` is being recorded now."""
    return _mode.enabled and any(requires_grad(value) for value in values)


def check_in_place(tensor):
    """Refuse a recorded in-place op where torch does: on a piece of an op that returns several
    views (or a view of one), on such a piece made in no_grad mode, on a view that requires grad
    of a leaf (whether or not the leaf does: a view made a leaf with ``requires_grad_()``
    counts), or on a leaf that requires grad."""
    base = tensor._base
    if base is not None and tensor._creation_meta == "multi_output":  # a piece of split, chunk, unbind
        node = tensor._grad_fn
        raise _errors.multi_output_view_in_place(_short_name(node), tensor._output_nr)
    if base is not None and tensor._creation_meta == "no_grad":
        raise _errors.no_grad_view_in_place()
    if base is not None and tensor.requires_grad and base.is_leaf:
        raise _errors.view_of_leaf_in_place()
    if tensor.is_leaf and tensor.requires_grad:
        raise _errors.leaf_in_place()


def history_snapshot(tensor):
    """A copy of ``tensor``'s values that carries its place in the graph, for an in-place op
    to read the original values from."""
    check_in_place(tensor)
    snapshot = _detached_copy(tensor)
    snapshot._grad_fn, snapshot._output_nr = tensor._grad_fn, tensor._output_nr
    snapshot._requires_grad = tensor._requires_grad
    return snapshot


def _detached_copy(tensor):
    with no_grad():
        return tensor.clone()


def take_history(tensor, result):
    """``tensor`` (just written in place) becomes the output of ``result``'s node."""
    _attach_in_place(tensor, result._grad_fn)


def record_in_place(tensor, op, inputs, backward):
    """Record an op that wrote ``tensor`` in place from ``inputs`` (``tensor``'s old history
    among them): it takes a new node whose edges lead to the old history."""
    _attach_in_place(tensor, node_class(_NODE_DATA[op]["name"])(inputs, backward, ()))
    return tensor


def _attach_in_place(tensor, node):
    """Give the written tensor its new history. Writing through a view changes its base, so
    then the base's history becomes CopySlices (the op applied to the viewed region), and
    the view is read back out of the base, as torch rebuilds it."""
    base = tensor._base
    if base is None:
        rebase_history(tensor, node)
        return
    rebase_history(base, _copy_slices(base, tensor, node))
    rebase_history(tensor, view_from_base(tensor))
    tensor._history_version = tensor._version


def rebase_history(tensor, node):
    """``node`` becomes ``tensor``'s history; a tensor that retains its grad keeps doing so
    (torch moves its retain_grad hook to the new node)."""
    old = tensor._grad_fn
    if old is not None:
        for number, retained in list(old._retained.items()):
            if retained is tensor:
                del old._retained[number]
                node._retained[0] = tensor
    tensor._grad_fn, tensor._output_nr, tensor._requires_grad = node, 0, True


def view_from_base(view):
    """The node of a view read back out of its base after the base changed in place
    (AsStridedBackward0): its gradient lands in the viewed region of the base's."""
    base = view._base
    layout = (view.shape, view.stride(), view.storage_offset() - base.storage_offset())
    shape, strides, dtype = base.shape, base.stride(), base.dtype
    return node_class(_NODE_DATA["view_after_in_place"]["name"])(
        (base,), lambda grad: _scatter_into_base(grad, shape, strides, dtype, layout), ())


def _copy_slices(base, view, node):
    """torch's CopySlices: the base's gradient passes through unchanged outside the view,
    and through ``node`` (the in-place op on the view) inside it."""
    layout = (view.shape, view.stride(), view.storage_offset() - base.storage_offset())
    shape, strides, dtype = base.shape, base.stride(), base.dtype

    def backward(grad):
        result = _in_layout(grad, strides, dtype)
        region = _region(result, layout)
        grads = node._apply([_detached_copy(region)])
        with no_grad():
            if grads[0] is None:
                region.zero_()
            else:
                region.copy_(grads[0])
        return (result, *grads[1:])

    copy_slices = node_class(_NODE_DATA["setitem"]["name"])((base,), backward, ())
    base_edge = gradient_edge(_history_of(base)) if base.requires_grad else None
    copy_slices.next_functions = ((base_edge, 0),) + node.next_functions[1:]
    copy_slices._input_meta = [(shape, dtype)] + node._input_meta[1:]
    return copy_slices


def _history_of(base):
    """A stand-in carrying the base's history as it was before the write."""
    stand_in = base.detach()
    stand_in._grad_fn, stand_in._output_nr, stand_in._requires_grad = base._grad_fn, base._output_nr, True
    return stand_in


def _in_layout(grad, strides, dtype):
    """A copy of ``grad`` laid out with the base's strides, so view offsets line up."""
    from ._creation import empty_like

    with no_grad():
        target = empty_like(grad, dtype=dtype)
        if target.stride() != tuple(strides):
            target = _strided_empty(grad.shape, strides, dtype, grad.device)
        return target.copy_(grad)


def _strided_empty(shape, strides, dtype, device):
    from . import _layout
    from ._storage import Storage
    from ._tensor import Tensor

    return Tensor._make(Storage.allocate(_layout.storage_span(shape, strides), dtype, device=device), shape, strides)


def _region(tensor, layout):
    shape, strides, offset = layout
    return tensor._view_as(shape, strides, tensor.storage_offset() + offset)


def _scatter_into_base(grad, shape, strides, dtype, layout):
    """The gradient of reading a view back out of its base: zero but for the viewed region."""
    with no_grad():
        result = _strided_empty(shape, strides, dtype, grad.device).zero_()
        _region(result, layout).copy_(grad)
    return result


# -- inference mode -------------------------------------------------------------------------------------------

class _InferenceMode(threading.local):
    enabled = False


_inference = _InferenceMode()


def is_inference_mode_enabled():
    return _inference.enabled


class inference_mode(no_grad):
    """Like ``no_grad``, and tensors made inside are marked as inference tensors."""

    def __init__(self, mode=True):
        self._wanted = bool(mode)
        self._mode = not self._wanted and _mode.enabled

    def __enter__(self):
        self._previous_inference = _inference.enabled
        _inference.enabled = self._wanted
        super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        _inference.enabled = self._previous_inference

    def __call__(self, function):
        wanted = self._wanted

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with inference_mode(wanted):
                return function(*args, **kwargs)

        return wrapper
