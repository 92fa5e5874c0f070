// The ISA-independent part of native/ops: broadcasting and reduction layouts reduced to contiguous
// runs for the per-ISA loops, the transpose, and the split of large inputs over the thread pool.
#include "ops.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../parallel/thread_pool.h"
#include "ops_kernels.h"

namespace superlora::ops {

using detail::ForRows;
using detail::KernelsFor;
using detail::kGrainFloats;
using detail::kParallelFloats;
using detail::kParallelMathFloats;
using detail::OpsKernels;
using detail::RunInline;

namespace {

bool IsMath(UnaryOp op) {
  return op == UnaryOp::kSqrt || op == UnaryOp::kRsqrt || op == UnaryOp::kExp ||
         op == UnaryOp::kErf || op == UnaryOp::kSigmoid;
}

// A broadcast binary operation with size-1 dimensions dropped and neighbouring dimensions merged
// wherever both operands step through them as one (e.g. [B, T, D] + [D] is [B·T, D] + [D]).
struct Layout {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t a[kMaxRank];
  int64_t b[kMaxRank];
};

Layout Collapse(const int64_t* shape, const int64_t* a_strides, const int64_t* b_strides,
                int rank) {
  Layout layout;
  for (int d = rank - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    const int last = layout.rank - 1;
    if (layout.rank > 0 && a_strides[d] == layout.a[last] * layout.shape[last] &&
        b_strides[d] == layout.b[last] * layout.shape[last]) {
      layout.shape[last] *= shape[d];
      continue;
    }
    layout.shape[layout.rank] = shape[d];
    layout.a[layout.rank] = a_strides[d];
    layout.b[layout.rank] = b_strides[d];
    ++layout.rank;
  }
  // Built innermost first; put it back in row-major order.
  std::reverse(layout.shape, layout.shape + layout.rank);
  std::reverse(layout.a, layout.a + layout.rank);
  std::reverse(layout.b, layout.b + layout.rank);
  return layout;
}

}  // namespace

void Unary(UnaryOp op, const float* x, float* out, int64_t n, simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  if (RunInline(n, IsMath(op) ? kParallelMathFloats : kParallelFloats)) {
    kernels.unary(op, x, out, n);
    return;
  }
  parallel::ParallelFor(0, n, kGrainFloats, [&](int64_t begin, int64_t end, int) {
    kernels.unary(op, x + begin, out + begin, end - begin);
  });
}

void Binary(BinaryOp op, const float* a, const int64_t* a_strides, const float* b,
            const int64_t* b_strides, float* out, const int64_t* shape, int rank, simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= shape[d];
  if (total == 0) return;
  const Layout layout = Collapse(shape, a_strides, b_strides, rank);
  if (layout.rank == 0) {
    kernels.binary(op, a, 1, b, 1, out, 1);
    return;
  }
  const int inner = layout.rank - 1;
  const int64_t width = layout.shape[inner];
  const int64_t a_step = layout.a[inner];
  const int64_t b_step = layout.b[inner];
  const bool contiguous_steps =
      (a_step == 0 || a_step == 1) && (b_step == 0 || b_step == 1) && (a_step | b_step) != 0;
  const int64_t rows = total / width;

  // One output row (the innermost dimension) at a time; its operands' offsets follow an odometer
  // over the outer dimensions.
  auto run_rows = [&](int64_t begin, int64_t end) {
    int64_t index[kMaxRank] = {};
    int64_t a_offset = 0;
    int64_t b_offset = 0;
    // Position the odometer at row `begin`.
    int64_t remaining = begin;
    for (int d = inner - 1; d >= 0; --d) {
      index[d] = remaining % layout.shape[d];
      remaining /= layout.shape[d];
      a_offset += index[d] * layout.a[d];
      b_offset += index[d] * layout.b[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      float* target = out + row * width;
      if (contiguous_steps) {
        kernels.binary(op, a + a_offset, a_step, b + b_offset, b_step, target, width);
      } else {
        for (int64_t i = 0; i < width; ++i) {
          kernels.binary(op, a + a_offset + i * a_step, 1, b + b_offset + i * b_step, 1, target + i,
                         1);
        }
      }
      for (int d = inner - 1; d >= 0; --d) {
        a_offset += layout.a[d];
        b_offset += layout.b[d];
        if (++index[d] < layout.shape[d]) break;
        a_offset -= index[d] * layout.a[d];
        b_offset -= index[d] * layout.b[d];
        index[d] = 0;
      }
    }
  };

  if (rows == 1 && contiguous_steps && !RunInline(width)) {
    // One long row: split it instead.
    parallel::ParallelFor(0, width, kGrainFloats, [&](int64_t begin, int64_t end, int) {
      kernels.binary(op, a + begin * a_step, a_step, b + begin * b_step, b_step, out + begin,
                     end - begin);
    });
    return;
  }
  ForRows(rows, width, run_rows);
}

void Reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t size, int64_t inner,
            simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  if (outer <= 0 || inner <= 0 || size <= 0) return;
  if (inner == 1) {
    ForRows(outer, size, [&](int64_t begin, int64_t end) {
      kernels.reduce_rows(op, x + begin * size, out + begin, end - begin, size);
    });
    return;
  }
  // Column sums accumulate in a per-thread row of doubles.
  thread_local std::vector<double> scratch;
  if (outer > 1 || RunInline(size * inner)) {
    ForRows(outer, size * inner, [&](int64_t begin, int64_t end) {
      if (static_cast<int64_t>(scratch.size()) < inner) scratch.resize(inner);
      for (int64_t o = begin; o < end; ++o) {
        kernels.reduce_columns(op, x + o * size * inner, inner, out + o * inner, size, inner,
                               scratch.data());
      }
    });
    return;
  }
  // One slice: split its columns.
  parallel::ParallelFor(0, inner, std::max<int64_t>(16, kGrainFloats / size),
                        [&](int64_t begin, int64_t end, int) {
                          if (static_cast<int64_t>(scratch.size()) < end - begin) {
                            scratch.resize(end - begin);
                          }
                          kernels.reduce_columns(op, x + begin, inner, out + begin, size,
                                                 end - begin, scratch.data());
                        });
}

void Transpose(const float* x, float* out, const int64_t* shape, const int* perm, int rank) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= shape[d];
  if (total == 0) return;
  // Input strides, then the permutation with size-1 dimensions dropped and input dimensions that
  // stay adjacent and in order merged (e.g. [B, T, H, D] → [B, H, T, D] moves runs of D floats).
  int64_t stride[kMaxRank];
  int64_t running = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = running;
    running *= shape[d];
  }
  int64_t out_shape[kMaxRank];
  int64_t in_stride[kMaxRank];  // input stride of each output dimension
  int out_rank = 0;
  for (int d = 0; d < rank; ++d) {
    const int source = perm[d];
    if (shape[source] == 1) continue;
    if (out_rank > 0 && in_stride[out_rank - 1] == stride[source] * shape[source]) {
      out_shape[out_rank - 1] *= shape[source];
      in_stride[out_rank - 1] = stride[source];
      continue;
    }
    out_shape[out_rank] = shape[source];
    in_stride[out_rank] = stride[source];
    ++out_rank;
  }
  if (out_rank <= 1) {
    std::memcpy(out, x, static_cast<size_t>(total) * sizeof(float));
    return;
  }
  const int inner = out_rank - 1;
  const int64_t width = out_shape[inner];
  const int64_t step = in_stride[inner];
  const int64_t rows = total / width;
  ForRows(rows, width, [&](int64_t begin, int64_t end) {
    int64_t index[kMaxRank] = {};
    int64_t offset = 0;
    int64_t remaining = begin;
    for (int d = inner - 1; d >= 0; --d) {
      index[d] = remaining % out_shape[d];
      remaining /= out_shape[d];
      offset += index[d] * in_stride[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      float* target = out + row * width;
      const float* source = x + offset;
      if (step == 1) {
        std::memcpy(target, source, static_cast<size_t>(width) * sizeof(float));
      } else {
        for (int64_t i = 0; i < width; ++i) target[i] = source[i * step];
      }
      for (int d = inner - 1; d >= 0; --d) {
        offset += in_stride[d];
        if (++index[d] < out_shape[d]) break;
        offset -= index[d] * in_stride[d];
        index[d] = 0;
      }
    }
  });
}

void CopyBox(const float* src, const int64_t* src_shape, const int64_t* src_begin, float* dst,
             const int64_t* dst_shape, const int64_t* dst_begin, const int64_t* size, int rank) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= size[d];
  if (total == 0) return;
  int64_t src_stride[kMaxRank];
  int64_t dst_stride[kMaxRank];
  int64_t src_running = 1;
  int64_t dst_running = 1;
  for (int d = rank - 1; d >= 0; --d) {
    src_stride[d] = src_running;
    dst_stride[d] = dst_running;
    src_running *= src_shape[d];
    dst_running *= dst_shape[d];
  }
  const float* source = src;
  float* target = dst;
  for (int d = 0; d < rank; ++d) {
    source += src_begin[d] * src_stride[d];
    target += dst_begin[d] * dst_stride[d];
  }
  // Box dimensions innermost first, size-1 ones dropped, and a dimension merged into the one
  // inside it when both arrays step through the pair as one run.
  int64_t extent[kMaxRank];
  int64_t s_step[kMaxRank];
  int64_t d_step[kMaxRank];
  int count = 0;
  for (int d = rank - 1; d >= 0; --d) {
    if (size[d] == 1) continue;
    if (count > 0 && src_stride[d] == s_step[count - 1] * extent[count - 1] &&
        dst_stride[d] == d_step[count - 1] * extent[count - 1]) {
      extent[count - 1] *= size[d];
      continue;
    }
    extent[count] = size[d];
    s_step[count] = src_stride[d];
    d_step[count] = dst_stride[d];
    ++count;
  }
  if (count == 0) {
    *target = *source;
    return;
  }
  const int64_t width = extent[0];
  const bool contiguous = s_step[0] == 1 && d_step[0] == 1;
  const int64_t rows = total / width;
  ForRows(rows, width, [&](int64_t begin, int64_t end) {
    int64_t index[kMaxRank] = {};
    int64_t s_offset = 0;
    int64_t d_offset = 0;
    int64_t remaining = begin;
    for (int k = 1; k < count; ++k) {
      index[k] = remaining % extent[k];
      remaining /= extent[k];
      s_offset += index[k] * s_step[k];
      d_offset += index[k] * d_step[k];
    }
    for (int64_t row = begin; row < end; ++row) {
      if (contiguous) {
        std::memcpy(target + d_offset, source + s_offset,
                    static_cast<size_t>(width) * sizeof(float));
      } else {
        for (int64_t i = 0; i < width; ++i) {
          target[d_offset + i * d_step[0]] = source[s_offset + i * s_step[0]];
        }
      }
      for (int k = 1; k < count; ++k) {
        s_offset += s_step[k];
        d_offset += d_step[k];
        if (++index[k] < extent[k]) break;
        s_offset -= index[k] * s_step[k];
        d_offset -= index[k] * d_step[k];
        index[k] = 0;
      }
    }
  });
}

void Softmax(const float* x, float* out, int64_t rows, int64_t cols, simd::Isa isa) {
  const OpsKernels& kernels = KernelsFor(isa);
  if (rows <= 0 || cols <= 0) return;
  ForRows(
      rows, cols,
      [&](int64_t begin, int64_t end) {
        kernels.softmax_rows(x + begin * cols, out + begin * cols, end - begin, cols);
      },
      kParallelMathFloats);
}

}  // namespace superlora::ops
