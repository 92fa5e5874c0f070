// 8-lane float vector traits over AVX2 + FMA for the templated kernels (lowrank_tiles.h,
// kron_tiles.h). Include only after `#pragma GCC target("avx2,fma")` and only from a file compiled
// for that target; the anonymous namespace gives each such file its own copy, so no AVX2 code can
// be picked by the linker for a caller compiled for baseline x86-64.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace superlora::simd {
namespace {

struct Avx2Vec {
  using V = __m256;
  using Mask = __m256i;
  static constexpr int64_t kWidth = 8;
  static constexpr int kRegisters = 16;  // vector registers the ISA has

  // The first n lanes, 1 ≤ n ≤ 8: a sliding window over eight -1s followed by eight 0s.
  static Mask FirstLanes(int64_t n) {
    alignas(64) static const int32_t kWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                    0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kWindow + 8 - n));
  }
  static V Zero() { return _mm256_setzero_ps(); }
  static V Set1(float x) { return _mm256_set1_ps(x); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  // Masked-off lanes read as 0 and never fault, so a tail may end at the last valid float.
  static V LoadFirst(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void StoreFirst(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  // p must be 32-byte aligned. Callers end with Fence() before other threads may read.
  static void Stream(float* p, V v) { _mm256_stream_ps(p, v); }
  static void Fence() { _mm_sfence(); }
  static void Prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static float Sum(V v) {
    const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)));
  }
  // out[i] = Sum(v[i]) for 8 vectors: three rounds of pairwise horizontal adds leave each 128-bit
  // half holding partial sums of all eight in order, and one cross-half add finishes them.
  static void Reduce8(const V (&v)[8], float* out) {
    const __m256 h01 = _mm256_hadd_ps(v[0], v[1]);
    const __m256 h23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h45 = _mm256_hadd_ps(v[4], v[5]);
    const __m256 h67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 low = _mm256_hadd_ps(h01, h23);   // [v0..v3 | v0..v3] partial sums
    const __m256 high = _mm256_hadd_ps(h45, h67);  // [v4..v7 | v4..v7]
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(low, high, 0x20),
                                        _mm256_permute2f128_ps(low, high, 0x31)));
  }
};

}  // namespace
}  // namespace superlora::simd
