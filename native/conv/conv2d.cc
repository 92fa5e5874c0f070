#include "conv2d.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../parallel/thread_pool.h"

namespace superlora::conv {
namespace {

// Floats of im2col scratch a block aims for: a few hundred KiB, so that the block's columns stay
// in L2 while the GEMM reads them.
constexpr int64_t kBlockFloats = 64 * 1024;
// The filter gradient's partial sums: at most this many, and at most this many floats in all.
constexpr int64_t kSegments = 16;
constexpr int64_t kMaxSegmentFloats = int64_t{16} << 20;

int64_t Taps(const Conv2dGeometry& g) { return g.filter_h * g.filter_w * g.in_c; }

// A 1×1 filter with unit stride and no padding: x itself is the im2col matrix [pixels, in_c].
bool IsPointwise(const Conv2dGeometry& g) {
  return g.filter_h == 1 && g.filter_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
}

// Calls body(input pixel or -1, tap) for each (filter_y, filter_x) tap of output pixel `row`
// (flattened over batch, out_h, out_w), in the filter's order.
template <typename Body>
void ForEachTap(const Conv2dGeometry& g, int64_t row, Body body) {
  const int64_t ox = row % g.out_w;
  const int64_t oy = (row / g.out_w) % g.out_h;
  const int64_t n = row / (g.out_w * g.out_h);
  for (int64_t fy = 0; fy < g.filter_h; ++fy) {
    const int64_t iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
    for (int64_t fx = 0; fx < g.filter_w; ++fx) {
      const int64_t ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
      const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
      body(inside ? (n * g.in_h + iy) * g.in_w + ix : -1, fy * g.filter_w + fx);
    }
  }
}

// col [rows, taps] for output pixels [first, first + rows).
void Im2Col(const Conv2dGeometry& g, const float* x, int64_t first, int64_t rows, float* col) {
  const int64_t taps = Taps(g);
  const size_t bytes = static_cast<size_t>(g.in_c) * sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    float* out_row = col + r * taps;
    if (g.in_c == 1) {
      // One float per tap (a first layer on grey images): no call per tap.
      ForEachTap(g, first + r,
                 [&](int64_t pixel, int64_t tap) { out_row[tap] = pixel < 0 ? 0.0f : x[pixel]; });
      continue;
    }
    ForEachTap(g, first + r, [&](int64_t pixel, int64_t tap) {
      float* dst = out_row + tap * g.in_c;
      if (pixel < 0) {
        std::memset(dst, 0, bytes);
      } else {
        std::memcpy(dst, x + pixel * g.in_c, bytes);
      }
    });
  }
}

// dx += col2im(col) for output pixels [first, first + rows).
void Col2ImAdd(const Conv2dGeometry& g, const float* col, int64_t first, int64_t rows, float* dx) {
  const int64_t taps = Taps(g);
  for (int64_t r = 0; r < rows; ++r) {
    const float* col_row = col + r * taps;
    ForEachTap(g, first + r, [&](int64_t pixel, int64_t tap) {
      if (pixel < 0) return;
      const float* src = col_row + tap * g.in_c;
      float* dst = dx + pixel * g.in_c;
      for (int64_t c = 0; c < g.in_c; ++c) dst[c] += src[c];
    });
  }
}

// Output pixels per block: the scratch budget, but at least 4 blocks per thread when there are
// enough pixels, so that the pool balances.
int64_t BlockRows(const Conv2dGeometry& g, int64_t pixels) {
  const int64_t threads = parallel::ThreadPool::Instance().Threads();
  const int64_t by_memory = std::max<int64_t>(1, kBlockFloats / Taps(g));
  const int64_t by_balance = std::max<int64_t>(16, (pixels + 4 * threads - 1) / (4 * threads));
  return std::max<int64_t>(1, std::min(by_memory, by_balance));
}

gemm::Problem MatMul(int64_t m, int64_t n, int64_t k) {
  gemm::Problem p;
  p.m = m;
  p.n = n;
  p.k = k;
  return p;
}

}  // namespace

void Conv2dForward(const Conv2dGeometry& g, const float* x, const float* filter, const float* bias,
                   gemm::Activation activation, float* out) {
  const int64_t pixels = g.batch * g.out_h * g.out_w;
  const int64_t taps = Taps(g);
  // out rows [first, first + rows) = act(A · filter + bias), A [rows, taps] with leading dim taps.
  auto block = [&](const float* a, int64_t first, int64_t rows) {
    gemm::Problem p = MatMul(rows, g.out_c, taps);
    p.a = {a, taps, 0, 1, false};
    p.b = {filter, g.out_c, 0, 1, false};
    p.out = out + first * g.out_c;
    p.ld_out = g.out_c;
    p.bias = bias;
    p.bias_col_stride = bias ? 1 : 0;
    p.activation = activation;
    gemm::Sgemm(p);
  };
  if (IsPointwise(g)) {
    block(x, 0, pixels);
    return;
  }
  const int64_t rows_per_block = BlockRows(g, pixels);
  const int64_t blocks = (pixels + rows_per_block - 1) / rows_per_block;
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.Threads()));
  pool.Run(blocks, [&](int64_t index, int worker) {
    const int64_t first = index * rows_per_block;
    const int64_t rows = std::min(rows_per_block, pixels - first);
    std::vector<float>& col = scratch[static_cast<size_t>(worker)];
    col.resize(static_cast<size_t>(rows_per_block * taps));
    Im2Col(g, x, first, rows, col.data());
    block(col.data(), first, rows);
  });
}

void Conv2dBackpropInput(const Conv2dGeometry& g, const float* dy, const float* filter, float* dx) {
  const int64_t taps = Taps(g);
  const int64_t per_image = g.out_h * g.out_w;
  // dcol [rows, taps] = dy rows · filterᵀ (the filter is [taps, out_c]).
  auto dcol_of = [&](int64_t first, int64_t rows, float* dcol) {
    gemm::Problem p = MatMul(rows, taps, g.out_c);
    p.a = {dy + first * g.out_c, g.out_c, 0, 1, false};
    p.b = {filter, g.out_c, 0, 1, true};
    p.out = dcol;
    p.ld_out = taps;
    gemm::Sgemm(p);
  };
  if (IsPointwise(g)) {
    dcol_of(0, g.batch * per_image, dx);
    return;
  }
  // One image per task: images' input regions are disjoint, so tasks never add into the same dx.
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.Threads()));
  pool.Run(g.batch, [&](int64_t n, int worker) {
    float* dx_image = dx + n * g.in_h * g.in_w * g.in_c;
    std::fill(dx_image, dx_image + g.in_h * g.in_w * g.in_c, 0.0f);
    std::vector<float>& dcol = scratch[static_cast<size_t>(worker)];
    const int64_t rows_per_block = std::max<int64_t>(1, kBlockFloats / taps);
    dcol.resize(static_cast<size_t>(std::min(rows_per_block, per_image) * taps));
    for (int64_t done = 0; done < per_image; done += rows_per_block) {
      const int64_t first = n * per_image + done;
      const int64_t rows = std::min(rows_per_block, per_image - done);
      dcol_of(first, rows, dcol.data());
      Col2ImAdd(g, dcol.data(), first, rows, dx);
    }
  });
}

void Conv2dBackpropFilter(const Conv2dGeometry& g, const float* x, const float* dy,
                          float* dfilter) {
  const int64_t pixels = g.batch * g.out_h * g.out_w;
  const int64_t taps = Taps(g);
  const int64_t size = taps * g.out_c;
  // out = Aᵀ · dy rows + previous, A [rows, taps]: the sum so far rides in as the GEMM's bias.
  auto accumulate = [&](const float* a, int64_t first, int64_t rows, const float* previous,
                        float* sum) {
    gemm::Problem p = MatMul(taps, g.out_c, rows);
    p.a = {a, taps, 0, 1, true};
    p.b = {dy + first * g.out_c, g.out_c, 0, 1, false};
    p.out = sum;
    p.ld_out = g.out_c;
    p.bias = previous;
    p.bias_row_stride = previous ? g.out_c : 0;
    p.bias_col_stride = previous ? 1 : 0;
    gemm::Sgemm(p);
  };
  if (IsPointwise(g)) {
    accumulate(x, 0, pixels, nullptr, dfilter);
    return;
  }
  // The pixels split into a fixed number of segments (not one per thread), each summed in order
  // by one task and the segments then summed in order: the same floats whatever the thread count
  // or scheduling, so training stays reproducible bit for bit.
  const int64_t segments = std::clamp<int64_t>(
      std::min<int64_t>(kMaxSegmentFloats / size, (pixels + 63) / 64), 1, kSegments);
  const int64_t per_segment = (pixels + segments - 1) / segments;
  const int64_t rows_per_block = std::max<int64_t>(1, std::min(kBlockFloats / taps, per_segment));
  std::vector<float> partial(static_cast<size_t>(segments * size));
  parallel::ThreadPool::Instance().Run(segments, [&](int64_t segment, int) {
    const int64_t begin = segment * per_segment;
    const int64_t end = std::min(pixels, begin + per_segment);
    float* sum = partial.data() + segment * size;
    std::vector<float> col(static_cast<size_t>(rows_per_block * taps));
    std::vector<float> next(static_cast<size_t>(size));
    std::fill(sum, sum + size, 0.0f);
    for (int64_t first = begin; first < end; first += rows_per_block) {
      const int64_t rows = std::min(rows_per_block, end - first);
      Im2Col(g, x, first, rows, col.data());
      accumulate(col.data(), first, rows, sum, next.data());
      std::copy(next.begin(), next.end(), sum);
    }
  });
  std::copy(partial.begin(), partial.begin() + size, dfilter);
  for (int64_t segment = 1; segment < segments; ++segment) {
    const float* sum = partial.data() + segment * size;
    for (int64_t i = 0; i < size; ++i) dfilter[i] += sum[i];
  }
}

}  // namespace superlora::conv
