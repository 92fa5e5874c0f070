// The sliding window of a convolution or pooling output pixel, for the kernels that loop over it
// directly (depthwise convolution, pooling) rather than through im2col.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

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

// The windows that lie wholly inside the input, where every tap is the window's first input
// element plus a fixed offset: the pooling and depthwise kernels run over whole rows of such
// windows, taps unrolled and the channel loop innermost, so that it vectorises and each output is
// written once per few taps (a loop over the taps around a loop over the channels reloads and
// stores the output at every tap: a 2 × 2 max pool at 16 channels cost three times as much).
struct InsideWindows {
  // Each tap's offset in floats from the window's first element, row-major over the filter.
  std::vector<int64_t> tap_offsets;
  // Output columns [first_column, end_column) have every tap's column inside the input.
  int64_t first_column = 0;
  int64_t end_column = 0;
  // Floats between the first elements of neighbouring windows of a row.
  int64_t column_step = 0;
};

inline InsideWindows FindInsideWindows(const Conv2dGeometry& g) {
  InsideWindows w;
  for (int64_t fy = 0; fy < g.filter_h; ++fy) {
    for (int64_t fx = 0; fx < g.filter_w; ++fx) {
      w.tap_offsets.push_back((fy * g.dilation_h * g.in_w + fx * g.dilation_w) * g.in_c);
    }
  }
  const int64_t last_tap = (g.filter_w - 1) * g.dilation_w;
  while (w.first_column < g.out_w && w.first_column * g.stride_w - g.pad_left < 0) {
    ++w.first_column;
  }
  w.end_column = w.first_column;
  while (w.end_column < g.out_w && w.end_column * g.stride_w - g.pad_left + last_tap < g.in_w) {
    ++w.end_column;
  }
  w.column_step = g.stride_w * g.in_c;
  return w;
}

// Visits the windows of output row (n, oy) in column order: edge(ox) for each window that
// reaches into the padding, and inside(ox, windows, offset of the first one's first input
// element) once for the run of windows wholly inside the input.
template <typename Edge, typename Inside>
void ForEachWindowOfRow(const Conv2dGeometry& g, const InsideWindows& w, int64_t n, int64_t oy,
                        Edge edge, Inside inside) {
  const int64_t iy = oy * g.stride_h - g.pad_top;
  int64_t ox = 0;
  if (iy >= 0 && iy + (g.filter_h - 1) * g.dilation_h < g.in_h) {
    for (; ox < w.first_column; ++ox) edge(ox);
    const int64_t ix = ox * g.stride_w - g.pad_left;
    inside(ox, w.end_column - ox, ((n * g.in_h + iy) * g.in_w + ix) * g.in_c);
    ox = w.end_column;
  }
  for (; ox < g.out_w; ++ox) edge(ox);
}

// Taps are taken kChunk at a time: up to kChunk loads per output element and channel, one store.
constexpr int kChunk = 4;

// A row kernel: Kernel<kTaps, kFirst>::Run(start, step, windows, tap_offsets, first_tap,
// channels, out) takes `windows` windows of a row from `start` on, `step` floats apart, and taps
// first_tap … first_tap + kTaps − 1 of each (at tap_offsets[0 … kTaps − 1]), channel by channel;
// kFirst: these are the window's first taps. OverTapChunks runs one over all of a window's taps,
// kChunk at a time in order.
template <template <int, bool> class Kernel, typename Out>
inline void OverTapChunks(const InsideWindows& w, const float* start, int64_t windows,
                          int64_t channels, Out out) {
  const auto taps = static_cast<int32_t>(w.tap_offsets.size());
  for (int32_t first = 0; first < taps; first += kChunk) {
    const int64_t* offsets = w.tap_offsets.data() + first;
    const auto run = [&](auto kernel) {
      kernel(start, w.column_step, windows, offsets, first, channels, out);
    };
    const bool is_first = first == 0;
    switch (std::min<int32_t>(kChunk, taps - first)) {
      case 1:
        is_first ? run(Kernel<1, true>::Run) : run(Kernel<1, false>::Run);
        break;
      case 2:
        is_first ? run(Kernel<2, true>::Run) : run(Kernel<2, false>::Run);
        break;
      case 3:
        is_first ? run(Kernel<3, true>::Run) : run(Kernel<3, false>::Run);
        break;
      default:
        is_first ? run(Kernel<4, true>::Run) : run(Kernel<4, false>::Run);
        break;
    }
  }
}

// Runs Kernel over a single tap: the one whose input element is `element`, with index `tap`
// (the windows that reach into the padding, tap by tap).
template <template <int, bool> class Kernel, typename Out>
inline void OnOneTap(const float* element, int32_t tap, int64_t channels, Out out) {
  static constexpr int64_t kNoOffset = 0;
  Kernel<1, false>::Run(element, 0, 1, &kNoOffset, tap, channels, out);
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
