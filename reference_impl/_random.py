"""Random numbers that reproduce torch's CPU generator, number for number.

torch's CPU generator is a 32-bit Mersenne Twister (mt19937). Each distribution turns its
32-bit outputs into samples by a fixed recipe, and each kernel visits a tensor's elements
in a fixed order, so with the same seed every sample here is the sample torch draws:

- ``rand``/``uniform_``: the low 24 bits (float16/32) or 53 bits of a 64-bit draw (float64)
  scaled into [0, 1), then ``x * (to - from) + from`` as one fused multiply-add.
- ``randn``/``normal_``: for 16 or more contiguous elements, Box-Muller over blocks of 16
  uniforms (the last block overlaps the end); otherwise one double-precision Box-Muller pair
  per two samples, the second one cached in the generator for the next call.
- ``randint``/``random_``: a 32-bit draw (64-bit for ranges of 2**28 or more) modulo the range.
- ``randperm``: swaps driven by ``draw % (n - i)``.

Serial kernels visit elements in memory order (TensorIterator walks dims from the largest
stride in), which matters for non-contiguous tensors.
"""

import numbers
import operator
import os
import warnings

import numpy as np

from . import _creation, _device, _dtype, _errors, _layout
from ._elementwise import add, mul
from ._fma import fma32, fma64
from ._ops import check_writable, quiet, store_inplace, tensor_method
from ._tensor import Tensor

__all__ = [
    "Generator", "default_generator", "get_rng_state", "initial_seed", "manual_seed", "normal", "rand",
    "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "seed", "set_rng_state",
]

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


# -- the Mersenne Twister -------------------------------------------------------------------
# torch's engine is the textbook 32-bit mt19937 (tests/reference_impl/test_random.py spells
# it out word by word). numpy ships the same algorithm in C as np.random.MT19937, so the
# engine here lets numpy twist and temper the words and only keeps torch's counters.

_N = 624


def _seeded_words(seed):
    """mt19937's initial state from the low 32 bits of ``seed`` (a sequential recurrence)."""
    words = [seed & 0xFFFFFFFF]
    for j in range(1, _N):
        previous = words[-1]
        words.append((1812433253 * (previous ^ (previous >> 30)) + j) & 0xFFFFFFFF)
    return words


class _MersenneTwister:
    """at::mt19937: 624 state words, ``left`` draws until the next twist, ``next`` word to read.

    torch draws with ``if (--left == 0) twist(); return temper(words[next++]);``, and its
    twist restarts at left = 624, next = 0. Here numpy's MT19937 holds the words, its
    position ``pos`` being ``next``; it twists when pos reaches 624. After any twist
    left - 1 == 624 - next, so torch twists then too: numpy makes any number of draws in
    one call, and this class only keeps torch's two counters up to date.

    Before the first twist torch's ``left`` may run out first: a fresh seed's state
    (left = 1, next = 0) or one from set_state. The draws up to that twist are made at the
    start, into ``_ahead``, and numpy waits at pos 624, so that its next read twists.
    """

    __slots__ = ("seed", "left", "next", "_numpy", "_ahead")

    def __init__(self, seed):
        self._numpy = np.random.MT19937()  # made once (that is slow); load() sets its state
        self.reseed(seed)

    def reseed(self, seed):
        self.load(seed, _seeded_words(seed), left=1, next_word=0)  # the first draw twists

    def load(self, seed, words, left, next_word):
        """Start from torch's state: ``words``, ``left`` and ``next``."""
        self.seed, self.left, self.next = seed, left, next_word
        # numpy copies the words one by one: from a list of ints that is far quicker than from an array
        words = np.asarray(words, dtype=np.uint32).tolist()
        self._numpy_at(words, next_word)
        before_twist = self._draws_before_twist()
        if next_word + before_twist < _N:  # torch twists before the words run out
            self._ahead = self._numpy.random_raw(before_twist).astype(np.uint32)
            self._numpy_at(words, _N)
        else:
            self._ahead = np.empty(0, dtype=np.uint32)

    def _numpy_at(self, words, pos):
        """numpy's next output becomes word ``pos`` of ``words``, tempered; at pos 624 its next
        read twists all the words first."""
        self._numpy.state = {"bit_generator": "MT19937", "state": {"key": words, "pos": pos}}

    @property
    def words(self):
        return self._numpy.state["state"]["key"]

    def _draws_before_twist(self):
        # a state set by hand may have more draws left than words: then the twist comes when
        # the words run out (torch would read past them)
        return min(self.left - 1, _N - self.next)

    def draw(self, count):
        """The next ``count`` 32-bit outputs (numpy gives them as uint64s below 2**32)."""
        outputs = np.empty(count, dtype=np.uint32)
        ahead = min(count, len(self._ahead))
        outputs[:ahead], self._ahead = self._ahead[:ahead], self._ahead[ahead:]
        outputs[ahead:] = self._numpy.random_raw(count - ahead)
        before_twist = self._draws_before_twist()
        if count <= before_twist:
            self.left, self.next = self.left - count, self.next + count
        else:  # a twist after ``before_twist`` draws, and another every 624 draws after it
            self.next = (count - before_twist - 1) % _N + 1
            self.left = _N + 1 - self.next
        return outputs


# -- Generator --------------------------------------------------------------------------------

DEFAULT_SEED = 67280421310721  # what a new torch.Generator() starts from

# torch.get_rng_state()'s bytes: the C struct CPUGeneratorImplState, padding included (zeros).
# The state words are stored widened to 64 bits; two legacy doubles at 5016 and 5032 stay 0.
_STATE_LAYOUT = np.dtype({
    "names": ["seed", "left", "seeded", "next", "words", "double_normal", "double_normal_valid",
              "float_normal", "float_normal_valid"],
    "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _N), "<f8", "<i4", "<f4", "u1"],
    "offsets": [0, 8, 12, 16, 24, 5024, 5040, 5048, 5052],
    "itemsize": 5056,
})


class Generator:
    """torch.Generator for the CPU: a Mersenne Twister plus the Box-Muller sample it caches."""

    def __init__(self, device="cpu"):
        if _device.device(device).type != "cpu":
            raise _errors.no_cuda()
        self._engine = _MersenneTwister(DEFAULT_SEED)
        self._double_normal = None  # the second sample of the last double Box-Muller pair
        self._float_normal = None  # torch's float cache: no CPU kernel uses it, the state keeps it

    def _reset(self, seed):
        self._engine.reseed(seed)
        self._double_normal = self._float_normal = None

    @property
    def device(self):
        return _device.CPU

    def manual_seed(self, seed):
        """Restart from ``seed`` (an int; negatives wrap to 64 bits as in torch) and return self."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise _errors.manual_seed_not_int(seed)
        if not _INT64_MIN <= seed <= _UINT64_MAX:
            raise _errors.int_overflow()
        self._reset(int(seed) & _UINT64_MAX)
        return self

    def seed(self):
        """Reseed from the operating system's randomness; returns the new seed."""
        fresh = int.from_bytes(os.urandom(8), "little")
        self._reset(fresh)
        return fresh

    def initial_seed(self):
        return self._engine.seed

    def get_state(self):
        """The state as torch lays it out: a uint8 tensor of 5056 bytes."""
        state = np.zeros((), dtype=_STATE_LAYOUT)
        engine = self._engine
        state["seed"], state["left"], state["seeded"], state["next"] = engine.seed, engine.left, 1, engine.next
        state["words"] = engine.words
        if self._double_normal is not None:
            state["double_normal"], state["double_normal_valid"] = self._double_normal, 1
        if self._float_normal is not None:
            state["float_normal"], state["float_normal_valid"] = self._float_normal, 1
        return Tensor._from_fresh_array(np.frombuffer(state.tobytes(), dtype=np.uint8).copy(), _dtype.uint8)

    def set_state(self, new_state):
        """Restore a state from ``get_state``; returns self."""
        if not isinstance(new_state, Tensor):
            raise _errors.rng_state_not_tensor(new_state)
        if new_state.dtype is not _dtype.uint8:
            raise _errors.rng_state_not_byte_tensor()
        if not new_state.is_contiguous():
            raise _errors.rng_state_not_contiguous()
        if new_state.numel() != _STATE_LAYOUT.itemsize:
            raise _errors.rng_state_wrong_size(_STATE_LAYOUT.itemsize, new_state.numel())
        state = np.frombuffer(new_state._array().tobytes(), dtype=_STATE_LAYOUT)[0]
        left, next_word = int(state["left"]), int(state["next"]) & 0xFFFFFFFF
        if not (state["seeded"] and 0 < left <= _N and next_word <= _N):
            raise _errors.invalid_mt19937_state()
        # torch keeps the low 32 bits of each word
        self._engine.load(int(state["seed"]), state["words"].astype(np.uint32), left, next_word)
        self._double_normal = float(state["double_normal"]) if state["double_normal_valid"] else None
        self._float_normal = float(state["float_normal"]) if state["float_normal_valid"] else None
        return self

    def __repr__(self):
        return f"<torch._C.Generator object at {hex(id(self))}>"

    # -- raw draws ----------------------------------------------------------------------------

    def _random32(self, count):
        return self._engine.draw(count)

    def _random64(self, count):
        """64-bit draws: two 32-bit outputs each, the first one the high half."""
        halves = self._engine.draw(2 * count).astype(np.uint64)
        return (halves[0::2] << np.uint64(32)) | halves[1::2]


default_generator = Generator()
default_generator.seed()  # torch seeds its default generator non-deterministically at start-up


def _generator(generator):
    return default_generator if generator is None else generator


def manual_seed(seed):
    """Seed the default generator (torch converts ``seed`` with ``int()`` first) and return it."""
    return default_generator.manual_seed(int(seed))


def seed():
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


# -- samplers: numpy arrays in the order torch draws them ---------------------------------------

def _opmath(dtype):
    """The precision torch samples a floating dtype in (float16 goes through float32)."""
    return np.float64 if dtype is _dtype.float64 else np.float32


def _to_dtype(values, dtype):
    """C++'s static_cast to ``dtype``; a Half is always made from a float, never straight
    from a double or an integer, so those round twice."""
    if dtype is _dtype.float16:
        values = values.astype(np.float32)
    return values.astype(dtype.numpy_dtype, copy=False)


def _uniform(generator, count, opmath, low, high):
    """at::uniform_real_distribution in ``opmath`` precision: 24 or 53 random bits scaled
    into [0, 1), then fma(x, high - low, low)."""
    # (the big arrays are updated in place where they can be: fresh memory is slow to get)
    if opmath is np.float64:
        bits = generator._random64(count)
        bits &= np.uint64(2**53 - 1)
        x = bits.astype(np.float64)
        x *= 2.0**-53
        return fma64(x, high - low, low)
    bits = generator._random32(count)
    bits &= np.uint32(2**24 - 1)
    x = bits.astype(np.float32)
    x *= np.float32(2**-24)
    return fma32(x, np.float32(high) - np.float32(low), np.float32(low))


def _box_muller_blocks(uniforms, opmath, mean, std):
    """torch's normal_fill_16 on each block of 16 uniforms: the first 8 give radii, the last
    8 angles; each pair yields a cosine sample (slots 0-7) and a sine sample (slots 8-15).
    float32 follows the AVX2 kernel: float32 rounding after each step."""
    blocks = uniforms.reshape(-1, 2, 8)
    one_minus_u, angle_u = 1 - blocks[:, 0], blocks[:, 1]
    with quiet():
        if opmath is np.float64:
            radius = np.sqrt(-2 * np.log(one_minus_u))
            theta = 2 * np.pi * angle_u
            samples = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
            return fma64(samples, std, mean).reshape(-1)
        # torch's SLEEF functions are within 1 ulp. Measured against torch's samples: log taken
        # in float64 and rounded (dtype=, out=: a buffer at a time) and cos/sin from numpy's
        # float32 SIMD loops agree most often (92% of samples bit for bit; cos/sin rounded
        # from float64 too: 84%), and the float32 loops are the fast ones.
        radius = np.log(one_minus_u, dtype=np.float64, out=np.empty_like(one_minus_u))
        radius *= np.float32(-2)
        np.sqrt(radius, out=radius)  # sqrt(-2 log(1 - u)), in place
        theta = np.float32(2 * np.pi) * angle_u
        samples = np.empty_like(blocks)  # per block: 8 cosine samples, then 8 sine samples
        np.cos(theta, out=samples[:, 0])
        np.sin(theta, out=samples[:, 1])
        samples *= radius[:, np.newaxis]
        return fma32(samples, np.float32(std), np.float32(mean)).reshape(-1)


def _normal_blocks(generator, count, dtype, mean, std):
    """torch's normal_fill (16 or more contiguous elements): Box-Muller over blocks of 16;
    a remainder is covered by one more block of fresh uniforms over the last 16 elements.
    float32/64 draw all ``count`` uniforms first (the remainder's are drawn, then replaced);
    float16 draws block by block, so it skips them."""
    opmath = _opmath(dtype)
    whole = count - count % 16
    uniforms = _uniform(generator, whole if dtype is _dtype.float16 else count, opmath, 0.0, 1.0)
    values = _box_muller_blocks(uniforms[:whole], opmath, mean, std)
    if count % 16:
        last = _box_muller_blocks(_uniform(generator, 16, opmath, 0.0, 1.0), opmath, mean, std)
        values = np.concatenate([values[:count - 16], last])
    return _to_dtype(values, dtype)


def _normal_pairs(generator, count, mean, std):
    """at::normal_distribution<double>, one sample per call: a call with a cached sample
    returns it; otherwise it draws u1 then u2 and returns r*cos(theta), caching r*sin(theta)."""
    samples = []
    if count and generator._double_normal is not None:
        samples.append(np.array([generator._double_normal]))
        generator._double_normal = None
    fresh = count - len(samples)
    pairs = (fresh + 1) // 2
    uniforms = _uniform(generator, 2 * pairs, np.float64, 0.0, 1.0)
    angle_u, radius_u = uniforms[0::2], uniforms[1::2]
    radius = np.sqrt(-2 * np.log1p(-radius_u))
    theta = 2 * np.pi * angle_u
    drawn = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1).reshape(-1)
    if fresh % 2:
        generator._double_normal = float(drawn[-1])
    samples.append(drawn[:fresh])
    return fma64(np.concatenate(samples), std, mean)


def _random_in_range(generator, count, span, base):
    """``draw % span + base`` in uint64 arithmetic, read as int64; a span of 2**64 is the raw
    64-bit draw. Spans below 2**28 use 32-bit draws."""
    if span == 2**64:
        return generator._random64(count).view(np.int64)
    draws = generator._random64(count) if span >= 2**28 else generator._random32(count).astype(np.uint64)
    with quiet():
        return (draws % np.uint64(span) + np.uint64(base & _UINT64_MAX)).view(np.int64)


def _random_bits(generator, count, dtype):
    """random_() with no bounds: [0, 2**digits] for floats, [0, max] for integers, a coin for bool."""
    if dtype is _dtype.bool:
        return (generator._random32(count) & np.uint32(1)).astype(np.bool_)
    wide = dtype in (_dtype.int64, _dtype.float64)
    draws = generator._random64(count) if wide else generator._random32(count).astype(np.uint64)
    if dtype.is_floating_point:
        span = 2 ** _digits(dtype) + 1
    else:
        span = int(np.iinfo(dtype.numpy_dtype).max) + 1
    return _to_dtype(draws % np.uint64(span), dtype)


# -- writing samples into tensors -------------------------------------------------------------

def _visit_order(tensor):
    """Row-major positions of ``tensor``'s elements in the order torch's serial CPU kernels
    visit them: TensorIterator nests dims from the largest stride to the smallest."""
    strides = tensor.stride()
    dims = sorted(range(tensor.dim()), key=lambda d: -strides[d])
    return np.arange(tensor.numel()).reshape(tensor.shape).transpose(dims).reshape(-1)


def _arranged(tensor, drawn):
    """``drawn`` (samples in the order they were drawn) as an array shaped like ``tensor``,
    each sample where torch's kernel puts it."""
    if tensor.is_contiguous():
        return drawn.reshape(tensor.shape)
    arranged = np.empty(tensor.numel(), dtype=drawn.dtype)
    arranged[_visit_order(tensor)] = drawn
    return arranged.reshape(tensor.shape)


def _fresh(tensor, values):
    """A new factory result filled in: torch's fills inside factories leave ``_version`` at 0."""
    np.copyto(tensor._array(), values, casting="unsafe")
    return tensor


# -- the samples behind the in-place methods and the factories --------------------------------
# Each checks its arguments as torch does and returns values shaped like ``tensor``.

def _uniform_values(tensor, from_, to, generator):
    """Samples from [from, to), after torch's checks of the bounds against the dtype."""
    low, high = float(from_), float(to)
    dtype = tensor.dtype
    if not dtype.is_floating_point:
        raise _errors.not_implemented_for("check_uniform_bounds", dtype)
    largest = float(np.finfo(dtype.numpy_dtype).max)
    for name, value in (("from", low), ("to", high)):
        if not -largest <= value <= largest:
            raise _errors.random_bound_out_of_range(name, dtype)
    if not low <= high:
        raise _errors.uniform_reversed_range(low, high)
    if not high - low <= largest:
        raise _errors.uniform_range_too_wide(dtype, low, high)
    values = _to_dtype(_uniform(_generator(generator), tensor.numel(), _opmath(dtype), low, high), dtype)
    # a value that rounds up to ``to`` in a narrower dtype becomes ``from``, keeping [from, to)
    high_value, low_value = _to_dtype(np.array([high, low]), dtype)
    values[values == high_value] = low_value
    return _arranged(tensor, values)


def _normal_values(tensor, mean, std, generator):
    """Normal samples: blocks of 16 for 16 or more contiguous elements, else pairs."""
    mean, std = float(mean), float(std)
    if not std >= 0:
        raise _errors.normal_negative_std(std)
    count = tensor.numel()
    if count == 0:
        return np.empty(tensor.shape, dtype=tensor.dtype.numpy_dtype)
    if not tensor.dtype.is_floating_point:
        raise _errors.not_implemented_for("normal_kernel_cpu", tensor.dtype)
    generator = _generator(generator)
    if count >= 16 and tensor.is_contiguous():
        return _arranged(tensor, _normal_blocks(generator, count, tensor.dtype, mean, std))
    return _arranged(tensor, _to_dtype(_normal_pairs(generator, count, mean, std), tensor.dtype))


def _random_values(tensor, low, high, generator):
    """Integers from [low, high) (``high`` None: from ``low`` up to the dtype's top)."""
    span, base = _random_span(tensor.dtype, _int64(low), None if high is None else _int64(high))
    drawn = _random_in_range(_generator(generator), tensor.numel(), span, base)
    return _arranged(tensor, _to_dtype(drawn, tensor.dtype))


def _int64(value):
    """A Python integer as the int64 torch's bindings unpack it."""
    value = operator.index(value)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _errors.int_overflow()
    return value


def _digits(dtype):
    """Bits of precision of a floating dtype, counting the implicit leading bit."""
    return np.finfo(dtype.numpy_dtype).nmant + 1


def _random_span(dtype, low, high):
    """(span, base) of the integers random_ draws from, after torch's checks. For floating
    dtypes the bounds first move inwards to integers the dtype holds exactly."""
    if high is not None:
        if low >= high:
            raise _errors.random_from_not_less(low, high)
        if dtype.is_floating_point:
            low, high = _update_from(low, dtype), _update_to(high, dtype)
            if low >= high:
                raise _errors.random_cast_from_not_less(low, high)
        _check_random_bounds(low, high - 1, dtype)
        return high - low, low
    if low == _INT64_MIN:
        if dtype not in (_dtype.int64, _dtype.float32, _dtype.float64):
            if dtype in (_dtype.float16, _dtype.bool):
                raise _errors.not_implemented_for("random_full_64_bits_range_kernel_cpu", dtype)
            raise _errors.random_full_range_unsupported()
        return 2**64, 0
    if dtype.is_floating_point:
        top = min(2 ** _digits(dtype), _INT64_MAX)
        low = _update_from(low, dtype)
        if low >= top:
            raise _errors.random_cast_from_above_top(low, top)
    else:
        top = 1 if dtype is _dtype.bool else int(np.iinfo(dtype.numpy_dtype).max)
    _check_random_bounds(low, top, dtype)
    return top - low + 1, low


def _as_dtype_integer(value, dtype):
    """``static_cast<int64_t>(static_cast<scalar_t>(value))`` for a floating dtype."""
    return int(_to_dtype(np.array([value], dtype=np.int64), dtype)[0])


def _update_from(low, dtype):
    """Move ``low`` up to where ``low + 1`` survives the round trip through ``dtype``."""
    rounded = _as_dtype_integer(low + 1, dtype)
    if rounded < low:
        return rounded + (1 << (abs(low + 1).bit_length() - 1 - _digits(dtype) + 1))
    return low


def _update_to(high, dtype):
    """Move ``high`` down so that ``high - 1`` does not round up to ``high`` or beyond."""
    rounded = _as_dtype_integer(high - 1, dtype)
    if rounded >= high:
        return rounded - (1 << (abs(high - 1).bit_length() - 1 - _digits(dtype) + 1))
    return high


def _check_random_bounds(low, top, dtype):
    """Both ends must fit the dtype; floating dtypes also warn past 2**digits, where not
    every integer is representable."""
    if dtype.is_floating_point:
        smallest, largest = -float(np.finfo(dtype.numpy_dtype).max), float(np.finfo(dtype.numpy_dtype).max)
    elif dtype is _dtype.bool:
        smallest, largest = 0, 1
    else:
        info = np.iinfo(dtype.numpy_dtype)
        smallest, largest = int(info.min), int(info.max)
    for name, value in (("from", low), ("to - 1", top)):
        if not smallest <= value <= largest:
            raise _errors.random_bound_out_of_range(name, dtype)
    if dtype.is_floating_point:
        digits = _digits(dtype)
        for name, value in (("from", low), ("to - 1", top)):
            if abs(value) > 2**digits:
                warnings.warn(_errors.random_imprecise_bound_warning(name, digits, dtype), UserWarning, stacklevel=5)


# -- in-place methods ------------------------------------------------------------------------

@tensor_method()
def uniform_(self, from_=0, to=1, *, generator=None):
    """Fill with uniform samples from [from, to)."""
    check_writable(self)
    return store_inplace(self, _uniform_values(self, from_, to, generator), self.dtype)


@tensor_method()
def normal_(self, mean=0, std=1, *, generator=None):
    """Fill with normal samples of the given mean and standard deviation."""
    check_writable(self)
    return store_inplace(self, _normal_values(self, mean, std, generator), self.dtype)


_UNSET = object()  # random_(from, None) has an open top, unlike random_(to)


@tensor_method()
def random_(self, from_=None, to=_UNSET, *, generator=None):
    """random_(): every integer the dtype holds from 0 up (floats: up to 2**digits);
    random_(to), random_(from, to): integers in [from, to); random_(from, None): from ``from`` up."""
    check_writable(self)
    if from_ is None and to is _UNSET:
        values = _arranged(self, _random_bits(_generator(generator), self.numel(), self.dtype))
    elif to is _UNSET:
        values = _random_values(self, 0, from_, generator)
    else:
        values = _random_values(self, 0 if from_ is None else from_, to, generator)
    return store_inplace(self, values, self.dtype)


# -- factories ----------------------------------------------------------------------------------

def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Samples from the uniform distribution on [0, 1)."""
    result = _creation._allocate("rand", size, dtype, None, device, requires_grad)
    return _fresh(result, _uniform_values(result, 0, 1, generator))


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    """``rand`` shaped like ``input``, keeping its dense layout (filled in memory order)."""
    result = _creation.empty_like(input, dtype=dtype, device=device, requires_grad=requires_grad)
    return _fresh(result, _uniform_values(result, 0, 1, generator))


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Samples from the standard normal distribution."""
    result = _creation._allocate("randn", size, dtype, None, device, requires_grad)
    return _fresh(result, _normal_values(result, 0, 1, generator))


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    """``randn`` shaped like ``input``, keeping its dense layout (filled in memory order)."""
    result = _creation.empty_like(input, dtype=dtype, device=device, requires_grad=requires_grad)
    return _fresh(result, _normal_values(result, 0, 1, generator))


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """``randint(high, size)`` or ``randint(low, high, size)``: integers from [low, high),
    int64 unless ``dtype`` says otherwise."""
    named = {"low": low, "high": high, "size": size}
    three_argument_form = len(args) + sum(value is not None for value in named.values()) == 3
    names = ("low", "high", "size") if three_argument_form else ("high", "size")
    bound = dict(zip(names, args))
    bound.update((name, value) for name, value in named.items() if value is not None)
    size = bound["size"]
    if not isinstance(size, (tuple, list)):
        position = names.index("size") + 1 if "size" in names[:len(args)] else None
        raise _errors.argument_not_int_tuple("randint", "size", position, size)
    result = _creation._allocate("randint", tuple(size), dtype or _dtype.int64, None, device, requires_grad)
    return _fresh(result, _random_values(result, bound.get("low", 0), bound.get("high"), generator))


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``."""
    if high is None:
        low, high = 0, low
    result = _creation.empty_like(input, dtype=dtype, device=device, requires_grad=requires_grad)
    return _fresh(result, _random_values(result, low, high, generator))


# ``value cannot be converted to type ... without overflow``: the C names torch uses
_C_TYPE_NAMES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int"}


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64 unless ``dtype`` says otherwise).

    torch's CPU algorithm: start from 0..n-1 and, for i = 0..n-2, swap element i with
    element i + (32-bit draw % (n - i)). The draws are vectorised; the swaps depend on
    each other, so they run in order.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise _errors.argument_not_int("randperm", "n", 1, n)
    dtype = _dtype.resolve(dtype, "randperm") or _dtype.int64
    result = _creation._allocate("randperm", (n,), dtype, None, device, requires_grad)
    if dtype.name in _C_TYPE_NAMES and n - 1 > np.iinfo(dtype.numpy_dtype).max:
        raise _errors.value_overflows(_C_TYPE_NAMES[dtype.name])
    if dtype.is_floating_point and n > 2 ** _digits(dtype) + 1:
        raise _errors.randperm_imprecise(dtype)
    if dtype is _dtype.bool:
        raise _errors.not_implemented_for("randperm", dtype)
    offsets = np.arange(max(n - 1, 0))
    targets = _generator(generator)._random32(len(offsets)).astype(np.int64) % (n - offsets) + offsets
    permutation = list(range(n))
    for i, j in enumerate(targets.tolist()):
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return _fresh(result, np.array(permutation))


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples: ``normal(mean, std, size)`` with numbers, or elementwise with a
    tensor ``mean`` and/or ``std`` (computed as torch does: ``normal_(0, std)`` then ``+ mean``
    for a tensor mean alone, otherwise ``normal_(0, 1) * std + mean``)."""
    mean_is_tensor, std_is_tensor = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_is_tensor and not std_is_tensor:
        if size is None:
            raise _errors.normal_needs_size()
        result = _creation._allocate("normal", (tuple(size),), dtype, None, device, requires_grad)
        return _fresh(result, _normal_values(result, mean, std, generator))
    if std_is_tensor and std.numel() and not std._array().min() >= 0:
        raise _errors.normal_negative_std_tensor()
    if not std_is_tensor:
        samples = _creation.empty(mean.shape, dtype=mean.dtype)
        _fresh(samples, _normal_values(samples, 0, std, generator))
        return add(samples, mean)
    like = mean if mean_is_tensor else std
    shape = _layout.broadcast_shapes(mean.shape, std.shape) if mean_is_tensor else std.shape
    samples = _creation.empty(shape, dtype=like.dtype)
    _fresh(samples, _normal_values(samples, 0, 1, generator))
    scaled = mul(samples, std).to(like.dtype)
    return add(scaled, mean if mean_is_tensor else _creation.full((), mean, dtype=like.dtype)).to(like.dtype)
