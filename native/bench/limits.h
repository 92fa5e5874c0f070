// Probes of the machine's own limits — how fast it can write memory, copy memory and issue
// floating-point operations — measured in the same run as a benchmark so that every figure the
// benchmark reports is also a ratio to what this machine can do (DESIGN.md "Conventions").
#pragma once

#include <cstdint>
#include <string>

namespace superlora::bench {

struct BandwidthResult {
  // Bytes counted per second / 1e9, best timed round. Fill counts the bytes written; memcpy counts
  // the bytes read plus the bytes written (2 per byte copied), as STREAM's Copy does.
  double gbs = 0;
  // Memcpy only: bytes copied per second / 1e9 (gbs / 2), the other common convention.
  double copyGbs = 0;
  // Size of the (each) buffer, bytes counted per round under the convention above.
  int64_t bytes = 0;
  int64_t countedBytes = 0;
  double bestSeconds = 0;
  int rounds = 0;
  int threads = 0;
};

struct PeakResult {
  // Floating-point operations per second / 1e9, best timed round (an FMA is 2 FLOP).
  double gflops = 0;
  // Instruction-set level the loop ran at (simd::IsaName of ActiveIsa()) and its vector width.
  std::string isa;
  int lanes = 0;
  int chains = 0;
  double flopPerRound = 0;
  double bestSeconds = 0;
  int rounds = 0;
  int threads = 0;
};

// Largest buffer the bandwidth probes accept: a quarter of physical memory (memcpy needs two),
// so that a mistaken size is a RangeError rather than the OOM killer.
int64_t MaxProbeBytes();

// std::memset over `bytes` bytes split evenly across `threads` threads (each thread first-touches
// its own slice, so pages live near the core that writes them). memset and memcpy rather than
// loops of our own: the C library's versions are tuned per CPU (wide stores, non-temporal stores
// for large buffers), so they are the fastest ordinary way to write and copy memory here, the
// bound a kernel that writes ΔW can be held to. The best of several timed rounds
// (limits.cc says how many).
BandwidthResult MeasureFill(int64_t bytes, int threads);

// std::memcpy of `bytes` bytes between two buffers, split like MeasureFill.
BandwidthResult MeasureMemcpy(int64_t bytes, int threads);

// Peak FMA and add throughput of `threads` threads at the widest instruction set the CPU (and
// SUPERLORA_ISA / simd::SetIsa) allows.
PeakResult MeasureFmaPeak(int threads);
PeakResult MeasureAddPeak(int threads);

}  // namespace superlora::bench
