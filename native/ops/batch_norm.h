// tfjs's FusedBatchNorm (tf.batchNorm; Layers' batchNormalization in training and inference) on
// x viewed as [rows, channels]: out = offset + (x − mean) · scale / √(variance + ε), evaluated in
// double as tfjs's cpu kernel evaluates it in JavaScript and rounded to float32, so the result is
// that kernel's bit for bit. Large inputs are spread over the thread pool.
#pragma once

#include <cstdint>

namespace superlora::ops {

// One parameter of the normalisation: `length` values, `channels` of them or one (it broadcasts);
// values == nullptr stands for tfjs's default when scale or offset is absent.
struct BatchNormParam {
  const float* values;
  int64_t length;
};

struct BatchNormParams {
  BatchNormParam mean;
  BatchNormParam variance;
  BatchNormParam scale;   // absent: 1
  BatchNormParam offset;  // absent: 0
};

void BatchNorm(const float* x, int64_t rows, int64_t channels, const BatchNormParams& params,
               double epsilon, float* out);

// The gradient of FusedBatchNorm with parameters of `channels` values each (tfjs's gradient,
// src/gradients/FusedBatchNorm_grad.ts, as one pass rather than about a dozen tensor operations),
// with r = 1/√(variance + ε) per channel, rounded to float32 as tfjs rounds its rsqrt of the
// float32 sum, and s = scale (1 when scale is nullptr).

// dx = dy · r · s, multiplied in float32 in tfjs's order, so it is tfjs's gradient bit for bit.
void BatchNormInputBackward(const float* dy, int64_t rows, int64_t channels, const float* variance,
                            const float* scale, double epsilon, float* dx);

// The parameters' gradients summed over the rows, into out [4 · channels]:
//   [0, C)   mean:     −r · s · Σ dy
//   [C, 2C)  variance: −½ r³ · s · Σ (x − mean) · dy
//   [2C, 3C) scale:    r · Σ (x − mean) · dy
//   [3C, 4C) offset:   Σ dy
// The sums run in double over a fixed number of row segments, combined in order: the same floats
// on any thread count.
void BatchNormParamsBackward(const float* x, const float* dy, int64_t rows, int64_t channels,
                             const float* mean, const float* variance, const float* scale,
                             double epsilon, float* out);

}  // namespace superlora::ops
