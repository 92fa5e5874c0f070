// SplitMix64 streams and the fixed random tables of SPEC §9, shared by the CPU engine and the CUDA
// kernels and mirrored bit for bit by src/rng.ts (test/native/rng.test.ts pins both to the SPEC's
// known answers). Header-only so that a .cu file can include it: the generator and the per-draw
// helpers are __host__ __device__ under nvcc; whole-table generation is host-only.
#pragma once

#include <math.h>  // ::sqrt, ::log, ::cos: the spellings both the host and nvcc's device side have

#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__) && defined(_M_X64) && !defined(__CUDACC__)
#include <intrin.h>  // _umul128
#endif

#if defined(__CUDACC__)
#define SUPERLORA_HOST_DEVICE __host__ __device__
#else
#define SUPERLORA_HOST_DEVICE
#endif

namespace superlora::rng {

// Stream tags of SPEC §9. kInit is ours: it seeds the default parameter initialisation.
enum StreamTag : uint32_t {
  kSigns = 1,
  kPermutation = 2,
  kGaussian = 3,
  kShuffle = 4,
  kInit = 5,
};

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// The SplitMix64 output function applied to a state.
SUPERLORA_HOST_DEVICE inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The stream (seed, tag) of SPEC §9: state = seed · 2^32 + tag, all arithmetic mod 2^64.
class SplitMix64 {
 public:
  SUPERLORA_HOST_DEVICE SplitMix64(uint32_t seed, uint32_t tag)
      : state_((static_cast<uint64_t>(seed) << 32) + tag) {}

  SUPERLORA_HOST_DEVICE uint64_t Next() {
    state_ += kGolden;
    return Mix(state_);
  }

  // Draw `index` (0-based) of the stream (seed, tag) without walking the stream: SplitMix64 is a
  // counter generator, which lets a GPU thread produce its own entries of a table.
  SUPERLORA_HOST_DEVICE static uint64_t DrawAt(uint32_t seed, uint32_t tag, uint64_t index) {
    const uint64_t start = (static_cast<uint64_t>(seed) << 32) + tag;
    return Mix(start + (index + 1) * kGolden);
  }

 private:
  uint64_t state_;
};

// ⌊a · b / 2^64⌋: the high word of the 128-bit product.
SUPERLORA_HOST_DEVICE inline uint64_t MulHigh64(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#elif defined(__SIZEOF_INT128__)
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#elif defined(_MSC_VER) && defined(_M_X64)
  uint64_t high;
  _umul128(a, b, &high);
  return high;
#else
  // Schoolbook product in 32-bit halves: exact, for compilers without a 128-bit type.
  const uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
  const uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
  const uint64_t middle = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + lo_hi;
  return a_hi * b_hi + (hi_lo >> 32) + (middle >> 32);
#endif
}

// B[i] from draw i: −1 when the top bit is set.
SUPERLORA_HOST_DEVICE inline float SignFromDraw(uint64_t draw) {
  return (draw >> 63) != 0 ? -1.0f : 1.0f;
}

// Gv[i] from draws 2i and 2i+1 (Box–Muller in double). u1 is in (0, 1], so the log is finite.
SUPERLORA_HOST_DEVICE inline double GaussianFromDraws(uint64_t first, uint64_t second) {
  const double two_pow_minus_53 = 1.0 / 9007199254740992.0;
  const double u1 = static_cast<double>((first >> 11) + 1) * two_pow_minus_53;
  const double u2 = static_cast<double>(second >> 11) * two_pow_minus_53;
  // 2π·u2 is evaluated as (2·π)·u2, the same association as src/rng.ts, so both round alike.
  const double two_pi = 2.0 * 3.141592653589793;
  return ::sqrt(-2.0 * ::log(u1)) * ::cos(two_pi * u2);
}

// ---- Whole tables (host-only). Each is a prefix of its stream, so tables of different sizes
// share prefixes.

// B ∈ {±1}^length.
inline void FastfoodSigns(uint32_t seed, int64_t length, float* signs) {
  SplitMix64 stream(seed, kSigns);
  for (int64_t i = 0; i < length; ++i) signs[i] = SignFromDraw(stream.Next());
}

// Gv ∈ R^length: the double normals rounded to float32.
inline void FastfoodGaussians(uint32_t seed, int64_t length, float* gaussians) {
  SplitMix64 stream(seed, kGaussian);
  for (int64_t i = 0; i < length; ++i) {
    const uint64_t first = stream.Next();
    const uint64_t second = stream.Next();
    gaussians[i] = static_cast<float>(GaussianFromDraws(first, second));
  }
}

// The seeded Fisher–Yates permutation of SPEC §9 (π: tag kPermutation, σ: tag kShuffle), for
// length < 2^31: for i = length−1 down to 1, j = ⌊draw · (i+1) / 2^64⌋, swap entries i and j.
inline void SeededPermutation(uint32_t seed, uint32_t tag, int64_t length, int32_t* perm) {
  for (int64_t i = 0; i < length; ++i) perm[i] = static_cast<int32_t>(i);
  SplitMix64 stream(seed, tag);
  for (int64_t i = length - 1; i >= 1; --i) {
    const int64_t j = static_cast<int64_t>(MulHigh64(stream.Next(), static_cast<uint64_t>(i) + 1));
    const int32_t swap = perm[i];
    perm[i] = perm[j];
    perm[j] = swap;
  }
}

}  // namespace superlora::rng
