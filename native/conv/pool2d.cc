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

// Runs body(n, oy, ox, out pixel offset) for every output pixel, one task per output row.
template <typename Body>
void ForEachOutputPixel(const Conv2dGeometry& g, Body body) {
  parallel::ThreadPool::Instance().Run(g.batch * g.out_h, [&](int64_t task, int worker) {
    const int64_t n = task / g.out_h;
    const int64_t oy = task % g.out_h;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      body(n, oy, ox, ((n * g.out_h + oy) * g.out_w + ox) * g.out_c, worker);
    }
  });
}

}  // namespace

void MaxPoolForward(const Conv2dGeometry& g, const float* x, float* out) {
  const int64_t c = g.in_c;
  ForEachOutputPixel(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t offset, int) {
    float* __restrict o = out + offset;
    std::fill(o, o + c, kMinusInfinity);
    ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
      const float* __restrict in = x + pixel * c;
      // std::max(o, v) keeps o unless v > o: NaN never wins, as in tfjs; branch-free, vectorised.
      for (int64_t k = 0; k < c; ++k) o[k] = std::max(o[k], in[k]);
    });
  });
}

void MaxPoolBackward(const Conv2dGeometry& g, const float* x, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  const int64_t image = g.in_h * g.in_w * c;
  const auto taps = static_cast<size_t>(g.filter_h * g.filter_w);
  auto& pool = parallel::ThreadPool::Instance();
  // Per worker: each channel's running maximum and the tap that holds it (-1: none yet), and the
  // input pixel of each tap of the current window. Float and int32 lanes of the same width let the
  // compiler vectorise the branch-free update below.
  struct Scratch {
    std::vector<float> best;
    std::vector<int32_t> best_tap;
    std::vector<int64_t> tap_pixel;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(pool.Threads()));
  // One image per task: images' dx are disjoint, and within an image the windows add in order.
  pool.Run(g.batch, [&](int64_t n, int worker) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.0f);
    Scratch& s = scratch[static_cast<size_t>(worker)];
    s.best.resize(static_cast<size_t>(c));
    s.best_tap.resize(static_cast<size_t>(c));
    s.tap_pixel.resize(taps);
    float* __restrict best = s.best.data();
    int32_t* __restrict best_tap = s.best_tap.data();
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        std::fill(best, best + c, kMinusInfinity);
        std::fill(best_tap, best_tap + c, -1);
        ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t tap) {
          s.tap_pixel[static_cast<size_t>(tap)] = pixel;
          const float* __restrict in = x + pixel * c;
          const auto t = static_cast<int32_t>(tap);
          // The first strictly greater value wins, as in tfjs (NaN never does). Written without
          // branches (a mask, and std::max(best, v), which keeps best unless v > best) so that it
          // vectorises: a branch here mispredicts on every other element.
          for (int64_t k = 0; k < c; ++k) {
            const float v = in[k];
            const int32_t greater = -static_cast<int32_t>(v > best[k]);
            best_tap[k] = (t & greater) | (best_tap[k] & ~greater);
            best[k] = std::max(best[k], v);
          }
        });
        const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * c;
        for (int64_t k = 0; k < c; ++k) {
          const int32_t t = best_tap[k];
          if (t >= 0) dx[s.tap_pixel[static_cast<size_t>(t)] * c + k] += d[k];
        }
      }
    }
  });
}

void AvgPoolForward(const Conv2dGeometry& g, const float* x, float* out) {
  const int64_t c = g.in_c;
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<double>> sums(static_cast<size_t>(pool.Threads()));
  ForEachOutputPixel(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t offset, int worker) {
    std::vector<double>& sum = sums[static_cast<size_t>(worker)];
    sum.assign(static_cast<size_t>(c), 0.0);
    int64_t count = 0;
    ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
      const float* in = x + pixel * c;
      for (int64_t k = 0; k < c; ++k) sum[static_cast<size_t>(k)] += in[k];
      ++count;
    });
    // A window entirely in the padding is 0 / 0, NaN, as in tfjs.
    for (int64_t k = 0; k < c; ++k) {
      out[offset + k] =
          static_cast<float>(sum[static_cast<size_t>(k)] / static_cast<double>(count));
    }
  });
}

void AvgPoolBackward(const Conv2dGeometry& g, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  const int64_t image = g.in_h * g.in_w * c;
  const double scale = 1.0 / static_cast<double>(g.filter_h * g.filter_w);
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<double>> sums(static_cast<size_t>(pool.Threads()));
  // One image per task, its sums in double as tfjs's kernel sums them.
  pool.Run(g.batch, [&](int64_t n, int worker) {
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
