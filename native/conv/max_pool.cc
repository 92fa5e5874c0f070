#include "max_pool.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "../parallel/thread_pool.h"

namespace superlora::conv {
namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

// Calls tap(input pixel) for each in-bounds tap of output pixel (n, oy, ox), row-major.
template <typename Tap>
void ForEachInputPixel(const Conv2dGeometry& g, int64_t n, int64_t oy, int64_t ox, Tap tap) {
  for (int64_t fy = 0; fy < g.filter_h; ++fy) {
    const int64_t iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int64_t fx = 0; fx < g.filter_w; ++fx) {
      const int64_t ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
      if (ix < 0 || ix >= g.in_w) continue;
      tap((n * g.in_h + iy) * g.in_w + ix);
    }
  }
}

}  // namespace

void MaxPoolForward(const Conv2dGeometry& g, const float* x, float* out) {
  const int64_t c = g.in_c;
  // One task per output row of one image.
  parallel::ThreadPool::Instance().Run(g.batch * g.out_h, [&](int64_t task, int) {
    const int64_t n = task / g.out_h;
    const int64_t oy = task % g.out_h;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      float* o = out + ((n * g.out_h + oy) * g.out_w + ox) * c;
      std::fill(o, o + c, kMinusInfinity);
      ForEachInputPixel(g, n, oy, ox, [&](int64_t pixel) {
        const float* in = x + pixel * c;
        for (int64_t k = 0; k < c; ++k) o[k] = in[k] > o[k] ? in[k] : o[k];
      });
    }
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
        ForEachInputPixel(g, n, oy, ox, [&](int64_t pixel) {
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

}  // namespace superlora::conv
