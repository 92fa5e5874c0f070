#include "batch_norm.h"

#include <cmath>
#include <vector>

#include "ops_kernels.h"

namespace superlora::ops {

void BatchNorm(const float* x, int64_t rows, int64_t channels, const BatchNormParams& params,
               double epsilon, float* out) {
  // Per channel, as doubles: the parameters the element loop reads, and √(variance + ε), which
  // JavaScript computes per element to the same value.
  const auto widen = [&](const BatchNormParam& param, double absent) {
    std::vector<double> values(static_cast<size_t>(channels), absent);
    if (param.values == nullptr) return values;
    for (int64_t c = 0; c < channels; ++c) {
      values[static_cast<size_t>(c)] = param.values[param.length == 1 ? 0 : c];
    }
    return values;
  };
  const std::vector<double> mean = widen(params.mean, 0.0);
  const std::vector<double> scale = widen(params.scale, 1.0);
  const std::vector<double> offset = widen(params.offset, 0.0);
  std::vector<double> root = widen(params.variance, 0.0);
  for (double& value : root) value = std::sqrt(value + epsilon);

  detail::ForRows(rows, channels, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* x_row = x + row * channels;
      float* out_row = out + row * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const double value = offset[c] + (x_row[c] - mean[c]) * scale[c] / root[c];
        out_row[c] = static_cast<float>(value);
      }
    }
  });
}

}  // namespace superlora::ops
