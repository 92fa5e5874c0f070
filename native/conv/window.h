// The sliding window of a convolution or pooling output pixel, for the kernels that loop over it
// directly (depthwise convolution, pooling) rather than through im2col.
#pragma once

#include <cstdint>

#include "../parallel/thread_pool.h"
#include "conv2d.h"

namespace superlora::conv {

// Calls body(input pixel, tap) for each tap of output pixel (n, oy, ox) that falls inside the
// input, row-major over the filter; the pixel is flattened over (batch, in_h, in_w) and the tap is
// fy · filter_w + fx. Taps in the padding are skipped.
template <typename Body>
inline void ForEachInsideTap(const Conv2dGeometry& g, int64_t n, int64_t oy, int64_t ox,
                             Body body) {
  for (int64_t fy = 0; fy < g.filter_h; ++fy) {
    const int64_t iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int64_t fx = 0; fx < g.filter_w; ++fx) {
      const int64_t ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
      if (ix < 0 || ix >= g.in_w) continue;
      body((n * g.in_h + iy) * g.in_w + ix, fy * g.filter_w + fx);
    }
  }
}

// Calls body(index, worker) for every index in [0, count) on the kernel pool, each thread taking
// contiguous runs of indices (a few per thread). For the rows of a pooling or depthwise
// convolution, a task per index handed out in turn made the threads take alternate rows, and a
// 2 × 2 max pool of [64, 28, 28, 16] took 0.30 ms (median) on two threads against 0.07 ms on one;
// in runs it takes 0.05 ms.
template <typename Body>
inline void ForEachInRuns(int64_t count, Body body) {
  parallel::ParallelFor(0, count, 1, [&](int64_t begin, int64_t end, int worker) {
    for (int64_t index = begin; index < end; ++index) body(index, worker);
  });
}

// Output rows (batch · out_h) split into at most `limit` fixed segments for a sum over every
// output pixel: the split depends on the geometry alone, so summing the segments' partial results
// in order gives the same floats on any number of threads.
inline int64_t SegmentCount(const Conv2dGeometry& g, int64_t limit) {
  const int64_t rows = g.batch * g.out_h;
  return rows < 1 ? 1 : (rows < limit ? rows : limit);
}

}  // namespace superlora::conv
