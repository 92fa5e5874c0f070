// Internal to native/ops/: the contiguous loops each instruction set provides (ops_portable.cc,
// ops_avx2.cc, ops_avx512.cc, each compiled for its own target from ops_loops.h) to the
// ISA-independent drivers (ops.cc: broadcasting, reduction layouts; fused_ops.cc), with the
// dispatch and thread-pool helpers they share.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../parallel/thread_pool.h"
#include "ops.h"

namespace superlora::ops::detail {

// One call of the fused attention (fused_ops.h): the forward reads q, k, v and writes out and
// probs_out; the backward reads dy, q, k, v and probs and writes dq, dk and dv.
struct AttentionArgs {
  const float* q;
  const float* k;
  const float* v;
  const float* dy;
  const float* probs;
  float* out;
  float* probs_out;
  float* dq;
  float* dk;
  float* dv;
  int64_t tokens;
  int64_t heads;
  int64_t head_size;
  float scale;
};

// The attention loops accumulate this many floats at a time in registers (one AVX-512 vector).
constexpr int64_t kAttentionChunk = 16;

// Tokens rounded up to whole chunks: the row length of the loops' transposed heads and scores.
inline int64_t AttentionPaddedTokens(int64_t tokens) {
  return (tokens + kAttentionChunk - 1) / kAttentionChunk * kAttentionChunk;
}

// Floats of zeroed scratch the attention loops need per call: a transposed head and the scores at
// the padded length, and the scaled queries of a slice.
inline int64_t AttentionScratchFloats(int64_t tokens, int64_t head_size) {
  const int64_t padded = AttentionPaddedTokens(tokens);
  return head_size * padded + tokens * padded + tokens * head_size;
}

struct OpsKernels {
  simd::Isa isa;
  // out[i] = op(x[i]), i < n.
  void (*unary)(UnaryOp op, const float* x, float* out, int64_t n);
  // out[i] = op(a[i · a_step], b[i · b_step]), i < n, with steps 0 or 1.
  void (*binary)(BinaryOp op, const float* a, int64_t a_step, const float* b, int64_t b_step,
                 float* out, int64_t n);
  // out[r] = op over x[r · size, (r + 1) · size), r < rows.
  void (*reduce_rows)(ReduceOp op, const float* x, float* out, int64_t rows, int64_t size);
  // out[c] = op over x[b · stride + c] for b < size, c < width; `scratch` holds `width` doubles.
  void (*reduce_columns)(ReduceOp op, const float* x, int64_t stride, float* out, int64_t size,
                         int64_t width, double* scratch);
  // Softmax of each of `rows` rows of `cols` floats (see ops.h).
  void (*softmax_rows)(const float* x, float* out, int64_t rows, int64_t cols);
  // The attention forward and backward of (batch, head) pairs [begin, end), with
  // AttentionScratchFloats of scratch.
  void (*attention_forward)(const AttentionArgs& args, int64_t begin, int64_t end, float* scratch);
  void (*attention_backward)(const AttentionArgs& args, int64_t begin, int64_t end, float* scratch);
};

const OpsKernels& PortableOpsKernels();
#if defined(__x86_64__) || defined(_M_X64)
const OpsKernels& Avx2OpsKernels();
const OpsKernels& Avx512OpsKernels();
#endif

// The loops for `isa`, lowered to what this CPU supports.
inline const OpsKernels& KernelsFor(simd::Isa isa) {
  const simd::Isa supported = simd::SupportedIsa();
  if (isa > supported) isa = supported;
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == simd::Isa::kAvx512) return Avx512OpsKernels();
  if (isa == simd::Isa::kAvx2) return Avx2OpsKernels();
#endif
  return PortableOpsKernels();
}

// Below this many floats an operation runs on the calling thread. Handing work to the pool costs
// about a microsecond while its threads spin (for 200 µs after each job, so through a training
// step), a wake-up of tens of µs once they sleep, and up to a scheduler time slice (milliseconds)
// when other processes keep the cores busy and a helper is preempted mid-chunk. So a memory-bound
// loop (≈0.1 ns a float) is split from 1 Mi floats, ~100 µs of work; double-precision math (≈1 ns
// a float: LayerNorm, GELU, exp, erf) from 64 Ki, ~60 µs, which a ViT's LayerNorm over 2176 × 64
// reaches (92 → 54 µs on two threads).
constexpr int64_t kParallelFloats = int64_t{1} << 20;
constexpr int64_t kParallelMathFloats = int64_t{1} << 16;
// Floats per pool chunk at least (the pool makes at most a few chunks per thread anyway).
constexpr int64_t kGrainFloats = int64_t{1} << 14;

inline bool RunInline(int64_t floats, int64_t threshold = kParallelFloats) {
  return floats < threshold || parallel::InsideJob();
}

// Rows [begin, end) of `rows` rows that cost `row_floats` each, on the pool when large.
template <class F>
void ForRows(int64_t rows, int64_t row_floats, F body, int64_t threshold = kParallelFloats) {
  if (rows <= 1 || RunInline(rows * row_floats, threshold)) {
    body(int64_t{0}, rows);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kGrainFloats / std::max<int64_t>(1, row_floats));
  parallel::ParallelFor(0, rows, grain, [&](int64_t begin, int64_t end, int) { body(begin, end); });
}

}  // namespace superlora::ops::detail
