#include "fused_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../parallel/thread_pool.h"
#include "ops_kernels.h"

namespace superlora::ops {
namespace {

using detail::AttentionArgs;
using detail::AttentionScratchFloats;
using detail::ForRows;
using detail::KernelsFor;
using detail::kParallelMathFloats;
using detail::OpsKernels;

// GELU runs in chunks of this many floats through a stack buffer, so the erf and exp loops of the
// per-ISA kernels do the transcendental work while the data stays in L1.
constexpr int64_t kGeluChunk = 2048;

constexpr float kSqrtHalf = 0.70710678118654752440f;  // Math.SQRT1_2 as float32
// (2/√π) · (1/√2) = √(2/π), the erf-argument chain rule folded in, in double.
constexpr double kPdfScale = 0.79788456080286535588;

// The rows of LayerNormGammaGrad's sums are taken in blocks of this many; the blocks' partial sums
// are added in block order, so the result is the same for any thread count.
constexpr int64_t kColumnBlockRows = 64;

// body(first, count) for the chunks of n floats, on the pool when there are enough of them.
template <class F>
void ForChunks(int64_t n, F body) {
  const int64_t chunks = (n + kGeluChunk - 1) / kGeluChunk;
  ForRows(
      chunks, kGeluChunk,
      [&](int64_t begin, int64_t end) {
        for (int64_t chunk = begin; chunk < end; ++chunk) {
          const int64_t first = chunk * kGeluChunk;
          body(first, std::min(kGeluChunk, n - first));
        }
      },
      kParallelMathFloats);
}

// Σ term(j) for j < n in double, over four independent accumulators: one chain of dependent double
// adds would retire one add per add latency (4 cycles), which bounded these row sums.
template <class F>
double SumOver(int64_t n, F term) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    acc[0] += term(j);
    acc[1] += term(j + 1);
    acc[2] += term(j + 2);
    acc[3] += term(j + 3);
  }
  for (; j < n; ++j) acc[0] += term(j);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

void LayerNormRows(const float* x, const float* gamma, const float* beta, float eps, int64_t width,
                   float* y, float* mean, float* rstd, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* row = x + r * width;
    const double mu = SumOver(width, [&](int64_t j) { return static_cast<double>(row[j]); }) /
                      static_cast<double>(width);
    const double squares = SumOver(width, [&](int64_t j) {
      const double centered = row[j] - mu;
      return centered * centered;
    });
    const float row_mean = static_cast<float>(mu);
    const float row_rstd =
        static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(width) + eps));
    mean[r] = row_mean;
    rstd[r] = row_rstd;
    float* out = y + r * width;
    for (int64_t j = 0; j < width; ++j) {
      out[j] = (row[j] - row_mean) * row_rstd * gamma[j] + beta[j];
    }
  }
}

// dx for rows [begin, end).
void LayerNormInputGradRows(const float* dy, const float* x, const float* gamma, const float* mean,
                            const float* rstd, int64_t width, float* dx, int64_t begin,
                            int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* dy_row = dy + r * width;
    const float* x_row = x + r * width;
    const float row_mean = mean[r];
    const float row_rstd = rstd[r];
    const double g_sum =
        SumOver(width, [&](int64_t j) { return static_cast<double>(dy_row[j]) * gamma[j]; });
    const double gx_sum = SumOver(width, [&](int64_t j) {
      return static_cast<double>(dy_row[j]) * gamma[j] * ((x_row[j] - row_mean) * row_rstd);
    });
    const float g_mean = static_cast<float>(g_sum / static_cast<double>(width));
    const float gx_mean = static_cast<float>(gx_sum / static_cast<double>(width));
    float* dx_row = dx + r * width;
    for (int64_t j = 0; j < width; ++j) {
      const float x_hat = (x_row[j] - row_mean) * row_rstd;
      dx_row[j] = row_rstd * (dy_row[j] * gamma[j] - g_mean - x_hat * gx_mean);
    }
  }
}

}  // namespace

void LayerNormForward(const float* x, const float* gamma, const float* beta, float eps,
                      int64_t rows, int64_t width, float* y, float* mean, float* rstd) {
  ForRows(
      rows, width,
      [&](int64_t begin, int64_t end) {
        LayerNormRows(x, gamma, beta, eps, width, y, mean, rstd, begin, end);
      },
      kParallelMathFloats);
}

void LayerNormInputGrad(const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, int64_t rows, int64_t width, float* dx) {
  ForRows(
      rows, width,
      [&](int64_t begin, int64_t end) {
        LayerNormInputGradRows(dy, x, gamma, mean, rstd, width, dx, begin, end);
      },
      kParallelMathFloats);
}

void LayerNormGammaGrad(const float* dy, const float* x, const float* mean, const float* rstd,
                        int64_t rows, int64_t width, float* dgamma) {
  const int64_t blocks = (rows + kColumnBlockRows - 1) / kColumnBlockRows;
  std::vector<double> partial(static_cast<size_t>(blocks * width));
  ForRows(blocks, kColumnBlockRows * width, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      double* sums = partial.data() + block * width;
      const int64_t last = std::min(rows, (block + 1) * kColumnBlockRows);
      for (int64_t r = block * kColumnBlockRows; r < last; ++r) {
        const float* dy_row = dy + r * width;
        const float* x_row = x + r * width;
        for (int64_t j = 0; j < width; ++j) {
          sums[j] += static_cast<double>(dy_row[j]) * ((x_row[j] - mean[r]) * rstd[r]);
        }
      }
    }
  });
  for (int64_t j = 0; j < width; ++j) {
    double sum = 0.0;
    for (int64_t block = 0; block < blocks; ++block)
      sum += partial[static_cast<size_t>(block * width + j)];
    dgamma[j] = static_cast<float>(sum);
  }
}

// GCC 12 for aarch64 warns that erf[] "may be used uninitialized" when passed to the erf kernel:
// it does not see that the loop before each call fills erf[0, count), all the kernel reads.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
void Gelu(const float* x, float* y, int64_t n, simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  ForChunks(n, [&](int64_t first, int64_t count) {
    float erf[kGeluChunk];
    const float* in = x + first;
    for (int64_t i = 0; i < count; ++i) erf[i] = in[i] * kSqrtHalf;
    kernels.unary(UnaryOp::kErf, erf, erf, count);
    float* out = y + first;
    for (int64_t i = 0; i < count; ++i) out[i] = (in[i] * (erf[i] + 1.0f)) * 0.5f;
  });
}

void GeluBackward(const float* dy, const float* x, float* dx, int64_t n, simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  ForChunks(n, [&](int64_t first, int64_t count) {
    float erf[kGeluChunk];
    float density[kGeluChunk];
    const float* in = x + first;
    for (int64_t i = 0; i < count; ++i) {
      const float t = in[i] * kSqrtHalf;
      erf[i] = t;
      density[i] = -(t * t);
    }
    kernels.unary(UnaryOp::kErf, erf, erf, count);
    kernels.unary(UnaryOp::kExp, density, density, count);
    const float* upstream = dy + first;
    float* out = dx + first;
    for (int64_t i = 0; i < count; ++i) {
      const double slope =
          0.5 * (1.0 + erf[i]) + 0.5 * kPdfScale * static_cast<double>(in[i]) * density[i];
      out[i] = static_cast<float>(upstream[i] * slope);
    }
  });
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void SoftmaxBackward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  ForRows(rows, cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* dy_row = dy + r * cols;
      const float* y_row = y + r * cols;
      double dot = 0.0;
      for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(dy_row[j]) * y_row[j];
      const float row_dot = static_cast<float>(dot);
      float* dx_row = dx + r * cols;
      for (int64_t j = 0; j < cols; ++j) dx_row[j] = y_row[j] * (dy_row[j] - row_dot);
    }
  });
}

namespace {

// The pool splits attention over (batch, head) pairs, each costing about this many floats of work
// (its softmax's exps are double-precision math, hence the math threshold).
int64_t PairFloats(int64_t tokens, int64_t head_size) { return tokens * (tokens + 4 * head_size); }

// The inputs and shape both directions share; the caller adds its other inputs and outputs.
AttentionArgs ArgsFor(const float* q, const float* k, const float* v, int64_t tokens, int64_t heads,
                      int64_t head_size, float scale) {
  AttentionArgs args{};
  args.q = q;
  args.k = k;
  args.v = v;
  args.tokens = tokens;
  args.heads = heads;
  args.head_size = head_size;
  args.scale = scale;
  return args;
}

template <class Loop>
void ForAttentionPairs(const AttentionArgs& args, int64_t batch, int64_t row_floats, Loop loop) {
  const int64_t pairs = batch * args.heads;
  if (pairs <= 0 || args.tokens <= 0 || args.head_size <= 0) return;
  ForRows(
      pairs, row_floats,
      [&](int64_t begin, int64_t end) {
        std::vector<float> scratch(
            static_cast<size_t>(AttentionScratchFloats(args.tokens, args.head_size)));
        loop(args, begin, end, scratch.data());
      },
      kParallelMathFloats);
}

}  // namespace

void AttentionForward(const float* q, const float* k, const float* v, int64_t batch, int64_t tokens,
                      int64_t heads, int64_t head_size, float scale, float* out, float* probs,
                      simd::Isa isa) {
  AttentionArgs args = ArgsFor(q, k, v, tokens, heads, head_size, scale);
  args.out = out;
  args.probs_out = probs;
  ForAttentionPairs(args, batch, PairFloats(tokens, head_size), KernelsFor(isa).attention_forward);
}

void AttentionBackward(const float* dy, const float* q, const float* k, const float* v,
                       const float* probs, int64_t batch, int64_t tokens, int64_t heads,
                       int64_t head_size, float scale, float* dq, float* dk, float* dv,
                       simd::Isa isa) {
  AttentionArgs args = ArgsFor(q, k, v, tokens, heads, head_size, scale);
  args.dy = dy;
  args.probs = probs;
  args.dq = dq;
  args.dk = dk;
  args.dv = dv;
  ForAttentionPairs(args, batch, 2 * PairFloats(tokens, head_size),
                    KernelsFor(isa).attention_backward);
}

}  // namespace superlora::ops
