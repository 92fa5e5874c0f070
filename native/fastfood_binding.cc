#include "fastfood_binding.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "engine/aligned_buffer.h"
#include "fwht_binding.h"
#include "kernels/fastfood.h"

namespace superlora {
namespace {

// π is an Int32Array, so L < 2^31; 2^30 keeps 2 · L floats of scratch addressable everywhere.
constexpr size_t kMaxTableSize = size_t{1} << 30;

Napi::Int32Array RequireInt32Array(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected Int32Array for ") + name +
                                               " but received " + args::Describe(value));
  }
  Napi::Int32Array array = value.As<Napi::Int32Array>();
  if (array.ArrayBuffer().IsDetached()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected Int32Array for ") + name +
                                               " but received one whose buffer is detached");
  }
  return array;
}

float RequireFiniteNumber(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + name +
                                               " but received " + args::Describe(value));
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) {
    throw Napi::RangeError::New(info.Env(), std::string("Expected a finite number for ") + name +
                                                " but received " + args::Describe(value));
  }
  return static_cast<float>(number);
}

void RequireLength(const Napi::Env& env, size_t length, const char* name, size_t expected,
                   const std::string& why) {
  if (length != expected) {
    throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " +
                                         std::to_string(expected) + " (" + why +
                                         ") but received length " + std::to_string(length));
  }
}

// The tables (arguments 0–2), checked against each other; the view points into the arrays.
struct Tables {
  kernels::FastfoodTable view;
  size_t size;
};

Tables RequireTables(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array signs = args::RequireFloat32Array(info, 0, "signs");
  Napi::Int32Array perm = RequireInt32Array(info, 1, "perm");
  Napi::Float32Array gaussians = args::RequireFloat32Array(info, 2, "gaussians");
  const size_t size = signs.ElementLength();
  if (size == 0 || (size & (size - 1)) != 0 || size > kMaxTableSize) {
    throw Napi::RangeError::New(
        env,
        "Expected signs.length to be a power of two in [1, 2^30] (the fastfood size L) but "
        "received length " +
            std::to_string(size));
  }
  RequireLength(env, perm.ElementLength(), "perm", size, "L, from signs");
  RequireLength(env, gaussians.ElementLength(), "gaussians", size, "L, from signs");
  // Out-of-range or repeated entries would not crash the kernels (indices are masked), but they
  // would silently compute something else than SPEC §7.
  std::vector<bool> seen(size, false);
  const int32_t* entries = perm.Data();
  for (size_t i = 0; i < size; ++i) {
    const int32_t entry = entries[i];
    if (entry < 0 || static_cast<size_t>(entry) >= size || seen[static_cast<size_t>(entry)]) {
      throw Napi::RangeError::New(env, "Expected perm to be a permutation of [0, " +
                                           std::to_string(size) + ") but perm[" +
                                           std::to_string(i) + "] is " + std::to_string(entry));
    }
    seen[static_cast<size_t>(entry)] = true;
  }
  double sum_sq = 0;
  for (size_t i = 0; i < size; ++i) sum_sq += static_cast<double>(gaussians[i]) * gaussians[i];
  Tables tables;
  tables.size = size;
  tables.view = kernels::FastfoodTable{static_cast<int64_t>(size), signs.Data(), perm.Data(),
                                       gaussians.Data(), sum_sq};
  return tables;
}

// n (L/2 < n ≤ L) and m (1 ≤ m ≤ n) at their argument positions.
void RequireSizes(const Napi::CallbackInfo& info, size_t size, size_t n_index, size_t m_index,
                  int64_t& n, int64_t& m) {
  const int64_t length = static_cast<int64_t>(size);
  n = args::RequireIntegerInRange(info, n_index, "n", length / 2 + 1, length);
  m = args::RequireIntegerInRange(info, m_index, "m", 1, n);
}

// The kernels' 2 · L floats of scratch, 64-byte aligned, kept between calls on this thread:
// allocating and faulting in up to 128 MiB per call would cost more than the transform itself.
float* Scratch(size_t size) {
  thread_local engine::AlignedBuffer buffer;
  const auto floats = static_cast<int64_t>(kernels::FastfoodScratchFloats(size));
  if (buffer.Size() < floats) buffer.Resize(floats);
  return buffer.Data();
}

Napi::Value FastfoodForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Tables tables = RequireTables(info);
  Napi::Float32Array z = args::RequireFloat32Array(info, 3, "z");
  int64_t n = 0;
  int64_t m = 0;
  RequireSizes(info, tables.size, 5, 4, n, m);
  RequireLength(env, z.ElementLength(), "z", static_cast<size_t>(m), "m");
  const float scale = RequireFiniteNumber(info, 6, "scale");
  Napi::Float32Array y = args::RequireFloat32Array(info, 7, "y");
  RequireLength(env, y.ElementLength(), "y", static_cast<size_t>(n), "n");
  const simd::Isa isa = OptionalIsaArgument(info, 8);
  kernels::FastfoodForward(tables.view, z.Data(), m, n, scale, y.Data(), Scratch(tables.size), isa);
  return env.Undefined();
}

Napi::Value FastfoodBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Tables tables = RequireTables(info);
  Napi::Float32Array dy = args::RequireFloat32Array(info, 3, "dy");
  int64_t n = 0;
  int64_t m = 0;
  RequireSizes(info, tables.size, 4, 5, n, m);
  RequireLength(env, dy.ElementLength(), "dy", static_cast<size_t>(n), "n");
  const float scale = RequireFiniteNumber(info, 6, "scale");
  Napi::Float32Array dz = args::RequireFloat32Array(info, 7, "dz");
  RequireLength(env, dz.ElementLength(), "dz", static_cast<size_t>(m), "m");
  const simd::Isa isa = OptionalIsaArgument(info, 8);
  kernels::FastfoodBackward(tables.view, dy.Data(), n, m, scale, dz.Data(), Scratch(tables.size),
                            isa);
  return env.Undefined();
}

}  // namespace

void RegisterFastfood(Napi::Env env, Napi::Object exports) {
  exports.Set("fastfoodForward", Napi::Function::New(env, FastfoodForward, "fastfoodForward"));
  exports.Set("fastfoodBackward", Napi::Function::New(env, FastfoodBackward, "fastfoodBackward"));
}

}  // namespace superlora
