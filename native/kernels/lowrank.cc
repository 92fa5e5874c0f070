#include "lowrank.h"

#include "../simd/isa.h"
#include "lowrank_isa.h"

namespace superlora::kernels {

namespace portable {
namespace {

// Columns per pass of the portable loops: a 256-float accumulator row stays in L1 while each rank
// adds its multiple of Y to it, and the inner loops are plain enough for any compiler to vectorise.
constexpr int64_t kChunk = 256;

void ForwardRow(const float* a_row, const float* y, int64_t cols, int64_t rank, float scale,
                int64_t width, float* out) {
  float acc[kChunk];
  for (int64_t c0 = 0; c0 < width; c0 += kChunk) {
    const int64_t n = width - c0 < kChunk ? width - c0 : kChunk;
    for (int64_t c = 0; c < n; ++c) acc[c] = 0.0f;
    for (int64_t j = 0; j < rank; ++j) {
      const float coefficient = a_row[j] * scale;
      const float* y_row = y + j * cols + c0;
      for (int64_t c = 0; c < n; ++c) acc[c] += coefficient * y_row[c];
    }
    for (int64_t c = 0; c < n; ++c) out[c0 + c] = acc[c];
  }
}

void BackwardRow(const float* a_row, const float* y, const float* g_row, int64_t cols, int64_t rank,
                 float scale, int64_t width, float* d_a_row, float* d_y) {
  for (int64_t j = 0; j < rank; ++j) {
    const float* y_row = y + j * cols;
    float* d_y_row = d_y + j * cols;
    const float coefficient = a_row[j] * scale;
    // Eight partial sums: a compiler may not reorder one float sum, but it can vectorise these.
    float dots[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t c = 0;
    for (; c + 8 <= width; c += 8) {
      for (int64_t lane = 0; lane < 8; ++lane) dots[lane] += g_row[c + lane] * y_row[c + lane];
    }
    for (; c < width; ++c) dots[0] += g_row[c] * y_row[c];
    for (c = 0; c < width; ++c) d_y_row[c] += coefficient * g_row[c];
    d_a_row[j] = scale * (((dots[0] + dots[1]) + (dots[2] + dots[3])) +
                          ((dots[4] + dots[5]) + (dots[6] + dots[7])));
  }
}

}  // namespace

void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out) {
  for (int64_t row_start = begin; row_start < end; row_start += cols) {
    const int64_t row = row_start / cols;
    const int64_t width = end - row_start < cols ? end - row_start : cols;
    ForwardRow(a + row * rank, y, cols, rank, scale, width, out + (row_start - begin));
  }
}

void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y) {
  for (int64_t row_start = begin; row_start < end; row_start += cols) {
    const int64_t row = row_start / cols;
    const int64_t width = end - row_start < cols ? end - row_start : cols;
    BackwardRow(a + row * rank, y, d_out + (row_start - begin), cols, rank, scale, width,
                d_a + row * rank, d_y);
  }
}

}  // namespace portable

void LowRankForwardOn(simd::Isa isa, const float* a, const float* y, int64_t cols, int64_t rank,
                      float scale, int64_t begin, int64_t end, float* out) {
  if (isa > simd::SupportedIsa()) isa = simd::SupportedIsa();
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case simd::Isa::kAvx512:
      avx512::LowRankForward(a, y, cols, rank, scale, begin, end, out);
      return;
    case simd::Isa::kAvx2:
      avx2::LowRankForward(a, y, cols, rank, scale, begin, end, out);
      return;
#endif
    default:
      portable::LowRankForward(a, y, cols, rank, scale, begin, end, out);
  }
}

void LowRankBackwardOn(simd::Isa isa, const float* a, const float* y, const float* d_out,
                       int64_t cols, int64_t rank, float scale, int64_t begin, int64_t end,
                       float* d_a, float* d_y) {
  if (isa > simd::SupportedIsa()) isa = simd::SupportedIsa();
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case simd::Isa::kAvx512:
      avx512::LowRankBackward(a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
      return;
    case simd::Isa::kAvx2:
      avx2::LowRankBackward(a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
      return;
#endif
    default:
      portable::LowRankBackward(a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
  }
}

void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out) {
  LowRankForwardOn(simd::ActiveIsa(), a, y, cols, rank, scale, begin, end, out);
}

void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y) {
  LowRankBackwardOn(simd::ActiveIsa(), a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
}

}  // namespace superlora::kernels
