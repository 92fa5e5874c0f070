// native/ops loops for AVX2 + FMA: float loops vectorised by the compiler for this target, double
// math on 4-lane __m256d. Compiled for baseline x86-64 with a target pragma and only called after
// simd::SupportedIsa() has seen the CPU (and OS) support it.
#include "ops_kernels.h"

// Every standard header comes before the target pragma, so that nothing they define is compiled
// for the wider target.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include "../simd/vec_avx2.h"
#include "attention_loops.h"
#include "ops_loops.h"

namespace superlora::ops::detail {
namespace {

struct DoubleAvx2 {
  using V = __m256d;
  static constexpr int64_t kWidth = 4;

  static V LoadF(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static void StoreF(float* p, V v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
  static V RoundToFloat(V v) { return _mm256_cvtps_pd(_mm256_cvtpd_ps(v)); }
  static V Set1(double x) { return _mm256_set1_pd(x); }
  static V Add(V a, V b) { return _mm256_add_pd(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V Mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V Div(V a, V b) { return _mm256_div_pd(a, b); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V Min(V a, V b) { return _mm256_min_pd(a, b); }
  static V Max(V a, V b) { return _mm256_max_pd(a, b); }
  static V Floor(V v) { return _mm256_floor_pd(v); }
  static V Sqrt(V v) { return _mm256_sqrt_pd(v); }
  static V Abs(V v) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), v); }
  static V KeepNaN(V x, V v) { return _mm256_blendv_pd(v, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q)); }
  static V SignOf(V x, V y) {
    const V zero = _mm256_setzero_pd();
    const V r = _mm256_blendv_pd(x, y, _mm256_cmp_pd(x, zero, _CMP_GT_OQ));
    return _mm256_blendv_pd(r, _mm256_sub_pd(zero, y), _mm256_cmp_pd(x, zero, _CMP_LT_OQ));
  }
  // See ops_avx512.cc.
  static V Pow2(V k) {
    const __m256i bits = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(4503599627371519.0)));
    return _mm256_castsi256_pd(_mm256_slli_epi64(bits, 52));
  }
  static double Sum(V v) {
    const __m128d half = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
  }
};

using Attention = AttentionLoops<DoubleAvx2, simd::Avx2Vec>;
using Loops = OpsLoops<DoubleAvx2>;

}  // namespace

const OpsKernels& Avx2OpsKernels() {
  static const OpsKernels kernels{simd::Isa::kAvx2,    &Loops::Unary,         &Loops::Binary,
                                  &Loops::ReduceRows,  &Loops::ReduceColumns, &Loops::SoftmaxRows,
                                  &Attention::Forward, &Attention::Backward};
  return kernels;
}

}  // namespace superlora::ops::detail

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
