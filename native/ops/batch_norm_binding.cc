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

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
}

}  // namespace superlora
