// Division of 32-bit indices by divisors fixed when a plan is built: a multiply-high, an add and a
// shift instead of the few dozen instructions a GPU spends on an integer division (Granlund and
// Montgomery, "Division by invariant integers using multiplication", 1994, §4). The Kronecker
// kernels split every index of ΔW into its digits per split and mode with these.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace superlora::cuda {

// The largest divisor and dividend: indices of a group's values, which must stay below 2^31.
constexpr int64_t kFastDivisorLimit = (int64_t{1} << 31) - 1;

// For 1 ≤ divisor ≤ kFastDivisorLimit and 0 ≤ n ≤ kFastDivisorLimit:
//   n / divisor = (umulhi(n, magic) + n) >> shift,
// with shift = ⌈log2 divisor⌉ and 2^32 + magic = ⌊2^(32 + shift) / divisor⌋ + 1, which is exact
// for every n < 2^32 (ibid., theorem 4.2); n < 2^31 keeps the sum within 32 bits. 16 bytes, so
// that a kernel reads one with a single load.
struct alignas(16) FastDivisor {
  uint32_t magic;
  uint32_t shift;
  uint32_t divisor;
  uint32_t padding;
};

// Host side; the caller keeps divisor within [1, kFastDivisorLimit].
inline FastDivisor MakeFastDivisor(int64_t divisor) {
  uint32_t shift = 0;
  while ((int64_t{1} << shift) < divisor) ++shift;
  const uint64_t d = static_cast<uint64_t>(divisor);
  const uint64_t magic = (uint64_t{1} << 32) * ((uint64_t{1} << shift) - d) / d + 1;
  return {static_cast<uint32_t>(magic), shift, static_cast<uint32_t>(d), 0};
}

__host__ __device__ __forceinline__ uint32_t Quotient(uint32_t n, const FastDivisor& d) {
#ifdef __CUDA_ARCH__
  const uint32_t high = __umulhi(n, d.magic);
#else
  const uint32_t high = static_cast<uint32_t>((uint64_t{n} * d.magic) >> 32);
#endif
  return (high + n) >> d.shift;
}

__host__ __device__ __forceinline__ uint32_t Remainder(uint32_t n, const FastDivisor& d) {
  return n - Quotient(n, d) * d.divisor;
}

// Digit of n in a mixed radix: (n / stride) mod size.
__host__ __device__ __forceinline__ uint32_t Digit(uint32_t n, const FastDivisor& stride,
                                                   const FastDivisor& size) {
  return Remainder(Quotient(n, stride), size);
}

}  // namespace superlora::cuda
