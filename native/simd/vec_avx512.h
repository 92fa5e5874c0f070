// 16-lane float vector traits over AVX-512 for the templated kernels (lowrank_tiles.h,
// kron_tiles.h). Include only after `#pragma GCC target("avx512f,...")` and only from a file
// compiled for that target; the anonymous namespace gives each such file its own copy, so no
// AVX-512 code can be picked by the linker for a caller compiled for a lower level.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace superlora::simd {
namespace {

struct Avx512Vec {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int64_t kWidth = 16;
  static constexpr int kRegisters = 32;  // vector registers the ISA has

  // The first n lanes, 1 ≤ n ≤ 16.
  static Mask FirstLanes(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static V Zero() { return _mm512_setzero_ps(); }
  static V Set1(float x) { return _mm512_set1_ps(x); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  // Masked-off lanes read as 0 and never fault, so a tail may end at the last valid float.
  static V LoadFirst(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void StoreFirst(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  // p must be 64-byte aligned. Callers end with Fence() before other threads may read.
  static void Stream(float* p, V v) { _mm512_stream_ps(p, v); }
  static void Fence() { _mm_sfence(); }
  static void Prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  // Whole-register shuffles with zero masking: GCC 12.2's unmasked forms (and the 512 → 256 casts)
  // read _mm512_undefined_ps(), which trips -Wuninitialized (GCC PR 105593).
  static float Sum(V v) {
    const __mmask16 all = 0xFFFF;
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0x4E));  // + the other 256 bits
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0xB1));  // + the other 128 bits
    v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0x4E));        // + the other 64 bits
    v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0xB1));        // + the other 32 bits
    return _mm512_cvtss_f32(v);
  }
  // out[i] = Sum(v[i]) for 8 vectors, in 24 shuffles and adds instead of 8 · 8: each step adds
  // pairs of vectors after interleaving them, halving the lanes each vector's partial sums occupy.
  static void Reduce8(const V (&v)[8], float* out) {
    const __mmask16 all = 0xFFFF;
    V half[4];  // half[i]: 256-bit halves hold the 8-lane partial sums of v[2i] and v[2i + 1]
    for (int i = 0; i < 4; ++i) {
      half[i] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(all, v[2 * i], v[2 * i + 1], 0x44),
                              _mm512_maskz_shuffle_f32x4(all, v[2 * i], v[2 * i + 1], 0xEE));
    }
    V quarter[2];  // quarter[i]: 128-bit block b holds the 4-lane partial sums of v[4i + b]
    for (int i = 0; i < 2; ++i) {
      quarter[i] =
          _mm512_add_ps(_mm512_maskz_shuffle_f32x4(all, half[2 * i], half[2 * i + 1], 0x88),
                        _mm512_maskz_shuffle_f32x4(all, half[2 * i], half[2 * i + 1], 0xDD));
    }
    // Block b: lanes 0-1 hold v[b], lanes 2-3 hold v[4 + b], two partial sums each.
    const V pairs = _mm512_add_ps(_mm512_maskz_shuffle_ps(all, quarter[0], quarter[1], 0x44),
                                  _mm512_maskz_shuffle_ps(all, quarter[0], quarter[1], 0xEE));
    const V sums = _mm512_add_ps(pairs, _mm512_maskz_permute_ps(all, pairs, 0xB1));
    // Lane 4b holds Sum(v[b]) and lane 4b + 2 holds Sum(v[4 + b]). A full store and scalar reads
    // rather than a permute and a masked store: a masked store is not forwarded to later loads,
    // which then wait for it to commit, i.e. for every older load to retire, and that stalls a
    // loop streaming from memory.
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sums);
    for (int b = 0; b < 4; ++b) {
      out[b] = lanes[4 * b];
      out[4 + b] = lanes[4 * b + 2];
    }
  }
};

}  // namespace
}  // namespace superlora::simd
