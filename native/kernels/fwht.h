// Walsh–Hadamard transform, CPU reference. It is the ground truth that cuda/fwht.cu is checked
// against, so it favours obvious correctness over speed; fast paths come with the dispatch layer.
#pragma once

#include <cstddef>

namespace superlora::kernels {

// In-place unnormalised Walsh–Hadamard transform of each of the length / size consecutive rows
// of `data`: row <- H_size * row, with H in Sylvester (natural) order, H_1 = [1] and
// H_2k = [[H_k, H_k], [H_k, -H_k]]. Applying it twice multiplies by size.
// Preconditions (checked at the JS boundary): size is a power of two and divides length.
void FwhtInPlace(float* data, size_t length, size_t size);

}  // namespace superlora::kernels
