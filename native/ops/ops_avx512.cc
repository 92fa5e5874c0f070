// native/ops loops for AVX-512 (F, BW, VL, DQ): float loops vectorised by the compiler for this
// target, double math on 8-lane __m512d. Compiled for baseline x86-64 with a target pragma and
// only called after simd::SupportedIsa() has seen the CPU (and OS) support it.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers hand unmasked intrinsics a self-initialised `_mm512_undefined_*()` as
// their ignored pass-through operand, which -Wall then reports (falsely) as uninitialised once
// inlined here. Before every include, so that it covers the header's lines too.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "ops_kernels.h"

// Every standard header comes before the target pragma, so that nothing they define is compiled
// for the wider target.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif

#include "../simd/vec_avx512.h"
#include "attention_loops.h"
#include "ops_loops.h"

namespace superlora::ops::detail {
namespace {

struct DoubleAvx512 {
  using V = __m512d;
  static constexpr int64_t kWidth = 8;

  static V LoadF(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static void StoreF(float* p, V v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
  static V RoundToFloat(V v) { return _mm512_cvtps_pd(_mm512_cvtpd_ps(v)); }
  static V Set1(double x) { return _mm512_set1_pd(x); }
  static V Add(V a, V b) { return _mm512_add_pd(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V Mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V Div(V a, V b) { return _mm512_div_pd(a, b); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V Min(V a, V b) { return _mm512_min_pd(a, b); }
  static V Max(V a, V b) { return _mm512_max_pd(a, b); }
  static V Floor(V v) { return _mm512_roundscale_pd(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static V Sqrt(V v) { return _mm512_sqrt_pd(v); }
  static V Abs(V v) { return _mm512_abs_pd(v); }
  static V KeepNaN(V x, V v) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), v, x);
  }
  static V SignOf(V x, V y) {
    const V zero = _mm512_setzero_pd();
    V r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, zero, _CMP_GT_OQ), x, y);
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, zero, _CMP_LT_OQ), r, _mm512_sub_pd(zero, y));
  }
  // k + 1023 + 2^52 holds k + 1023 in its low mantissa bits; shifted into the exponent field it is
  // 2^k.
  static V Pow2(V k) {
    const __m512i bits = _mm512_castpd_si512(_mm512_add_pd(k, _mm512_set1_pd(4503599627371519.0)));
    return _mm512_castsi512_pd(_mm512_slli_epi64(bits, 52));
  }
  static double Sum(V v) {
    const __m256d half =
        _mm256_add_pd(_mm512_castpd512_pd256(v),
                      _mm256_castsi256_pd(_mm512_extracti64x4_epi64(_mm512_castpd_si512(v), 1)));
    const __m128d quarter =
        _mm_add_pd(_mm256_castpd256_pd128(half), _mm256_extractf128_pd(half, 1));
    return _mm_cvtsd_f64(_mm_add_sd(quarter, _mm_unpackhi_pd(quarter, quarter)));
  }
};

using Attention = AttentionLoops<DoubleAvx512, simd::Avx512Vec>;
using Loops = OpsLoops<DoubleAvx512>;

}  // namespace

const OpsKernels& Avx512OpsKernels() {
  static const OpsKernels kernels{simd::Isa::kAvx512,  &Loops::Unary,         &Loops::Binary,
                                  &Loops::ReduceRows,  &Loops::ReduceColumns, &Loops::SoftmaxRows,
                                  &Attention::Forward, &Attention::Backward};
  return kernels;
}

}  // namespace superlora::ops::detail

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
