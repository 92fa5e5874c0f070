// The portable FLOP-peak loops: plain C++ on blocks of 4 floats, which the compiler vectorises
// for the baseline instruction set (SSE2 on x86-64, NEON on arm64). Without FMA in the baseline
// the "FMA" is a multiply and an add: still 2 FLOP, issued as two instructions.
#include "peak_kernels.h"

namespace superlora::bench {
namespace {

constexpr int kLanes = 4;

double Sum(const float (&acc)[kChains][kLanes]) {
  double sum = 0;
  for (const auto& chain : acc)
    for (float value : chain) sum += value;
  return sum;
}

double FmaLoop(int64_t iterations, float multiplier, float addend) {
  float acc[kChains][kLanes];
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kLanes; ++l) acc[c][l] = 0.5f + 0.01f * static_cast<float>(c * kLanes + l);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c)
      for (int l = 0; l < kLanes; ++l) acc[c][l] = acc[c][l] * multiplier + addend;
  }
  return Sum(acc);
}

double AddLoop(int64_t iterations, float addend) {
  float acc[kChains][kLanes];
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kLanes; ++l) acc[c][l] = 0.5f + 0.01f * static_cast<float>(c * kLanes + l);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c)
      for (int l = 0; l < kLanes; ++l) acc[c][l] += addend;
  }
  return Sum(acc);
}

}  // namespace

PeakKernel PortablePeakKernel() { return {kLanes, FmaLoop, AddLoop}; }

}  // namespace superlora::bench
