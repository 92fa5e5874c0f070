// The per-ISA implementations behind lowrank.h. lowrank_avx2.cc and lowrank_avx512.cc are compiled
// for baseline x86-64 with a target pragma, so only the dispatcher in lowrank.cc calls them, and
// only at a level simd::ActiveIsa() allows.
#pragma once

#include <cstdint>

#include "../simd/isa.h"

namespace superlora::kernels {

// LowRankForward / LowRankBackward at a given level (lowered to what the CPU supports), for tests
// and benchmarks that compare the levels in one process.
void LowRankForwardOn(simd::Isa isa, const float* a, const float* y, int64_t cols, int64_t rank,
                      float scale, int64_t begin, int64_t end, float* out);
void LowRankBackwardOn(simd::Isa isa, const float* a, const float* y, const float* d_out,
                       int64_t cols, int64_t rank, float scale, int64_t begin, int64_t end,
                       float* d_a, float* d_y);

namespace portable {
void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out);
void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y);
}  // namespace portable

#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out);
void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y);
}  // namespace avx2

namespace avx512 {
void LowRankForward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                    int64_t begin, int64_t end, float* out);
void LowRankBackward(const float* a, const float* y, const float* d_out, int64_t cols, int64_t rank,
                     float scale, int64_t begin, int64_t end, float* d_a, float* d_y);
}  // namespace avx512
#endif

}  // namespace superlora::kernels
