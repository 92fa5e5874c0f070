// KronForward / KronBackward for AVX2 (8 floats per vector). Compiled for that target here only
// (the rest of the binary stays baseline x86-64) and called only when simd::ActiveIsa() allows it.
#include "kron_isa.h"

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
#include "kron_tiles.h"

namespace superlora::kernels::avx2 {

void KronForward(const KronOperands& operands, const KronRowPlan& plan, float scale, int64_t begin,
                 int64_t end, float* out, const KronScratch& scratch) {
  KronKernels<simd::Avx2Vec>::Forward(operands, plan, scale, begin, end, out, scratch);
}

void KronBackward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                  float scale, int64_t begin, int64_t end, float* const* grads,
                  const KronScratch& scratch) {
  KronKernels<simd::Avx2Vec>::Backward(operands, plan, d_out, scale, begin, end, grads, scratch);
}

}  // namespace superlora::kernels::avx2

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#endif  // x86-64
