// The per-(batch, head) loops of the fused attention (fused_ops.h's AttentionForward and
// AttentionBackward), compiled once per ISA like ops_loops.h: ops_<isa>.cc includes this after it,
// inside the same target pragma, so the float loops below are vectorised for that ISA (a head of
// 16 floats is one AVX-512 register). The anonymous namespace keeps each copy private to its file.
// No standard-library templates are instantiated here: the caller hands in the scratch memory.
#pragma once

#include <cstdint>

#include "ops_kernels.h"
#include "ops_loops.h"

namespace superlora::ops::detail {
namespace {

template <class D>
struct AttentionLoops {
  static constexpr int64_t kChunk = kAttentionChunk;

  // Where one (batch, head) pair's [tokens, head_size] slice lies in a [batch·tokens,
  // heads·head_size] matrix: row i of the slice starts at base + i · stride.
  struct Slice {
    int64_t base;
    int64_t stride;
  };

  static Slice SliceOf(const AttentionArgs& a, int64_t pair) {
    const int64_t stride = a.heads * a.head_size;
    return {(pair / a.heads) * a.tokens * stride + (pair % a.heads) * a.head_size, stride};
  }

  // t[c · padded + j] = x[slice row j, column c]: the slice transposed, its rows padded (with the
  // zeros the scratch starts with) to whole chunks of tokens.
  static void TransposeSlice(const float* x, Slice slice, int64_t tokens, int64_t head_size,
                             int64_t padded, float* t) {
    for (int64_t j = 0; j < tokens; ++j) {
      const float* row = x + slice.base + j * slice.stride;
      for (int64_t c = 0; c < head_size; ++c) t[c * padded + j] = row[c];
    }
  }

  // out[j] = Σ_c a[c] · t[c · padded + j] for j < padded, one chunk of tokens at a time in
  // registers: a row times every row of a slice.
  static void RowTimesTransposed(const float* a, const float* t, int64_t padded, int64_t head_size,
                                 float* out) {
    for (int64_t j0 = 0; j0 < padded; j0 += kChunk) {
      float acc[kChunk] = {};
      for (int64_t c = 0; c < head_size; ++c) {
        const float weight = a[c];
        const float* column = t + c * padded + j0;
        for (int64_t j = 0; j < kChunk; ++j) acc[j] += weight * column[j];
      }
      for (int64_t j = 0; j < kChunk; ++j) out[j0 + j] = acc[j];
    }
  }

  // out[c] = scale · Σ_j w[j · w_stride] · x[row j of the slice][c] for c < head_size: a weighted
  // sum of the slice's rows, one chunk of the head at a time in registers.
  static void WeightedRows(const float* w, int64_t w_stride, const float* x, Slice slice,
                           int64_t tokens, int64_t head_size, float scale, float* out) {
    int64_t c0 = 0;
    for (; c0 + kChunk <= head_size; c0 += kChunk) {
      float acc[kChunk] = {};
      for (int64_t j = 0; j < tokens; ++j) {
        const float weight = w[j * w_stride];
        const float* row = x + slice.base + j * slice.stride + c0;
        for (int64_t c = 0; c < kChunk; ++c) acc[c] += weight * row[c];
      }
      for (int64_t c = 0; c < kChunk; ++c) out[c0 + c] = acc[c] * scale;
    }
    for (; c0 < head_size; ++c0) {
      float acc = 0.0f;
      for (int64_t j = 0; j < tokens; ++j) {
        acc += w[j * w_stride] * x[slice.base + j * slice.stride + c0];
      }
      out[c0] = acc * scale;
    }
  }

  static void Forward(const AttentionArgs& a, int64_t begin, int64_t end, float* scratch) {
    const int64_t tokens = a.tokens;
    const int64_t head_size = a.head_size;
    const int64_t padded = AttentionPaddedTokens(tokens);
    float* keys_t = scratch;
    float* scores = keys_t + head_size * padded;
    float* scaled_q = scores + tokens * padded;
    for (int64_t pair = begin; pair < end; ++pair) {
      const Slice slice = SliceOf(a, pair);
      TransposeSlice(a.k, slice, tokens, head_size, padded, keys_t);
      float* p = a.probs_out + pair * tokens * tokens;
      for (int64_t i = 0; i < tokens; ++i) {
        const float* q_row = a.q + slice.base + i * slice.stride;
        for (int64_t c = 0; c < head_size; ++c) scaled_q[c] = q_row[c] * a.scale;
        RowTimesTransposed(scaled_q, keys_t, padded, head_size, scores + i * padded);
        OpsLoops<D>::SoftmaxRows(scores + i * padded, p + i * tokens, 1, tokens);
      }
      for (int64_t i = 0; i < tokens; ++i) {
        WeightedRows(p + i * tokens, 1, a.v, slice, tokens, head_size, 1.0f,
                     a.out + slice.base + i * slice.stride);
      }
    }
  }

  static void Backward(const AttentionArgs& a, int64_t begin, int64_t end, float* scratch) {
    const int64_t tokens = a.tokens;
    const int64_t head_size = a.head_size;
    const int64_t padded = AttentionPaddedTokens(tokens);
    float* values_t = scratch;
    float* d_scores = values_t + head_size * padded;
    for (int64_t pair = begin; pair < end; ++pair) {
      const Slice slice = SliceOf(a, pair);
      const float* p = a.probs + pair * tokens * tokens;
      TransposeSlice(a.v, slice, tokens, head_size, padded, values_t);
      // dS row by row: dP_i = dO_i Vᵀ, then dS_i = P_i ⊙ (dP_i − dP_i · P_i), the dot in double.
      for (int64_t i = 0; i < tokens; ++i) {
        float* ds = d_scores + i * padded;
        RowTimesTransposed(a.dy + slice.base + i * slice.stride, values_t, padded, head_size, ds);
        const float* p_row = p + i * tokens;
        double dot = 0.0;
        for (int64_t j = 0; j < tokens; ++j) dot += static_cast<double>(ds[j]) * p_row[j];
        const float row_dot = static_cast<float>(dot);
        for (int64_t j = 0; j < tokens; ++j) ds[j] = p_row[j] * (ds[j] - row_dot);
      }
      // dQ_i = scale · Σ_j dS[i][j] K_j; dK_j = scale · Σ_i dS[i][j] Q_i; dV_j = Σ_i P[i][j] dO_i.
      for (int64_t i = 0; i < tokens; ++i) {
        const int64_t row = slice.base + i * slice.stride;
        WeightedRows(d_scores + i * padded, 1, a.k, slice, tokens, head_size, a.scale, a.dq + row);
        WeightedRows(d_scores + i, padded, a.q, slice, tokens, head_size, a.scale, a.dk + row);
        WeightedRows(p + i, tokens, a.dy, slice, tokens, head_size, 1.0f, a.dv + row);
      }
    }
  }
};

}  // namespace
}  // namespace superlora::ops::detail
