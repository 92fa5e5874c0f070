// Single-precision GEMM for the CPU: out = act(alpha · op(A) · op(B) + bias), batched, on the
// process-wide thread pool. It backs the tfjs cpu-backend kernels (src/tfjs/kernels/), so its
// batch semantics are tfjs BatchMatMul's, and it is written for both of that backend's regimes:
// large products (packing, cache blocking, register tiles near the FMA peak) and many small ones
// (attention heads: one pool task per group of matrices, no thread overhead below a few µs).
#pragma once

#include <cstdint>

#include "../simd/isa.h"

namespace superlora::gemm {

enum class Activation : int {
  kLinear = 0,
  // max(0, x) as JavaScript's Math.max(0, x): NaN stays NaN and −0 becomes +0.
  kRelu = 1,
};

// One operand: `count` matrices, matrix j at data + j · batch_stride, each stored row-major with
// `ld` floats between rows. Not transposed, A is m × k and B is k × n; transposed, A is stored
// k × m and B n × k (op() transposes them back).
struct Operand {
  const float* data = nullptr;
  int64_t ld = 0;
  int64_t batch_stride = 0;
  int64_t count = 1;
  bool transposed = false;
};

// out matrix i (of `batch`) = act(alpha · op(A_{i mod a.count}) · op(B_{i mod b.count}) + bias_i),
// where bias_i(r, c) = bias[i · bias_batch_stride + r · bias_row_stride + c · bias_col_stride]
// (strides of 0 broadcast; bias_col_stride must be 0 or 1) and the modulo indexing is tfjs
// BatchMatMul's broadcast of the flattened batch dimensions. out matrix i is at
// out + i · out_batch_stride with ld_out floats between rows; it must not overlap A, B or bias.
// k = 0 gives act(bias) (0 without bias).
struct Problem {
  int64_t batch = 1;
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  Operand a;
  Operand b;
  float* out = nullptr;
  int64_t ld_out = 0;
  int64_t out_batch_stride = 0;
  float alpha = 1.0f;
  const float* bias = nullptr;
  int64_t bias_batch_stride = 0;
  int64_t bias_row_stride = 0;
  int64_t bias_col_stride = 0;
  Activation activation = Activation::kLinear;
};

// Runs the problem with the kernels of simd::ActiveIsa(), on the thread pool when it is large
// enough to gain from it (inline when called from inside a pool job). Preconditions (checked at
// the JS boundary): sizes ≥ 0, counts ≥ 1, every matrix inside its buffer.
void Sgemm(const Problem& problem);

// The same with the kernels of `isa` (lowered to what the CPU supports), for tests and benchmarks.
void Sgemm(const Problem& problem, simd::Isa isa);

}  // namespace superlora::gemm
