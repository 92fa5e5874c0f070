#include "isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "../cpu_features.h"

namespace superlora::simd {
namespace {

Isa FromEnvironment(Isa supported) {
  const char* env = std::getenv("SUPERLORA_ISA");
  if (env == nullptr) return supported;
  Isa requested = supported;
  if (std::strcmp(env, "portable") == 0) requested = Isa::kPortable;
  if (std::strcmp(env, "avx2") == 0) requested = Isa::kAvx2;
  if (std::strcmp(env, "avx512") == 0) requested = Isa::kAvx512;
  return requested < supported ? requested : supported;
}

std::atomic<int>& Active() {
  static std::atomic<int> active{static_cast<int>(FromEnvironment(SupportedIsa()))};
  return active;
}

}  // namespace

Isa SupportedIsa() {
  static const Isa supported = [] {
    const CpuFeatures& cpu = DetectCpuFeatures();
    if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq && cpu.avx2 && cpu.fma) {
      return Isa::kAvx512;
    }
    if (cpu.avx2 && cpu.fma) return Isa::kAvx2;
    return Isa::kPortable;
  }();
  return supported;
}

Isa ActiveIsa() { return static_cast<Isa>(Active().load(std::memory_order_relaxed)); }

void SetIsa(Isa isa) {
  const Isa supported = SupportedIsa();
  Active().store(static_cast<int>(isa < supported ? isa : supported), std::memory_order_relaxed);
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    default:
      return "portable";
  }
}

}  // namespace superlora::simd
