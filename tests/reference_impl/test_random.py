"""reference_impl's random numbers: the Mersenne Twister, torch's samplers and their draw
counts, the generator state, and the values torch produces (pinned from torch 2.13 on CPU)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as rt
from reference_impl import _random

from .strategies import strided_tensors

float32s = st.floats(-1e6, 1e6, width=32, allow_subnormal=False)


def _engine_state():
    """The Mersenne Twister's part of the state bytes (without the cached normal)."""
    return rt.get_rng_state()[:5016]


def _draws_taken(action, seed=0):
    """How many 32-bit outputs ``action()`` takes from the default generator."""
    rt.manual_seed(seed)
    action()
    after = _engine_state()
    for count in range(200):
        rt.manual_seed(seed)
        rt.default_generator._random32(count)
        if rt.equal(_engine_state(), after):
            return count
    raise AssertionError("more than 200 draws")


# -- the engine ----------------------------------------------------------------------------

class _ScalarMT19937:
    """torch's at::mt19937 as the textbook writes it, one word at a time: the reference that
    the engine (numpy's MT19937 plus torch's counters) is checked against."""

    def __init__(self, words, left, next_word):
        self.words, self.left, self.next = list(words), left, next_word

    @classmethod
    def seeded(cls, seed):
        words = [seed & 0xFFFFFFFF]
        for j in range(1, 624):
            words.append((1812433253 * (words[-1] ^ (words[-1] >> 30)) + j) & 0xFFFFFFFF)
        return cls(words, left=1, next_word=0)

    def _twist(self):
        """Each word from its upper bit, the next word's lower 31 bits and the word 397 on;
        from word 227 on that one is already new."""
        words = self.words
        for i in range(624):
            y = (words[i] & 0x80000000) | (words[(i + 1) % 624] & 0x7FFFFFFF)
            words[i] = words[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        self.left, self.next = 624, 0

    def draw(self):
        self.left -= 1
        if self.left == 0 or self.next == 624:  # torch checks only ``left``; it would read past the words
            self._twist()
        y = self.words[self.next]
        self.next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)


def _scalar_mt19937(seed, count):
    engine = _ScalarMT19937.seeded(seed)
    return [engine.draw() for _ in range(count)]


def test_mt19937_reference_output():
    """The first output for the standard default seed 5489, and 10000th for seed 5489 (C++11)."""
    engine = _random._MersenneTwister(5489)
    outputs = engine.draw(10000)
    assert outputs[0] == 3499211612
    assert outputs[-1] == 4123659995
    assert _scalar_mt19937(5489, 10000)[-1] == 4123659995


@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 1500), min_size=1, max_size=4))
@settings(max_examples=20, deadline=None)
def test_vectorised_draws_match_the_scalar_algorithm(seed, chunks):
    engine = _random._MersenneTwister(seed)
    drawn = np.concatenate([engine.draw(count) for count in chunks])
    assert drawn.dtype == np.uint32
    assert drawn.tolist() == _scalar_mt19937(seed, sum(chunks))


def _state_bytes(words, left, next_word):
    """A generator state with the given engine counters (and no cached normal)."""
    raw = bytearray(rt.Generator().get_state().numpy().tobytes())
    raw[8:12] = left.to_bytes(4, "little")
    raw[16:24] = next_word.to_bytes(8, "little")
    raw[24:24 + 624 * 8] = np.array(words, dtype="<u8").tobytes()
    return rt.tensor(list(raw), dtype=rt.uint8)


@pytest.mark.parametrize(("left", "next_word"), [
    (1, 0),  # a fresh seed: the first draw twists
    (624, 1), (313, 312), (2, 623), (1, 624),  # torch's own states: left - 1 == 624 - next
    (300, 10), (1, 300), (624, 0),  # torch's left runs out before the words do
    (600, 624), (624, 500),  # more draws left than words: the twist comes when the words run out
])
def test_long_streams_from_any_position_match_the_scalar_engine(left, next_word):
    """Thousands of draws across several twists, in uneven chunks, from a state set by hand;
    the state read back after each chunk is the scalar engine's too."""
    words = _ScalarMT19937.seeded(2024).words
    state = _state_bytes(words, left, next_word)
    generator = rt.Generator().set_state(state)
    assert rt.equal(generator.get_state(), state)
    reference = _ScalarMT19937(words, left, next_word)
    for count in (0, 1, 7, 623, 624, 1000, 5, 2500):
        assert generator._random32(count).tolist() == [reference.draw() for _ in range(count)]
        assert rt.equal(generator.get_state(), _state_bytes(reference.words, reference.left, reference.next))


def test_random64_puts_the_first_draw_high():
    generator = rt.Generator().manual_seed(7)
    pair = rt.Generator().manual_seed(7)._random32(2).astype(np.uint64)
    assert generator._random64(1)[0] == (pair[0] << np.uint64(32)) | pair[1]


# -- seeds and generators ------------------------------------------------------------------------

def test_manual_seed_returns_the_default_generator_and_wraps_negative_seeds():
    generator = rt.manual_seed(-1)
    assert generator is rt.default_generator
    assert rt.initial_seed() == 2**64 - 1
    assert rt.manual_seed(3.7).initial_seed() == 3  # torch.manual_seed applies int() first


def test_only_the_low_32_bits_reach_the_twister():
    rt.manual_seed(5)
    a = rt.rand(4)
    rt.manual_seed(2**32 + 5)
    assert rt.equal(a, rt.rand(4))
    assert rt.initial_seed() == 2**32 + 5


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_seeds_beyond_64_bits_overflow(seed):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        rt.manual_seed(seed)


@pytest.mark.parametrize("seed", [1.5, True, "3"])
def test_generator_manual_seed_wants_an_int(seed):
    with pytest.raises(RuntimeError, match=f"manual_seed expected a long, but got {type(seed).__name__}"):
        rt.Generator().manual_seed(seed)


def test_a_new_generator_starts_from_torchs_default_seed():
    generator = rt.Generator()
    assert generator.initial_seed() == 67280421310721
    assert rt.rand(2, generator=generator).tolist() == [0.267295241355896, 0.8725283145904541]
    assert generator.device == rt.device("cpu")
    assert repr(generator).startswith("<torch._C.Generator object at 0x")


def test_a_generator_leaves_the_default_stream_alone():
    rt.manual_seed(0)
    expected = rt.rand(3)
    rt.manual_seed(0)
    rt.rand(5, generator=rt.Generator().manual_seed(1))
    assert rt.equal(rt.rand(3), expected)


def test_seed_reseeds_non_deterministically():
    first = rt.seed()
    assert rt.initial_seed() == first
    assert 0 <= first < 2**64
    assert rt.seed() != first


# -- the state ----------------------------------------------------------------------------------

def test_state_layout_matches_torchs_struct():
    rt.manual_seed(3)
    rt.rand(700)
    state = rt.get_rng_state()
    assert state.dtype is rt.uint8 and state.shape == (5056,)
    raw = state.numpy().tobytes()
    assert int.from_bytes(raw[0:8], "little") == 3
    assert int.from_bytes(raw[8:12], "little") == 624 - (700 - 624) + 1  # left
    assert int.from_bytes(raw[12:16], "little") == 1  # seeded
    assert int.from_bytes(raw[16:24], "little") == 700 - 624  # next
    assert np.frombuffer(raw[24:24 + 624 * 8], dtype="<u8").max() < 2**32
    assert raw[5016:5056] == bytes(40)  # no cached normals; padding is zero


def test_cached_normal_is_part_of_the_state():
    rt.manual_seed(0)
    rt.randn(1)
    raw = rt.get_rng_state().numpy().tobytes()
    assert np.frombuffer(raw[5024:5032], dtype="<f8")[0] == pytest.approx(-0.2934289057609464)
    assert int.from_bytes(raw[5040:5044], "little") == 1


def test_set_state_replays_the_stream_and_the_cache():
    rt.manual_seed(11)
    rt.randn(3)  # leaves a cached sample
    state = rt.get_rng_state()
    first = rt.randn(5)
    rt.set_rng_state(state)
    assert rt.equal(rt.randn(5), first)
    copy = rt.Generator()
    assert copy.set_state(state) is copy
    assert rt.equal(rt.randn(5, generator=copy), first)
    assert rt.equal(rt.Generator().set_state(state).get_state(), state)


@pytest.mark.parametrize(("state", "error", "message"), [
    ([1, 2], TypeError, "expected a torch.ByteTensor, but got list"),
    (rt.zeros(5056), TypeError, "RNG state must be a torch.ByteTensor"),
    (rt.zeros(10, dtype=rt.uint8), RuntimeError,
     "Expected a CPUGeneratorImplState of size 5056 but found the input RNG state size to be 10"),
    (rt.zeros(10112, dtype=rt.uint8)[::2], RuntimeError, "RNG state must be contiguous"),
    (rt.zeros(5056, dtype=rt.uint8), RuntimeError, "Invalid mt19937 state"),
])
def test_set_state_refuses_bad_states(state, error, message):
    with pytest.raises(error, match=message):
        rt.set_rng_state(state)


# -- uniform ------------------------------------------------------------------------------------

def test_rand_values_are_torchs():
    rt.manual_seed(0)
    assert rt.rand(3).tolist() == [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]
    rt.manual_seed(0)
    assert rt.rand(3, dtype=rt.float64).tolist() == [0.9700530018065531, 0.707819864399788, 0.45938294312745087]
    rt.manual_seed(0)
    assert rt.rand(4, dtype=rt.float16).tolist() == [0.496337890625, 0.76806640625, 0.0885009765625, 0.132080078125]
    rt.manual_seed(0)
    assert rt.empty(5).uniform_(-2, 3).tolist() == [
        0.48128294944763184, 1.841109037399292, -1.5576128959655762, -1.3398475646972656, -0.46288591623306274]


def test_float32_uniforms_are_24_random_bits():
    rt.manual_seed(9)
    bits = rt.Generator().manual_seed(9)._random32(100) & 0xFFFFFF
    assert rt.rand(100).numpy().tolist() == (bits.astype(np.float64) / 2**24).tolist()


@pytest.mark.parametrize(("dtype", "draws"), [(rt.float16, 10), (rt.float32, 10), (rt.float64, 20)])
def test_uniform_draw_counts(dtype, draws):
    assert _draws_taken(lambda: rt.rand(10, dtype=dtype)) == draws


@given(strided_tensors())
@settings(max_examples=30, deadline=None)
def test_strided_fills_follow_memory_order(view):
    """A view is filled as if its memory were one contiguous run, in address order."""
    rt.manual_seed(4)
    view.uniform_()
    order = np.argsort(_element_addresses(view), kind="stable")
    rt.manual_seed(4)
    expected = rt.rand(view.numel()).numpy()
    assert view.numpy().reshape(-1)[order].tolist() == expected.tolist()


def _element_addresses(tensor):
    grids = np.meshgrid(*(np.arange(size) for size in tensor.shape), indexing="ij")
    return sum((grid * stride for grid, stride in zip(grids, tensor.stride())), np.zeros(tensor.shape, int)).reshape(-1)


def test_uniform_that_rounds_up_to_to_becomes_from():
    # float16 holds 1000 and 1000.5 but nothing between: values rounding up to 1000.5 become 1000
    values = rt.empty(2000, dtype=rt.float16).uniform_(1000, 1000.5).numpy()
    assert set(values.tolist()) == {1000.0}


def test_uniform_inplace_bumps_the_version_and_factories_do_not():
    x = rt.zeros(3)
    assert x.uniform_() is x and x._version == 1
    assert rt.rand(3)._version == 0
    assert rt.zeros(0).uniform_()._version == 1


def test_uniform_refuses_an_overlapping_target():
    expanded = rt.Tensor._make(rt.zeros(1)._storage, (3,), (0,))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        expanded.uniform_()


@pytest.mark.parametrize(("dtype", "low", "high", "error", "message"), [
    (rt.int64, 0, 1, NotImplementedError, "\"check_uniform_bounds\" not implemented for 'Long'"),
    (rt.float32, 2, 1, RuntimeError, r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"),
    (rt.float32, 0, 1e39, RuntimeError, "to is out of bounds for float"),
    (rt.float32, float("nan"), 1, RuntimeError, "from is out of bounds for float"),
    (rt.float16, -6e4, 6e4, RuntimeError, "uniform_ expects to-from <= std::numeric_limits<Half>::max\\(\\), but"
     " found to=60000 and from=-60000 which result in to-from to exceed the limit"),
])
def test_uniform_bound_errors(dtype, low, high, error, message):
    with pytest.raises(error, match=message):
        rt.zeros(3, dtype=dtype).uniform_(low, high)


# -- normal ---------------------------------------------------------------------------------------

def test_randn_values_are_torchs():
    rt.manual_seed(0)
    blocks = rt.randn(20).tolist()
    assert blocks[:4] == pytest.approx([-1.1258398294448853, -1.152360200881958, -0.2505785822868347,
                                        -0.4338788092136383], rel=1e-6)
    rt.manual_seed(0)
    pairs = rt.randn(4, dtype=rt.float64).tolist()
    assert pairs == [1.5409961082440433, -0.2934289057609464, -2.1787893820745574, 0.5684312772806678]


def test_an_odd_count_caches_the_sine_sample_for_the_next_call():
    rt.manual_seed(0)
    rt.randn(3)
    draws_before = _engine_state()
    cached = rt.randn(1, dtype=rt.float64)
    assert rt.equal(_engine_state(), draws_before)  # no new draw
    assert cached.item() == 0.5684312772806678


def test_manual_seed_clears_the_cached_sample():
    rt.randn(1)
    rt.manual_seed(0)
    assert rt.randn(1, dtype=rt.float64).item() == 1.5409961082440433


@pytest.mark.parametrize(("make", "draws"), [
    (lambda: rt.randn(15), 2 * 16),  # 8 pairs of 64-bit draws, one sample cached
    (lambda: rt.randn(16), 16),  # one block of 16 float32 uniforms
    (lambda: rt.randn(17), 17 + 16),  # all 17 drawn, then the last 16 drawn again
    (lambda: rt.randn(17, dtype=rt.float16), 16 + 16),  # float16 skips the remainder's first draws
    (lambda: rt.randn(17, dtype=rt.float64), 2 * (17 + 16)),
])
def test_normal_draw_counts(make, draws):
    assert _draws_taken(make) == draws


def test_the_last_block_overlaps_the_end():
    rt.manual_seed(1)
    seventeen = rt.randn(17)
    rt.manual_seed(1)
    sixteen = rt.randn(16)
    assert seventeen[0].item() == sixteen[0].item()
    assert seventeen[15].item() != sixteen[15].item()


def test_normal_inplace_shifts_and_scales():
    rt.manual_seed(2)
    standard = rt.randn(40).numpy().astype(np.float64)
    rt.manual_seed(2)
    shifted = rt.empty(40).normal_(3.0, 0.5).numpy()
    assert np.allclose(shifted, standard * 0.5 + 3.0, rtol=1e-6)


def test_normal_tensor_forms():
    rt.manual_seed(5)
    standard = rt.randn(3).numpy().astype(np.float64)
    rt.manual_seed(5)
    mean = rt.tensor([0.0, 10.0, 20.0])
    assert np.allclose(rt.normal(mean, 2.0).numpy(), standard * 2 + [0, 10, 20], rtol=1e-6)
    rt.manual_seed(5)
    std = rt.tensor([1.0, 2.0, 3.0])
    assert np.allclose(rt.normal(1.0, std).numpy(), standard * [1, 2, 3] + 1, rtol=1e-6)
    both = rt.normal(rt.zeros(2, 1), rt.ones(3, dtype=rt.float64))
    assert both.shape == (2, 3) and both.dtype is rt.float32
    assert rt.normal(0.0, 1.0, (2, 3), dtype=rt.float64).dtype is rt.float64


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: rt.zeros(3).normal_(0, -1), RuntimeError, "normal expects std >= 0.0, but found std -1"),
    (lambda: rt.zeros(3).normal_(0, -1234567.0), RuntimeError, "but found std -1.23457e\\+06"),
    (lambda: rt.zeros(3).normal_(0, float("nan")), RuntimeError, "but found std nan"),
    (lambda: rt.randn(2, dtype=rt.int32), NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Int'"),
    (lambda: rt.normal(rt.zeros(2), rt.tensor([1.0, -1.0])), RuntimeError, "normal expects all elements of std >= 0.0"),
    (lambda: rt.normal(rt.zeros(2), rt.ones(3)), RuntimeError, "The size of tensor a \\(2\\) must match"),
])
def test_normal_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_normal_on_an_empty_integer_tensor_is_fine():
    assert rt.randn(0, dtype=rt.int64).shape == (0,)


# -- integers -------------------------------------------------------------------------------------

def test_randint_and_randperm_values_are_torchs():
    rt.manual_seed(0)
    assert rt.randint(10, (6,)).tolist() == [4, 9, 3, 0, 3, 9]
    assert rt.randperm(6).tolist() == [1, 4, 3, 2, 5, 0]
    rt.manual_seed(0)
    assert rt.randint(0, 2**40, (3,)).tolist() == [741280623151, 506137267392, 291447657211]
    assert rt.randint(-3, 3, (5,), dtype=rt.int8).tolist() == [-2, -2, -2, 0, 2]
    rt.manual_seed(0)
    assert rt.randperm(10).tolist() == [4, 1, 7, 5, 3, 9, 0, 8, 6, 2]
    rt.manual_seed(42)
    assert rt.zeros(4, dtype=rt.int64).random_().tolist() == [
        6909045637428952499, 8314211556539077902, 4279532810384561223, 1819927849474927636]
    assert rt.zeros(4).random_().tolist() == [15783487.0, 2234375.0, 15679915.0, 9958589.0]


@pytest.mark.parametrize(("high", "draws"), [(2**28 - 1, 5), (2**28, 10)])
def test_ranges_from_2_to_the_28_use_64_bit_draws(high, draws):
    assert _draws_taken(lambda: rt.randint(0, high, (5,))) == draws


def test_randperm_draws_n_minus_one():
    assert _draws_taken(lambda: rt.randperm(7)) == 6
    assert _draws_taken(lambda: rt.randperm(1)) == 0


@given(st.integers(-(2**62), 2**62), st.integers(1, 2**40))
@settings(max_examples=30, deadline=None)
def test_randint_stays_in_range(low, width):
    values = rt.randint(low, low + width, (50,)).numpy()
    assert values.min() >= low and values.max() < low + width


@given(st.integers(0, 300))
@settings(max_examples=20, deadline=None)
def test_randperm_is_a_permutation(n):
    assert sorted(rt.randperm(n).tolist()) == list(range(n))


@pytest.mark.parametrize(("dtype", "top"), [
    (rt.int8, 127), (rt.uint8, 255), (rt.int16, 2**15 - 1), (rt.bool, 1), (rt.float16, 2**11), (rt.float32, 2**24)])
def test_random_without_bounds_spans_the_dtype(dtype, top):
    values = rt.zeros(3000, dtype=dtype).random_().numpy().astype(np.float64)
    assert values.min() >= 0 and values.max() <= top


def test_random_forms():
    assert set(rt.zeros(500).random_(3).tolist()) == {0.0, 1.0, 2.0}
    assert set(rt.zeros(500).random_(to=2).tolist()) == {0.0, 1.0}
    assert set(rt.zeros(500, dtype=rt.int64).random_(5, 8).tolist()) == {5, 6, 7}
    assert set(rt.zeros(500, dtype=rt.uint8).random_(253, None).tolist()) == {253, 254, 255}
    assert rt.zeros(4, dtype=rt.int64).random_(-(2**63), None).dtype is rt.int64
    x = rt.zeros(3, dtype=rt.int8)
    assert x.random_(2) is x and x._version == 1


def test_random_into_float_beyond_its_precision_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rt.randint(0, 2**25, (2,), dtype=rt.float32)
    assert [str(w.message) for w in caught] == [
        "to - 1 is out of bounds [-(2^24), 2^24]. Due to precision limitations float can support discrete uniform"
        " distribution only within this range. This warning will become an error in version 1.7 release, please"
        " fix the code in advance"]


def test_random_moves_float_bounds_to_representable_integers():
    # 65503 rounds to 65504 in float16, so torch lowers ``to`` to 65472, the float16 just below
    with pytest.warns(UserWarning, match="Due to precision limitations c10::Half"):
        values = rt.zeros(2000, dtype=rt.float16).random_(65000, 65504).numpy()
    assert values.max() < 65504


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: rt.randint(5, 3, (2,)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=3"),
    (lambda: rt.randint(0, 300, (2,), dtype=rt.uint8), RuntimeError, "to - 1 is out of bounds for unsigned char"),
    (lambda: rt.randint(-200, 0, (2,), dtype=rt.int8), RuntimeError, "from is out of bounds for signed char"),
    (lambda: rt.randint(0, 3, (2,), dtype=rt.bool), RuntimeError, "to - 1 is out of bounds for bool"),
    (lambda: rt.randint(10, 2), TypeError, "randint\\(\\): argument 'size' \\(position 2\\) must be tuple of ints"),
    (lambda: rt.randint(10, size=2), TypeError, "randint\\(\\): argument 'size' must be tuple of ints, not int"),
    (lambda: rt.zeros(2).random_(2**30, None), RuntimeError,
     "random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' casted to dtype, but got"
     " from=1073741824 > to_inc=16777216"),
    (lambda: rt.zeros(2, dtype=rt.int8).random_(-(2**63), None), RuntimeError,
     "random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16"),
    (lambda: rt.zeros(2, dtype=rt.float16).random_(-(2**63), None), NotImplementedError,
     "\"random_full_64_bits_range_kernel_cpu\" not implemented for 'Half'"),
    (lambda: rt.randperm(-1), RuntimeError, "Trying to create tensor with negative dimension -1: \\[-1\\]"),
    (lambda: rt.randperm(3000, dtype=rt.float16), RuntimeError, "n cannot be greater than 2049 for Half type."),
    (lambda: rt.randperm(300, dtype=rt.int8), RuntimeError,
     "value cannot be converted to type int8_t without overflow"),
    (lambda: rt.randperm(3, dtype=rt.bool), NotImplementedError, "\"randperm\" not implemented for 'Bool'"),
    (lambda: rt.randperm(3.0), TypeError, "randperm\\(\\): argument 'n' \\(position 1\\) must be int, not float"),
])
def test_integer_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- the *_like factories -------------------------------------------------------------------------

def test_like_factories_take_shape_and_dtype():
    source = rt.ones(2, 3, dtype=rt.float64)
    assert rt.rand_like(source).dtype is rt.float64
    assert rt.randn_like(source, dtype=rt.float32).dtype is rt.float32
    assert rt.randint_like(source, 5).dtype is rt.float64
    assert set(rt.randint_like(rt.ones(200, dtype=rt.int32), 2, 4).tolist()) == {2, 3}
    with pytest.raises(NotImplementedError, match="\"check_uniform_bounds\" not implemented for 'Long'"):
        rt.rand_like(rt.tensor([1, 2]))
