// cuda/fast_divisor.cuh against the hardware's division, on the host (the same function the
// kernels call; nvcc's device pass only swaps the 64-bit multiply for __umulhi): every divisor up
// to 2^12 with every dividend up to 2^14 and the dividends around each multiple of it, then the
// divisors and dividends at the edges of the range (powers of two, their neighbours, 2^31 − 1)
// and a few million pseudo-random pairs. Run by scripts/cuda-emulator-test.sh.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "../../cuda/fast_divisor.cuh"

using superlora::cuda::Digit;
using superlora::cuda::FastDivisor;
using superlora::cuda::kFastDivisorLimit;
using superlora::cuda::MakeFastDivisor;
using superlora::cuda::Quotient;
using superlora::cuda::Remainder;

namespace {

int64_t failures = 0;
int64_t checked = 0;

void Check(int64_t n, int64_t d, const FastDivisor& divisor) {
  ++checked;
  const uint32_t q = Quotient(static_cast<uint32_t>(n), divisor);
  const uint32_t r = Remainder(static_cast<uint32_t>(n), divisor);
  if (q != n / d || r != n % d) {
    if (++failures <= 10) {
      std::fprintf(stderr, "%lld / %lld: got %u rem %u, want %lld rem %lld\n",
                   static_cast<long long>(n), static_cast<long long>(d), q, r,
                   static_cast<long long>(n / d), static_cast<long long>(n % d));
    }
  }
}

void CheckAround(int64_t n, int64_t d, const FastDivisor& divisor) {
  for (int64_t x = n - 2; x <= n + 2; ++x) {
    if (x >= 0 && x <= kFastDivisorLimit) Check(x, d, divisor);
  }
}

}  // namespace

int main() {
  for (int64_t d = 1; d <= 4096; ++d) {
    const FastDivisor divisor = MakeFastDivisor(d);
    for (int64_t n = 0; n < 16384; ++n) Check(n, d, divisor);
    for (int64_t n = d; n <= kFastDivisorLimit; n += kFastDivisorLimit / 997 / d * d + d) {
      CheckAround(n, d, divisor);
    }
    CheckAround(kFastDivisorLimit, d, divisor);
    CheckAround(kFastDivisorLimit / d * d, d, divisor);
  }

  std::vector<int64_t> edges;
  for (int p = 0; p <= 31; ++p) {
    for (int64_t delta = -3; delta <= 3; ++delta) {
      const int64_t value = (int64_t{1} << p) + delta;
      if (value >= 1 && value <= kFastDivisorLimit) edges.push_back(value);
    }
  }
  edges.push_back(kFastDivisorLimit);
  edges.push_back(3 * 7 * 11 * 13 * 17 * 19 * 23);
  for (int64_t d : edges) {
    const FastDivisor divisor = MakeFastDivisor(d);
    for (int64_t n : edges) CheckAround(n, d, divisor);
    for (int64_t multiple = d; multiple <= kFastDivisorLimit && multiple / d < 4096;
         multiple += d) {
      CheckAround(multiple, d, divisor);
    }
  }

  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 4000000; ++i) {
    const uint64_t bits = next();
    // Divisors spread over every magnitude: a random bit length, then a random value of it.
    const int length = 1 + static_cast<int>(bits % 31);
    const int64_t d =
        std::max<int64_t>(1, static_cast<int64_t>((bits >> 8) & ((1ull << length) - 1)));
    const int64_t n = static_cast<int64_t>(next() & static_cast<uint64_t>(kFastDivisorLimit));
    Check(n, d, MakeFastDivisor(d));
  }

  // Digit: the mixed-radix digit the Kronecker kernels take of an index.
  const FastDivisor stride = MakeFastDivisor(48);
  const FastDivisor size = MakeFastDivisor(7);
  for (uint32_t n = 0; n < 100000; ++n) {
    ++checked;
    if (Digit(n, stride, size) != (n / 48) % 7 && ++failures <= 10) {
      std::fprintf(stderr, "Digit(%u, 48, 7) wrong\n", n);
    }
  }

  if (failures > 0) {
    std::fprintf(stderr, "fast_divisor_check: %lld of %lld divisions wrong\n",
                 static_cast<long long>(failures), static_cast<long long>(checked));
    return 1;
  }
  std::printf("fast_divisor_check: %lld divisions exact\n", static_cast<long long>(checked));
  return 0;
}
