// FWHT register kernels for AVX-512 (F, BW, VL, DQ): 16 floats per register, butterfly groups of
// 16 registers (4 levels per pass over a group, half of the 32-register file, so the compiler has
// room for temporaries without spilling). Compiled for baseline x86-64 with a target pragma and
// only called after simd::SupportedIsa() has seen the CPU (and OS) support it.
#include <cstddef>
#include <cstdint>

#include "fwht_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

// After every standard and intrinsic header: only the code below is compiled for AVX-512.
#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif

namespace superlora::kernels::detail {
namespace {

struct VecAvx512 {
  using T = __m512;
  static constexpr int kLogWidth = 4;
  static constexpr int kLogRegs = 4;

  static T Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void Stream(float* p, T v) { _mm512_stream_ps(p, v); }
  static T LoadFirst(const float* p, size_t n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  }
  static void StoreFirst(float* p, T v, size_t n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v);
  }
  static T Zero() { return _mm512_setzero_ps(); }
  static T Set1(float x) { return _mm512_set1_ps(x); }
  static T Add(T a, T b) { return _mm512_add_ps(a, b); }
  static T Sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T Mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T SubOnMultiplier(T a, T b) { return _mm512_fnmadd_ps(b, _mm512_set1_ps(1.0f), a); }

  // Level L inside a register: with t the register with lanes j and j ^ 2^L swapped, lane j
  // becomes t + v (bit L of j clear: x + y) or t − v (set: x − y), i.e. fma(v, ±1, t). The FMA
  // is exact in its product and rounds the sum once, like the scalar add or subtract, and it
  // runs on the multiply ports, leaving the add ports to the cross-register levels.
  // (The masked forms with an all-ones mask are the same instructions; the unmasked intrinsics
  // trip GCC 12's -Wuninitialized through their _mm512_undefined_ps.)
  template <int L>
  static T InLane(T v) {
    const T plus = _mm512_set1_ps(1.0f);
    const T minus = _mm512_set1_ps(-1.0f);
    if constexpr (L == 0) {
      return _mm512_fmadd_ps(v, _mm512_mask_blend_ps(0xAAAA, plus, minus),
                             _mm512_mask_permute_ps(v, 0xFFFF, v, 0xB1));
    } else if constexpr (L == 1) {
      return _mm512_fmadd_ps(v, _mm512_mask_blend_ps(0xCCCC, plus, minus),
                             _mm512_mask_permute_ps(v, 0xFFFF, v, 0x4E));
    } else if constexpr (L == 2) {
      return _mm512_fmadd_ps(v, _mm512_mask_blend_ps(0xF0F0, plus, minus),
                             _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, 0xB1));
    } else {
      return _mm512_fmadd_ps(v, _mm512_mask_blend_ps(0xFF00, plus, minus),
                             _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, 0x4E));
    }
  }

  static T Gather(const float* table, const int32_t* index, uint32_t mask) {
    const __m512i masked =
        _mm512_and_si512(_mm512_loadu_si512(index), _mm512_set1_epi32(static_cast<int>(mask)));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, masked, table, 4);
  }
  static void Prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
  static void Fence() { _mm_sfence(); }
};

}  // namespace
}  // namespace superlora::kernels::detail

#include "fwht_engine.h"

namespace superlora::kernels::detail {
namespace {
constexpr IsaKernels kAvx512Kernels = Engine<VecAvx512>::Kernels(simd::Isa::kAvx512);
}  // namespace

const IsaKernels& Avx512Kernels() { return kAvx512Kernels; }

}  // namespace superlora::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#else  // not x86-64: simd::SupportedIsa() is portable there, so this is never asked for.

namespace superlora::kernels::detail {
const IsaKernels& Avx512Kernels() { return PortableKernels(); }
}  // namespace superlora::kernels::detail

#endif
