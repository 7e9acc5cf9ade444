"""``torch.autograd``: computing gradients, and switching the recording of operations."""

from ._autograd import Node, backward, enable_grad, grad, inference_mode, no_grad, set_grad_enabled

__all__ = ["Node", "backward", "enable_grad", "grad", "inference_mode", "no_grad", "set_grad_enabled"]
