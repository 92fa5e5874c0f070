#include "batch_norm_binding.h"

#include <cstdint>
#include <limits>
#include <string>

#include "../args.h"
#include "batch_norm.h"

namespace superlora {
namespace {

// A parameter of `channels` values or one; optional ones may be null or undefined (absent).
ops::BatchNormParam RequireParam(const Napi::CallbackInfo& info, size_t index, const char* name,
                                 int64_t channels, const Napi::Float32Array& out, bool optional) {
  if (optional && (info[index].IsNull() || info[index].IsUndefined())) return {nullptr, 1};
  Napi::Float32Array values = args::RequireFloat32Array(info, index, name);
  const auto length = static_cast<int64_t>(values.ElementLength());
  if (length != channels && length != 1) {
    throw Napi::RangeError::New(
        info.Env(), std::string("Expected ") + name + ".length to be " + std::to_string(channels) +
                        " (channels) or 1 but received " + std::to_string(length));
  }
  args::RequireDisjoint(info.Env(), out, "out", values, name);
  return {values.Data(), length};
}

// batchNorm(x, channels, mean, variance, scale | null, offset | null, epsilon, out): out may be x.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  const int64_t channels =
      args::RequireIntegerInRange(info, 1, "channels", 1, std::numeric_limits<int32_t>::max());
  args::RequireLengthMultipleOf(env, x.ElementLength(), "x", static_cast<size_t>(channels),
                                "channels");
  Napi::Float32Array out = args::RequireFloat32Array(info, 7, "out");
  if (out.ElementLength() != x.ElementLength()) {
    throw Napi::RangeError::New(
        env, "Expected out.length to be x.length = " + std::to_string(x.ElementLength()) +
                 " but received " + std::to_string(out.ElementLength()));
  }
  if (out.Data() != x.Data()) args::RequireDisjoint(env, out, "out", x, "x");
  ops::BatchNormParams params;
  params.mean = RequireParam(info, 2, "mean", channels, out, false);
  params.variance = RequireParam(info, 3, "variance", channels, out, false);
  params.scale = RequireParam(info, 4, "scale", channels, out, true);
  params.offset = RequireParam(info, 5, "offset", channels, out, true);
  const double epsilon = args::RequireNumber(info, 6, "epsilon");
  const auto rows = static_cast<int64_t>(x.ElementLength()) / channels;
  ops::BatchNorm(x.Data(), rows, channels, params, epsilon, out.Data());
  return env.Undefined();
}

// A parameter of exactly `channels` values (the gradients' parameters do not broadcast); scale
// may be null or undefined (absent: 1), then nullptr.
const float* RequireChannelParam(const Napi::CallbackInfo& info, size_t index, const char* name,
                                 int64_t channels, const Napi::Float32Array& out, bool optional) {
  if (optional && (info[index].IsNull() || info[index].IsUndefined())) return nullptr;
  Napi::Float32Array values = args::RequireFloat32Array(info, index, name);
  if (static_cast<int64_t>(values.ElementLength()) != channels) {
    throw Napi::RangeError::New(
        info.Env(), std::string("Expected ") + name + ".length to be " + std::to_string(channels) +
                        " (channels) but received " + std::to_string(values.ElementLength()));
  }
  args::RequireDisjoint(info.Env(), out, "out", values, name);
  return values.Data();
}

void RequireLength(const Napi::Env& env, const Napi::Float32Array& array, const char* name,
                   size_t length, const char* what) {
  if (array.ElementLength() == length) return;
  throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " +
                                       std::to_string(length) + " (" + what + ") but received " +
                                       std::to_string(array.ElementLength()));
}

// batchNormInputBackward(dy, channels, variance, scale | null, epsilon, dx)
Napi::Value BatchNormInputBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  const int64_t channels =
      args::RequireIntegerInRange(info, 1, "channels", 1, std::numeric_limits<int32_t>::max());
  args::RequireLengthMultipleOf(env, dy.ElementLength(), "dy", static_cast<size_t>(channels),
                                "channels");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 5, "dx");
  RequireLength(env, dx, "dx", dy.ElementLength(), "dy.length");
  args::RequireDisjoint(env, dx, "dx", dy, "dy");
  const float* variance = RequireChannelParam(info, 2, "variance", channels, dx, false);
  const float* scale = RequireChannelParam(info, 3, "scale", channels, dx, true);
  const double epsilon = args::RequireNumber(info, 4, "epsilon");
  const auto rows = static_cast<int64_t>(dy.ElementLength()) / channels;
  ops::BatchNormInputBackward(dy.Data(), rows, channels, variance, scale, epsilon, dx.Data());
  return env.Undefined();
}

// batchNormParamsBackward(x, dy, channels, mean, variance, scale | null, epsilon, out): out holds
// the gradients of mean, variance, scale and offset, `channels` values each.
Napi::Value BatchNormParamsBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array dy = args::RequireFloat32Array(info, 1, "dy");
  const int64_t channels =
      args::RequireIntegerInRange(info, 2, "channels", 1, std::numeric_limits<int32_t>::max());
  args::RequireLengthMultipleOf(env, x.ElementLength(), "x", static_cast<size_t>(channels),
                                "channels");
  RequireLength(env, dy, "dy", x.ElementLength(), "x.length");
  Napi::Float32Array out = args::RequireFloat32Array(info, 7, "out");
  RequireLength(env, out, "out", static_cast<size_t>(4 * channels), "4 · channels");
  args::RequireDisjoint(env, out, "out", x, "x");
  args::RequireDisjoint(env, out, "out", dy, "dy");
  const float* mean = RequireChannelParam(info, 3, "mean", channels, out, false);
  const float* variance = RequireChannelParam(info, 4, "variance", channels, out, false);
  const float* scale = RequireChannelParam(info, 5, "scale", channels, out, true);
  const double epsilon = args::RequireNumber(info, 6, "epsilon");
  const auto rows = static_cast<int64_t>(x.ElementLength()) / channels;
  ops::BatchNormParamsBackward(x.Data(), dy.Data(), rows, channels, mean, variance, scale, epsilon,
                               out.Data());
  return env.Undefined();
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("batchNormInputBackward",
              Napi::Function::New(env, BatchNormInputBackward, "batchNormInputBackward"));
  exports.Set("batchNormParamsBackward",
              Napi::Function::New(env, BatchNormParamsBackward, "batchNormParamsBackward"));
}

}  // namespace superlora
