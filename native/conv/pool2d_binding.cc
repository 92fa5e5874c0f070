#include "pool2d_binding.h"

#include <string>

#include "../args.h"
#include "geometry_args.h"
#include "pool2d.h"

namespace superlora {
namespace {

using args::RequireDisjoint;
using conv::RequireGeometry;
using conv::RequireLength;

// The geometry of a pooling: a convolution's with as many output channels as input channels.
conv::Conv2dGeometry RequirePoolGeometry(const Napi::CallbackInfo& info, size_t index) {
  const conv::Conv2dGeometry g = RequireGeometry(info, index);
  if (g.out_c != g.in_c) {
    throw Napi::RangeError::New(info.Env(), "Expected geometry.outChannels to equal inChannels (" +
                                                std::to_string(g.in_c) + ") but received " +
                                                std::to_string(g.out_c));
  }
  return g;
}

// maxPool(x, out, geometry)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 1, "out");
  const conv::Conv2dGeometry g = RequirePoolGeometry(info, 2);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, out, "out", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireDisjoint(env, out, "out", x, "x");
  conv::MaxPoolForward(g, x.Data(), out.Data());
  return env.Undefined();
}

// maxPoolBackward(dy, x, dx, geometry)
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 2, "dx");
  const conv::Conv2dGeometry g = RequirePoolGeometry(info, 3);
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, dx, "dx", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireDisjoint(env, dx, "dx", dy, "dy");
  RequireDisjoint(env, dx, "dx", x, "x");
  conv::MaxPoolBackward(g, x.Data(), dy.Data(), dx.Data());
  return env.Undefined();
}

// avgPool(x, out, geometry)
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 1, "out");
  const conv::Conv2dGeometry g = RequirePoolGeometry(info, 2);
  RequireLength(env, x, "x", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireLength(env, out, "out", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireDisjoint(env, out, "out", x, "x");
  conv::AvgPoolForward(g, x.Data(), out.Data());
  return env.Undefined();
}

// avgPoolBackward(dy, dx, geometry)
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 1, "dx");
  const conv::Conv2dGeometry g = RequirePoolGeometry(info, 2);
  RequireLength(env, dy, "dy", g.OutputSize(), "batch · outHeight · outWidth · outChannels");
  RequireLength(env, dx, "dx", g.InputSize(), "batch · inHeight · inWidth · inChannels");
  RequireDisjoint(env, dx, "dx", dy, "dy");
  conv::AvgPoolBackward(g, dy.Data(), dx.Data());
  return env.Undefined();
}

}  // namespace

void RegisterPool2d(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool", Napi::Function::New(env, MaxPool, "maxPool"));
  exports.Set("maxPoolBackward", Napi::Function::New(env, MaxPoolBackward, "maxPoolBackward"));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool, "avgPool"));
  exports.Set("avgPoolBackward", Napi::Function::New(env, AvgPoolBackward, "avgPoolBackward"));
}

}  // namespace superlora
