// The inner loops of the FLOP-peak probes, one implementation per instruction-set level (the
// `peak_kernels_*.cc` files, each compiled for its own target with a pragma, like the kernels).
// Each loop runs `iterations` steps of kChains independent dependency chains on full-width
// vectors, so that the floating-point pipes, not the latency of one chain, limit it; the value it
// returns depends on every step, so the compiler cannot drop any.
#pragma once

#include <cstdint>

namespace superlora::bench {

// Independent accumulators per thread. A chain can issue again only after the instruction's
// latency (4 cycles for an FMA on current x86 cores), and there are two FMA pipes, so at least
// 4 × 2 = 8 chains are needed to keep both busy; 12 leaves headroom for 5–6-cycle latencies and
// still fits the 16 vector registers of AVX2 together with the two operands.
constexpr int kChains = 12;

struct PeakKernel {
  // Floats per vector (16 for AVX-512, 8 for AVX2, 4 for the portable loop).
  int lanes;
  // acc = acc · multiplier + addend on every chain, `iterations` times: 2 FLOP per lane per chain.
  double (*fma)(int64_t iterations, float multiplier, float addend);
  // acc = acc + addend on every chain, `iterations` times: 1 FLOP per lane per chain.
  double (*add)(int64_t iterations, float addend);
};

PeakKernel PortablePeakKernel();
#if defined(__x86_64__) || defined(_M_X64)
PeakKernel Avx2PeakKernel();
PeakKernel Avx512PeakKernel();
#endif

}  // namespace superlora::bench
