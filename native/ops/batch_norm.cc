#include "batch_norm.h"

#include <algorithm>
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

namespace {

// Row segments of the parameters' sums at most: a fixed count, not one per thread.
constexpr int64_t kSegments = 16;
// Floats a segment covers at least (fewer segments for a small input).
constexpr int64_t kSegmentFloats = int64_t{1} << 14;

// tfjs's rsqrt(add(variance, scalar(ε))): the float32 sum, then 1/√ in double rounded to float32.
std::vector<float> ReciprocalRoots(const float* variance, int64_t channels, double epsilon) {
  const auto epsilon_float = static_cast<float>(epsilon);
  std::vector<float> roots(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const float sum = variance[c] + epsilon_float;
    roots[static_cast<size_t>(c)] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(sum)));
  }
  return roots;
}

}  // namespace

void BatchNormInputBackward(const float* dy, int64_t rows, int64_t channels, const float* variance,
                            const float* scale, double epsilon, float* dx) {
  const std::vector<float> roots = ReciprocalRoots(variance, channels, epsilon);
  detail::ForRows(rows, channels, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* dy_row = dy + row * channels;
      float* dx_row = dx + row * channels;
      if (scale == nullptr) {
        for (int64_t c = 0; c < channels; ++c) dx_row[c] = dy_row[c] * roots[c];
      } else {
        for (int64_t c = 0; c < channels; ++c) {
          const float scaled = dy_row[c] * roots[c];
          dx_row[c] = scaled * scale[c];
        }
      }
    }
  });
}

void BatchNormParamsBackward(const float* x, const float* dy, int64_t rows, int64_t channels,
                             const float* mean, const float* variance, const float* scale,
                             double epsilon, float* out) {
  const int64_t segments = std::clamp<int64_t>(rows * channels / kSegmentFloats, 1, kSegments);
  const int64_t per_segment = (rows + segments - 1) / segments;
  // Per segment: Σ dy, then Σ (x − mean) · dy, channel by channel.
  std::vector<double> partial(static_cast<size_t>(segments * 2 * channels));
  const auto sum_segment = [&](int64_t segment) {
    // Summed in a buffer of the task's own and copied out at the end: neighbouring segments'
    // sums share a cache line, which two threads adding into it row by row would pass back and
    // forth.
    std::vector<double> own(static_cast<size_t>(2 * channels), 0.0);
    double* dy_sum = own.data();
    double* product_sum = dy_sum + channels;
    const int64_t end = std::min(rows, (segment + 1) * per_segment);
    for (int64_t row = segment * per_segment; row < end; ++row) {
      const float* x_row = x + row * channels;
      const float* dy_row = dy + row * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const double gradient = dy_row[c];
        dy_sum[c] += gradient;
        product_sum[c] += (static_cast<double>(x_row[c]) - mean[c]) * gradient;
      }
    }
    std::copy(own.begin(), own.end(), partial.begin() + segment * 2 * channels);
  };
  parallel::ThreadPool::Instance().Run(segments,
                                       [&](int64_t segment, int) { sum_segment(segment); });
  const std::vector<float> roots = ReciprocalRoots(variance, channels, epsilon);
  for (int64_t c = 0; c < channels; ++c) {
    double dy_sum = 0.0;
    double product_sum = 0.0;
    for (int64_t segment = 0; segment < segments; ++segment) {
      dy_sum += partial[static_cast<size_t>(segment * 2 * channels + c)];
      product_sum += partial[static_cast<size_t>(segment * 2 * channels + channels + c)];
    }
    const double r = roots[static_cast<size_t>(c)];
    const double s = scale == nullptr ? 1.0 : scale[c];
    out[c] = static_cast<float>(-r * s * dy_sum);
    out[channels + c] = static_cast<float>(-0.5 * r * r * r * s * product_sum);
    out[2 * channels + c] = static_cast<float>(r * product_sum);
    out[3 * channels + c] = static_cast<float>(dy_sum);
  }
}

}  // namespace superlora::ops
