// Host stand-in for CUDA's cuda_fp16.h, found first because the emulation compiles with
// -I pointing here. Only what reference_impl's kernels need: a 16-bit storage type whose
// values convert to and from float and double with IEEE round-to-nearest-even (GCC's
// _Float16 does the rounding). Arithmetic goes through float: an expression of two
// __half values is a float here, where CUDA's operators would give a __half; assigning it
// to a __half rounds it the same way.
#pragma once
#include <cstring>
#include <type_traits>

struct __half {
    _Float16 value;

    __half() = default;  // trivial, so __shared__ arrays of __half need no constructor
    template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
    __half(T number) : value(static_cast<_Float16>(number)) {}
    operator float() const { return static_cast<float>(value); }
};
static_assert(sizeof(__half) == 2, "__half must be 16 bits, as kernels index arrays of it");

inline float __half2float(__half h) { return static_cast<float>(h); }
inline __half __float2half(float f) { return __half(f); }
inline __half __float2half_rn(float f) { return __half(f); }
inline __half __double2half(double d) { return __half(d); }

inline unsigned short __half_as_ushort(__half h) {
    unsigned short bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
}

inline __half __ushort_as_half(unsigned short bits) {
    __half h;
    std::memcpy(&h, &bits, sizeof h);
    return h;
}
