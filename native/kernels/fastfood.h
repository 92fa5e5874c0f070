// The fixed fastfood projection F: R^m → R^n of SPEC §7, fused: the zero-padded input needs only
// a transform of size nextpow2(m) (tiled), the gather by π rides in the pass that already touches
// the data, and the backward folds blocks before its small transform. May use the thread pool
// (parallel::ParallelFor, which runs inline when called from inside a pool job).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../simd/isa.h"

namespace superlora::kernels {

struct FastfoodTable {
  int64_t size;            // L, a power of two
  const float* signs;      // B, ±1, L values
  const int32_t* perm;     // π, a permutation of [0, L)
  const float* gaussians;  // Gv, L values
  double gaussian_sum_sq;  // Σ_i Gv[i]², in double
};

// Floats of scratch FastfoodForward / FastfoodBackward need for this table (64-byte aligned):
// 2 · size, the length-L work array of the big transform, then the length-nextpow2(m) input
// transform (forward) or the per-thread accumulators of the folded scatter (backward).
size_t FastfoodScratchFloats(int64_t size);

// y[0 .. n) = scale · F(z[0 .. m)), with 1 ≤ m ≤ n ≤ L and L/2 < n.
void FastfoodForward(const FastfoodTable& table, const float* z, int64_t m, int64_t n, float scale,
                     float* y, float* scratch);

// dz[0 .. m) = scale · Fᵀ dy[0 .. n) (overwritten).
void FastfoodBackward(const FastfoodTable& table, const float* dy, int64_t n, int64_t m,
                      float scale, float* dz, float* scratch);

// The same with the kernels of `isa` (lowered to what the CPU supports), for tests and
// benchmarks that compare instruction sets; the forms above use simd::ActiveIsa().
void FastfoodForward(const FastfoodTable& table, const float* z, int64_t m, int64_t n, float scale,
                     float* y, float* scratch, simd::Isa isa);
void FastfoodBackward(const FastfoodTable& table, const float* dy, int64_t n, int64_t m,
                      float scale, float* dz, float* scratch, simd::Isa isa);

}  // namespace superlora::kernels
