// Run-time CPU feature detection. Distributed binaries are compiled for baseline x86-64, so
// faster kernels are chosen at run time from these flags, never from -march=native.
#pragma once

#include <string>

namespace superlora {

struct CpuFeatures {
  std::string arch;    // "x64", "arm64", ... (the Node.js spelling)
  std::string vendor;  // e.g. "GenuineIntel", "AuthenticAMD"; empty off x86
  std::string brand;   // e.g. "Intel(R) Xeon(R) ..."; empty when the CPU does not report one
  // Each AVX flag is true only when the CPU has the instructions AND the OS saves the wider
  // registers on context switch (XGETBV); otherwise using them would fault.
  bool sse41 = false;
  bool sse42 = false;
  bool popcnt = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512dq = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
};

// Detected once per process (thread-safe), then cached.
const CpuFeatures& DetectCpuFeatures();

}  // namespace superlora
