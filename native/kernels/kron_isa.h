// The per-ISA implementations behind kron.h. kron_avx2.cc and kron_avx512.cc are compiled for
// baseline x86-64 with a target pragma, so only the dispatcher in kron.cc calls them, and only at a
// level simd::ActiveIsa() allows. The dispatcher plans the call and owns its scratch, so that no
// allocation happens in code compiled for a wider target.
#pragma once

#include <cstdint>

#include "../simd/isa.h"
#include "kron.h"

namespace superlora::kernels {

// KronForward / KronBackward at a given level (lowered to what the CPU supports), for tests and
// benchmarks that compare the levels in one process.
void KronForwardOn(simd::Isa isa, const KronOperands& operands, float scale, int64_t begin,
                   int64_t end, float* out);
void KronBackwardOn(simd::Isa isa, const KronOperands& operands, const float* d_out, float scale,
                    int64_t begin, int64_t end, float* const* grads);

// The shape of one call's row walk (kron_tiles.h): the split point s and the scratch it needs.
struct KronRowPlan {
  int split_point = 0;           // s: w = kron(v_s, …, v_{K−1}), u = kron(v_0, …, v_{s−1})
  int64_t row_length = 0;        // L = D_{M−1}
  int64_t inner = 0;             // |w|
  int64_t scratch_floats = 0;    // chain buffers: forward values, then backward gradients
  int64_t scratch_ints = 0;      // the row odometer: (M−1) · K digits and K split rows
  int64_t scratch_pointers = 0;  // 4 · K chain buffer addresses
};

KronRowPlan PlanKronRows(const KronOperands& operands);

struct KronScratch {
  float* floats;
  int64_t* ints;
  float** pointers;
};

namespace portable {
void KronForward(const KronOperands& operands, const KronRowPlan& plan, float scale, int64_t begin,
                 int64_t end, float* out, const KronScratch& scratch);
void KronBackward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                  float scale, int64_t begin, int64_t end, float* const* grads,
                  const KronScratch& scratch);
}  // namespace portable

#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
void KronForward(const KronOperands& operands, const KronRowPlan& plan, float scale, int64_t begin,
                 int64_t end, float* out, const KronScratch& scratch);
void KronBackward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                  float scale, int64_t begin, int64_t end, float* const* grads,
                  const KronScratch& scratch);
}  // namespace avx2

namespace avx512 {
void KronForward(const KronOperands& operands, const KronRowPlan& plan, float scale, int64_t begin,
                 int64_t end, float* out, const KronScratch& scratch);
void KronBackward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                  float scale, int64_t begin, int64_t end, float* const* grads,
                  const KronScratch& scratch);
}  // namespace avx512
#endif

}  // namespace superlora::kernels
