"""Hypothesis strategies that write small random programs over the public torch API.

A program is Python source that a case may hold (it passes harness/sandbox.py): a few
top-level statements that make tensors and arrays, then view, compute on, write into,
reduce, index, convert and differentiate them. ``programs()`` draws one; hypothesis then
shrinks a failing one towards fewer, simpler statements.

The generator keeps a model of every variable it made (shape, dtype, layout, autograd
state), so that most statements are valid; the model is deliberately approximate, and a
few statements are drawn to be invalid on purpose (a negative slice step, an in-place
write into an expanded view, numpy() of a tensor that requires grad...). Where torch
raises, the program ends there on both backends and the exception types are compared.

Values are deterministic: ``torch.randn``/``randint`` (seeded by the case's seed on both
backends, which reproduce torch's CPU generator bit for bit; ``randn`` only below 16 elements,
see spec_cases/regressions/fuzz-value-item-601a366d.yaml), ``arange``, fills and small integer
literals. The vocabulary is the part of torch that reference_impl implements: a
program calling what it lacks would only find that it lacks it.

Every statement is labelled with its area (AREAS) and the operation it exercises, and the
program records the features it covers (e.g. ``view:permute``, ``shape:empty``), so tests
can assert on what was generated and findings can be named by operation.
"""

import math
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

AREAS = ("create", "elementwise", "view", "inplace", "reduce", "index", "setitem", "numpy", "autograd")

FLOAT_DTYPES = ("float32", "float64", "float16")
INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8")
DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)
NUMPY_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")

MAX_STEPS = 8
MAX_VARIABLES = 10  # past this, steps reuse names instead of adding new ones


@dataclass
class Var:
    """What the generator believes about one variable; approximate by design."""

    name: str
    shape: tuple
    dtype: str  # torch's (or numpy's) dtype name without the module, e.g. "float32"
    kind: str = "tensor"  # or "array" (a numpy array)
    grad: bool = False  # requires_grad
    leaf: bool = True
    contiguous: bool = True
    expanded: bool = False  # some elements share memory (in-place writes raise)
    base: str | None = None  # the variable it is a view of

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def numel(self):
        return math.prod(self.shape)

    @property
    def floating(self):
        return self.dtype in FLOAT_DTYPES


@dataclass(frozen=True)
class Statement:
    """One top-level statement, with the area and operation it exercises."""

    source: str
    area: str
    op: str


@dataclass(frozen=True)
class Program:
    """A generated program: its statements and the features they cover."""

    statements: tuple
    features: frozenset = field(default_factory=frozenset)

    @property
    def code(self):
        return "".join(statement.source + "\n" for statement in self.statements)

    def statement_at(self, index):
        """The statement a trace step's index names (steps are top-level statements, in order)."""
        return self.statements[index]

    def __repr__(self):  # hypothesis prints this for a falsifying example
        return "Program(code=\n" + self.code + ")"


# -- small pieces -------------------------------------------------------------------------------

def _torch_dtype(dtype):
    return f"torch.{dtype}"


def _promote(a, b):
    """torch's category rule, approximately: bool < integers < floating; within one, the wider."""
    order = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
    if a == b:
        return a
    if {a, b} == {"uint8", "int8"}:
        return "int16"
    return max(a, b, key=order.index)


def _broadcast(a, b):
    """The broadcast shape of a and b, or None when they do not broadcast."""
    result = []
    for x, y in zip(((1,) * (len(b) - len(a)) + a), ((1,) * (len(a) - len(b)) + b)):
        if x != y and 1 not in (x, y):
            return None
        result.append(y if x == 1 else x)
    return tuple(result)


def _number_text(value, dtype):
    """An integer written as a literal of ``dtype``'s kind: ``True``, ``2.0`` or ``2``."""
    if dtype == "bool":
        return repr(bool(value))
    return repr(float(value)) if dtype in FLOAT_DTYPES else repr(int(value))


def _nested(texts, shape):
    """Python source of the nested list of ``shape`` holding ``texts`` (a non-empty shape)."""
    if not shape:
        return texts[0]
    step = len(texts) // shape[0]
    return "[" + ", ".join(_nested(texts[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])) + "]"


sizes = st.sampled_from((1, 2, 3, 2, 3, 0, 4))
shapes = st.lists(sizes, min_size=0, max_size=3).map(tuple) | st.lists(sizes, min_size=4, max_size=4).map(tuple)
python_scalars = st.sampled_from((2, 1, 0, -1, 3, 0.5, 2.5, -1.5, True))


class _Builder:
    """Draws statements one at a time, keeping the model of the variables in sync."""

    def __init__(self, draw):
        self.draw = draw
        self.vars = {}
        self.statements = []
        self.features = set()
        self.counter = 0
        self.results = 0

    # bookkeeping

    def emit(self, source, area, op, *features):
        self.statements.append(Statement(source, area, op))
        self.features.update(features)
        self.features.add(f"area:{area}")

    def new_name(self, prefix="x"):
        if len(self.vars) >= MAX_VARIABLES:
            name = self.draw(st.sampled_from(sorted(self.vars)))
            del self.vars[name]
            return name
        while f"{prefix}{self.counter}" in self.vars:
            self.counter += 1
        name = f"{prefix}{self.counter}"
        self.counter += 1
        return name

    def bind(self, var):
        self.vars[var.name] = var
        self.note_shape(var.shape)
        return var

    def note_shape(self, shape):
        if not shape:
            self.features.add("shape:0-dim")
        if 0 in shape:
            self.features.add("shape:empty")
        if 1 in shape:
            self.features.add("shape:size-1")

    def pick(self, predicate=lambda v: True):
        """A variable satisfying ``predicate``, or None."""
        candidates = sorted(name for name, var in self.vars.items() if predicate(var))
        return self.vars[self.draw(st.sampled_from(candidates))] if candidates else None

    def tensor(self, predicate=lambda v: True, **create):
        """An existing tensor satisfying ``predicate``, or a new one (``create`` its arguments)."""
        found = self.pick(lambda v: v.kind == "tensor" and predicate(v))
        return found if found is not None else self.create(**create)

    def writable(self, predicate=lambda v: True):
        """A tensor to write into in place: mostly not a leaf that requires grad (torch refuses
        those; now and then the program tries, to check the refusal)."""
        avoid = not self.chance(5)
        return self.tensor(lambda v: predicate(v) and not (avoid and self.refuses_in_place(v)))

    def refuses_in_place(self, var):
        """Whether torch would refuse an in-place op on ``var``, as far as the model knows:
        a leaf that requires grad, or a view of one (or of a tensor no longer modelled)."""
        root = self.vars.get(var.base) if var.base else var
        return var.grad and (root is None or (root.leaf and root.grad))

    def chance(self, n):
        """True about once in ``n`` draws; hypothesis shrinks it to False, so what it enables
        stays in a shrunk program only when the failure needs it."""
        return self.draw(st.integers(1, n)) == n

    def result_name(self):
        """A name for a value the model does not track (what an in-place op returns)."""
        self.results += 1
        return f"r{self.results}"

    def dim_index(self, var, negative=True):
        dim = self.draw(st.integers(0, max(var.ndim - 1, 0)))
        if negative and var.ndim and self.draw(st.booleans()):
            return dim - var.ndim
        return dim

    # areas

    def create(self, dtype=None, shape=None, grad=None):
        """A new tensor from seeded random numbers, arange, a fill or a literal."""
        shape = self.draw(shapes) if shape is None else shape
        dtype = dtype or self.draw(st.sampled_from(("float32",) * 3 + DTYPES))
        name = self.new_name()
        shape_text = ", ".join(map(str, shape)) if shape else "()"
        floating = dtype in FLOAT_DTYPES
        how = self.draw(st.sampled_from(("randn", "arange", "full", "tensor", "zeros", "randint")))
        if how == "randn" and (not floating or math.prod(shape) >= 16):
            # 16 or more normal samples take torch's vectorised path, whose last bits reference_impl
            # does not reproduce (see the module docstring): it would only be found again
            how = "randint"
        if how == "randint" and dtype == "bool":
            how = "tensor"
        if grad is None:
            grad = floating and self.chance(5)
        suffix = f", dtype={_torch_dtype(dtype)}" + (", requires_grad=True" if grad else "")
        if how == "randn":
            source = f"{name} = torch.randn({shape_text}{suffix})"
        elif how == "randint":
            low, high = (0, 5) if dtype == "uint8" else self.draw(st.sampled_from(((-3, 4), (0, 3), (1, 10))))
            source = f"{name} = torch.randint({low}, {high}, {tuple(shape)!r}{suffix})"
        elif how == "arange":
            shape_arg = ", ".join(map(str, shape)) if shape else ""
            step = self.draw(st.sampled_from(("", "0.5 * ", "-1 * ")))
            if dtype == "bool" or (dtype == "uint8" and step == "-1 * "):
                step = ""
            source = (f"{name} = ({step}torch.arange({math.prod(shape)})).to({_torch_dtype(dtype)})"
                      f".reshape({shape_arg or '()'})")
            if grad:
                source += ".requires_grad_()"
        elif how == "full":
            value = self.draw(python_scalars)
            if dtype == "bool":
                value = bool(value)
            source = f"{name} = torch.full({tuple(shape)!r}, {value!r}{suffix})"
        elif how == "zeros":
            source = f"{name} = torch.{self.draw(st.sampled_from(('zeros', 'ones')))}({shape_text}{suffix})"
        elif 0 in shape:
            source = f"{name} = torch.tensor([], dtype={_torch_dtype(dtype)}).reshape({tuple(shape)!r})"
            if grad:
                source += ".requires_grad_()"
        else:
            flat = self.draw(st.lists(st.integers(-4, 6), min_size=math.prod(shape), max_size=math.prod(shape)))
            source = f"{name} = torch.tensor({_nested([_number_text(v, dtype) for v in flat], shape)}{suffix})"
        self.emit(source, "create", how, f"create:{how}", f"dtype:{dtype}", *(("autograd:leaf",) if grad else ()))
        return self.bind(Var(name, tuple(shape), dtype, grad=grad))

    def elementwise(self):
        a = self.tensor()
        name = self.new_name()
        form = self.draw(st.sampled_from(("binary", "scalar", "unary", "compare", "where", "function")))
        if form == "unary":
            op = self.draw(st.sampled_from(("neg", "abs", "exp", "sin", "sqrt", "sigmoid", "tanh", "relu", "floor",
                                            "round", "sign", "reciprocal", "log", "square", "clamp")))
            args = "min=-0.5, max=1.5" if op == "clamp" else ""
            dtype = a.dtype if op in ("neg", "abs", "floor", "round", "sign", "relu", "square", "clamp") \
                else ("float32" if not a.floating else a.dtype)
            self.emit(f"{name} = {a.name}.{op}({args})", "elementwise", op, "elementwise:unary")
            return self.bind(Var(name, a.shape, dtype, grad=a.grad, leaf=not a.grad))
        if form == "scalar":
            scalar = self.draw(python_scalars)
            op = self.draw(st.sampled_from(("+", "*", "-", "/", "**", "//", "%")))
            reflected = self.draw(st.booleans())
            source = f"{scalar!r} {op} {a.name}" if reflected else f"{a.name} {op} {scalar!r}"
            dtype = a.dtype if not isinstance(scalar, float) or a.floating else "float32"
            if op == "/" and not a.floating:
                dtype = "float32"
            self.emit(f"{name} = {source}", "elementwise", _OPERATORS[op], "elementwise:scalar")
            return self.bind(Var(name, a.shape, dtype, grad=a.grad, leaf=not a.grad))
        b = self.broadcast_partner(a)
        shape = _broadcast(a.shape, b.shape) or a.shape
        grad = a.grad or b.grad
        if form == "compare":
            op = self.draw(st.sampled_from(("<", ">", "==", "!=", ">=", "<=")))
            self.emit(f"{name} = {a.name} {op} {b.name}", "elementwise", _OPERATORS[op], "elementwise:compare",
                      *self.broadcast_features(a, b))
            return self.bind(Var(name, shape, "bool"))
        if form == "where":
            self.emit(f"{name} = torch.where({a.name} > 0, {a.name}, {b.name})", "elementwise", "where",
                      "elementwise:where", *self.broadcast_features(a, b))
            return self.bind(Var(name, shape, _promote(a.dtype, b.dtype), grad=grad, leaf=not grad))
        if form == "function":
            op = self.draw(st.sampled_from(("add", "sub", "mul", "div", "maximum", "minimum", "pow", "fmod",
                                            "remainder", "floor_divide")))
            extra = ", alpha=2" if op in ("add", "sub") and self.draw(st.booleans()) else ""
            self.emit(f"{name} = torch.{op}({a.name}, {b.name}{extra})", "elementwise", op, "elementwise:binary",
                      *self.broadcast_features(a, b))
        else:
            op = self.draw(st.sampled_from(("+", "-", "*", "/", "**", "&", "|", "@")))
            self.emit(f"{name} = {a.name} {op} {b.name}", "elementwise", _OPERATORS[op], "elementwise:binary",
                      *self.broadcast_features(a, b))
            if op == "@":
                return self.bind(Var(name, _matmul_shape(a.shape, b.shape), _promote(a.dtype, b.dtype), grad=grad,
                                     leaf=not grad))
        dtype = _promote(a.dtype, b.dtype)
        if op in ("/", "div") and dtype not in FLOAT_DTYPES:
            dtype = "float32"
        return self.bind(Var(name, shape, dtype, grad=grad, leaf=not grad))

    def broadcast_partner(self, a):
        """A tensor that broadcasts with ``a`` (usually), existing or new."""
        partner = self.pick(lambda v: v.kind == "tensor" and v.name != a.name and _broadcast(v.shape, a.shape)
                            is not None)
        if partner is not None and self.draw(st.booleans()):
            return partner
        shape = list(a.shape[self.draw(st.integers(0, len(a.shape))):])
        for i in range(len(shape)):
            if self.chance(3):
                shape[i] = 1
        if self.chance(4):
            shape.insert(0, self.draw(st.sampled_from((1, 2))))
        dtype = self.draw(st.sampled_from((a.dtype, a.dtype, "float32", "int64", "float64", "bool")))
        return self.create(dtype=dtype, shape=tuple(shape))

    def broadcast_features(self, a, b):
        return ("elementwise:broadcast",) if a.shape != b.shape else ()

    def view(self):
        a = self.tensor()
        name = self.new_name()
        primary = ("permute", "transpose", "slice", "expand", "view", "reshape")  # what the issue names
        op = self.draw(st.sampled_from(primary * 2 + ("unsqueeze", "squeeze", "flatten", "narrow", "select",
                                                      "split", "movedim", "t")))
        shape, contiguous, expanded = a.shape, a.contiguous, a.expanded
        if op in ("narrow", "select", "permute") and a.ndim == 0:  # x.permute() needs dims
            op = "unsqueeze"
        if op == "permute":
            order = self.draw(st.permutations(range(a.ndim)))
            source = f"{a.name}.permute({', '.join(map(str, order))})"
            shape = tuple(a.shape[d] for d in order)
            contiguous = contiguous and list(order) == sorted(order)
        elif op == "transpose":
            d0, d1 = self.dim_index(a), self.dim_index(a)
            source = f"{a.name}.transpose({d0}, {d1})"
            s = list(a.shape)
            if s:
                s[d0], s[d1] = s[d1], s[d0]
            shape, contiguous = tuple(s), contiguous and s == list(a.shape)
        elif op == "t":
            source = f"{a.name}.t()" if a.ndim <= 2 else f"{a.name}.mT"
            shape = tuple(reversed(a.shape)) if a.ndim <= 2 else a.shape[:-2] + (a.shape[-1], a.shape[-2])
            contiguous = contiguous and a.ndim < 2
        elif op == "movedim":
            src, dst = self.dim_index(a), self.dim_index(a)
            source = f"{a.name}.movedim({src}, {dst})"
            s = list(a.shape)
            if s:
                s.insert(dst % a.ndim, s.pop(src % a.ndim))
            shape, contiguous = tuple(s), contiguous and s == list(a.shape)
        elif op == "slice":
            source, shape = self.slicing(a)
            contiguous = False
        elif op == "expand":
            s = [self.draw(st.sampled_from((2, 3))) if size == 1 else size for size in a.shape]
            if self.draw(st.booleans()) or not s:
                s.insert(0, self.draw(st.sampled_from((1, 2))))
            text = [str(-1 if size == orig and self.draw(st.booleans()) else size)
                    for size, orig in zip(s, (None,) * (len(s) - a.ndim) + a.shape)]
            source = f"{a.name}.expand({', '.join(text) if text else ''})"
            shape, expanded, contiguous = tuple(s), expanded or tuple(s) != a.shape, contiguous and tuple(s) == a.shape
        elif op in ("view", "reshape"):
            new = self.draw(factorizations(a.numel)) if a.numel else self.draw(st.sampled_from(((0,), (0, 2))))
            if a.numel == 0 and a.shape and self.draw(st.booleans()):
                new = a.shape[::-1]
            text = [str(size) for size in new]
            if text and self.draw(st.booleans()) and a.numel:
                text[self.draw(st.integers(0, len(text) - 1))] = "-1"
            source = f"{a.name}.{op}({', '.join(text)})" if text else f"{a.name}.{op}(())"
            shape = tuple(new)
            contiguous = True if op == "reshape" else contiguous
        elif op == "unsqueeze":
            dim = self.draw(st.integers(-a.ndim - 1, a.ndim))
            source = f"{a.name}.unsqueeze({dim})"
            s = list(a.shape)
            s.insert(dim % (a.ndim + 1), 1)
            shape = tuple(s)
        elif op == "squeeze":
            ones = [d for d, size in enumerate(a.shape) if size == 1]
            if ones and self.draw(st.booleans()):
                dim = self.draw(st.sampled_from(ones))
                source = f"{a.name}.squeeze({dim})"
                shape = a.shape[:dim] + a.shape[dim + 1:]
            else:
                source = f"{a.name}.squeeze()"
                shape = tuple(size for size in a.shape if size != 1)
        elif op == "flatten":
            source, shape = f"{a.name}.flatten()", (a.numel,)
        elif op == "narrow":
            dim = self.dim_index(a, negative=False)
            start = self.draw(st.integers(0, a.shape[dim]))
            length = self.draw(st.integers(0, a.shape[dim] - start))
            source, s = f"{a.name}.narrow({dim}, {start}, {length})", list(a.shape)
            s[dim] = length
            shape, contiguous = tuple(s), contiguous and (dim == 0 or length == a.shape[dim])
        elif op == "select":
            dim = self.dim_index(a, negative=False)
            index = self.draw(st.integers(-a.shape[dim], max(a.shape[dim] - 1, 0)))
            source = f"{a.name}.select({dim}, {index})"
            shape = a.shape[:dim] + a.shape[dim + 1:]
            contiguous = contiguous and dim == 0
        else:  # split: one piece of it
            dim = self.dim_index(a, negative=False) if a.ndim else 0
            size = self.draw(st.sampled_from((1, 2)))
            pieces = max(1, -(-a.shape[dim] // size)) if a.ndim else 1
            piece = self.draw(st.integers(0, pieces - 1))
            source = f"{a.name}.split({size}, {dim})[{piece}]"
            s = list(a.shape)
            if s:
                s[dim] = max(0, min(size, s[dim] - piece * size))
            shape, contiguous = tuple(s), contiguous and dim == 0
        self.emit(f"{name} = {source}", "view", op, f"view:{op}",
                  *(("view:noncontiguous",) if not contiguous else ()))
        return self.bind(Var(name, shape, a.dtype, grad=a.grad, leaf=not a.grad, contiguous=contiguous,
                             expanded=expanded, base=a.base or a.name))

    def slicing(self, a):
        """A basic-indexing key over ``a`` (ints, slices with steps, None, ...) and its result shape."""
        parts, shape = [], []
        dims = list(a.shape)
        if self.chance(6):
            parts.append("None")
            shape.append(1)
        for size in dims[:self.draw(st.integers(1, max(1, len(dims))))] if dims else []:
            kind = self.draw(st.sampled_from(("slice", "slice", "step", "int", "full")))
            if kind == "int" and size:
                index = self.draw(st.integers(-size, size - 1))
                parts.append(str(index))
            elif kind == "full":
                parts.append(":")
                shape.append(size)
            else:
                start = self.draw(st.sampled_from((None, 0, 1, -1, -2)))
                stop = self.draw(st.sampled_from((None, None, 2, -1, 5)))
                step = self.draw(st.sampled_from((None, 2, 3, 1))) if kind == "step" else None
                if kind == "step" and self.chance(20):
                    step = -1  # torch refuses negative steps with a ValueError
                if step is not None and step != 1:
                    self.features.add("slice:step")
                text = f"{'' if start is None else start}:{'' if stop is None else stop}"
                parts.append(text + (f":{step}" if step is not None else ""))
                shape.append(len(range(size)[slice(start, stop, step if step and step > 0 else None)]))
        consumed = sum(1 for p in parts if p != "None")
        shape += dims[consumed:]
        if not parts:
            parts = ["..."]
        elif self.chance(5) and consumed < len(dims):
            parts.append("...")
        return f"{a.name}[{', '.join(parts)}]", tuple(shape)

    def inplace(self):
        target = self.writable(lambda v: v.base is not None) if self.draw(st.booleans()) else self.writable()
        if target.base is not None:
            self.features.add("inplace:through-view")
        if target.expanded:
            self.features.add("inplace:expanded")
        op = self.draw(st.sampled_from(("add_", "mul_", "zero_", "fill_", "clamp_", "+=", "*=", "-=", "copy_",
                                        "neg_", "sqrt_", "abs_", "t_", "unsqueeze_", "div_", "sub_")))
        scalar = self.draw(python_scalars)
        if op in ("add_", "mul_", "div_", "sub_"):
            other = self.broadcast_source(target) if self.draw(st.booleans()) else repr(scalar)
            source = f"{target.name}.{op}({other})"
        elif op in ("+=", "*=", "-="):
            other = self.broadcast_source(target) if self.draw(st.booleans()) else repr(scalar)
            source = f"{target.name} {op} {other}"
        elif op == "fill_":
            source = f"{target.name}.fill_({scalar!r})"
        elif op == "clamp_":
            source = f"{target.name}.clamp_(min=0)"
        elif op == "copy_":
            source = f"{target.name}.copy_({self.broadcast_source(target)})"
        elif op == "t_":
            if target.ndim > 2:
                op = "unsqueeze_"
            else:
                source = f"{target.name}.t_()"
                target.shape, target.contiguous = target.shape[::-1], target.ndim < 2
        if op == "unsqueeze_":
            source = f"{target.name}.unsqueeze_(0)"
            target.shape = (1,) + target.shape
        elif op in ("zero_", "neg_", "sqrt_", "abs_"):
            source = f"{target.name}.{op}()"
        if target.grad:
            target.leaf = False
        if not op.endswith("="):  # bound, not echoed: programs print nothing, and `r is x` is compared
            source = f"{self.result_name()} = {source}"
        self.emit(source, "inplace", op, "inplace:op")
        return target

    def broadcast_source(self, target):
        """An expression whose value broadcasts to ``target``'s shape."""
        other = self.pick(lambda v: v.kind == "tensor" and v.name != target.name and v.base != target.name
                          and target.base != v.name and _broadcast(v.shape, target.shape) == target.shape)
        if other is not None:
            return other.name
        dtype = "float32" if target.floating else "int64"
        shape = target.shape[self.draw(st.integers(0, len(target.shape))):]
        arguments = ", ".join(map(str, shape)) or "()"
        if self.draw(st.booleans()):
            return f"torch.ones({arguments}, dtype=torch.{dtype})"
        return f"torch.arange({math.prod(shape)}).reshape({arguments}).to(torch.{dtype})"

    def reduce(self):
        op = self.draw(st.sampled_from(("sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin",
                                        "std", "var", "norm", "all", "any", "cumsum", "item", "sum-dtype")))
        if op in ("mean", "std", "var", "norm") and not self.chance(5):  # torch wants floats
            a = self.tensor(lambda v: v.floating, dtype="float32")
        else:
            a = self.tensor()
        name = self.new_name()
        if op == "item":
            source = f"{a.name}.sum().item()" if self.draw(st.booleans()) else f"{a.name}.max().item()"
            self.emit(f"{name} = {source}", "reduce", "item", "reduce:item")
            self.vars.pop(name, None)
            return None
        if op == "sum-dtype":
            self.emit(f"{name} = {a.name}.sum(dtype=torch.float64)", "reduce", "sum", "reduce:dtype")
            return self.bind(Var(name, (), "float64", grad=a.grad, leaf=not a.grad))
        dim = None
        keepdim = False
        if a.ndim and not self.chance(4):
            if op in ("sum", "mean", "amax", "amin", "std", "var") and a.ndim > 1 and self.draw(st.booleans()):
                dims = sorted(set(self.draw(st.lists(st.integers(0, a.ndim - 1), min_size=1, max_size=a.ndim))))
                dim = tuple(dims)
            else:
                dim = (self.dim_index(a),)
            keepdim = self.draw(st.booleans())
        if op == "cumsum":
            dim = dim[:1] if dim else (0,)
        args = []
        if dim is not None:
            dim_text = str(dim[0]) if len(dim) == 1 else repr(dim)
            args.append(f"dim={dim_text}" if self.draw(st.booleans()) else dim_text)
            if keepdim and op != "cumsum":
                args.append("keepdim=True")
                self.features.add("reduce:keepdim")
            self.features.add("reduce:dim")
        call = f"{a.name}.{op}({', '.join(args)})"
        if self.draw(st.booleans()) and op != "norm":
            call = f"torch.{op}({', '.join([a.name] + args)})"
        if op in ("max", "min") and dim is not None:  # a named tuple (values, indices)
            part = self.draw(st.sampled_from((".values", ".indices", "")))
            call += part
            if not part:
                self.emit(f"{name} = {call}", "reduce", op, f"reduce:{op}", "reduce:named-tuple")
                self.vars.pop(name, None)
                return None
        self.emit(f"{name} = {call}", "reduce", op, f"reduce:{op}")
        if op == "cumsum":
            shape = a.shape
        elif dim is None:
            shape = ()
        else:
            normal = {d % a.ndim for d in dim}
            shape = tuple(1 if d in normal else size for d, size in enumerate(a.shape)) if keepdim \
                else tuple(size for d, size in enumerate(a.shape) if d not in normal)
        dtype = {"argmax": "int64", "argmin": "int64", "all": "bool", "any": "bool"}.get(op, a.dtype)
        if call.endswith(".indices"):
            dtype = "int64"
        if op in ("mean", "std", "var", "norm") and not a.floating:
            dtype = "float32"
        if op == "sum" and a.dtype in ("bool",) + INT_DTYPES:
            dtype = "int64"
        grad = a.grad and dtype in FLOAT_DTYPES
        return self.bind(Var(name, shape, dtype, grad=grad, leaf=not grad))

    def index(self):
        a = self.tensor(lambda v: v.ndim > 0, shape=(self.draw(st.integers(1, 4)),))
        name = self.new_name()
        form = self.draw(st.sampled_from(("basic", "list", "tensor", "mask", "index_select", "gather",
                                          "masked_select")))
        if a.ndim == 0 and form not in ("mask", "masked_select"):
            form = "basic"
        size = a.shape[0] if a.ndim else 0
        if form == "basic":
            key, shape = self.slicing(a)
            source, op = f"{name} = {key}", "getitem"
            view = True
        elif form in ("list", "tensor", "index_select"):
            indices = self.draw(st.lists(st.integers(-size, size - 1), max_size=4)) if size else []
            if self.chance(20):
                indices.append(size)  # out of range: IndexError
            index = repr(indices) if form == "list" else f"torch.tensor({indices!r}, dtype=torch.int64)"
            if form == "index_select":
                source = f"{name} = {a.name}.index_select(0, {index})"
            else:
                source = f"{name} = {a.name}[{index}]" if self.draw(st.booleans()) or a.ndim < 2 \
                    else f"{name} = {a.name}[:, {_column_index(self.draw, a.shape[1], form)}]"
            shape, op, view = (len(indices),) + a.shape[1:], form, False
        elif form in ("mask", "masked_select"):
            threshold = self.draw(st.sampled_from((0, 1, 0.5)))
            source = f"{name} = {a.name}[{a.name} > {threshold}]" if form == "mask" \
                else f"{name} = {a.name}.masked_select({a.name} > {threshold})"
            shape, op, view = (None,), form, False
        else:
            dim = self.dim_index(a, negative=False)
            index_shape = tuple(self.draw(st.integers(0, size)) for size in a.shape)
            high = max(a.shape[dim], 1)
            source = (f"{name} = {a.name}.gather({dim}, torch.randint(0, {high}, {index_shape!r}))"
                      if a.shape[dim] else f"{name} = {a.name}.gather({dim}, torch.zeros({index_shape!r}, "
                      "dtype=torch.int64))")
            shape, op, view = index_shape, "gather", False
        self.emit(source, "index", op, f"index:{form}")
        if shape == (None,):
            return self.bind(Var(name, (a.numel,), a.dtype, grad=a.grad, leaf=not a.grad))
        return self.bind(Var(name, shape, a.dtype, grad=a.grad, leaf=not a.grad, contiguous=False,
                             base=(a.base or a.name) if view else None))

    def setitem(self):
        a = self.writable(lambda v: v.ndim > 0)
        form = self.draw(st.sampled_from(("basic", "basic", "mask", "list", "tensor-value")))
        if a.ndim == 0:
            form = "mask"
        if form == "list" and not a.shape[0]:
            form = "basic"
        if form == "mask":
            key = f"{a.name} > 0"
        elif form == "list":
            indices = sorted(set(self.draw(st.lists(st.integers(0, a.shape[0] - 1), min_size=1, max_size=3))))
            key = repr(indices)
        else:
            key = self.slicing(a)[0][len(a.name) + 1:-1]
        if form == "tensor-value":
            value = self.broadcast_source(Var("_", a.shape[1:], a.dtype))
        else:
            value = repr(self.draw(python_scalars))
        if a.grad:
            a.leaf = False
        self.emit(f"{a.name}[{key}] = {value}", "setitem", f"setitem-{form}", f"setitem:{form}",
                  *(("setitem:through-view",) if a.base else ()))
        return a

    def numpy(self):
        form = self.draw(st.sampled_from(("to-numpy", "from-numpy", "array-write", "as_tensor", "tolist",
                                          "tensor-of-array")))
        if form == "to-numpy":
            a = self.tensor()
            name = self.new_name("a")
            self.emit(f"{name} = {a.name}.numpy()", "numpy", "numpy", "numpy:numpy")
            return self.bind(Var(name, a.shape, a.dtype, kind="array", base=a.base or a.name))
        if form == "tolist":
            a = self.tensor()
            name = self.new_name("v")
            self.emit(f"{name} = {a.name}.tolist()", "numpy", "tolist", "numpy:tolist")
            return None
        array = self.pick(lambda v: v.kind == "array") or self.new_array()
        if form == "array-write":
            index = ", ".join("0" for _ in array.shape[:1]) or "..."
            self.emit(f"{array.name}[{index}] = {self.draw(python_scalars)!r}", "numpy", "array-setitem",
                      "numpy:array-write")
            return array
        name = self.new_name()
        if form == "from-numpy" and self.chance(10) and array.ndim:
            self.emit(f"{name} = torch.from_numpy({array.name}[::-1])", "numpy", "from_numpy",
                      "numpy:from_numpy", "numpy:negative-strides")
            return self.bind(Var(name, array.shape, array.dtype))
        call = {"from-numpy": "torch.from_numpy", "as_tensor": "torch.as_tensor",
                "tensor-of-array": "torch.tensor"}[form]
        self.emit(f"{name} = {call}({array.name})", "numpy", call.split(".")[1], f"numpy:{call.split('.')[1]}")
        return self.bind(Var(name, array.shape, array.dtype, base=array.name if form != "tensor-of-array" else None))

    def new_array(self):
        shape = self.draw(shapes)
        dtype = self.draw(st.sampled_from(NUMPY_DTYPES))
        name = self.new_name("a")
        shape_text = repr(tuple(shape))
        how = self.draw(st.sampled_from(("arange", "ones", "transposed")))
        if how == "arange" or (how == "transposed" and len(shape) < 2):
            source = f"{name} = np.arange({math.prod(shape)}).astype(np.{dtype}).reshape({shape_text})"
        elif how == "ones":
            source = f"{name} = np.ones({shape_text}, dtype=np.{dtype})"
        else:
            source = f"{name} = np.arange({math.prod(shape)}).astype(np.{dtype}).reshape({shape_text}).T"
            shape = tuple(reversed(shape))
            self.features.add("numpy:noncontiguous")
        self.emit(source, "numpy", "array", "numpy:array")
        return self.bind(Var(name, tuple(shape), dtype, kind="array"))

    def autograd(self):
        """A differentiable chain from a leaf to backward(), or backward() of what exists."""
        existing = self.pick(lambda v: v.kind == "tensor" and v.grad)
        if existing is None or self.draw(st.booleans()):
            leaf = self.create(dtype=self.draw(st.sampled_from(("float32", "float64"))), grad=True)
            chain = leaf.name
            shape = leaf.shape
            for _ in range(self.draw(st.integers(1, 3))):
                step = self.draw(st.sampled_from(("* 2", ".exp()", ".sin()", "** 2", ".permute", "[::2]", ".sum(0)",
                                                  ".t()", "+ 1", ".sigmoid()", ".expand", ".unsqueeze(0)",
                                                  ".relu()", ".mean()", ".abs()", ".clamp(min=0.1)")))
                chain, shape = _chain(chain, shape, step)
            name = self.new_name()
            self.emit(f"{name} = {chain}", "autograd", "chain", "autograd:chain")
            existing = self.bind(Var(name, shape, leaf.dtype, grad=True, leaf=False))
            if self.draw(st.booleans()):
                self.emit(f"{name}.retain_grad()", "autograd", "retain_grad", "autograd:retain_grad")
        if existing.shape and self.chance(4):
            self.emit(f"{existing.name}.backward(torch.ones_like({existing.name}))", "autograd", "backward",
                      "autograd:backward", "autograd:gradient-argument")
        elif existing.shape:
            reduction = self.draw(st.sampled_from(("sum", "mean")))
            self.emit(f"{existing.name}.{reduction}().backward()", "autograd", "backward", "autograd:backward")
        else:
            self.emit(f"{existing.name}.backward()", "autograd", "backward", "autograd:backward")
        return existing


_OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "//": "floordiv", "%": "mod",
              "&": "and", "|": "or", "@": "matmul", "<": "lt", ">": "gt", "==": "eq", "!=": "ne", ">=": "ge",
              "<=": "le"}


def _column_index(draw, size, form):
    indices = draw(st.lists(st.integers(-size, size - 1) if size else st.just(0), max_size=3))
    return repr(indices) if form == "list" else f"torch.tensor({indices!r})"


def _matmul_shape(a, b):
    """matmul's result shape, or ``a`` when they do not multiply (the program then raises)."""
    if not a or not b:
        return a
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return b[:-2] + b[-1:]
    batch = _broadcast(a[:-2], b[:-2])
    return (batch or ()) + (a[-2], b[-1])


def _chain(expression, shape, step):
    """``expression`` followed by one differentiable step, and the new shape."""
    if step == ".permute":
        order = tuple(reversed(range(len(shape))))
        return f"{expression}.permute({', '.join(map(str, order))})" if order else expression, shape[::-1]
    if step == ".expand":
        return f"{expression}.expand(2, {', '.join(map(str, shape))})" if shape else \
            f"{expression}.expand(2)", (2,) + shape
    if step == "[::2]":
        return (f"{expression}[::2]", (len(range(shape[0])[::2]),) + shape[1:]) if shape else (expression, shape)
    if step == ".sum(0)":
        return (f"{expression}.sum(0)", shape[1:]) if shape else (f"{expression}.sum()", ())
    if step == ".t()":
        return (f"{expression}.t()", shape[::-1]) if len(shape) <= 2 else (f"{expression}.mT",
                                                                         shape[:-2] + shape[-1:] + shape[-2:-1])
    if step == ".unsqueeze(0)":
        return f"{expression}.unsqueeze(0)", (1,) + shape
    if step == ".mean()":
        return f"{expression}.mean()", ()
    if step.startswith("."):
        return f"{expression}{step}", shape
    return f"({expression} {step})", shape


@st.composite
def factorizations(draw, total):
    """A shape whose sizes multiply to ``total`` (size-1 dims sprinkled in)."""
    dims = []
    remaining = total
    while remaining > 1:
        divisors = [d for d in range(2, remaining + 1) if remaining % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        remaining //= d
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    return tuple(dims)


@st.composite
def programs(draw, max_steps=MAX_STEPS, areas=AREAS):
    """A random program: a creation, then 1 to ``max_steps`` steps from ``areas`` (hypothesis
    shrinks a failing one towards fewer and simpler steps)."""
    builder = _Builder(draw)
    builder.create()
    for _ in range(draw(st.integers(1, max_steps))):
        area = draw(st.sampled_from(areas))
        getattr(builder, area)()
    return Program(tuple(builder.statements), frozenset(builder.features))


def with_statements(program, statements):
    """``program`` with only ``statements`` (used to trim a finding statement by statement)."""
    return replace(program, statements=tuple(statements))
