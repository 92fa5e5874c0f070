// native/ops loops for any CPU: the loops of ops_loops.h over one double at a time (the float
// loops are still vectorised by the compiler for the baseline: SSE2 on x86-64, NEON on arm64).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../simd/vec_scalar.h"
#include "attention_loops.h"
#include "ops_kernels.h"
#include "ops_loops.h"

namespace superlora::ops::detail {
namespace {

struct DoubleScalar {
  using V = double;
  static constexpr int64_t kWidth = 1;

  static V LoadF(const float* p) { return static_cast<double>(*p); }
  static void StoreF(float* p, V v) { *p = static_cast<float>(v); }
  static V RoundToFloat(V v) { return static_cast<double>(static_cast<float>(v)); }
  static V Set1(double x) { return x; }
  static V Add(V a, V b) { return a + b; }
  static V Sub(V a, V b) { return a - b; }
  static V Mul(V a, V b) { return a * b; }
  static V Div(V a, V b) { return a / b; }
  // Two roundings where the vector ISAs have one: well within the double accuracy the float32
  // results need.
  static V Fma(V a, V b, V c) { return a * b + c; }
  static V Min(V a, V b) { return a < b ? a : b; }
  static V Max(V a, V b) { return a > b ? a : b; }
  static V Floor(V v) { return std::floor(v); }
  static V Sqrt(V v) { return std::sqrt(v); }
  static V Abs(V v) { return std::fabs(v); }
  static V KeepNaN(V x, V v) { return x != x ? x : v; }
  static V SignOf(V x, V y) { return x > 0.0 ? y : (x < 0.0 ? -y : x); }
  static V Pow2(V k) {
    const uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(k) + 1023) << 52;
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
  static double Sum(V v) { return v; }
};

using Attention = AttentionLoops<DoubleScalar, simd::ScalarVec>;
using Loops = OpsLoops<DoubleScalar>;

}  // namespace

const OpsKernels& PortableOpsKernels() {
  static const OpsKernels kernels{simd::Isa::kPortable, &Loops::Unary,         &Loops::Binary,
                                  &Loops::ReduceRows,   &Loops::ReduceColumns, &Loops::SoftmaxRows,
                                  &Attention::Forward,  &Attention::Backward};
  return kernels;
}

}  // namespace superlora::ops::detail
