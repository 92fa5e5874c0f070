// The small partial contraction of a rank split (SPEC §5): Y = C ×_1 A_1 ⋯ ×_{M−1} A_{M−1} with
// mode 0 left at size r, seen as [r, D/D_0], so that the split is T = A_0 · Y, which
// kernels::LowRankForward streams. Y is small (r · D/D_0 values) next to T, so these loops favour
// clarity and accuracy (double accumulation of long sums) over speed.
#pragma once

#include <cstdint>

#include "plan_spec.h"

namespace superlora::engine {

// Fills split.contraction_steps / contraction_scratch / gradient_offsets for a rank split.
// Dense core: contracting a mode multiplies the tensor's size by d_m / r, so taking the modes in
// increasing d_m minimises the total work (an exchange argument on adjacent steps).
void PlanContraction(SplitSpec& split, int order, bool dense_core);

// Y [r × cols] of the group in `slot`. scratch: split.contraction_scratch floats (64-byte aligned).
void BuildY(const SplitSpec& split, bool dense_core, const float* params, int64_t slot, float* y,
            float* scratch);

// From dL/dY [r × cols], overwrites dL/dcore (dense core) and dL/dA_m for m ≥ 1 of the group in
// `slot` inside d_params. Self-contained: it recomputes what it needs of the forward.
void BuildYBackward(const SplitSpec& split, bool dense_core, const float* params, int64_t slot,
                    const float* d_y, float* d_params, float* scratch);

}  // namespace superlora::engine
