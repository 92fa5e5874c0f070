#include "conv2d_binding.h"

#include <string>

#include "../args.h"
#include "conv2d.h"
#include "depthwise_conv2d.h"
#include "geometry_args.h"

namespace superlora {
namespace {

using args::RequireDisjoint;
using conv::RequireGeometry;
using conv::RequireLength;

// conv2d(x, filter, bias | null, out, geometry, activation): activation 0 linear, 1 relu.
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array filter = args::RequireFloat32Array(info, 1, "filter");
  const bool has_bias = !info[2].IsNull() && !info[2].IsUndefined();
  Napi::Float32Array bias =
      has_bias ? args::RequireFloat32Array(info, 2, "bias") : Napi::Float32Array::New(env, 0);
  Napi::Float32Array out = args::RequireFloat32Array(info, 3, "out");
  const conv::Conv2dGeometry g = RequireGeometry(info, 4);
  const int64_t activation = args::RequireIntegerInRange(info, 5, "activation", 0, 1);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, filter, "filter", g.FilterSize(),
                "filterHeight · filterWidth · inChannels · outChannels");
  if (has_bias) RequireLength(env, bias, "bias", g.out_c, "outChannels");
  RequireLength(env, out, "out", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireDisjoint(env, out, "out", x, "x");
  RequireDisjoint(env, out, "out", filter, "filter");
  if (has_bias) RequireDisjoint(env, out, "out", bias, "bias");
  conv::Conv2dForward(g, x.Data(), filter.Data(), has_bias ? bias.Data() : nullptr,
                      static_cast<gemm::Activation>(activation), out.Data());
  return env.Undefined();
}

// conv2dBackpropInput(dy, filter, dx, geometry)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array filter = args::RequireFloat32Array(info, 1, "filter");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 2, "dx");
  const conv::Conv2dGeometry g = RequireGeometry(info, 3);
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, filter, "filter", g.FilterSize(),
                "filterHeight · filterWidth · inChannels · outChannels");
  RequireLength(env, dx, "dx", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireDisjoint(env, dx, "dx", dy, "dy");
  RequireDisjoint(env, dx, "dx", filter, "filter");
  conv::Conv2dBackpropInput(g, dy.Data(), filter.Data(), dx.Data());
  return env.Undefined();
}

// conv2dBackpropFilter(x, dy, dfilter, geometry)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array dy = args::RequireFloat32Array(info, 1, "dy");
  Napi::Float32Array dfilter = args::RequireFloat32Array(info, 2, "dfilter");
  const conv::Conv2dGeometry g = RequireGeometry(info, 3);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, dfilter, "dfilter", g.FilterSize(),
                "filterHeight · filterWidth · inChannels · outChannels");
  RequireDisjoint(env, dfilter, "dfilter", x, "x");
  RequireDisjoint(env, dfilter, "dfilter", dy, "dy");
  conv::Conv2dBackpropFilter(g, x.Data(), dy.Data(), dfilter.Data());
  return env.Undefined();
}

// A depthwise convolution's geometry (outChannels a multiple of inChannels) and its filter's
// length, filterHeight · filterWidth · outChannels.
conv::Conv2dGeometry RequireDepthwiseGeometry(const Napi::CallbackInfo& info, size_t index) {
  const conv::Conv2dGeometry g = RequireGeometry(info, index);
  if (g.out_c % g.in_c != 0) {
    throw Napi::RangeError::New(
        info.Env(), "Expected geometry.outChannels to be a multiple of inChannels (" +
                        std::to_string(g.in_c) + ") but received " + std::to_string(g.out_c));
  }
  return g;
}

constexpr const char* kDepthwiseFilter = "filterHeight · filterWidth · outChannels";

int64_t DepthwiseFilterSize(const conv::Conv2dGeometry& g) {
  return g.filter_h * g.filter_w * g.out_c;
}

// depthwiseConv2d(x, filter, bias | null, out, geometry, activation)
Napi::Value DepthwiseConv2d(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array filter = args::RequireFloat32Array(info, 1, "filter");
  const bool has_bias = !info[2].IsNull() && !info[2].IsUndefined();
  Napi::Float32Array bias =
      has_bias ? args::RequireFloat32Array(info, 2, "bias") : Napi::Float32Array::New(env, 0);
  Napi::Float32Array out = args::RequireFloat32Array(info, 3, "out");
  const conv::Conv2dGeometry g = RequireDepthwiseGeometry(info, 4);
  const int64_t activation = args::RequireIntegerInRange(info, 5, "activation", 0, 1);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, filter, "filter", DepthwiseFilterSize(g), kDepthwiseFilter);
  if (has_bias) RequireLength(env, bias, "bias", g.out_c, "outChannels");
  RequireLength(env, out, "out", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireDisjoint(env, out, "out", x, "x");
  RequireDisjoint(env, out, "out", filter, "filter");
  if (has_bias) RequireDisjoint(env, out, "out", bias, "bias");
  conv::DepthwiseConv2dForward(g, x.Data(), filter.Data(), has_bias ? bias.Data() : nullptr,
                               static_cast<gemm::Activation>(activation), out.Data());
  return env.Undefined();
}

// depthwiseConv2dBackpropInput(dy, filter, dx, geometry)
Napi::Value DepthwiseConv2dBackpropInput(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array filter = args::RequireFloat32Array(info, 1, "filter");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 2, "dx");
  const conv::Conv2dGeometry g = RequireDepthwiseGeometry(info, 3);
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, filter, "filter", DepthwiseFilterSize(g), kDepthwiseFilter);
  RequireLength(env, dx, "dx", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireDisjoint(env, dx, "dx", dy, "dy");
  RequireDisjoint(env, dx, "dx", filter, "filter");
  conv::DepthwiseConv2dBackpropInput(g, dy.Data(), filter.Data(), dx.Data());
  return env.Undefined();
}

// depthwiseConv2dBackpropFilter(x, dy, dfilter, geometry)
Napi::Value DepthwiseConv2dBackpropFilter(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array dy = args::RequireFloat32Array(info, 1, "dy");
  Napi::Float32Array dfilter = args::RequireFloat32Array(info, 2, "dfilter");
  const conv::Conv2dGeometry g = RequireDepthwiseGeometry(info, 3);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, dfilter, "dfilter", DepthwiseFilterSize(g), kDepthwiseFilter);
  RequireDisjoint(env, dfilter, "dfilter", x, "x");
  RequireDisjoint(env, dfilter, "dfilter", dy, "dy");
  conv::DepthwiseConv2dBackpropFilter(g, x.Data(), dy.Data(), dfilter.Data());
  return env.Undefined();
}

}  // namespace

void RegisterConv2d(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("conv2dBackpropInput",
              Napi::Function::New(env, Conv2dBackpropInput, "conv2dBackpropInput"));
  exports.Set("conv2dBackpropFilter",
              Napi::Function::New(env, Conv2dBackpropFilter, "conv2dBackpropFilter"));
  exports.Set("depthwiseConv2d", Napi::Function::New(env, DepthwiseConv2d, "depthwiseConv2d"));
  exports.Set("depthwiseConv2dBackpropInput", Napi::Function::New(env, DepthwiseConv2dBackpropInput,
                                                                  "depthwiseConv2dBackpropInput"));
  exports.Set(
      "depthwiseConv2dBackpropFilter",
      Napi::Function::New(env, DepthwiseConv2dBackpropFilter, "depthwiseConv2dBackpropFilter"));
}

}  // namespace superlora
