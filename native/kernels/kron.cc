#include "kron.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../simd/isa.h"
#include "../simd/vec_scalar.h"
#include "kron_isa.h"
#include "kron_tiles.h"

namespace superlora::kernels {
namespace {

// Rows of w shorter than this take the previous split's row too, so that each scaled copy of w is
// several full vectors rather than a masked fragment.
constexpr int64_t kMinInner = 64;

// The buffers one call needs, owned here so that the per-ISA code never allocates.
struct OwnedScratch {
  explicit OwnedScratch(const KronRowPlan& plan)
      : floats(static_cast<size_t>(plan.scratch_floats)),
        ints(static_cast<size_t>(plan.scratch_ints)),
        pointers(static_cast<size_t>(plan.scratch_pointers)) {}

  KronScratch View() { return KronScratch{floats.data(), ints.data(), pointers.data()}; }

  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<float*> pointers;
};

using PortableKernels = KronKernels<simd::ScalarVec>;

}  // namespace

KronRowPlan PlanKronRows(const KronOperands& operands) {
  const int splits = operands.splits;
  KronRowPlan plan;
  plan.row_length = ChainLength(operands, 0, splits);
  plan.split_point = 0;
  if (splits > 1) {
    plan.split_point = 1;
    for (int s = splits - 1; s >= 1; --s) {
      if (ChainLength(operands, s, splits) >= kMinInner) {
        plan.split_point = s;
        break;
      }
    }
  }
  plan.inner = ChainLength(operands, plan.split_point, splits);
  // w_k for s ≤ k ≤ K−2 and u_k for 0 ≤ k ≤ s−2 (w_{K−1} = v_{K−1} and u_{s−1} = v_{s−1} are read
  // in place), and as many again for their gradients.
  int64_t floats = 0;
  for (int k = plan.split_point; k + 1 < splits; ++k) floats += ChainLength(operands, k, splits);
  for (int k = 0; k + 1 < plan.split_point; ++k) {
    floats += ChainLength(operands, k, plan.split_point);
  }
  plan.scratch_floats = 2 * floats;
  plan.scratch_ints = static_cast<int64_t>(operands.order - 1) * splits + splits;
  plan.scratch_pointers = 4 * static_cast<int64_t>(splits);
  return plan;
}

namespace portable {

void KronForward(const KronOperands& operands, const KronRowPlan& plan, float scale, int64_t begin,
                 int64_t end, float* out, const KronScratch& scratch) {
  PortableKernels::Forward(operands, plan, scale, begin, end, out, scratch);
}

void KronBackward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                  float scale, int64_t begin, int64_t end, float* const* grads,
                  const KronScratch& scratch) {
  PortableKernels::Backward(operands, plan, d_out, scale, begin, end, grads, scratch);
}

}  // namespace portable

void KronForwardOn(simd::Isa isa, const KronOperands& operands, float scale, int64_t begin,
                   int64_t end, float* out) {
  if (end <= begin) return;
  if (isa > simd::SupportedIsa()) isa = simd::SupportedIsa();
  const KronRowPlan plan = PlanKronRows(operands);
  OwnedScratch owned(plan);
  const KronScratch scratch = owned.View();
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case simd::Isa::kAvx512:
      avx512::KronForward(operands, plan, scale, begin, end, out, scratch);
      return;
    case simd::Isa::kAvx2:
      avx2::KronForward(operands, plan, scale, begin, end, out, scratch);
      return;
#endif
    default:
      portable::KronForward(operands, plan, scale, begin, end, out, scratch);
  }
}

void KronBackwardOn(simd::Isa isa, const KronOperands& operands, const float* d_out, float scale,
                    int64_t begin, int64_t end, float* const* grads) {
  if (end <= begin) return;
  if (isa > simd::SupportedIsa()) isa = simd::SupportedIsa();
  const KronRowPlan plan = PlanKronRows(operands);
  OwnedScratch owned(plan);
  const KronScratch scratch = owned.View();
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case simd::Isa::kAvx512:
      avx512::KronBackward(operands, plan, d_out, scale, begin, end, grads, scratch);
      return;
    case simd::Isa::kAvx2:
      avx2::KronBackward(operands, plan, d_out, scale, begin, end, grads, scratch);
      return;
#endif
    default:
      portable::KronBackward(operands, plan, d_out, scale, begin, end, grads, scratch);
  }
}

void KronForward(const KronOperands& operands, float scale, int64_t begin, int64_t end,
                 float* out) {
  KronForwardOn(simd::ActiveIsa(), operands, scale, begin, end, out);
}

void KronBackward(const KronOperands& operands, const float* d_out, float scale, int64_t begin,
                  int64_t end, float* const* grads) {
  KronBackwardOn(simd::ActiveIsa(), operands, d_out, scale, begin, end, grads);
}

}  // namespace superlora::kernels
