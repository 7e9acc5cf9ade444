// CUDA C for the host: force-included (g++ -include) before a kernel's source, so the same
// .cu text that NVRTC compiles for a GPU compiles with g++ and runs on the CPU.
//
// Execution model: the launcher (the generated wrapper, see __init__.py) runs the blocks of
// a grid one after another, and the threads of a block one after another. So
//   * threadIdx/blockIdx/blockDim/gridDim are plain globals the launcher sets before it runs
//     each thread, and
//   * __shared__ is static storage: with one block alive at a time, a static *is* that
//     block's shared memory.
// The globals are static (internal linkage): each kernel is its own shared object, loaded
// RTLD_LOCAL, and launches of one object are serialised by the Python side.
#pragma once
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __noinline__ __attribute__((noinline))
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
// Shared variables live in their own section so the launcher can poison all of them (with
// 0xff bytes: NaN for floats, -1 for integers) when a block starts, as a GPU gives a block
// shared memory of undefined contents; a kernel that reads a slot before writing it then
// sees NaN or -1 rather than the previous block's data.
#define __shared__ static __attribute__((section("cuda_emulation_shared")))

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x = 1, unsigned int y = 1, unsigned int z = 1) : x(x), y(y), z(z) {}
};

static uint3 threadIdx;
static uint3 blockIdx;
static dim3 blockDim;
static dim3 gridDim;
static constexpr int warpSize = 32;

// CUDA overloads the math functions for float (exp(float) is a float, computed in float);
// the C library's ::exp takes a double. Bring the C++ overloads into the global namespace so
// exp(x) picks the overload that CUDA picks.
using std::abs;
using std::acos;
using std::asin;
using std::atan;
using std::atan2;
using std::ceil;
using std::cos;
using std::cosh;
using std::erf;
using std::exp;
using std::exp2;
using std::expm1;
using std::fabs;
using std::floor;
using std::fma;
using std::fmax;
using std::fmin;
using std::fmod;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::log;
using std::log10;
using std::log1p;
using std::log2;
using std::pow;
using std::round;
using std::signbit;
using std::sin;
using std::sinh;
using std::sqrt;
using std::tan;
using std::tanh;
using std::trunc;

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }

// CUDA's min and max are overloaded per type (the std templates want identical types and
// return references).
#define CUDA_EMULATION_MIN_MAX(T)                   \
    inline T min(T a, T b) { return a < b ? a : b; } \
    inline T max(T a, T b) { return a > b ? a : b; }
CUDA_EMULATION_MIN_MAX(int)
CUDA_EMULATION_MIN_MAX(unsigned int)
CUDA_EMULATION_MIN_MAX(long long)
CUDA_EMULATION_MIN_MAX(unsigned long long)
CUDA_EMULATION_MIN_MAX(float)
CUDA_EMULATION_MIN_MAX(double)
#undef CUDA_EMULATION_MIN_MAX

inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}

inline int __float_as_int(float f) {
    int i;
    std::memcpy(&i, &f, sizeof i);
    return i;
}

inline long long __double_as_longlong(double d) {
    long long i;
    std::memcpy(&i, &d, sizeof i);
    return i;
}

inline double __longlong_as_double(long long i) {
    double d;
    std::memcpy(&d, &i, sizeof d);
    return d;
}

// Atomics: one thread runs at a time, so a plain read-modify-write is atomic. Each returns
// the old value, and only the overloads CUDA declares exist, so a kernel that would not
// compile for a GPU (atomicAdd on a long long*, say) does not compile here either.
#define CUDA_EMULATION_ATOMIC(name, T, update) \
    inline T name(T* address, T value) {       \
        T old = *address;                      \
        *address = (update);                   \
        return old;                            \
    }
CUDA_EMULATION_ATOMIC(atomicAdd, int, old + value)
CUDA_EMULATION_ATOMIC(atomicAdd, unsigned int, old + value)
CUDA_EMULATION_ATOMIC(atomicAdd, unsigned long long, old + value)
CUDA_EMULATION_ATOMIC(atomicAdd, float, old + value)
CUDA_EMULATION_ATOMIC(atomicAdd, double, old + value)
CUDA_EMULATION_ATOMIC(atomicSub, int, old - value)
CUDA_EMULATION_ATOMIC(atomicSub, unsigned int, old - value)
CUDA_EMULATION_ATOMIC(atomicExch, int, value)
CUDA_EMULATION_ATOMIC(atomicExch, unsigned int, value)
CUDA_EMULATION_ATOMIC(atomicExch, unsigned long long, value)
CUDA_EMULATION_ATOMIC(atomicExch, float, value)
CUDA_EMULATION_ATOMIC(atomicMax, int, old > value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMax, unsigned int, old > value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMax, long long, old > value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMax, unsigned long long, old > value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMin, int, old < value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMin, unsigned int, old < value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMin, long long, old < value ? old : value)
CUDA_EMULATION_ATOMIC(atomicMin, unsigned long long, old < value ? old : value)
CUDA_EMULATION_ATOMIC(atomicAnd, int, old & value)
CUDA_EMULATION_ATOMIC(atomicAnd, unsigned int, old & value)
CUDA_EMULATION_ATOMIC(atomicAnd, unsigned long long, old & value)
CUDA_EMULATION_ATOMIC(atomicOr, int, old | value)
CUDA_EMULATION_ATOMIC(atomicOr, unsigned int, old | value)
CUDA_EMULATION_ATOMIC(atomicOr, unsigned long long, old | value)
CUDA_EMULATION_ATOMIC(atomicXor, int, old ^ value)
CUDA_EMULATION_ATOMIC(atomicXor, unsigned int, old ^ value)
CUDA_EMULATION_ATOMIC(atomicXor, unsigned long long, old ^ value)
#undef CUDA_EMULATION_ATOMIC

#define CUDA_EMULATION_ATOMIC_CAS(T)                         \
    inline T atomicCAS(T* address, T compare, T value) {     \
        T old = *address;                                    \
        if (old == compare) *address = value;                \
        return old;                                          \
    }
CUDA_EMULATION_ATOMIC_CAS(int)
CUDA_EMULATION_ATOMIC_CAS(unsigned int)
CUDA_EMULATION_ATOMIC_CAS(unsigned long long)
CUDA_EMULATION_ATOMIC_CAS(unsigned short)
#undef CUDA_EMULATION_ATOMIC_CAS

// ---- the launcher, called by the wrapper that __init__.py appends to each kernel ----------

namespace cuda_emulation {

// The kernel's arguments, as cudaLaunchKernel takes them: one pointer per parameter, to a
// value of that parameter's type.
static void** launch_args;

template <typename... P, std::size_t... I>
void call_kernel(void (*kernel)(P...), std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_reference_t<P>*>(launch_args[I])...);
}

template <typename... P>
void call_kernel(void (*kernel)(P...)) {
    call_kernel(kernel, std::index_sequence_for<P...>{});
}

// Linker-made bounds of the __shared__ section; null where the kernel declares no shared
// variable.
extern "C" char __start_cuda_emulation_shared[] __attribute__((weak));
extern "C" char __stop_cuda_emulation_shared[] __attribute__((weak));

inline void poison_shared_memory() {
    if (__start_cuda_emulation_shared)
        std::memset(__start_cuda_emulation_shared, 0xff,
                    __stop_cuda_emulation_shared - __start_cuda_emulation_shared);
}

inline uint3 thread_coordinates(unsigned int linear) {
    return {linear % blockDim.x, linear / blockDim.x % blockDim.y, linear / (blockDim.x * blockDim.y)};
}

// Runs every thread of every block; returns 0, or 1 with a message in ``error``.
inline int run_grid(const unsigned int* grid, const unsigned int* block, void (*thread)(), bool reverse,
                    char* error, std::size_t error_size) {
    (void)error;
    (void)error_size;
    gridDim = dim3(grid[0], grid[1], grid[2]);
    blockDim = dim3(block[0], block[1], block[2]);
    const unsigned int threads = blockDim.x * blockDim.y * blockDim.z;
    for (unsigned int z = 0; z < gridDim.z; ++z)
        for (unsigned int y = 0; y < gridDim.y; ++y)
            for (unsigned int x = 0; x < gridDim.x; ++x) {
                blockIdx = {x, y, z};
                poison_shared_memory();
                for (unsigned int i = 0; i < threads; ++i) {
                    threadIdx = thread_coordinates(reverse ? threads - 1 - i : i);
                    thread();
                }
            }
    return 0;
}

}  // namespace cuda_emulation
