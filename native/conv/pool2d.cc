#include "pool2d.h"

#include <algorithm>
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
    float* o = out + offset;
    std::fill(o, o + c, kMinusInfinity);
    ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
      const float* in = x + pixel * c;
      for (int64_t k = 0; k < c; ++k) o[k] = in[k] > o[k] ? in[k] : o[k];
    });
  });
}

void MaxPoolBackward(const Conv2dGeometry& g, const float* x, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  const int64_t image = g.in_h * g.in_w * c;
  auto& pool = parallel::ThreadPool::Instance();
  std::vector<std::vector<float>> best_values(static_cast<size_t>(pool.Threads()));
  std::vector<std::vector<int64_t>> best_pixels(static_cast<size_t>(pool.Threads()));
  // One image per task: images' dx are disjoint, and within an image the windows add in order.
  pool.Run(g.batch, [&](int64_t n, int worker) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.0f);
    std::vector<float>& best = best_values[static_cast<size_t>(worker)];
    std::vector<int64_t>& where = best_pixels[static_cast<size_t>(worker)];
    best.resize(static_cast<size_t>(c));
    where.resize(static_cast<size_t>(c));
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        std::fill(best.begin(), best.end(), kMinusInfinity);
        std::fill(where.begin(), where.end(), int64_t{-1});
        ForEachInsideTap(g, n, oy, ox, [&](int64_t pixel, int64_t) {
          const float* in = x + pixel * c;
          for (int64_t k = 0; k < c; ++k) {
            if (in[k] > best[k]) {
              best[k] = in[k];
              where[k] = pixel;
            }
          }
        });
        const float* d = dy + ((n * g.out_h + oy) * g.out_w + ox) * c;
        for (int64_t k = 0; k < c; ++k) {
          if (where[k] >= 0) dx[where[k] * c + k] += d[k];
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
