#include "geometry_args.h"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

#include "../args.h"

namespace superlora::conv {
namespace {

// Sizes beyond this are typos; it keeps every product of two sizes far below 2^63.
constexpr int64_t kMaxDim = int64_t{1} << 31;
// And tensors beyond this many elements: no array holds them, and it keeps the element counts
// exact in int64.
constexpr double kMaxElements = 281474976710656.0;  // 2^48

// The geometry as a Float64Array of 15 integers, in Conv2dGeometry's field order.
constexpr const char* kFields[] = {"batch",         "inHeight",     "inWidth",     "inChannels",
                                   "outHeight",     "outWidth",     "outChannels", "filterHeight",
                                   "filterWidth",   "strideHeight", "strideWidth", "dilationHeight",
                                   "dilationWidth", "padTop",       "padLeft"};
constexpr size_t kFieldCount = sizeof(kFields) / sizeof(kFields[0]);

}  // namespace

Conv2dGeometry RequireGeometry(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Env env = info.Env();
  Napi::Float64Array array = args::RequireFloat64Array(info, index, "geometry");
  if (array.ElementLength() != kFieldCount) {
    throw Napi::RangeError::New(env, "Expected geometry to have " + std::to_string(kFieldCount) +
                                         " values but received " +
                                         std::to_string(array.ElementLength()));
  }
  int64_t values[kFieldCount];
  for (size_t i = 0; i < kFieldCount; ++i) {
    const double value = array[i];
    // Padding may be negative (tfjs never makes it so, but a tap outside the input reads 0);
    // sizes are ≥ 1 except the batch and the output's spatial sizes, which may be 0.
    const bool is_pad = i >= 13;
    const bool may_be_zero = i == 0 || i == 4 || i == 5;
    const double min = is_pad ? -static_cast<double>(kMaxDim) : (may_be_zero ? 0.0 : 1.0);
    if (!std::isfinite(value) || std::floor(value) != value || value < min ||
        value > static_cast<double>(kMaxDim)) {
      std::ostringstream message;
      message << std::setprecision(17) << "Expected an integer in [" << static_cast<int64_t>(min)
              << ", " << kMaxDim << "] for geometry." << kFields[i] << " but received " << value;
      throw Napi::RangeError::New(env, message.str());
    }
    values[i] = static_cast<int64_t>(value);
  }
  Conv2dGeometry g;
  int64_t* fields[] = {&g.batch,    &g.in_h,       &g.in_w,       &g.in_c,     &g.out_h,
                       &g.out_w,    &g.out_c,      &g.filter_h,   &g.filter_w, &g.stride_h,
                       &g.stride_w, &g.dilation_h, &g.dilation_w, &g.pad_top,  &g.pad_left};
  for (size_t i = 0; i < kFieldCount; ++i) *fields[i] = values[i];
  // The tensors' element counts, in double so that a product of typos cannot overflow.
  const double sizes[] = {static_cast<double>(g.batch) * g.in_h * g.in_w * g.in_c,
                          static_cast<double>(g.batch) * g.out_h * g.out_w * g.out_c,
                          static_cast<double>(g.filter_h) * g.filter_w * g.in_c * g.out_c};
  const char* const tensors[] = {"input", "output", "filter"};
  for (size_t i = 0; i < 3; ++i) {
    if (sizes[i] > kMaxElements) {
      std::ostringstream message;
      message << std::setprecision(17) << "Expected the geometry's " << tensors[i]
              << " to have at most 2^48 elements but it has " << sizes[i];
      throw Napi::RangeError::New(env, message.str());
    }
  }
  return g;
}

void RequireLength(const Napi::Env& env, const Napi::Float32Array& array, const char* name,
                   int64_t expected, const char* what) {
  if (static_cast<int64_t>(array.ElementLength()) != expected) {
    throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " + what +
                                         " = " + std::to_string(expected) + " but received " +
                                         std::to_string(array.ElementLength()));
  }
}

}  // namespace superlora::conv
