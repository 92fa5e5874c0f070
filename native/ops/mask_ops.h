// The elementwise kernels of a clipped activation's forward and backward (ReLU6 is
// clipByValue(relu(x), 0, 6), whose gradient is dy where min ≤ x ≤ max, else 0): clipping,
// comparisons into tfjs's bool tensors (one byte, 0 or 1), logical and, and select. Each computes
// what tfjs's cpu kernel of the same name computes, bit for bit: comparisons as JavaScript's
// (NaN compares false, except ≠; −0 equals +0). An operand of one element broadcasts; otherwise
// operands have the output's length. Large inputs are spread over the thread pool.
#pragma once

#include <cstdint>

namespace superlora::ops {

enum class CompareOp : int {
  kGreater = 0,
  kGreaterEqual = 1,
  kLess = 2,
  kLessEqual = 3,
  kEqual = 4,
  kNotEqual = 5,
};

// out[i] = a[i or 0] op b[i or 0] ? 1 : 0 for i < n; a_length and b_length are n or 1.
void Compare(CompareOp op, const float* a, int64_t a_length, const float* b, int64_t b_length,
             uint8_t* out, int64_t n);

// out[i] = a[i or 0] && b[i or 0] (JavaScript's: a ? b : a) for i < n.
void LogicalAnd(const uint8_t* a, int64_t a_length, const uint8_t* b, int64_t b_length,
                uint8_t* out, int64_t n);

// out[i] = condition[i] == 1 ? a[i] : b[i] for i < n (tfjs's Select on equal shapes).
void Select(const uint8_t* condition, const float* a, const float* b, float* out, int64_t n);

// tfjs's ClipByValue: out[i] = x > max ? max : (x < min ? min : x), NaN staying NaN; min and max
// are compared as doubles (JavaScript numbers) and stored rounded to float32.
void ClipByValue(const float* x, double min, double max, float* out, int64_t n);

// tfjs's ClipByValue gradient, select(logicalAnd(x ≥ min, x ≤ max), dy, zerosLike(dy)), in one
// pass: out[i] = min ≤ x[i] ≤ max ? dy[i] : 0, with min and max rounded to float32 as tfjs's
// scalar tensors of them are (NaN compares false).
void ClipByValueBackward(const float* x, const float* dy, double min, double max, float* out,
                         int64_t n);

// tfjs's Relu gradient, dy · step(x), in one pass: dy where x > 0, dy · 0 where x ≤ 0 (±0, or NaN
// for an infinite or NaN dy), NaN where x is NaN.
void ReluBackward(const float* x, const float* dy, float* out, int64_t n);

}  // namespace superlora::ops
