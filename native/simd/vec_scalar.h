// One-lane "vector" traits for the portable instantiation of the templated kernels: plain floats,
// so the loops the templates write (full vectors, then a masked tail) become ordinary loops that
// any compiler can vectorise for the baseline of its target (SSE2 on x86-64, NEON on arm64).
#pragma once

#include <cstdint>

namespace superlora::simd {
namespace {

struct ScalarVec {
  using V = float;
  using Mask = bool;
  static constexpr int64_t kWidth = 1;
  static constexpr int kRegisters = 16;  // vector registers the ISA has

  static Mask FirstLanes(int64_t n) { return n > 0; }
  static V Zero() { return 0.0f; }
  static V Set1(float x) { return x; }
  static V Load(const float* p) { return *p; }
  static V LoadFirst(const float* p, Mask m) { return m ? *p : 0.0f; }
  static void Store(float* p, V v) { *p = v; }
  static void StoreFirst(float* p, V v, Mask m) {
    if (m) *p = v;
  }
  static void Stream(float* p, V v) { *p = v; }
  static void Fence() {}
  static void Prefetch(const void* p) {
#if defined(__GNUC__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
  }
  static V Fma(V a, V b, V c) { return a * b + c; }
  static V Mul(V a, V b) { return a * b; }
  static V Add(V a, V b) { return a + b; }
  static float Sum(V v) { return v; }
  static void Reduce8(const V (&v)[8], float* out) {
    for (int i = 0; i < 8; ++i) out[i] = v[i];
  }
};

}  // namespace
}  // namespace superlora::simd
