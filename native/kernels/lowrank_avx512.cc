// LowRankForward / LowRankBackward for AVX-512 (16 floats per vector, 32 registers). Compiled for
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
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif

#include "../simd/vec_avx512.h"
#include "lowrank_tiles.h"

namespace superlora::kernels::avx512 {
namespace {

// 24 accumulators + the vectors a step loads stay within the 32 registers. Forward: 6 rows × 64
// columns loads 4 vectors of Y per 24 FMAs (the 6 broadcasts of A fold into the FMAs). dA: 6 rows
// × 4 ranks loads 10 vectors per 24 FMAs, 4 of them streaming Y from L2 at rank 64 (3 × 8 tiles
// need twice that and measured 40% slower there). dY: 8 ranks × 48 columns per row of the block,
// so that rank 8 is one tile (6 × 64 leaves a 2-rank tile that is load-bound).
struct Shape {
  static constexpr int kForwardRows = 6;
  static constexpr int kForwardVectors = 4;
  static constexpr int kDaRows = 6;
  static constexpr int kDaRanks = 4;
  static constexpr int kDyRanks = 8;
  static constexpr int kDyVectors = 3;
};

using Tiles = LowRankTiles<simd::Avx512Vec, Shape>;

}  // namespace

void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out) {
  Tiles::Forward(a, y, cols, rank, scale, begin, end, out);
}

void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y) {
  Tiles::Backward(a, y, d_out, cols, rank, scale, begin, end, d_a, d_y);
}

}  // namespace superlora::kernels::avx512

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#endif  // x86-64
