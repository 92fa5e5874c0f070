#include "pool2d.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "../parallel/thread_pool.h"
#include "window.h"

namespace superlora::conv {
namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

// Row kernels for OverTapChunks (window.h).

// out[k] = max(out[k], or −∞ when kFirst, each tap's element k in order): std::max(o, v) keeps o
// unless v > o, so the first strictly greater value wins and NaN never does, as tfjs's loop.
template <int kTaps, bool kFirst>
struct MaxOfTaps {
  static void Run(const float* __restrict start, int64_t step, int64_t windows,
                  const int64_t* tap_offsets, int32_t, int64_t channels, float* __restrict out) {
    int64_t offsets[kTaps];
    for (int t = 0; t < kTaps; ++t) offsets[t] = tap_offsets[t];
    for (int64_t w = 0; w < windows; ++w, start += step, out += channels) {
      for (int64_t k = 0; k < channels; ++k) {
        float m = kFirst ? kMinusInfinity : out[k];
        for (int t = 0; t < kTaps; ++t) m = std::max(m, start[offsets[t] + k]);
        out[k] = m;
      }
    }
  }
};

// The same maximum, and the tap that holds it (−1 while none has): a mask rather than a branch,
// and float and int32 lanes of the same width, so that it vectorises.
struct Argmax {
  float* best;
  int32_t* tap;
};
template <int kTaps, bool kFirst>
struct ArgmaxOfTaps {
  static void Run(const float* __restrict start, int64_t step, int64_t windows,
                  const int64_t* tap_offsets, int32_t first_tap, int64_t channels, Argmax out) {
    int64_t offsets[kTaps];
    for (int t = 0; t < kTaps; ++t) offsets[t] = tap_offsets[t];
    float* __restrict best = out.best;
    int32_t* __restrict best_tap = out.tap;
    for (int64_t w = 0; w < windows; ++w, start += step, best += channels, best_tap += channels) {
      for (int64_t k = 0; k < channels; ++k) {
        float m = kFirst ? kMinusInfinity : best[k];
        int32_t holder = kFirst ? -1 : best_tap[k];
        for (int t = 0; t < kTaps; ++t) {
          const float v = start[offsets[t] + k];
          const int32_t greater = -static_cast<int32_t>(v > m);
          holder = ((first_tap + t) & greater) | (holder & ~greater);
          m = std::max(m, v);
        }
        best[k] = m;
        best_tap[k] = holder;
      }
    }
  }
};

// sum[k] = sum[k], or 0 when kFirst, plus each tap's element k in order, in double (the average's
// numerator, as tfjs sums it).
template <int kTaps, bool kFirst>
struct SumOfTaps {
  static void Run(const float* __restrict start, int64_t step, int64_t windows,
                  const int64_t* tap_offsets, int32_t, int64_t channels, double* __restrict sum) {
    int64_t offsets[kTaps];
    for (int t = 0; t < kTaps; ++t) offsets[t] = tap_offsets[t];
    for (int64_t w = 0; w < windows; ++w, start += step, sum += channels) {
      for (int64_t k = 0; k < channels; ++k) {
        double total = kFirst ? 0.0 : sum[k];
        for (int t = 0; t < kTaps; ++t) total += start[offsets[t] + k];
        sum[k] = total;
      }
    }
  }
};

// dx[window's tap t, k] += d[k] where best_tap[k] is t, for `windows` windows of a row from
// dx_start on: one dense pass per tap, adding +0 elsewhere. That changes no float: dx starts at
// +0 and a sum of floats from +0 is never −0, and x + 0 is x for every other x.
void ScatterToArgmax(const InsideWindows& w, float* dx_start, int64_t windows, int64_t channels,
                     const int32_t* best_tap, const float* dy) {
  const auto taps = static_cast<int32_t>(w.tap_offsets.size());
  for (int64_t window = 0; window < windows; ++window) {
    float* __restrict dx = dx_start + window * w.column_step;
    const int32_t* __restrict holder = best_tap + window * channels;
    const float* __restrict d = dy + window * channels;
    for (int32_t t = 0; t < taps; ++t) {
      float* __restrict to = dx + w.tap_offsets[static_cast<size_t>(t)];
      for (int64_t k = 0; k < channels; ++k) {
        const float gradient = d[k];  // read unconditionally: a select, not a branch
        to[k] += holder[k] == t ? gradient : 0.0f;
      }
    }
  }
}

}  // namespace

void MaxPoolForward(const Conv2dGeometry& g, const float* x, float* out) {
  const int64_t c = g.in_c;
  const InsideWindows inside = FindInsideWindows(g);
  ForEachInRuns(g.batch * g.out_h, [&](int64_t row, int) {
    const int64_t n = row / g.out_h;
    const int64_t oy = row % g.out_h;
    float* row_out = out + row * g.out_w * c;
    const auto edge = [&](int64_t ox) {
      float* o = row_out + ox * c;
      std::fill(o, o + c, kMinusInfinity);
      ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
        OnOneTap<MaxOfTaps>(x + pixel * c, 0, c, o);
      });
    };
    ForEachWindowOfRow(g, inside, n, oy, edge, [&](int64_t ox, int64_t windows, int64_t start) {
      OverTapChunks<MaxOfTaps>(inside, x + start, windows, c, row_out + ox * c);
    });
  });
}

void MaxPoolBackward(const Conv2dGeometry& g, const float* x, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  const int64_t image = g.in_h * g.in_w * c;
  const InsideWindows inside = FindInsideWindows(g);
  const auto taps = static_cast<size_t>(g.filter_h * g.filter_w);
  auto& pool = parallel::ThreadPool::Instance();
  // Per worker: a row of windows' running maxima and the taps that hold them, and the input
  // pixel of each tap of the current window.
  struct Scratch {
    std::vector<float> best;
    std::vector<int32_t> best_tap;
    std::vector<int64_t> tap_pixel;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(pool.Threads()));
  // One image per task: images' dx are disjoint, and within an image the windows add in order.
  ForEachInRuns(g.batch, [&](int64_t n, int worker) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.0f);
    Scratch& s = scratch[static_cast<size_t>(worker)];
    s.best.resize(static_cast<size_t>(g.out_w * c));
    s.best_tap.resize(static_cast<size_t>(g.out_w * c));
    s.tap_pixel.resize(taps);
    float* __restrict best = s.best.data();
    int32_t* __restrict best_tap = s.best_tap.data();
    const auto window_by_window = [&](int64_t oy, int64_t ox) {
      std::fill(best, best + c, kMinusInfinity);
      std::fill(best_tap, best_tap + c, -1);
      ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
        s.tap_pixel[static_cast<size_t>(tap)] = pixel;
        OnOneTap<ArgmaxOfTaps>(x + pixel * c, static_cast<int32_t>(tap), c, Argmax{best, best_tap});
      });
      const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * c;
      for (int64_t k = 0; k < c; ++k) {
        const int32_t t = best_tap[k];
        if (t >= 0) dx[s.tap_pixel[static_cast<size_t>(t)] * c + k] += d[k];
      }
    };
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const float* row_dy = dy + (n * g.out_h + oy) * g.out_w * c;
      ForEachWindowOfRow(
          g, inside, n, oy, [&](int64_t ox) { window_by_window(oy, ox); },
          [&](int64_t ox, int64_t windows, int64_t start) {
            OverTapChunks<ArgmaxOfTaps>(inside, x + start, windows, c, Argmax{best, best_tap});
            ScatterToArgmax(inside, dx + start, windows, c, best_tap, row_dy + ox * c);
          });
    }
  });
}

void AvgPoolForward(const Conv2dGeometry& g, const float* x, float* out) {
  const int64_t c = g.in_c;
  const InsideWindows inside = FindInsideWindows(g);
  auto& pool = parallel::ThreadPool::Instance();
  // Per worker: a row of windows' sums, in double as tfjs sums them.
  std::vector<std::vector<double>> sums(static_cast<size_t>(pool.Threads()));
  // A window entirely in the padding is 0 / 0, NaN, as in tfjs.
  const auto divide = [&](const double* sum, int64_t count, int64_t values, float* o) {
    for (int64_t i = 0; i < values; ++i) {
      o[i] = static_cast<float>(sum[i] / static_cast<double>(count));
    }
  };
  ForEachInRuns(g.batch * g.out_h, [&](int64_t row, int worker) {
    const int64_t n = row / g.out_h;
    const int64_t oy = row % g.out_h;
    float* row_out = out + row * g.out_w * c;
    std::vector<double>& sum = sums[static_cast<size_t>(worker)];
    sum.resize(static_cast<size_t>(g.out_w * c));
    const auto window_by_window = [&](int64_t ox) {
      std::fill(sum.begin(), sum.begin() + c, 0.0);
      int64_t count = 0;
      ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
        OnOneTap<SumOfTaps>(x + pixel * c, 0, c, sum.data());
        ++count;
      });
      divide(sum.data(), count, c, row_out + ox * c);
    };
    ForEachWindowOfRow(g, inside, n, oy, window_by_window,
                       [&](int64_t ox, int64_t windows, int64_t start) {
                         OverTapChunks<SumOfTaps>(inside, x + start, windows, c, sum.data());
                         divide(sum.data(), static_cast<int64_t>(inside.tap_offsets.size()),
                                windows * c, row_out + ox * c);
                       });
  });
}

void AvgPoolBackward(const Conv2dGeometry& g, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  const int64_t image = g.in_h * g.in_w * c;
  const double scale = 1.0 / static_cast<double>(g.filter_h * g.filter_w);
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<double>> sums(static_cast<size_t>(pool.Threads()));
  // One image per task, its sums in double as tfjs's kernel sums them.
  ForEachInRuns(g.batch, [&](int64_t n, int worker) {
    std::vector<double>& sum = sums[static_cast<size_t>(worker)];
    sum.assign(static_cast<size_t>(image), 0.0);
    const int64_t first_pixel = n * g.in_h * g.in_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * c;
        ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
          double* s = sum.data() + (pixel - first_pixel) * c;
          for (int64_t k = 0; k < c; ++k) s[k] += d[k];
        });
      }
    }
    float* dx_image = dx + n * image;
    for (int64_t i = 0; i < image; ++i) {
      dx_image[i] = static_cast<float>(sum[static_cast<size_t>(i)] * scale);
    }
  });
}

}  // namespace superlora::conv
