// GEMM kernels for AVX-512 (F, BW, VL, DQ): 16 floats per vector, 32 registers. The register
// tile is 14 rows × 32 columns: 28 accumulators, the 2 vectors of B and one broadcast of A make
// 31 registers, and each depth step issues 28 FMAs for 2 vector loads and 14 broadcasts, within
// what the load ports sustain at two FMAs per cycle. Compiled for baseline x86-64 with a target
// pragma and only called after simd::SupportedIsa() has seen the CPU (and OS) support it.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers hand unmasked intrinsics a self-initialised `_mm512_undefined_*()` as
// their ignored pass-through operand, which -Wall then reports (falsely) as uninitialised once
// inlined here. Before every include, so that it covers the header's lines too.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "gemm_kernels.h"

// Every standard header comes before the target pragma, so that nothing they define is compiled
// for the wider target.
#include <array>
#include <cstdint>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif

#include "../simd/vec_avx512.h"
#include "gemm_tiles.h"

namespace superlora::gemm::detail {
namespace {

constexpr int kRows = 14;
constexpr int kCols = 32;

struct Vec : simd::Avx512Vec {
  // max(+0, x) returns x when x is NaN (the second operand wins unordered and equal compares), and
  // adding +0 turns the −0 it returns for x = −0 into +0: Math.max(0, x) exactly.
  static V Relu(V x) { return _mm512_add_ps(_mm512_max_ps(Zero(), x), Zero()); }
};

using Tiles = GemmTiles<Vec, kRows, kCols>;

// Transposes 16 rows of 16 floats in registers: afterwards r[c] holds column c (lane i = row i).
// Three rounds of 16 shuffles: 32-bit pairs, 64-bit pairs, then 128-bit lanes.
void Transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + j], lane L: rows 4g … 4g + 3 of column 4L + j.
  for (int g = 0; g < 4; ++g) {
    const __m512d lo0 = _mm512_castps_pd(t[4 * g]);
    const __m512d lo1 = _mm512_castps_pd(t[4 * g + 2]);
    const __m512d hi0 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d hi1 = _mm512_castps_pd(t[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
    r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
    r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
    r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);
    const __m512 u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    t[4 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    t[8 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Loads `count` ≤ 16 rows of 16 (or `width` < 16) consecutive floats, row i at source + i · ld;
// the rest read as zeros.
void LoadRows(const float* source, int64_t ld, int count, int64_t width, __m512 r[16]) {
  const __mmask16 mask =
      width >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << width) - 1u);
  for (int i = 0; i < 16; ++i) {
    r[i] = i < count ? _mm512_maskz_loadu_ps(mask, source + i * ld) : _mm512_setzero_ps();
  }
}

// op(A) not transposed is row-major: each depth of a panel gathers one float from each of its
// rows. 16 depths at a time are loaded as rows and transposed in registers, then stored as 16
// columns of kRows floats: ~0.3 cycles per float instead of one strided store each.
void PackA(const float* a, int64_t ld, bool transposed, int64_t mc, int64_t kc, float* out) {
  const __mmask16 panel_mask = static_cast<__mmask16>((1u << kRows) - 1u);
  for (int64_t i0 = 0; i0 < mc; i0 += kRows) {
    const int rows = static_cast<int>(mc - i0 < kRows ? mc - i0 : kRows);
    float* panel = out + i0 * kc;
    if (transposed) {
      // Each depth is a contiguous run of the panel's rows: one masked copy.
      const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1u);
      for (int64_t p = 0; p < kc; ++p) {
        _mm512_mask_storeu_ps(panel + p * kRows, panel_mask,
                              _mm512_maskz_loadu_ps(mask, a + p * ld + i0));
      }
      continue;
    }
    __m512 r[16];
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t width = kc - p < 16 ? kc - p : 16;
      LoadRows(a + i0 * ld + p, ld, rows, width, r);
      Transpose16(r);
      for (int64_t c = 0; c < width; ++c) {
        _mm512_mask_storeu_ps(panel + (p + c) * kRows, panel_mask, r[c]);
      }
    }
  }
}

// op(B) transposed (B stored n × k, as tfjs's x · Wᵀ): each depth of a panel gathers one float
// from each of its 32 columns' rows; two 16 × 16 register transposes per 16 depths.
void PackB(const float* b, int64_t ld, bool transposed, int64_t kc, int64_t nc, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += kCols) {
    const int cols = static_cast<int>(nc - j0 < kCols ? nc - j0 : kCols);
    float* panel = out + j0 * kc;
    if (!transposed) {
      const __mmask16 lo =
          cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
      const __mmask16 hi = cols >= 32   ? static_cast<__mmask16>(0xFFFF)
                           : cols <= 16 ? static_cast<__mmask16>(0)
                                        : static_cast<__mmask16>((1u << (cols - 16)) - 1u);
      for (int64_t p = 0; p < kc; ++p) {
        const float* source = b + p * ld + j0;
        _mm512_storeu_ps(panel + p * kCols, _mm512_maskz_loadu_ps(lo, source));
        _mm512_storeu_ps(panel + p * kCols + 16, _mm512_maskz_loadu_ps(hi, source + 16));
      }
      continue;
    }
    const int first = cols < 16 ? cols : 16;
    const int second = cols - first;
    __m512 r[16];
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t width = kc - p < 16 ? kc - p : 16;
      LoadRows(b + j0 * ld + p, ld, first, width, r);
      Transpose16(r);
      for (int64_t c = 0; c < width; ++c) _mm512_storeu_ps(panel + (p + c) * kCols, r[c]);
      LoadRows(b + (j0 + 16) * ld + p, ld, second, width, r);
      Transpose16(r);
      for (int64_t c = 0; c < width; ++c) _mm512_storeu_ps(panel + (p + c) * kCols + 16, r[c]);
    }
  }
}

}  // namespace

const IsaKernels& Avx512Kernels() {
  static const IsaKernels kernels{simd::Isa::kAvx512, kRows, kCols, &PackA, &PackB,
                                  &Tiles::RunBlock};
  return kernels;
}

}  // namespace superlora::gemm::detail

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
