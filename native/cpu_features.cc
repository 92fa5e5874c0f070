#include "cpu_features.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define SUPERLORA_X64 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace superlora {
namespace {

#ifdef SUPERLORA_X64

struct CpuidRegisters {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegisters Cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegisters r;
#if defined(_MSC_VER)
  int out[4];
  __cpuidex(out, static_cast<int>(leaf), static_cast<int>(subleaf));
  r.eax = out[0];
  r.ebx = out[1];
  r.ecx = out[2];
  r.edx = out[3];
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

// XCR0: which register files the OS saves. Only valid to call when CPUID says OSXSAVE.
uint64_t ReadXcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t eax = 0, edx = 0;
  // Raw opcode of xgetbv so that no -mxsave flag is needed for this baseline file.
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
#endif
}

bool Bit(uint32_t value, int bit) { return ((value >> bit) & 1u) != 0; }

void DetectX64(CpuFeatures& f) {
  const CpuidRegisters leaf0 = Cpuid(0, 0);
  const uint32_t maxLeaf = leaf0.eax;
  char vendor[13] = {};
  std::memcpy(vendor + 0, &leaf0.ebx, 4);
  std::memcpy(vendor + 4, &leaf0.edx, 4);
  std::memcpy(vendor + 8, &leaf0.ecx, 4);
  f.vendor = vendor;

  if (Cpuid(0x80000000u, 0).eax >= 0x80000004u) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      const CpuidRegisters r = Cpuid(0x80000002u + i, 0);
      std::memcpy(brand + 16 * i + 0, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    f.brand = brand;
    // Some CPUs pad the brand string with leading/trailing spaces.
    const size_t first = f.brand.find_first_not_of(' ');
    const size_t last = f.brand.find_last_not_of(' ');
    f.brand = first == std::string::npos ? "" : f.brand.substr(first, last - first + 1);
  }

  if (maxLeaf < 1) return;
  const CpuidRegisters leaf1 = Cpuid(1, 0);
  f.sse41 = Bit(leaf1.ecx, 19);
  f.sse42 = Bit(leaf1.ecx, 20);
  f.popcnt = Bit(leaf1.ecx, 23);

  const bool osxsave = Bit(leaf1.ecx, 27);
  const uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
  const bool osSavesYmm = (xcr0 & 0x6) == 0x6;    // XMM and YMM state
  const bool osSavesZmm = (xcr0 & 0xe6) == 0xe6;  // plus opmask, ZMM_Hi256, Hi16_ZMM

  f.avx = osSavesYmm && Bit(leaf1.ecx, 28);
  f.fma = f.avx && Bit(leaf1.ecx, 12);
  f.f16c = f.avx && Bit(leaf1.ecx, 29);

  if (maxLeaf < 7) return;
  const CpuidRegisters leaf7 = Cpuid(7, 0);
  f.avx2 = f.avx && Bit(leaf7.ebx, 5);
  f.bmi2 = Bit(leaf7.ebx, 8);
  f.avx512f = osSavesZmm && Bit(leaf7.ebx, 16);
  f.avx512dq = f.avx512f && Bit(leaf7.ebx, 17);
  f.avx512bw = f.avx512f && Bit(leaf7.ebx, 30);
  f.avx512vl = f.avx512f && Bit(leaf7.ebx, 31);
  f.avx512vnni = f.avx512f && Bit(leaf7.ecx, 11);
  if (leaf7.eax >= 1) {
    f.avx512bf16 = f.avx512f && Bit(Cpuid(7, 1).eax, 5);
  }
}

#endif  // SUPERLORA_X64

const char* NodeArchName() {
#if defined(__x86_64__) || defined(_M_X64)
  return "x64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "arm64";
#elif defined(__i386__) || defined(_M_IX86)
  return "ia32";
#else
  return "unknown";
#endif
}

CpuFeatures Detect() {
  CpuFeatures f;
  f.arch = NodeArchName();
#ifdef SUPERLORA_X64
  DetectX64(f);
#endif
  return f;
}

}  // namespace

const CpuFeatures& DetectCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace superlora
