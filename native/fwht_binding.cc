#include "fwht_binding.h"

#include "args.h"
#include "kernels/fwht.h"

namespace superlora {
namespace {

Napi::Value Fwht(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array data = args::RequireFloat32Array(info, 0, "data");
  const size_t size = args::RequirePowerOfTwo(info, 1, "size");
  args::RequireLengthMultipleOf(env, data.ElementLength(), "data", size, "size");
  kernels::FwhtInPlace(data.Data(), data.ElementLength(), size);
  return env.Undefined();
}

}  // namespace

void RegisterFwht(Napi::Env env, Napi::Object exports) {
  exports.Set("fwht", Napi::Function::New(env, Fwht, "fwht"));
}

}  // namespace superlora
