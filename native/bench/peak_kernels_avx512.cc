// The FLOP-peak loops for AVX-512: 16 floats per vector. Compiled for that target here only (the
// rest of the binary stays baseline x86-64) and called only when simd::ActiveIsa() allows it.
#include "peak_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif

#include <immintrin.h>

namespace superlora::bench {
namespace {

constexpr int kLanes = 16;

double Sum(const __m512 (&acc)[kChains]) {
  alignas(64) float lanes[kLanes];
  double sum = 0;
  for (const __m512& chain : acc) {
    _mm512_store_ps(lanes, chain);
    for (float value : lanes) sum += value;
  }
  return sum;
}

void Init(__m512 (&acc)[kChains]) {
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.5f + 0.01f * static_cast<float>(c));
}

double FmaLoop(int64_t iterations, float multiplier, float addend) {
  __m512 acc[kChains];
  Init(acc);
  const __m512 m = _mm512_set1_ps(multiplier);
  const __m512 a = _mm512_set1_ps(addend);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  }
  return Sum(acc);
}

double AddLoop(int64_t iterations, float addend) {
  __m512 acc[kChains];
  Init(acc);
  const __m512 a = _mm512_set1_ps(addend);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_add_ps(acc[c], a);
  }
  return Sum(acc);
}

}  // namespace

PeakKernel Avx512PeakKernel() { return {kLanes, FmaLoop, AddLoop}; }

}  // namespace superlora::bench

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
