// LowRankForward / LowRankBackward for AVX2 + FMA (8 floats per vector, 16 registers). Compiled for
// that target here only (the rest of the binary stays baseline x86-64) and called only when
// simd::ActiveIsa() allows it.
#include "lowrank_isa.h"

// Every standard header comes before the target pragma, so that nothing they define is compiled
// for the wider target.
#include <cstdint>
#include <type_traits>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#include "../simd/vec_avx2.h"
#include "lowrank_tiles.h"

namespace superlora::kernels::avx2 {
namespace {

// 12 accumulators + the vectors a step loads stay within the 16 registers. Forward: 6 rows × 16
// columns. dA: 3 rows × 4 ranks (3 vectors of dT held, one of Y at a time). dY: 6 ranks × 16
// columns per row of the block.
struct Shape {
  static constexpr int kForwardRows = 6;
  static constexpr int kForwardVectors = 2;
  static constexpr int kDaRows = 3;
  static constexpr int kDaRanks = 4;
  static constexpr int kDyRanks = 6;
  static constexpr int kDyVectors = 2;
};

using Tiles = LowRankTiles<simd::Avx2Vec, Shape>;

}  // namespace

void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out) {
  Tiles::Forward(a, y, cols, rank, scale, begin, end, out);
}

void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y) {
  Tiles::Backward(a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
}

}  // namespace superlora::kernels::avx2

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#endif  // x86-64
