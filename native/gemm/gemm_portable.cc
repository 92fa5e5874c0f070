// GEMM kernels for any CPU: the same register tiles as the vector ISAs over a 4-lane "vector" of
// plain floats, which compilers map onto SSE2 (the x86-64 baseline) or NEON. A 6 × 8 tile keeps 12
// accumulators, 2 B vectors and a broadcast within the 16 registers of either.
#include <array>
#include <cstdint>
#include <utility>

#include "gemm_kernels.h"
#include "gemm_pack.h"
#include "gemm_tiles.h"

namespace superlora::gemm::detail {
namespace {

constexpr int kRows = 6;
constexpr int kCols = 8;

struct PortableVec {
  struct V {
    float lane[4];
  };
  using Mask = int64_t;  // the number of leading lanes that are valid
  static constexpr int64_t kWidth = 4;

  static Mask FirstLanes(int64_t n) { return n; }
  static V Zero() { return V{{0.0f, 0.0f, 0.0f, 0.0f}}; }
  static V Set1(float x) { return V{{x, x, x, x}}; }
  static V Load(const float* p) { return V{{p[0], p[1], p[2], p[3]}}; }
  static V LoadFirst(const float* p, Mask n) {
    V v = Zero();
    for (int64_t i = 0; i < n; ++i) v.lane[i] = p[i];
    return v;
  }
  static void Store(float* p, V v) {
    for (int i = 0; i < 4; ++i) p[i] = v.lane[i];
  }
  static void StoreFirst(float* p, V v, Mask n) {
    for (int64_t i = 0; i < n; ++i) p[i] = v.lane[i];
  }
  // a · b + c with one rounding or two, whichever the compiler emits: the portable path does not
  // promise bit-equality with the FMA paths.
  static V Fma(V a, V b, V c) {
    V r;
    for (int i = 0; i < 4; ++i) r.lane[i] = a.lane[i] * b.lane[i] + c.lane[i];
    return r;
  }
  static V Mul(V a, V b) {
    V r;
    for (int i = 0; i < 4; ++i) r.lane[i] = a.lane[i] * b.lane[i];
    return r;
  }
  static V Add(V a, V b) {
    V r;
    for (int i = 0; i < 4; ++i) r.lane[i] = a.lane[i] + b.lane[i];
    return r;
  }
  // Math.max(0, x): NaN stays NaN (the comparison is false), −0 becomes +0 (the + 0.0f).
  static V Relu(V x) {
    V r;
    for (int i = 0; i < 4; ++i) r.lane[i] = (x.lane[i] < 0.0f ? 0.0f : x.lane[i]) + 0.0f;
    return r;
  }
};

using Tiles = GemmTiles<PortableVec, kRows, kCols>;

void PackA(const float* a, int64_t ld, bool transposed, int64_t mc, int64_t kc, float* out) {
  PackAGeneric<kRows>(a, ld, transposed, mc, kc, out);
}

void PackB(const float* b, int64_t ld, bool transposed, int64_t kc, int64_t nc, float* out) {
  PackBGeneric<kCols>(b, ld, transposed, kc, nc, out);
}

}  // namespace

const IsaKernels& PortableKernels() {
  static const IsaKernels kernels{simd::Isa::kPortable, kRows, kCols, &PackA, &PackB,
                                  &Tiles::RunBlock};
  return kernels;
}

}  // namespace superlora::gemm::detail
