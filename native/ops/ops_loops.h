// The contiguous loops of native/ops/ (ops_kernels.h), written once and compiled once per ISA:
// ops_<isa>.cc includes this after its target pragma and supplies a double-vector traits type D.
// The anonymous namespace keeps each copy private to its file, so the linker can never hand the
// AVX-512 copy of an inline function to a caller compiled for a lower level.
//
// Operations that are exact in float32 are plain loops the compiler vectorises for the target.
// Transcendental functions and sums run on vectors of doubles (D) because tfjs evaluates them in
// double: exp is a Cody–Waite reduction and a degree-12 Taylor polynomial (relative error about
// 2e-16, far below float32's rounding), so after the final rounding to float32 the results equal
// tfjs's except in the rare case of a double result within 1e-16 of a float32 rounding boundary.
//
// D provides: V, kWidth, LoadF (kWidth floats widened), StoreF (narrowed, rounding to nearest),
// RoundToFloat (narrowed and widened again), Set1, Add, Sub, Mul, Div, Fma (a · b + c), Min, Max
// (for clamping non-NaN values), Floor, Sqrt, Abs, KeepNaN(x, v) (x where x is NaN, else v),
// SignOf(x, y) (y where x > 0, −y where x < 0, x otherwise: Math.sign(x) · y), Pow2(k) (2^k for
// integer-valued k in [−1022, 1023]) and Sum.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops_kernels.h"

namespace superlora::ops::detail {
namespace {

// tfjs's erf constants (backend_util.ERF_*): Abramowitz & Stegun 7.1.26.
constexpr double kErfP = 0.3275911;
constexpr double kErfA1 = 0.254829592;
constexpr double kErfA2 = -0.284496736;
constexpr double kErfA3 = 1.421413741;
constexpr double kErfA4 = -1.453152027;
constexpr double kErfA5 = 1.061405429;

template <class D>
struct OpsLoops {
  using V = typename D::V;
  static constexpr int64_t kWidth = D::kWidth;

  // e^x for every double x: NaN stays NaN, overflow gives +Infinity, underflow 0 (gradually).
  static V Exp(V x) {
    // Clamped so that 2^k stays representable as the product of two normal powers of two.
    const V c = D::Min(D::Max(x, D::Set1(-746.0)), D::Set1(710.0));
    // k = round(c / ln 2) by the 1.5 · 2^52 shifter; r = c − k · ln 2 in two parts (fdlibm's split:
    // k · kLn2Hi is exact), so |r| ≤ ln 2 / 2 with an error far below a double ulp of e^r.
    const V shifter = D::Set1(6755399441055744.0);
    const V k = D::Sub(D::Fma(c, D::Set1(1.4426950408889634), shifter), shifter);
    V r = D::Fma(k, D::Set1(-6.93147180369123816490e-01), c);
    r = D::Fma(k, D::Set1(-1.90821492927058770002e-10), r);
    // Σ r^n / n! for n ≤ 12: the first omitted term is below 2e-16 · e^r for |r| ≤ ln 2 / 2.
    V p = D::Set1(1.0 / 479001600.0);
    p = D::Fma(p, r, D::Set1(1.0 / 39916800.0));
    p = D::Fma(p, r, D::Set1(1.0 / 3628800.0));
    p = D::Fma(p, r, D::Set1(1.0 / 362880.0));
    p = D::Fma(p, r, D::Set1(1.0 / 40320.0));
    p = D::Fma(p, r, D::Set1(1.0 / 5040.0));
    p = D::Fma(p, r, D::Set1(1.0 / 720.0));
    p = D::Fma(p, r, D::Set1(1.0 / 120.0));
    p = D::Fma(p, r, D::Set1(1.0 / 24.0));
    p = D::Fma(p, r, D::Set1(1.0 / 6.0));
    p = D::Fma(p, r, D::Set1(0.5));
    p = D::Fma(p, r, D::Set1(1.0));
    p = D::Fma(p, r, D::Set1(1.0));
    // 2^k as 2^k1 · 2^k2 with both halves in the normal range (k is in [−1076, 1025]).
    const V k1 = D::Floor(D::Mul(k, D::Set1(0.5)));
    const V k2 = D::Sub(k, k1);
    return D::KeepNaN(x, D::Mul(D::Mul(p, D::Pow2(k1)), D::Pow2(k2)));
  }

  // tfjs: sign(x) · (1 − ((((a5 t + a4) t + a3) t + a2) t + a1) t · e^(−x²)), t = 1 / (1 + p |x|).
  static V Erf(V x) {
    const V v = D::Abs(x);
    const V t = D::Div(D::Set1(1.0), D::Fma(D::Set1(kErfP), v, D::Set1(1.0)));
    V poly = D::Fma(D::Set1(kErfA5), t, D::Set1(kErfA4));
    poly = D::Fma(poly, t, D::Set1(kErfA3));
    poly = D::Fma(poly, t, D::Set1(kErfA2));
    poly = D::Fma(poly, t, D::Set1(kErfA1));
    poly = D::Mul(poly, t);
    const V minus_square = D::Sub(D::Set1(0.0), D::Mul(v, v));
    const V y = D::Sub(D::Set1(1.0), D::Mul(poly, Exp(minus_square)));
    return D::SignOf(x, y);
  }

  static V Sigmoid(V x) {
    return D::Div(D::Set1(1.0), D::Add(D::Set1(1.0), Exp(D::Sub(D::Set1(0.0), x))));
  }

  // f.Apply(v) over x in vectors of kWidth. f is a functor rather than a lambda: GCC compiles a
  // lambda's body without the file's target pragma, which breaks vector-typed signatures.
  template <class F>
  static void MapDouble(const float* x, float* out, int64_t n, const F& f) {
    int64_t i = 0;
    for (; i + kWidth <= n; i += kWidth) D::StoreF(out + i, f.Apply(D::LoadF(x + i)));
    if (i < n) {
      // The tail through a zero-padded block, so every ISA needs only full-width loads.
      float in_block[kWidth] = {};
      float out_block[kWidth];
      std::memcpy(in_block, x + i, static_cast<size_t>(n - i) * sizeof(float));
      D::StoreF(out_block, f.Apply(D::LoadF(in_block)));
      std::memcpy(out + i, out_block, static_cast<size_t>(n - i) * sizeof(float));
    }
  }

  struct SqrtOp {
    V Apply(V v) const { return D::Sqrt(v); }
  };
  struct RsqrtOp {
    V Apply(V v) const { return D::Div(D::Set1(1.0), D::Sqrt(v)); }
  };
  struct ExpOp {
    V Apply(V v) const { return Exp(v); }
  };
  struct ErfOp {
    V Apply(V v) const { return Erf(v); }
  };
  struct SigmoidOp {
    V Apply(V v) const { return Sigmoid(v); }
  };
  // fl(exp(fl(x − shift))): the difference rounded to float32 as tfjs's Sub kernel stores it.
  struct ShiftedExpOp {
    V shift;
    V Apply(V v) const { return Exp(D::RoundToFloat(D::Sub(v, shift))); }
  };

  static void Unary(UnaryOp op, const float* x, float* out, int64_t n) {
    switch (op) {
      case UnaryOp::kNeg:
        for (int64_t i = 0; i < n; ++i) out[i] = -x[i];
        return;
      case UnaryOp::kAbs:
        for (int64_t i = 0; i < n; ++i) out[i] = std::fabs(x[i]);
        return;
      case UnaryOp::kSquare:
        for (int64_t i = 0; i < n; ++i) out[i] = x[i] * x[i];
        return;
      case UnaryOp::kRelu:
        // Math.max(0, x): NaN fails the comparison and stays; −0 + 0 is +0.
        for (int64_t i = 0; i < n; ++i) out[i] = (x[i] < 0.0f ? 0.0f : x[i]) + 0.0f;
        return;
      case UnaryOp::kReciprocal:
        for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / x[i];
        return;
      case UnaryOp::kSqrt:
        MapDouble(x, out, n, SqrtOp{});
        return;
      case UnaryOp::kRsqrt:
        MapDouble(x, out, n, RsqrtOp{});
        return;
      case UnaryOp::kExp:
        MapDouble(x, out, n, ExpOp{});
        return;
      case UnaryOp::kErf:
        MapDouble(x, out, n, ErfOp{});
        return;
      case UnaryOp::kSigmoid:
        MapDouble(x, out, n, SigmoidOp{});
        return;
      case UnaryOp::kStep:
        for (int64_t i = 0; i < n; ++i) out[i] = x[i] != x[i] ? x[i] : (x[i] > 0.0f ? 1.0f : 0.0f);
        return;
    }
  }

  // Math.max / Math.min: NaN if either is NaN; of two zeros, max prefers +0 and min −0.
  static float JsMax(float a, float b) {
    if (a != a || b != b) return a + b;
    if (a == b) return a == 0.0f ? (std::signbit(a) ? b : a) : a;
    return a > b ? a : b;
  }
  static float JsMin(float a, float b) {
    if (a != a || b != b) return a + b;
    if (a == b) return a == 0.0f ? (std::signbit(a) ? a : b) : a;
    return a < b ? a : b;
  }

  // Math.pow in double: C's pow except that JavaScript gives NaN for a NaN exponent and for ±1
  // raised to ±Infinity (C gives 1 for both), per ECMAScript's Number::exponentiate.
  static float JsPow(float a, float b) {
    if (b != b || ((a == 1.0f || a == -1.0f) && std::isinf(b))) return a + b + std::nanf("");
    return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }

  // The three stride patterns of a broadcast inner dimension, as separate loops so that each one
  // vectorises.
  template <class F>
  static void Zip(const float* a, int64_t a_step, const float* b, int64_t b_step, float* out,
                  int64_t n, F f) {
    if (a_step == 1 && b_step == 1) {
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    } else if (b_step == 0) {
      const float y = *b;
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], y);
    } else {
      const float x = *a;
      for (int64_t i = 0; i < n; ++i) out[i] = f(x, b[i]);
    }
  }

  static void Binary(BinaryOp op, const float* a, int64_t a_step, const float* b, int64_t b_step,
                     float* out, int64_t n) {
    switch (op) {
      case BinaryOp::kAdd:
        Zip(a, a_step, b, b_step, out, n, [](float x, float y) { return x + y; });
        return;
      case BinaryOp::kSub:
        Zip(a, a_step, b, b_step, out, n, [](float x, float y) { return x - y; });
        return;
      case BinaryOp::kMul:
        Zip(a, a_step, b, b_step, out, n, [](float x, float y) { return x * y; });
        return;
      case BinaryOp::kDiv:
        Zip(a, a_step, b, b_step, out, n, [](float x, float y) { return x / y; });
        return;
      case BinaryOp::kMaximum:
        Zip(a, a_step, b, b_step, out, n, JsMax);
        return;
      case BinaryOp::kMinimum:
        Zip(a, a_step, b, b_step, out, n, JsMin);
        return;
      case BinaryOp::kPow:
        Zip(a, a_step, b, b_step, out, n, JsPow);
        return;
      case BinaryOp::kSquaredDifference:
        Zip(a, a_step, b, b_step, out, n, [](float x, float y) {
          const double d = static_cast<double>(x) - static_cast<double>(y);
          return static_cast<float>(d * d);
        });
        return;
    }
  }

  // tfjs's max loop: NaN wins, otherwise a later element replaces the current one only when it is
  // strictly greater (so of +0 and −0, the first one seen).
  static float RowMax(const float* x, int64_t size) {
    float best = x[0];
    for (int64_t j = 0; j < size; ++j) {
      if (x[j] != x[j] || x[j] > best) best = x[j];
    }
    return best;
  }
  static float RowMin(const float* x, int64_t size) {
    float best = x[0];
    for (int64_t j = 0; j < size; ++j) {
      if (x[j] != x[j] || x[j] < best) best = x[j];
    }
    return best;
  }

  // Σ x[j] (or Σ fl(x[j] / size) for the mean) in double.
  static double RowSum(const float* x, int64_t size, bool mean) {
    const V divisor = D::Set1(static_cast<double>(static_cast<float>(size)));
    V acc0 = D::Set1(0.0);
    V acc1 = D::Set1(0.0);
    int64_t j = 0;
    if (mean) {
      for (; j + 2 * kWidth <= size; j += 2 * kWidth) {
        acc0 = D::Add(acc0, D::RoundToFloat(D::Div(D::LoadF(x + j), divisor)));
        acc1 = D::Add(acc1, D::RoundToFloat(D::Div(D::LoadF(x + j + kWidth), divisor)));
      }
    } else {
      for (; j + 2 * kWidth <= size; j += 2 * kWidth) {
        acc0 = D::Add(acc0, D::LoadF(x + j));
        acc1 = D::Add(acc1, D::LoadF(x + j + kWidth));
      }
    }
    double sum = D::Sum(D::Add(acc0, acc1));
    const float count = static_cast<float>(size);
    for (; j < size; ++j) sum += mean ? static_cast<double>(x[j] / count) : x[j];
    return sum;
  }

  static void ReduceRows(ReduceOp op, const float* x, float* out, int64_t rows, int64_t size) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * size;
      switch (op) {
        case ReduceOp::kSum:
          out[r] = static_cast<float>(RowSum(row, size, false));
          break;
        case ReduceOp::kMean:
          out[r] = static_cast<float>(RowSum(row, size, true));
          break;
        case ReduceOp::kMax:
          out[r] = RowMax(row, size);
          break;
        case ReduceOp::kMin:
          out[r] = RowMin(row, size);
          break;
      }
    }
  }

  // out[c] = op over x[b · stride + c] (b < size, c < width). Rows are added in order, as tfjs
  // does after moving the reduced axis innermost, so sums are bit-identical to tfjs's.
  static void ReduceColumns(ReduceOp op, const float* x, int64_t stride, float* out, int64_t size,
                            int64_t width, double* scratch) {
    if (op == ReduceOp::kMax || op == ReduceOp::kMin) {
      const bool max = op == ReduceOp::kMax;
      for (int64_t c = 0; c < width; ++c) out[c] = x[c];
      for (int64_t b = 0; b < size; ++b) {
        const float* row = x + b * stride;
        for (int64_t c = 0; c < width; ++c) {
          const float v = row[c];
          const bool replace = v != v || (max ? v > out[c] : v < out[c]);
          out[c] = replace ? v : out[c];
        }
      }
      return;
    }
    const bool mean = op == ReduceOp::kMean;
    const float count = static_cast<float>(size);
    for (int64_t c = 0; c < width; ++c) scratch[c] = 0.0;
    for (int64_t b = 0; b < size; ++b) {
      const float* row = x + b * stride;
      if (mean) {
        for (int64_t c = 0; c < width; ++c) scratch[c] += static_cast<double>(row[c] / count);
      } else {
        for (int64_t c = 0; c < width; ++c) scratch[c] += static_cast<double>(row[c]);
      }
    }
    for (int64_t c = 0; c < width; ++c) out[c] = static_cast<float>(scratch[c]);
  }

  // The exp of a softmax row shifted by its largest value. NaNs are skipped in finding it: a NaN
  // makes its exp, so the row's sum and every output NaN, as a NaN shift would; without RowMax's
  // NaN test per element the loop has no branch.
  static ShiftedExpOp SoftmaxShift(const float* row, int64_t cols) {
    float shift = row[0];
    for (int64_t j = 1; j < cols; ++j) shift = row[j] > shift ? row[j] : shift;
    return ShiftedExpOp{D::Set1(static_cast<double>(shift))};
  }

  static void SoftmaxRows(const float* x, float* out, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * cols;
      float* target = out + r * cols;
      MapDouble(row, target, cols, SoftmaxShift(row, cols));
      const float sum = static_cast<float>(RowSum(target, cols, false));
      for (int64_t j = 0; j < cols; ++j) target[j] = target[j] / sum;
    }
  }
};

}  // namespace
}  // namespace superlora::ops::detail
