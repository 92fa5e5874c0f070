// The per-(batch, head) loops of the fused attention (fused_ops.h's AttentionForward and
// AttentionBackward), compiled once per ISA like ops_loops.h: ops_<isa>.cc includes this after it,
// inside the same target pragma, with that ISA's float vector (simd/vec_*.h; a head of 16 floats is
// one AVX-512 register). The anonymous namespace keeps each copy private to its file.
// No standard-library templates are instantiated here: the caller hands in the scratch memory.
#pragma once

#include <cstdint>

#include "ops_kernels.h"
#include "ops_loops.h"

namespace superlora::ops::detail {
namespace {

// D: the double-precision math of ops_loops.h (the softmax); F: a float vector of simd/vec_*.h.
template <class D, class F>
struct AttentionLoops {
  using V = typename F::V;
  static constexpr int64_t kChunk = kAttentionChunk;
  static constexpr int64_t kVectors = kChunk / F::kWidth;  // vectors per chunk
  // Rows computed together: their accumulators are independent FMA chains.
  static constexpr int kRowTile = 4;

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

  // out[r · out_stride + j] = Σ_c a[r · a_stride + c] · t[c · padded + j] for r < R, j < padded:
  // R rows times every row of a slice, one chunk of tokens at a time. The R rows' accumulators
  // are independent chains, so the FMAs overlap instead of each waiting for the last (one row at a
  // time was bound by the FMA latency).
  template <int R>
  static void RowsTimesTransposed(const float* a, int64_t a_stride, const float* t, int64_t padded,
                                  int64_t head_size, float* out, int64_t out_stride) {
    for (int64_t j0 = 0; j0 < padded; j0 += kChunk) {
      V acc[R][kVectors];
      for (auto& row : acc) {
        for (V& vector : row) vector = F::Zero();
      }
      for (int64_t c = 0; c < head_size; ++c) {
        const float* column = t + c * padded + j0;
        V values[kVectors];
        for (int64_t v = 0; v < kVectors; ++v) values[v] = F::Load(column + v * F::kWidth);
        for (int r = 0; r < R; ++r) {
          const V weight = F::Set1(a[r * a_stride + c]);
          for (int64_t v = 0; v < kVectors; ++v) acc[r][v] = F::Fma(weight, values[v], acc[r][v]);
        }
      }
      for (int r = 0; r < R; ++r) {
        for (int64_t v = 0; v < kVectors; ++v) {
          F::Store(out + r * out_stride + j0 + v * F::kWidth, acc[r][v]);
        }
      }
    }
  }

  // out[r · out_stride + c] = scale · Σ_j w[r · w_row_stride + j · w_stride] · x[slice row j][c]
  // for r < R, c < head_size: R weighted sums of the slice's rows, one chunk of the head at a time
  // in registers (R independent chains, as above).
  template <int R>
  static void WeightedRows(const float* w, int64_t w_row_stride, int64_t w_stride, const float* x,
                           Slice slice, int64_t tokens, int64_t head_size, float scale, float* out,
                           int64_t out_stride) {
    int64_t c0 = 0;
    const V scale_vector = F::Set1(scale);
    for (; c0 + kChunk <= head_size; c0 += kChunk) {
      V acc[R][kVectors];
      for (auto& row : acc) {
        for (V& vector : row) vector = F::Zero();
      }
      for (int64_t j = 0; j < tokens; ++j) {
        const float* row = x + slice.base + j * slice.stride + c0;
        V values[kVectors];
        for (int64_t v = 0; v < kVectors; ++v) values[v] = F::Load(row + v * F::kWidth);
        for (int r = 0; r < R; ++r) {
          const V weight = F::Set1(w[r * w_row_stride + j * w_stride]);
          for (int64_t v = 0; v < kVectors; ++v) acc[r][v] = F::Fma(weight, values[v], acc[r][v]);
        }
      }
      for (int r = 0; r < R; ++r) {
        for (int64_t v = 0; v < kVectors; ++v) {
          F::Store(out + r * out_stride + c0 + v * F::kWidth, F::Mul(acc[r][v], scale_vector));
        }
      }
    }
    for (; c0 < head_size; ++c0) {
      for (int r = 0; r < R; ++r) {
        float acc = 0.0f;
        for (int64_t j = 0; j < tokens; ++j) {
          acc += w[r * w_row_stride + j * w_stride] * x[slice.base + j * slice.stride + c0];
        }
        out[r * out_stride + c0] = acc * scale;
      }
    }
  }

  // p_row = softmax of a row of scores: the same operations in the same order as
  // OpsLoops::SoftmaxRows, but the exps go in place through whole double vectors (a scores row has
  // room up to the next chunk; the padding lanes are computed and not used) instead of through a
  // copied tail, and the division writes p_row.
  static void SoftmaxScoresRow(float* row, int64_t tokens, float* p_row) {
    static_assert(kChunk % D::kWidth == 0, "a padded row must hold whole double vectors");
    const auto shifted_exp = OpsLoops<D>::SoftmaxShift(row, tokens);
    for (int64_t j = 0; j < tokens; j += D::kWidth) {
      D::StoreF(row + j, shifted_exp.Apply(D::LoadF(row + j)));
    }
    const float sum = static_cast<float>(OpsLoops<D>::RowSum(row, tokens, false));
    for (int64_t j = 0; j < tokens; ++j) p_row[j] = row[j] / sum;
  }

  // body(first, Tile) for the rows of a slice in tiles of kRowTile, then the rest one at a time;
  // Tile is RowTile<kRowTile> or RowTile<1>, whose kRows the body passes on as the template R.
  template <int N>
  struct RowTile {
    static constexpr int kRows = N;
  };
  template <class Body>
  static void ForRowTiles(int64_t tokens, Body body) {
    int64_t i = 0;
    for (; i + kRowTile <= tokens; i += kRowTile) body(i, RowTile<kRowTile>{});
    for (; i < tokens; ++i) body(i, RowTile<1>{});
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
      for (int64_t i = 0; i < tokens; ++i) {
        const float* q_row = a.q + slice.base + i * slice.stride;
        for (int64_t c = 0; c < head_size; ++c) scaled_q[i * head_size + c] = q_row[c] * a.scale;
      }
      float* p = a.probs_out + pair * tokens * tokens;
      ForRowTiles(tokens, [&](int64_t i, auto tile) {
        RowsTimesTransposed<decltype(tile)::kRows>(scaled_q + i * head_size, head_size, keys_t,
                                                   padded, head_size, scores + i * padded, padded);
      });
      for (int64_t i = 0; i < tokens; ++i)
        SoftmaxScoresRow(scores + i * padded, tokens, p + i * tokens);
      ForRowTiles(tokens, [&](int64_t i, auto tile) {
        WeightedRows<decltype(tile)::kRows>(p + i * tokens, tokens, 1, a.v, slice, tokens,
                                            head_size, 1.0f, a.out + slice.base + i * slice.stride,
                                            slice.stride);
      });
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
      // dP = dO Vᵀ, then dS_i = P_i ⊙ (dP_i − dP_i · P_i) row by row, the dot in double.
      ForRowTiles(tokens, [&](int64_t i, auto tile) {
        RowsTimesTransposed<decltype(tile)::kRows>(a.dy + slice.base + i * slice.stride,
                                                   slice.stride, values_t, padded, head_size,
                                                   d_scores + i * padded, padded);
      });
      for (int64_t i = 0; i < tokens; ++i) {
        float* ds = d_scores + i * padded;
        const float* p_row = p + i * tokens;
        double dot = 0.0;
        for (int64_t j = 0; j < tokens; ++j) dot += static_cast<double>(ds[j]) * p_row[j];
        const float row_dot = static_cast<float>(dot);
        for (int64_t j = 0; j < tokens; ++j) ds[j] = p_row[j] * (ds[j] - row_dot);
      }
      // dQ_i = scale · Σ_j dS[i][j] K_j; dK_j = scale · Σ_i dS[i][j] Q_i; dV_j = Σ_i P[i][j] dO_i.
      ForRowTiles(tokens, [&](int64_t i, auto tile) {
        constexpr int R = decltype(tile)::kRows;
        float* const dq = a.dq + slice.base + i * slice.stride;
        float* const dk = a.dk + slice.base + i * slice.stride;
        float* const dv = a.dv + slice.base + i * slice.stride;
        WeightedRows<R>(d_scores + i * padded, padded, 1, a.k, slice, tokens, head_size, a.scale,
                        dq, slice.stride);
        WeightedRows<R>(d_scores + i, 1, padded, a.q, slice, tokens, head_size, a.scale, dk,
                        slice.stride);
        WeightedRows<R>(p + i, 1, tokens, a.dy, slice, tokens, head_size, 1.0f, dv, slice.stride);
      });
    }
  }
};

}  // namespace
}  // namespace superlora::ops::detail
