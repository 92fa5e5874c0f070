// Fused LayerNorm, GELU and the softmax gradient for the ViT (src/vit/layers.ts): the native
// kernels behind its SuperloraLayerNorm, SuperloraGelu and SuperloraSoftmax tfjs ops (the softmax
// forward is ops::Softmax). Composed of tfjs ops, a
// LayerNorm is about 11 kernels forward and 20 backward, each a pass over memory and a fresh
// tensor; here it is one pass each way.
#pragma once

#include <cstdint>

#include "../simd/isa.h"

namespace superlora::ops {

// LayerNorm over the last axis of x [rows, width], as PyTorch's nn.LayerNorm: per row, mean and
// biased variance (both accumulated in double), rstd = 1 / sqrt(variance + eps);
// y = (x − mean) · rstd · gamma + beta in float32. mean and rstd (one float per row) are kept for
// the backward.
void LayerNormForward(const float* x, const float* gamma, const float* beta, float eps,
                      int64_t rows, int64_t width, float* y, float* mean, float* rstd);

// The input gradient of LayerNormForward for the upstream gradient dy: with x̂ = (x − mean) · rstd
// and g = dy · gamma, dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), the row means in double.
void LayerNormInputGrad(const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, int64_t rows, int64_t width, float* dx);

// Its gain gradient, dgamma = Σ_rows dy · x̂, in double over blocks of rows added in order: the
// result does not depend on the thread count. (The bias gradient is Σ_rows dy, a plain sum.)
void LayerNormGammaGrad(const float* dy, const float* x, const float* mean, const float* rstd,
                        int64_t rows, int64_t width, float* dgamma);

// The exact GELU, y = ½ · x · (1 + erf(x / √2)), evaluated as the ViT's tfjs ops compose it:
// t = x · (1/√2), erf(t) as the native erf kernel (tfjs's formula), then (x · (erf + 1)) · ½, each
// step rounded to float32: bit-identical to those ops on the native kernels.
void Gelu(const float* x, float* y, int64_t n, simd::Isa isa = simd::ActiveIsa());

// dx = dy · (½ (1 + erf(t)) + ½ · x · (2/√π) · exp(−t²) / √2), t = x / √2, with the native erf and
// exp kernels: the derivative of Gelu's formula.
void GeluBackward(const float* dy, const float* x, float* dx, int64_t n,
                  simd::Isa isa = simd::ActiveIsa());

// The softmax gradient over rows of y = softmax(x) [rows, cols]: dx = y · (dy − Σ_cols dy · y), the
// row sum in double.
void SoftmaxBackward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

// Multi-head scaled dot-product attention without dropout, on q, k, v [batch·tokens,
// heads·head_size] as the ViT's projections produce them (no head transposes): for each batch b and
// head h, with Q, K, V the [tokens, head_size] slices of that head, P = softmax((Q·scale) Kᵀ) by
// rows and out = P V, written to the same slice of out. P goes to probs [batch·heads, tokens,
// tokens] for the backward. Products accumulate in float, as the GEMM's do; the softmax is
// Softmax's row kernel.
void AttentionForward(const float* q, const float* k, const float* v, int64_t batch, int64_t tokens,
                      int64_t heads, int64_t head_size, float scale, float* out, float* probs,
                      simd::Isa isa = simd::ActiveIsa());

// Its gradients for the upstream gradient dy of out (same layout), per batch and head: dV = Pᵀ dO,
// dP = dO Vᵀ, dS = P ⊙ (dP − Σ_cols dP ⊙ P) (the row sum in double), dQ = scale · dS K and
// dK = scale · dSᵀ Q.
void AttentionBackward(const float* dy, const float* q, const float* k, const float* v,
                       const float* probs, int64_t batch, int64_t tokens, int64_t heads,
                       int64_t head_size, float scale, float* dq, float* dk, float* dv,
                       simd::Isa isa = simd::ActiveIsa());

}  // namespace superlora::ops
