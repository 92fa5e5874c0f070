#include "rng_binding.h"

#include <cstdint>

#include "args.h"
#include "rng.h"

namespace superlora {
namespace {

constexpr int64_t kMaxUint32 = 4294967295;
// The hooks allocate what they return; a cap keeps a typo from asking for terabytes. Permutation
// lengths go up to the largest ΔW_all a plan allows (2^31 − 1).
constexpr int64_t kMaxTableLength = 2147483647;

uint32_t RequireSeed(const Napi::CallbackInfo& info, size_t index, const char* name) {
  return static_cast<uint32_t>(args::RequireIntegerInRange(info, index, name, 0, kMaxUint32));
}

// nativeDraws(seed, tag, count) → BigUint64Array of the first `count` draws of the stream.
Napi::Value Draws(const Napi::CallbackInfo& info) {
  const uint32_t seed = RequireSeed(info, 0, "seed");
  const uint32_t tag = RequireSeed(info, 1, "tag");
  const int64_t count = args::RequireIntegerInRange(info, 2, "count", 0, 1 << 24);
  auto draws = Napi::TypedArrayOf<uint64_t>::New(info.Env(), static_cast<size_t>(count),
                                                 napi_biguint64_array);
  rng::SplitMix64 stream(seed, tag);
  for (int64_t i = 0; i < count; ++i) draws[static_cast<size_t>(i)] = stream.Next();
  return draws;
}

// nativeTables(seed, size) → { signs, perm, gaussians } for fastfood size `size`.
Napi::Value Tables(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const uint32_t seed = RequireSeed(info, 0, "seed");
  const int64_t size = args::RequireIntegerInRange(info, 1, "size", 0, kMaxTableLength);
  const size_t length = static_cast<size_t>(size);
  Napi::Float32Array signs = Napi::Float32Array::New(env, length);
  Napi::Int32Array perm = Napi::Int32Array::New(env, length);
  Napi::Float32Array gaussians = Napi::Float32Array::New(env, length);
  rng::FastfoodSigns(seed, size, signs.Data());
  rng::SeededPermutation(seed, rng::kPermutation, size, perm.Data());
  rng::FastfoodGaussians(seed, size, gaussians.Data());
  Napi::Object tables = Napi::Object::New(env);
  tables.Set("signs", signs);
  tables.Set("perm", perm);
  tables.Set("gaussians", gaussians);
  return tables;
}

// nativePermutation(seed, tag, length) → Int32Array.
Napi::Value Permutation(const Napi::CallbackInfo& info) {
  const uint32_t seed = RequireSeed(info, 0, "seed");
  const uint32_t tag = RequireSeed(info, 1, "tag");
  const int64_t length = args::RequireIntegerInRange(info, 2, "length", 0, kMaxTableLength);
  Napi::Int32Array perm = Napi::Int32Array::New(info.Env(), static_cast<size_t>(length));
  rng::SeededPermutation(seed, tag, length, perm.Data());
  return perm;
}

}  // namespace

void RegisterRng(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeDraws", Napi::Function::New(env, Draws, "nativeDraws"));
  exports.Set("nativeTables", Napi::Function::New(env, Tables, "nativeTables"));
  exports.Set("nativePermutation", Napi::Function::New(env, Permutation, "nativePermutation"));
}

}  // namespace superlora
