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

}  // namespace superlora::ops
