// Kronecker materialisation (SPEC §6) of K small split tensors into the large folded tensor, and
// its backward. Split 0 is the most significant digit of every mode. Single-threaded over a flat
// range; callers split the range across the thread pool. Dispatches on simd::ActiveIsa().
#pragma once

#include <cstdint>

namespace superlora::kernels {

struct KronOperands {
  int splits;                   // K ≥ 1
  int order;                    // M ≥ 1
  const int64_t* dims;          // dims[k · order + m] = d_{k,m}
  const float* const* tensors;  // tensors[k]: T_k, row-major, Π_m d_{k,m} values
};

// out[e - begin] = scale · T[e] for begin ≤ e < end, T = T_0 ⊗ … ⊗ T_{K−1} flattened row-major.
void KronForward(const KronOperands& operands, float scale, int64_t begin, int64_t end, float* out);

// grads[k] += dL/dT_k from d_out[e - begin] = dL/dT[e] for begin ≤ e < end (the rest of T has zero
// gradient), scaled by `scale`, in one pass over d_out. grads[k] has Π_m d_{k,m} values; callers
// give each thread its own grads and sum them.
void KronBackward(const KronOperands& operands, const float* d_out, float scale, int64_t begin,
                  int64_t end, float* const* grads);

}  // namespace superlora::kernels
