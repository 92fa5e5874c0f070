// Rank-r streaming products: the last step of every Tucker / CP / LoRA reconstruction,
// T = A · Y with A [rows × rank] and Y [rank × cols], rank small (1–64) and T large. Each output
// element is written exactly once; the backward reads dT exactly once for both gradients.
// Single-threaded: callers split rows across the thread pool. Dispatches on simd::ActiveIsa().
#pragma once

#include <cstdint>

namespace superlora::kernels {

// out[e - begin] = scale · Σ_j a[i, j] · y[j, c] for every flat element e = i · cols + c of the
// rows × cols product with begin ≤ e < end. `begin` must be a multiple of `cols`; `end` may cut a
// row (the prefix of a square fold). a is row-major with stride rank, y row-major with stride cols.
void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out);

// Backward of LowRankForward for the same [begin, end): d_out[e - begin] is dL/dT at e (elements
// of a cut last row past `end` count as zero).
//   d_a[i, j]  = scale · Σ_c d_out[i, c] · y[j, c]   for the rows touched (overwritten);
//   d_y[j, c] += scale · Σ_i a[i, j] · d_out[i, c]   (accumulated: callers give each thread its own
//                                                     d_y and sum them).
// d_a is indexed like a (row i at d_a + i · rank).
void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y);

}  // namespace superlora::kernels
