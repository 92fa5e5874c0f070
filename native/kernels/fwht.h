// Walsh–Hadamard transform on the CPU. It is the ground truth that cuda/fwht.cu is checked
// against; fwht_kernels.h describes how it is cut into cache-blocked passes, and each instruction
// set (portable, AVX2, AVX-512) has its own register kernels, chosen per call.
#pragma once

#include <cstddef>

#include "../simd/isa.h"

namespace superlora::kernels {

// In-place unnormalised Walsh–Hadamard transform of each of the length / size consecutive rows
// of `data`: row <- H_size * row, with H in Sylvester (natural) order, H_1 = [1] and
// H_2k = [[H_k, H_k], [H_k, -H_k]]. Applying it twice multiplies by size.
// Preconditions (checked at the JS boundary): size is a power of two and divides length.
// Uses the thread pool for large inputs (inline when called from inside a pool job).
void FwhtInPlace(float* data, size_t length, size_t size);

// The same with the kernels of `isa` (lowered to what the CPU supports), for tests and
// benchmarks that compare instruction sets; FwhtInPlace uses simd::ActiveIsa().
void FwhtInPlace(float* data, size_t length, size_t size, simd::Isa isa);

}  // namespace superlora::kernels
