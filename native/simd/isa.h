// The instruction-set level the CPU kernels dispatch on. Kernels have one implementation per level
// in separate files (`*_avx2.cc`, `*_avx512.cc`) compiled for baseline x86-64 with
// `#pragma GCC target(...)` at the top, so one binary runs on every x86-64 CPU and picks the
// widest path the CPU and OS support.
#pragma once

namespace superlora::simd {

enum class Isa { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

// The widest level this CPU supports (AVX2 needs AVX2 + FMA; AVX-512 needs F, BW, VL, DQ), lowered
// by the environment variable SUPERLORA_ISA=portable|avx2|avx512 (for tests and benchmarks), or
// by SetIsa. Never higher than what the CPU supports.
Isa ActiveIsa();
// The widest level the CPU supports, ignoring overrides.
Isa SupportedIsa();
// Caps the active level (clamped to SupportedIsa()); kernels read ActiveIsa() on every call.
void SetIsa(Isa isa);

const char* IsaName(Isa isa);

}  // namespace superlora::simd
