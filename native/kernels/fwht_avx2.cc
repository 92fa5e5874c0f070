// FWHT register kernels for AVX2 + FMA: 8 floats per register, butterfly groups of 8 registers
// (3 levels per pass over a group, half of the 16-register file, so the butterflies need no
// spills). Compiled for baseline x86-64 with a target pragma and only called after
// simd::SupportedIsa() has seen the CPU (and OS) support it.
#include <cstddef>
#include <cstdint>

#include "fwht_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

// After every standard and intrinsic header: only the code below is compiled for AVX2.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace superlora::kernels::detail {
namespace {

struct VecAvx2 {
  using T = __m256;
  static constexpr int kLogWidth = 3;
  static constexpr int kLogRegs = 3;

  static T Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void Stream(float* p, T v) { _mm256_stream_ps(p, v); }
  static __m256i FirstLanes(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static T LoadFirst(const float* p, size_t n) { return _mm256_maskload_ps(p, FirstLanes(n)); }
  static void StoreFirst(float* p, T v, size_t n) { _mm256_maskstore_ps(p, FirstLanes(n), v); }
  static T Zero() { return _mm256_setzero_ps(); }
  static T Set1(float x) { return _mm256_set1_ps(x); }
  static T Add(T a, T b) { return _mm256_add_ps(a, b); }
  static T Sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T Mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T SubOnMultiplier(T a, T b) { return _mm256_fnmadd_ps(b, _mm256_set1_ps(1.0f), a); }

  // Level L inside a register as fma(v, ±1, lanes j ^ 2^L): see fwht_avx512.cc.
  template <int L>
  static T InLane(T v) {
    if constexpr (L == 0) {
      return _mm256_fmadd_ps(v, _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1),
                             _mm256_permute_ps(v, 0xB1));
    } else if constexpr (L == 1) {
      return _mm256_fmadd_ps(v, _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1),
                             _mm256_permute_ps(v, 0x4E));
    } else {
      return _mm256_fmadd_ps(v, _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1),
                             _mm256_permute2f128_ps(v, v, 0x01));
    }
  }

  static T Gather(const float* table, const int32_t* index, uint32_t mask) {
    const __m256i masked =
        _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(index)),
                         _mm256_set1_epi32(static_cast<int>(mask)));
    return _mm256_i32gather_ps(table, masked, 4);
  }
  static void Prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
  static void Fence() { _mm_sfence(); }
};

}  // namespace
}  // namespace superlora::kernels::detail

#include "fwht_engine.h"

namespace superlora::kernels::detail {
namespace {
constexpr IsaKernels kAvx2Kernels = Engine<VecAvx2>::Kernels(simd::Isa::kAvx2);
}  // namespace

const IsaKernels& Avx2Kernels() { return kAvx2Kernels; }

}  // namespace superlora::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#else  // not x86-64: simd::SupportedIsa() is portable there, so this is never asked for.

namespace superlora::kernels::detail {
const IsaKernels& Avx2Kernels() { return PortableKernels(); }
}  // namespace superlora::kernels::detail

#endif
