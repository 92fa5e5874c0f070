#include "fwht_binding.h"

#include <string>

#include "args.h"
#include "kernels/fwht.h"

namespace superlora {
namespace {

Napi::Value Fwht(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array data = args::RequireFloat32Array(info, 0, "data");
  const size_t size = args::RequirePowerOfTwo(info, 1, "size");
  args::RequireLengthMultipleOf(env, data.ElementLength(), "data", size, "size");
  const simd::Isa isa = OptionalIsaArgument(info, 2);
  kernels::FwhtInPlace(data.Data(), data.ElementLength(), size, isa);
  return env.Undefined();
}

}  // namespace

simd::Isa OptionalIsaArgument(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return simd::ActiveIsa();
  const Napi::Value value = info[index];
  const std::string expected = "Expected one of 'portable', 'avx2', 'avx512' for isa";
  if (!value.IsString()) {
    throw Napi::TypeError::New(info.Env(), expected + " but received " + args::Describe(value));
  }
  const std::string name = value.As<Napi::String>().Utf8Value();
  if (name == "portable") return simd::Isa::kPortable;
  if (name == "avx2") return simd::Isa::kAvx2;
  if (name == "avx512") return simd::Isa::kAvx512;
  throw Napi::RangeError::New(info.Env(), expected + " but received " + args::Describe(value));
}

void RegisterFwht(Napi::Env env, Napi::Object exports) {
  exports.Set("fwht", Napi::Function::New(env, Fwht, "fwht"));
}

}  // namespace superlora
