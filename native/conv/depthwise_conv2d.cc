#include "depthwise_conv2d.h"

#include <algorithm>
#include <vector>

#include "../parallel/thread_pool.h"
#include "window.h"

namespace superlora::conv {
namespace {

// The filter gradient's partial sums: at most this many segments.
constexpr int64_t kSegments = 16;

int64_t FilterSize(const Conv2dGeometry& g) { return g.filter_h * g.filter_w * g.out_c; }

}  // namespace

void DepthwiseConv2dForward(const Conv2dGeometry& g, const float* x, const float* filter,
                            const float* bias, gemm::Activation activation, float* out) {
  const int64_t in_c = g.in_c;
  const int64_t out_c = g.out_c;
  const int64_t multiplier = out_c / in_c;
  const bool relu = activation == gemm::Activation::kRelu;
  ForEachInRuns(g.batch * g.out_h, [&](int64_t task, int) {
    const int64_t n = task / g.out_h;
    const int64_t oy = task % g.out_h;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      float* o = out + ((n * g.out_h + oy) * g.out_w + ox) * out_c;
      std::fill(o, o + out_c, 0.0f);
      ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
        const float* in = x + pixel * in_c;
        const float* f = filter + tap * out_c;
        if (multiplier == 1) {
          for (int64_t c = 0; c < out_c; ++c) o[c] += in[c] * f[c];
        } else {
          for (int64_t c = 0; c < in_c; ++c) {
            for (int64_t q = 0; q < multiplier; ++q) {
              o[c * multiplier + q] += in[c] * f[c * multiplier + q];
            }
          }
        }
      });
      if (bias != nullptr) {
        for (int64_t c = 0; c < out_c; ++c) o[c] += bias[c];
      }
      // Math.max(0, x): NaN stays; −0 + 0 is +0.
      if (relu) {
        for (int64_t c = 0; c < out_c; ++c) o[c] = (o[c] < 0.0f ? 0.0f : o[c]) + 0.0f;
      }
    }
  });
}

void DepthwiseConv2dBackpropInput(const Conv2dGeometry& g, const float* dy, const float* filter,
                                  float* dx) {
  const int64_t in_c = g.in_c;
  const int64_t out_c = g.out_c;
  const int64_t multiplier = out_c / in_c;
  const int64_t image = g.in_h * g.in_w * in_c;
  // One image per task: images' dx are disjoint, and within an image the windows add in order.
  ForEachInRuns(g.batch, [&](int64_t n, int) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.0f);
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * out_c;
        ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
          float* to = dx + pixel * in_c;
          const float* f = filter + tap * out_c;
          if (multiplier == 1) {
            for (int64_t c = 0; c < in_c; ++c) to[c] += d[c] * f[c];
          } else {
            for (int64_t c = 0; c < in_c; ++c) {
              float sum = 0.0f;
              for (int64_t q = 0; q < multiplier; ++q) {
                sum += d[c * multiplier + q] * f[c * multiplier + q];
              }
              to[c] += sum;
            }
          }
        });
      }
    }
  });
}

void DepthwiseConv2dBackpropFilter(const Conv2dGeometry& g, const float* x, const float* dy,
                                   float* dfilter) {
  const int64_t in_c = g.in_c;
  const int64_t out_c = g.out_c;
  const int64_t multiplier = out_c / in_c;
  const int64_t size = FilterSize(g);
  const int64_t rows = g.batch * g.out_h;
  const int64_t segments = SegmentCount(g, kSegments);
  const int64_t per_segment = (rows + segments - 1) / segments;
  std::vector<float> partial(static_cast<size_t>(segments * size), 0.0f);
  parallel::ThreadPool::Instance().Run(segments, [&](int64_t segment, int) {
    float* sum = partial.data() + segment * size;
    const int64_t end = std::min(rows, (segment + 1) * per_segment);
    for (int64_t row = segment * per_segment; row < end; ++row) {
      const int64_t n = row / g.out_h;
      const int64_t oy = row % g.out_h;
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * out_c;
        ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
          const float* in = x + pixel * in_c;
          float* df = sum + tap * out_c;
          if (multiplier == 1) {
            for (int64_t c = 0; c < out_c; ++c) df[c] += in[c] * d[c];
          } else {
            for (int64_t c = 0; c < in_c; ++c) {
              for (int64_t q = 0; q < multiplier; ++q) {
                df[c * multiplier + q] += in[c] * d[c * multiplier + q];
              }
            }
          }
        });
      }
    }
  });
  std::copy(partial.begin(), partial.begin() + size, dfilter);
  for (int64_t segment = 1; segment < segments; ++segment) {
    const float* sum = partial.data() + segment * size;
    for (int64_t i = 0; i < size; ++i) dfilter[i] += sum[i];
  }
}

}  // namespace superlora::conv
