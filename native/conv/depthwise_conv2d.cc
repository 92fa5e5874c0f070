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

// The output row and the filter for WeightedSumOfTaps: tap t's weights are filter[t · channels …].
struct Weighted {
  float* out;
  const float* filter;
};

// A row kernel for OverTapChunks (window.h), multiplier 1: out[k] = out[k], or 0 when kFirst,
// plus each tap's element k times its weight k, in tap order (tfjs's order of additions).
template <int kTaps, bool kFirst>
struct WeightedSumOfTaps {
  static void Run(const float* __restrict start, int64_t step, int64_t windows,
                  const int64_t* tap_offsets, int32_t first_tap, int64_t channels, Weighted to) {
    int64_t offsets[kTaps];
    const float* weights[kTaps];
    for (int t = 0; t < kTaps; ++t) {
      offsets[t] = tap_offsets[t];
      weights[t] = to.filter + (first_tap + t) * channels;
    }
    float* __restrict out = to.out;
    for (int64_t w = 0; w < windows; ++w, start += step, out += channels) {
      for (int64_t k = 0; k < channels; ++k) {
        float sum = kFirst ? 0.0f : out[k];
        for (int t = 0; t < kTaps; ++t) sum += start[offsets[t] + k] * weights[t][k];
        out[k] = sum;
      }
    }
  }
};

}  // namespace

void DepthwiseConv2dForward(const Conv2dGeometry& g, const float* x, const float* filter,
                            const float* bias, gemm::Activation activation, float* out) {
  const int64_t in_c = g.in_c;
  const int64_t out_c = g.out_c;
  const int64_t multiplier = out_c / in_c;
  const bool relu = activation == gemm::Activation::kRelu;
  const InsideWindows inside = FindInsideWindows(g);
  ForEachInRuns(g.batch * g.out_h, [&](int64_t row, int) {
    const int64_t n = row / g.out_h;
    const int64_t oy = row % g.out_h;
    float* row_out = out + row * g.out_w * out_c;
    // Output pixel ox, tap by tap over its inside taps.
    const auto tap_by_tap = [&](int64_t ox) {
      float* o = row_out + ox * out_c;
      std::fill(o, o + out_c, 0.0f);
      ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
        const float* in = x + pixel * in_c;
        if (multiplier == 1) {
          OnOneTap<WeightedSumOfTaps>(in, static_cast<int32_t>(tap), out_c, Weighted{o, filter});
        } else {
          const float* f = filter + tap * out_c;
          for (int64_t c = 0; c < in_c; ++c) {
            for (int64_t q = 0; q < multiplier; ++q) {
              o[c * multiplier + q] += in[c] * f[c * multiplier + q];
            }
          }
        }
      });
    };
    if (multiplier == 1) {
      ForEachWindowOfRow(g, inside, n, oy, tap_by_tap,
                         [&](int64_t ox, int64_t windows, int64_t start) {
                           OverTapChunks<WeightedSumOfTaps>(inside, x + start, windows, out_c,
                                                            Weighted{row_out + ox * out_c, filter});
                         });
    } else {
      for (int64_t ox = 0; ox < g.out_w; ++ox) tap_by_tap(ox);
    }
    if (bias != nullptr) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        float* __restrict o = row_out + ox * out_c;
        for (int64_t c = 0; c < out_c; ++c) o[c] += bias[c];
      }
    }
    // Math.max(0, x): NaN stays; −0 + 0 is +0.
    if (relu) {
      for (int64_t i = 0; i < g.out_w * out_c; ++i) {
        const float value = row_out[i];
        row_out[i] = (value < 0.0f ? 0.0f : value) + 0.0f;
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
  std::vector<float> partial(static_cast<size_t>(segments * size));
  parallel::ThreadPool::Instance().Run(segments, [&](int64_t segment, int) {
    // Summed in a buffer of the task's own and copied out at the end: neighbouring segments'
    // sums share a cache line, and two threads adding into it at every tap took twice as long.
    std::vector<float> own(static_cast<size_t>(size), 0.0f);
    float* sum = own.data();
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
    std::copy(own.begin(), own.end(), partial.begin() + segment * size);
  });
  std::copy(partial.begin(), partial.begin() + size, dfilter);
  for (int64_t segment = 1; segment < segments; ++segment) {
    const float* sum = partial.data() + segment * size;
    for (int64_t i = 0; i < size; ++i) dfilter[i] += sum[i];
  }
}

}  // namespace superlora::conv
