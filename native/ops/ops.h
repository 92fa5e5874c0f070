// Elementwise, reduction and layout kernels behind the native tfjs cpu-backend kernels
// (src/tfjs/kernels/). Each computes, element for element, what the tfjs cpu kernel of the same
// name computes on float32 tensors:
//  - + − × ÷, negation, |x|, x², 1/x, max/min, relu and step in float32: tfjs evaluates them in
//  double
//    and stores to a Float32Array, which rounds to the same float (for these operations the double
//    result rounds to the correctly rounded float result), so the outputs are bit-identical;
//  - exp, erf (tfjs's own Abramowitz–Stegun formula, not a more exact one), sigmoid, sqrt and
//    rsqrt in double, rounded once to float32, as tfjs's Math.* calls are;
//  - sums in double, as tfjs's reductions accumulate in a JS number;
//  - NaN, ±Infinity and signed zeros as JavaScript's Math.max / Math.min / comparisons treat them.
// Large inputs are spread over the thread pool (inline inside a pool job).
#pragma once

#include <cstdint>

#include "../simd/isa.h"

namespace superlora::ops {

enum class UnaryOp : int {
  kNeg = 0,
  kAbs = 1,
  kSquare = 2,
  kRelu = 3,        // Math.max(0, x)
  kReciprocal = 4,  // 1 / x
  kSqrt = 5,
  kRsqrt = 6,  // 1 / Math.sqrt(x)
  kExp = 7,
  kErf = 8,      // tfjs's erf: Abramowitz–Stegun 7.1.26
  kSigmoid = 9,  // 1 / (1 + Math.exp(−x))
  kStep = 10,    // tfjs's Step with alpha 0: x > 0 ? 1 : 0, NaN stays NaN (ReLU's gradient mask)
};

enum class BinaryOp : int {
  kAdd = 0,
  kSub = 1,
  kMul = 2,
  kDiv = 3,
  kMaximum = 4,            // Math.max(a, b)
  kMinimum = 5,            // Math.min(a, b)
  kSquaredDifference = 6,  // (a − b)², in double
  kPow = 7,                // Math.pow(a, b), in double
};

enum class ReduceOp : int {
  kSum = 0,
  kMean = 1,  // Σ (x / count), each quotient rounded to float32 first, as tfjs's Mean
  kMax = 2,   // NaN if any element is NaN; otherwise the first maximal element (so −0 vs +0 too)
  kMin = 3,
};

// Tensors of up to this many dimensions (tfjs supports up to 6 in most kernels).
constexpr int kMaxRank = 8;

// Every function takes the instruction set to use last (lowered to what the CPU supports); tests
// compare them, everything else uses the default.

// out[i] = op(x[i]) for i < n. out may equal x.
void Unary(UnaryOp op, const float* x, float* out, int64_t n, simd::Isa isa = simd::ActiveIsa());

// out (row-major, `shape` of `rank` dims) = op(a, b), where the element at index (i_0, ...) of a is
// a[Σ i_d · a_strides[d]] (stride 0 along broadcast dimensions), and likewise for b.
void Binary(BinaryOp op, const float* a, const int64_t* a_strides, const float* b,
            const int64_t* b_strides, float* out, const int64_t* shape, int rank,
            simd::Isa isa = simd::ActiveIsa());

// x viewed as [outer, size, inner] (size ≥ 1); out [outer, inner] = op over the middle axis.
void Reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t size, int64_t inner,
            simd::Isa isa = simd::ActiveIsa());

// out = x with its dimensions permuted: out dimension d is x dimension perm[d]. Bit copies, so any
// 4-byte element type works.
void Transpose(const float* x, float* out, const int64_t* shape, const int* perm, int rank);

// Copies the box of extent `size` at src_begin of src (shape src_shape) to dst_begin of dst
// (shape dst_shape), all row-major with `rank` dimensions: the core of slice, pad and concat.
// Rows that stay contiguous in both move as one memcpy. Bit copies, so any 4-byte element works.
void CopyBox(const float* src, const int64_t* src_shape, const int64_t* src_begin, float* dst,
             const int64_t* dst_shape, const int64_t* dst_begin, const int64_t* size, int rank);

// Softmax over the last axis of x [rows, cols], as tfjs's cpu kernel composes it: m = max, then
// e = exp(x − m) (the difference rounded to float32), s = Σ e (in double, rounded), out = e / s.
void Softmax(const float* x, float* out, int64_t rows, int64_t cols,
             simd::Isa isa = simd::ActiveIsa());

}  // namespace superlora::ops
