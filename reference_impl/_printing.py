"""repr() of tensors, following the rules of torch's _tensor_str.py (rewritten, not copied).

One formatter per tensor decides, from all values that will be shown, between integer
mode (``1.``), fixed point (``0.5000``) and scientific notation, and a common width.
"""

import math
from dataclasses import dataclass

import numpy as np

from . import _dtype


@dataclass
class PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None  # None lets the values decide


OPTIONS = PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch.set_printoptions: unspecified options keep their values; a profile resets them."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems, OPTIONS.linewidth = presets[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


class _Formatter:
    """Chooses one number format and width for every value of a tensor."""

    def __init__(self, values, is_floating):
        self.is_floating = is_floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not is_floating:
            self.width = max([1] + [len(str(v)) for v in values.tolist()])
            return
        shown = values[np.isfinite(values) & (values != 0)].astype(np.float64)
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if OPTIONS.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = OPTIONS.sci_mode
        samples = shown.tolist()
        if self.sci_mode:
            self.width = max(len(f"{v:.{OPTIONS.precision}e}") for v in samples)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in samples)  # +1 for the trailing '.'
        else:
            self.width = max(len(f"{v:.{OPTIONS.precision}f}") for v in samples)

    def format(self, value):
        if not self.is_floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{OPTIONS.precision}f}"
        return text.rjust(self.width)


def _edge_values(array, summarize):
    """The values that will actually be printed (edges only, when summarizing), flattened."""
    if not summarize or array.ndim == 0:
        return array.reshape(-1)
    edge = OPTIONS.edgeitems
    rows = range(array.shape[0])
    if array.shape[0] > 2 * edge:
        rows = list(range(edge)) + list(range(array.shape[0] - edge, array.shape[0]))
    if array.ndim == 1:
        return array[list(rows)]
    parts = [_edge_values(array[i], summarize) for i in rows]
    return np.concatenate(parts) if parts else array.reshape(-1)[:0]


def _body(array, indent, summarize, formatter):
    if array.ndim == 0:
        return formatter.format(array.item())
    edge = OPTIONS.edgeitems
    elided = summarize and array.shape[0] > 2 * edge
    if array.ndim == 1:
        if elided:
            items = [formatter.format(v) for v in array[:edge].tolist()] + [" ..."] + [
                formatter.format(v) for v in array[-edge:].tolist()]
        else:
            items = [formatter.format(v) for v in array.tolist()]
        per_line = max(1, math.floor((OPTIONS.linewidth - indent) / (formatter.width + 2)))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(array.shape[0]))
    if elided:
        rows = rows[:edge] + [None] + rows[-edge:]
    parts = ["..." if i is None else _body(array[i], indent + 1, summarize, formatter) for i in rows]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text, suffixes, indent):
    pieces = [text]
    last_line_length = len(text) - text.rfind("\n") + 1  # torch's count, quirk included
    for suffix in suffixes:
        if last_line_length + len(suffix) + 2 > OPTIONS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line_length = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line_length += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def tensor_repr(tensor):
    """The string torch prints for ``tensor``."""
    prefix = "tensor("
    indent = len(prefix)
    dtype = tensor.dtype
    default = _dtype.get_default_dtype()
    # torch names the device when it isn't the CPU (set_default_device doesn't change that)
    suffixes = [f"device='{tensor.device}'"] if tensor.device.type != "cpu" else []
    if tensor.numel() == 0:
        if tensor.dim() != 1:
            suffixes.append(f"size={tuple(tensor.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if dtype not in (default, _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dtype!r}")
        array = tensor._host_array()
        summarize = array.size > OPTIONS.threshold
        formatter = _Formatter(_edge_values(array, summarize), dtype.is_floating_point)
        body = _body(array, indent, summarize, formatter)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(tensor.grad_fn).__name__}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
