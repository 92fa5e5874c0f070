// Element-by-element packing of op(A) and op(B) into the panel layouts of gemm_kernels.h. Every
// ISA uses these for the directions that are plain copies (each depth of a transposed A, or of a
// B, is a contiguous run of the panel's width) and the portable and AVX2 builds also for the
// gathering directions; gemm_avx512.cc replaces the latter with register transposes. Included by
// each gemm_<isa>.cc after its target pragma, so the copy loops are vectorised for that ISA; the
// anonymous namespace keeps each copy private to its file.
#pragma once

#include <cstdint>

namespace superlora::gemm::detail {
namespace {

// Panels of kRows rows of op(A): panel q holds rows [q · kRows, (q + 1) · kRows) as kc columns of
// kRows floats.
template <int kRows>
void PackAGeneric(const float* a, int64_t ld, bool transposed, int64_t mc, int64_t kc, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += kRows) {
    const int64_t rows = mc - i0 < kRows ? mc - i0 : kRows;
    float* panel = out + i0 * kc;
    if (transposed) {
      // Depth p of the panel is a[p · ld + i0 ...]: a contiguous run.
      for (int64_t p = 0; p < kc; ++p) {
        const float* source = a + p * ld + i0;
        float* target = panel + p * kRows;
        for (int64_t r = 0; r < rows; ++r) target[r] = source[r];
        for (int64_t r = rows; r < kRows; ++r) target[r] = 0.0f;
      }
    } else {
      // Row r of the panel is a contiguous run of the source; read it in order, write strided.
      for (int64_t r = 0; r < rows; ++r) {
        const float* source = a + (i0 + r) * ld;
        for (int64_t p = 0; p < kc; ++p) panel[p * kRows + r] = source[p];
      }
      for (int64_t r = rows; r < kRows; ++r) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kRows + r] = 0.0f;
      }
    }
  }
}

// Panels of kCols columns of op(B): panel q holds columns [q · kCols, (q + 1) · kCols) as kc rows
// of kCols floats.
template <int kCols>
void PackBGeneric(const float* b, int64_t ld, bool transposed, int64_t kc, int64_t nc, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += kCols) {
    const int64_t cols = nc - j0 < kCols ? nc - j0 : kCols;
    float* panel = out + j0 * kc;
    if (!transposed) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* source = b + p * ld + j0;
        float* target = panel + p * kCols;
        for (int64_t c = 0; c < cols; ++c) target[c] = source[c];
        for (int64_t c = cols; c < kCols; ++c) target[c] = 0.0f;
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        const float* source = b + (j0 + c) * ld;
        for (int64_t p = 0; p < kc; ++p) panel[p * kCols + c] = source[p];
      }
      for (int64_t c = cols; c < kCols; ++c) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kCols + c] = 0.0f;
      }
    }
  }
}

}  // namespace
}  // namespace superlora::gemm::detail
