// GEMM kernels for AVX2 + FMA: 8 floats per vector, 16 registers. The register tile is 6 rows ×
// 16 columns: 12 accumulators, the 2 vectors of B and one broadcast of A make 15 registers (the
// classic Haswell shape). Compiled for baseline x86-64 with a target pragma and only called after
// simd::SupportedIsa() has seen the CPU (and OS) support it.
#include "gemm_kernels.h"

// Every standard header comes before the target pragma, so that nothing they define is compiled
// for the wider target.
#include <array>
#include <cstdint>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include "../simd/vec_avx2.h"
#include "gemm_pack.h"
#include "gemm_tiles.h"

namespace superlora::gemm::detail {
namespace {

constexpr int kRows = 6;
constexpr int kCols = 16;

struct Vec : simd::Avx2Vec {
  // See gemm_avx512.cc: Math.max(0, x), NaN kept and −0 turned into +0.
  static V Relu(V x) { return _mm256_add_ps(_mm256_max_ps(Zero(), x), Zero()); }
};

using Tiles = GemmTiles<Vec, kRows, kCols>;

void PackA(const float* a, int64_t ld, bool transposed, int64_t mc, int64_t kc, float* out) {
  PackAGeneric<kRows>(a, ld, transposed, mc, kc, out);
}

void PackB(const float* b, int64_t ld, bool transposed, int64_t kc, int64_t nc, float* out) {
  PackBGeneric<kCols>(b, ld, transposed, kc, nc, out);
}

}  // namespace

const IsaKernels& Avx2Kernels() {
  static const IsaKernels kernels{simd::Isa::kAvx2, kRows, kCols, &PackA, &PackB, &Tiles::RunBlock};
  return kernels;
}

}  // namespace superlora::gemm::detail

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
