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
#define __align__(n) alignas(n)
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
using std::acosh;
using std::asin;
using std::asinh;
using std::atan;
using std::atan2;
using std::atanh;
using std::cbrt;
using std::ceil;
using std::copysign;
using std::cos;
using std::cosh;
using std::erf;
using std::erfc;
using std::exp;
using std::exp2;
using std::expm1;
using std::fabs;
using std::fdim;
using std::floor;
using std::fma;
using std::fmax;
using std::fmin;
using std::fmod;
using std::frexp;
using std::hypot;
using std::ilogb;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::isnormal;
using std::ldexp;
using std::lgamma;
using std::llrint;
using std::llround;
using std::log;
using std::log10;
using std::log1p;
using std::log2;
using std::logb;
using std::lrint;
using std::lround;
using std::modf;
using std::nearbyint;
using std::nextafter;
using std::pow;
using std::remainder;
using std::remquo;
using std::rint;
using std::round;
using std::scalbn;
using std::signbit;
using std::sin;
using std::sinh;
using std::sqrt;
using std::tan;
using std::tanh;
using std::tgamma;
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

// The high 32 bits of a 32 x 32-bit product (strided_offsets32 divides with it).
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}

// Set bits of a 32-bit word (one instruction on a GPU).
inline int __popc(unsigned int x) { return __builtin_popcount(x); }

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

// ---- threads as fibers ----------------------------------------------------------------------
//
// A kernel that synchronises (__syncthreads, warp intrinsics) runs each thread of a block as
// a fiber (ucontext) on its own stack. A fiber runs until it reaches a barrier and then
// yields to the scheduler, which resumes the next fiber; once every fiber of the block waits
// at the barrier, the next phase starts. Within a phase the fibers run in thread order, or
// last to first when the launch asks for reverse order: a kernel whose result depends on
// that order reads data another thread has not yet written, a missing __syncthreads.
//
// Warp intrinsics are barriers over the lanes their mask names: each lane leaves its value
// in its slot and yields; when every named lane has arrived, the scheduler hands each lane
// the value it asked for and lets them go on. A lane that reads a lane outside the exchange
// (one that does not exist, or is not in the mask) gets all-ones bits (NaN, -1), the
// emulation's stand-in for CUDA's undefined value.
//
// Barrier divergence, which is undefined behaviour on a GPU, is an error here: a thread that
// exits while others wait at __syncthreads(), threads waiting at different __syncthreads()
// calls, a warp intrinsic waiting for a lane that exited or waits at __syncthreads().

#include <cstdarg>
#include <cstdio>
#include <sys/mman.h>
#include <ucontext.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifndef CUDA_EMULATION_STACK_SIZE
#ifdef __SANITIZE_ADDRESS__
#define CUDA_EMULATION_STACK_SIZE (512 * 1024)  // ASan's redzones make frames several times larger
#else
#define CUDA_EMULATION_STACK_SIZE (64 * 1024)
#endif
#endif

namespace cuda_emulation {

enum class Wait { running, block_barrier, warp_exchange, exited };

struct Fiber {
    ucontext_t context;
    void* fake_stack;  // ASan's fake frames of this fiber, kept across a switch
    Wait wait;
    int line;                   // of the __syncthreads() it waits at
    unsigned int mask;          // lanes its warp intrinsic names
    int source_lane;            // lane whose value a shuffle reads
    unsigned long long value;   // what it brings to the exchange
    unsigned long long result;  // what the exchange gives back
    unsigned int ballot;        // predicates of the lanes in its mask
};

static Fiber* fibers;
static unsigned int fiber_count;
static unsigned int current;  // the fiber that runs
static ucontext_t scheduler_context;
static void* scheduler_fake_stack;
static const void* scheduler_stack_bottom;
static std::size_t scheduler_stack_size;
static char* stacks;  // fiber_count stacks, each above a guard page, while a launch runs
static void (*thread_body)();
static bool failed;
static char message[1024];

constexpr std::size_t stack_stride = CUDA_EMULATION_STACK_SIZE + 4096;

inline void fail(const char* format, ...) {
    if (failed) return;  // the first fault is the one to report
    failed = true;
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
}

inline uint3 thread_coordinates(unsigned int linear) {
    return {linear % blockDim.x, linear / blockDim.x % blockDim.y, linear / (blockDim.x * blockDim.y)};
}

// ASan must be told when the stack changes under it, or it takes the fiber's frames for a
// stack overflow; without ASan these compile to nothing.
inline void start_switch(void** fake_stack, const void* bottom, std::size_t size) {
#ifdef __SANITIZE_ADDRESS__
    __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
    (void)fake_stack, (void)bottom, (void)size;
#endif
}

inline void finish_switch(void* fake_stack, const void** old_bottom, std::size_t* old_size) {
#ifdef __SANITIZE_ADDRESS__
    __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#else
    (void)fake_stack, (void)old_bottom, (void)old_size;
#endif
}

inline char* stack_of(unsigned int fiber) { return stacks + fiber * stack_stride + 4096; }

// From a fiber back to the scheduler; returns when the scheduler resumes this fiber.
inline void yield(Wait wait) {
    Fiber& self = fibers[current];
    self.wait = wait;
    const bool exiting = wait == Wait::exited;  // its fake frames die with it
    start_switch(exiting ? nullptr : &self.fake_stack, scheduler_stack_bottom, scheduler_stack_size);
    swapcontext(&self.context, &scheduler_context);
    finish_switch(self.fake_stack, nullptr, nullptr);
}

inline void fiber_main() {
    finish_switch(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
    thread_body();
    yield(Wait::exited);
}

// Stacks for ``count`` fibers, for one launch (``release_stacks`` gives them back after it);
// the page under each stack is left inaccessible, so an overflow faults rather than writing
// into the next fiber's stack.
inline bool reserve_stacks(unsigned int count) {
    void* mapped = mmap(nullptr, count * stack_stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
        fail("cannot map %u fiber stacks of %zu bytes", count, stack_stride);
        return false;
    }
    stacks = static_cast<char*>(mapped);
    for (unsigned int i = 0; i < count; ++i) mprotect(stacks + i * stack_stride, 4096, PROT_NONE);
    fibers = new Fiber[count];
    return true;
}

// Give the stacks back after a launch. Each kernel's library has stacks of its own, and the
// guard pages split them into two mappings a fiber: a process keeping every barrier kernel's
// stacks would run into the kernel's limit on mappings (vm.max_map_count, 65530 by default)
// after a hundred or so kernels, and then every allocation fails.
inline void release_stacks() {
    if (stacks) munmap(stacks, fiber_count * stack_stride);
    delete[] fibers;
    stacks = nullptr, fibers = nullptr;
}

inline void resume(unsigned int fiber) {
    current = fiber;
    threadIdx = thread_coordinates(fiber);
    start_switch(&scheduler_fake_stack, stack_of(fiber), CUDA_EMULATION_STACK_SIZE);
    swapcontext(&scheduler_context, &fibers[fiber].context);
    finish_switch(scheduler_fake_stack, nullptr, nullptr);
}

inline void describe_thread(char* out, std::size_t size, unsigned int fiber) {
    const uint3 t = thread_coordinates(fiber);
    std::snprintf(out, size, "thread (%u,%u,%u) of block (%u,%u,%u)", t.x, t.y, t.z, blockIdx.x, blockIdx.y, blockIdx.z);
}

// Completes the warp exchanges whose named lanes have all arrived; returns whether any did.
inline bool release_warps() {
    bool released = false;
    char who[96];
    for (unsigned int first = 0; first < fiber_count; first += warpSize) {
        const unsigned int lanes = fiber_count - first < warpSize ? fiber_count - first : warpSize;
        const unsigned int existing = lanes == 32 ? ~0u : (1u << lanes) - 1;
        for (unsigned int lane = 0; lane < lanes; ++lane) {
            const Fiber& leader = fibers[first + lane];
            if (leader.wait != Wait::warp_exchange) continue;
            const unsigned int named = leader.mask & existing;
            if (!(named >> lane & 1u)) {
                describe_thread(who, sizeof who, first + lane);
                fail("%s calls a warp intrinsic with mask 0x%08x, which leaves out its own lane %u", who,
                     leader.mask, lane);
                return false;
            }
            unsigned int arrived = 0, predicates = 0;
            bool complete = true;
            for (unsigned int other = 0; other < lanes; ++other) {
                if (!(named >> other & 1u)) continue;
                const Fiber& f = fibers[first + other];
                if (f.wait == Wait::warp_exchange && f.mask == leader.mask) {
                    arrived |= 1u << other;
                    if (f.value) predicates |= 1u << other;
                } else if (f.wait == Wait::exited) {
                    describe_thread(who, sizeof who, first + other);
                    fail("%s exited while lanes of its warp wait for it at a warp intrinsic (mask 0x%08x)", who,
                         leader.mask);
                    return false;
                } else {
                    complete = false;
                }
            }
            if (!complete) continue;
            for (unsigned int other = 0; other < lanes; ++other) {
                if (!(arrived >> other & 1u)) continue;
                Fiber& f = fibers[first + other];
                const int source = f.source_lane;
                const bool valid = source >= 0 && source < 32 && (arrived >> source & 1u);
                f.result = valid ? fibers[first + source].value : ~0ull;
                f.ballot = predicates;
                f.wait = Wait::running;
            }
            released = true;
        }
    }
    return released;
}

// After every fiber has stopped: lets the block's barrier go, or reports why it cannot.
// Returns whether any fiber may run again.
inline bool release_barrier() {
    char who[96];
    int waiting = -1, exited = -1;
    for (unsigned int i = 0; i < fiber_count; ++i) {
        const Fiber& f = fibers[i];
        if (f.wait == Wait::warp_exchange) {
            describe_thread(who, sizeof who, i);
            fail("deadlock: %s waits at a warp intrinsic (mask 0x%08x) for lanes that wait elsewhere "
                 "(at __syncthreads() or another warp intrinsic)", who, f.mask);
            return false;
        }
        if (f.wait == Wait::exited && exited < 0) exited = static_cast<int>(i);
        if (f.wait != Wait::block_barrier) continue;
        if (waiting < 0) waiting = static_cast<int>(i);
        if (f.line != fibers[waiting].line) {
            describe_thread(who, sizeof who, i);
            fail("barrier divergence: %s waits at the __syncthreads() on line %d, others at the one on line %d",
                 who, f.line, fibers[waiting].line);
            return false;
        }
    }
    if (waiting < 0) return false;  // every thread is done
    if (exited >= 0) {
        describe_thread(who, sizeof who, static_cast<unsigned int>(exited));
        fail("barrier divergence: %s exited while other threads wait at the __syncthreads() on line %d", who,
             fibers[waiting].line);
        return false;
    }
    for (unsigned int i = 0; i < fiber_count; ++i) fibers[i].wait = Wait::running;
    return true;
}

inline void run_block_as_fibers(bool reverse) {
    for (unsigned int i = 0; i < fiber_count; ++i) {
        Fiber& f = fibers[i];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = stack_of(i);
        f.context.uc_stack.ss_size = CUDA_EMULATION_STACK_SIZE;
        f.context.uc_link = nullptr;  // fibers never return: fiber_main yields as it exits
        makecontext(&f.context, fiber_main, 0);
        f.wait = Wait::running;
        f.fake_stack = nullptr;
    }
    do {
        do {
            for (unsigned int step = 0; step < fiber_count && !failed; ++step) {
                const unsigned int i = reverse ? fiber_count - 1 - step : step;
                if (fibers[i].wait == Wait::running) resume(i);
            }
        } while (!failed && release_warps());
    } while (!failed && release_barrier());
#ifdef __SANITIZE_ADDRESS__
    // Fibers abandoned mid-kernel leave their frames' poison on memory a later mapping may reuse.
    if (failed) __asan_unpoison_memory_region(stacks, fiber_count * stack_stride);
#endif
}

// ---- what kernels call ----------------------------------------------------------------------

inline void block_barrier(int line) {
    fibers[current].line = line;
    yield(Wait::block_barrier);
}

// One warp-level exchange: brings ``value``, returns the fiber's slot once the exchange is done.
inline const Fiber& exchange(unsigned int mask, unsigned long long value, int source_lane) {
    Fiber& self = fibers[current];
    self.mask = mask;
    self.value = value;
    self.source_lane = source_lane;
    yield(Wait::warp_exchange);
    return self;
}

template <typename T>
T shuffle(unsigned int mask, T var, int source_lane) {
    static_assert(sizeof(T) <= sizeof(unsigned long long) && std::is_trivially_copyable_v<T>,
                  "warp shuffles move values of up to 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &var, sizeof var);
    bits = exchange(mask, bits, source_lane).result;
    std::memcpy(&var, &bits, sizeof var);
    return var;
}

inline int lane() { return static_cast<int>(current % warpSize); }

}  // namespace cuda_emulation

#define __syncthreads() ::cuda_emulation::block_barrier(__LINE__)

// Memory fences order one thread's writes as others see them; with one thread running at a
// time, every write is seen in order already.
inline void __threadfence() {}
inline void __threadfence_block() {}

inline void __syncwarp(unsigned int mask = 0xffffffffu) { cuda_emulation::exchange(mask, 0, -1); }

// Lanes outside the caller's width-wide segment read their own value, as CUDA specifies.
template <typename T>
T __shfl_sync(unsigned int mask, T var, int source, int width = warpSize) {
    const int base = cuda_emulation::lane() / width * width;
    return cuda_emulation::shuffle(mask, var, base + ((source % width) + width) % width);
}

template <typename T>
T __shfl_down_sync(unsigned int mask, T var, unsigned int delta, int width = warpSize) {
    const int lane = cuda_emulation::lane();
    const bool inside = lane % width + static_cast<int>(delta) < width;
    return cuda_emulation::shuffle(mask, var, inside ? lane + static_cast<int>(delta) : lane);
}

template <typename T>
T __shfl_up_sync(unsigned int mask, T var, unsigned int delta, int width = warpSize) {
    const int lane = cuda_emulation::lane();
    const bool inside = lane % width >= static_cast<int>(delta);
    return cuda_emulation::shuffle(mask, var, inside ? lane - static_cast<int>(delta) : lane);
}

template <typename T>
T __shfl_xor_sync(unsigned int mask, T var, int lane_mask, int width = warpSize) {
    const int lane = cuda_emulation::lane();
    const int source = lane ^ lane_mask;
    // a lane may read an earlier segment, not a later one
    return cuda_emulation::shuffle(mask, var, source < (lane / width + 1) * width ? source : lane);
}

inline unsigned int __ballot_sync(unsigned int mask, int predicate) {
    return cuda_emulation::exchange(mask, predicate != 0, -1).ballot;
}

inline int __any_sync(unsigned int mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }

inline int __all_sync(unsigned int mask, int predicate) { return __ballot_sync(mask, !predicate) == 0; }

// ---- the launcher, called by the wrapper that __init__.py appends to each kernel ----------

namespace cuda_emulation {

// The kernel's arguments as cudaLaunchKernel takes them: one pointer per parameter, to a
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

// Backing store of `extern __shared__` arrays, which __init__.py rewrites into pointers here;
// as large as the most an H100 block may ask for.
alignas(16) static char dynamic_shared[227 * 1024];

// Linker-made bounds of the __shared__ section; both null where the kernel declares no
// shared variable.
extern "C" char __start_cuda_emulation_shared[] __attribute__((weak));
extern "C" char __stop_cuda_emulation_shared[] __attribute__((weak));

// Under ASan the section also holds the redzones between shared variables (built with
// -fsanitize-sections), which memset would be reported for writing; writing them is harmless,
// as ASan keeps its marks in shadow memory, so this loop is left uninstrumented instead.
__attribute__((no_sanitize_address)) inline void poison_shared_memory(std::size_t dynamic_size) {
    for (volatile char* byte = __start_cuda_emulation_shared; byte != __stop_cuda_emulation_shared; ++byte)
        *byte = static_cast<char>(0xff);
    std::memset(dynamic_shared, 0xff, dynamic_size);
}

// Runs every thread of every block, blocks in order; returns 0, or 1 with a message in
// ``error``. ``with_fibers`` is false for kernels that never synchronise, whose threads can
// simply run one after another.
inline int run_grid(const unsigned int* grid, const unsigned int* block, void (*thread)(), bool with_fibers,
                    std::size_t dynamic_size, bool reverse, char* error, std::size_t error_size) {
    failed = false;
    gridDim = dim3(grid[0], grid[1], grid[2]);
    blockDim = dim3(block[0], block[1], block[2]);
    fiber_count = blockDim.x * blockDim.y * blockDim.z;
    thread_body = thread;
    if (with_fibers) reserve_stacks(fiber_count);
    for (unsigned int z = 0; z < gridDim.z && !failed; ++z)
        for (unsigned int y = 0; y < gridDim.y && !failed; ++y)
            for (unsigned int x = 0; x < gridDim.x && !failed; ++x) {
                blockIdx = {x, y, z};
                poison_shared_memory(dynamic_size);
                if (with_fibers) {
                    run_block_as_fibers(reverse);
                    continue;
                }
                for (unsigned int i = 0; i < fiber_count; ++i) {
                    threadIdx = thread_coordinates(reverse ? fiber_count - 1 - i : i);
                    thread();
                }
            }
    if (with_fibers) release_stacks();
    if (failed) std::snprintf(error, error_size, "%s", message);
    return failed ? 1 : 0;
}

}  // namespace cuda_emulation
