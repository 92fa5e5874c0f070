#include "kernels_binding.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "kernels/kron.h"
#include "kernels/kron_isa.h"
#include "kernels/lowrank.h"
#include "kernels/lowrank_isa.h"
#include "simd/isa.h"

namespace superlora {
namespace {

// Largest integer a JS number holds exactly: 2^53 - 1. Sizes and offsets are checked against it
// so that every product below fits in int64_t.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// The optional trailing isa argument ('portable', 'avx2' or 'avx512'; lowered to what the CPU
// supports by the kernels): the active level when absent.
simd::Isa OptionalIsa(const Napi::CallbackInfo& info, size_t index) {
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

// Throws RangeError unless length ≥ needed; `why` says where `needed` comes from.
void RequireLengthAtLeast(const Napi::Env& env, size_t length, const std::string& name,
                          int64_t needed, const std::string& why) {
  if (static_cast<uint64_t>(length) < static_cast<uint64_t>(needed)) {
    throw Napi::RangeError::New(env, "Expected " + name + ".length to be at least " +
                                         std::to_string(needed) + " (" + why +
                                         ") but received length " + std::to_string(length));
  }
}

// count · size when it is at most limit, else -1 (no overflow: both are ≤ 2^53).
int64_t ProductUpTo(int64_t count, int64_t size, int64_t limit) {
  if (count == 0 || size == 0) return 0;
  return count > limit / size ? -1 : count * size;
}

// The range arguments shared by every kernel: 0 ≤ begin ≤ end.
void RequireRange(const Napi::CallbackInfo& info, size_t index, int64_t* begin, int64_t* end) {
  *begin = args::RequireIntegerInRange(info, index, "begin", 0, kMaxSafeInteger);
  *end = args::RequireIntegerInRange(info, index + 1, "end", *begin, kMaxSafeInteger);
}

// ---- low rank ----

struct LowRankArgs {
  int64_t cols = 0;
  int64_t rank = 0;
  float scale = 0;
  int64_t begin = 0;
  int64_t end = 0;
  int64_t rows = 0;  // rows of A touched: the last one is (end − 1) / cols
};

// (…, cols, rank, scale, begin, end, …) from `index`, checked against a and y.
LowRankArgs RequireLowRankArgs(const Napi::CallbackInfo& info, size_t index,
                               const Napi::Float32Array& a, const Napi::Float32Array& y) {
  const Napi::Env env = info.Env();
  LowRankArgs args;
  args.cols = args::RequireIntegerInRange(info, index, "cols", 1, kMaxSafeInteger);
  args.rank = args::RequireIntegerInRange(info, index + 1, "rank", 1, kMaxSafeInteger);
  args.scale = RequireFiniteNumber(info, index + 2, "scale");
  RequireRange(info, index + 3, &args.begin, &args.end);
  if (args.begin % args.cols != 0) {
    throw Napi::RangeError::New(env, "Expected begin to be a multiple of cols (" +
                                         std::to_string(args.cols) + ") but received " +
                                         std::to_string(args.begin));
  }
  args.rows = args.end == args.begin ? 0 : (args.end - 1) / args.cols + 1;
  const int64_t a_needed = ProductUpTo(args.rows, args.rank, kMaxSafeInteger);
  RequireLengthAtLeast(env, a.ElementLength(), "a", a_needed < 0 ? kMaxSafeInteger : a_needed,
                       "rows up to ceil(end / cols) times rank");
  const int64_t y_needed = ProductUpTo(args.rank, args.cols, kMaxSafeInteger);
  RequireLengthAtLeast(env, y.ElementLength(), "y", y_needed < 0 ? kMaxSafeInteger : y_needed,
                       "rank times cols");
  return args;
}

// lowRankForward(a, y, cols, rank, scale, begin, end, out[, isa])
Napi::Value LowRankForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array a = args::RequireFloat32Array(info, 0, "a");
  Napi::Float32Array y = args::RequireFloat32Array(info, 1, "y");
  const LowRankArgs args = RequireLowRankArgs(info, 2, a, y);
  Napi::Float32Array out = args::RequireFloat32Array(info, 7, "out");
  RequireLengthAtLeast(env, out.ElementLength(), "out", args.end - args.begin, "end - begin");
  const simd::Isa isa = OptionalIsa(info, 8);
  kernels::LowRankForwardOn(isa, a.Data(), y.Data(), args.cols, args.rank, args.scale, args.begin,
                            args.end, out.Data());
  return env.Undefined();
}

// lowRankBackward(a, y, dOut, cols, rank, scale, begin, end, dA, dY[, isa])
Napi::Value LowRankBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array a = args::RequireFloat32Array(info, 0, "a");
  Napi::Float32Array y = args::RequireFloat32Array(info, 1, "y");
  Napi::Float32Array d_out = args::RequireFloat32Array(info, 2, "dOut");
  const LowRankArgs args = RequireLowRankArgs(info, 3, a, y);
  RequireLengthAtLeast(env, d_out.ElementLength(), "dOut", args.end - args.begin, "end - begin");
  Napi::Float32Array d_a = args::RequireFloat32Array(info, 8, "dA");
  RequireLengthAtLeast(env, d_a.ElementLength(), "dA", args.rows * args.rank, "a.length needed");
  Napi::Float32Array d_y = args::RequireFloat32Array(info, 9, "dY");
  RequireLengthAtLeast(env, d_y.ElementLength(), "dY", args.rank * args.cols, "rank times cols");
  const simd::Isa isa = OptionalIsa(info, 10);
  kernels::LowRankBackwardOn(isa, a.Data(), y.Data(), d_out.Data(), args.cols, args.rank,
                             args.scale, args.begin, args.end, d_a.Data(), d_y.Data());
  return env.Undefined();
}

// ---- Kronecker ----

// info[index] as a non-empty Array of Float32Arrays.
std::vector<Napi::Float32Array> RequireFloat32ArrayList(const Napi::CallbackInfo& info,
                                                        size_t index, const char* name) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsArray()) {
    throw Napi::TypeError::New(env, std::string("Expected an Array of Float32Array for ") + name +
                                        " but received " + args::Describe(value));
  }
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() == 0) {
    throw Napi::RangeError::New(env, std::string("Expected at least one Float32Array in ") + name +
                                         " but received an empty Array");
  }
  std::vector<Napi::Float32Array> arrays;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value element = array.Get(i);
    const std::string element_name = std::string(name) + "[" + std::to_string(i) + "]";
    if (!element.IsTypedArray() ||
        element.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, "Expected Float32Array for " + element_name +
                                          " but received " + args::Describe(element));
    }
    Napi::Float32Array typed = element.As<Napi::Float32Array>();
    if (typed.ArrayBuffer().IsDetached()) {
      throw Napi::TypeError::New(env, "Expected Float32Array for " + element_name +
                                          " but received one whose buffer is detached");
    }
    arrays.push_back(typed);
  }
  // A getter on a later element may have detached or shrunk an earlier one.
  for (size_t i = 0; i < arrays.size(); ++i) {
    args::RequireUnchanged(env, arrays[i], std::string(name) + "[" + std::to_string(i) + "]");
  }
  return arrays;
}

struct KronArgs {
  std::vector<Napi::Float32Array> tensors;
  std::vector<const float*> pointers;
  std::vector<int64_t> dims;
  std::vector<int64_t> sizes;  // Π_m d_{k,m} per split
  int order = 0;
  int64_t total = 0;  // Π_m D_m
  kernels::KronOperands Operands() const {
    return kernels::KronOperands{static_cast<int>(tensors.size()), order, dims.data(),
                                 pointers.data()};
  }
};

// (tensors, dims, order) from `index`.
KronArgs RequireKronArgs(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Env env = info.Env();
  KronArgs args;
  args.tensors = RequireFloat32ArrayList(info, index, "tensors");
  const Napi::Value dims_value = info[index + 1];
  if (!dims_value.IsArray()) {
    throw Napi::TypeError::New(
        env, "Expected an Array of integers for dims but received " + args::Describe(dims_value));
  }
  // The order is read before the dims are, so that dims.length can be checked against it; the
  // odometer needs (order − 1) · splits digits, so both are capped well below anything useful.
  args.order = static_cast<int>(args::RequireIntegerInRange(info, index + 2, "order", 1, 64));
  const int64_t splits = static_cast<int64_t>(args.tensors.size());
  if (splits > 64) {
    throw Napi::RangeError::New(
        env, "Expected at most 64 Float32Arrays in tensors but received " + std::to_string(splits));
  }
  const Napi::Array dims = dims_value.As<Napi::Array>();
  if (static_cast<int64_t>(dims.Length()) != splits * args.order) {
    throw Napi::RangeError::New(env, "Expected dims.length to be tensors.length times order (" +
                                         std::to_string(splits * args.order) +
                                         ") but received length " + std::to_string(dims.Length()));
  }
  args.total = 1;
  for (int64_t k = 0; k < splits; ++k) {
    int64_t size = 1;
    for (int m = 0; m < args.order; ++m) {
      const uint32_t position = static_cast<uint32_t>(k * args.order + m);
      const Napi::Value element = dims.Get(position);
      if (!element.IsNumber()) {
        throw Napi::TypeError::New(env, "Expected a positive integer for dims[" +
                                            std::to_string(position) + "] but received " +
                                            args::Describe(element));
      }
      const double number = element.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(number) || number < 1 || number > static_cast<double>(kMaxSafeInteger) ||
          std::floor(number) != number) {
        throw Napi::RangeError::New(env, "Expected a positive integer for dims[" +
                                             std::to_string(position) + "] but received " +
                                             args::Describe(element));
      }
      const int64_t dim = static_cast<int64_t>(number);
      args.dims.push_back(dim);
      size = ProductUpTo(size, dim, kMaxSafeInteger);
      args.total = args.total < 0 ? -1 : ProductUpTo(args.total, dim, kMaxSafeInteger);
      if (size < 0) size = kMaxSafeInteger;
    }
    const std::string name = "tensors[" + std::to_string(k) + "]";
    RequireLengthAtLeast(env, args.tensors[k].ElementLength(), name, size,
                         "the product of its dims");
    args.sizes.push_back(size);
    args.pointers.push_back(args.tensors[k].Data());
  }
  if (args.total < 0) {
    throw Napi::RangeError::New(env,
                                "Expected the Kronecker product of dims to have at most 2^53 "
                                "- 1 elements");
  }
  // Reading dims ran JavaScript (element getters) after the tensors were checked.
  for (size_t k = 0; k < args.tensors.size(); ++k) {
    args::RequireUnchanged(env, args.tensors[k], "tensors[" + std::to_string(k) + "]");
  }
  return args;
}

void RequireKronRange(const Napi::CallbackInfo& info, size_t index, const KronArgs& args,
                      int64_t* begin, int64_t* end) {
  RequireRange(info, index, begin, end);
  if (*end > args.total) {
    throw Napi::RangeError::New(info.Env(), "Expected end to be at most the product size (" +
                                                std::to_string(args.total) + ") but received " +
                                                std::to_string(*end));
  }
}

// kronForward(tensors, dims, order, scale, begin, end, out[, isa])
Napi::Value KronForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const KronArgs args = RequireKronArgs(info, 0);
  const float scale = RequireFiniteNumber(info, 3, "scale");
  int64_t begin = 0;
  int64_t end = 0;
  RequireKronRange(info, 4, args, &begin, &end);
  Napi::Float32Array out = args::RequireFloat32Array(info, 6, "out");
  RequireLengthAtLeast(env, out.ElementLength(), "out", end - begin, "end - begin");
  const simd::Isa isa = OptionalIsa(info, 7);
  kernels::KronForwardOn(isa, args.Operands(), scale, begin, end, out.Data());
  return env.Undefined();
}

// kronBackward(tensors, dims, order, dOut, scale, begin, end, grads[, isa])
Napi::Value KronBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const KronArgs args = RequireKronArgs(info, 0);
  Napi::Float32Array d_out = args::RequireFloat32Array(info, 3, "dOut");
  const float scale = RequireFiniteNumber(info, 4, "scale");
  int64_t begin = 0;
  int64_t end = 0;
  RequireKronRange(info, 5, args, &begin, &end);
  RequireLengthAtLeast(env, d_out.ElementLength(), "dOut", end - begin, "end - begin");
  std::vector<Napi::Float32Array> grads = RequireFloat32ArrayList(info, 7, "grads");
  if (grads.size() != args.tensors.size()) {
    throw Napi::RangeError::New(env, "Expected grads.length to be tensors.length (" +
                                         std::to_string(args.tensors.size()) +
                                         ") but received length " + std::to_string(grads.size()));
  }
  std::vector<float*> grad_pointers;
  for (size_t k = 0; k < grads.size(); ++k) {
    RequireLengthAtLeast(env, grads[k].ElementLength(), "grads[" + std::to_string(k) + "]",
                         args.sizes[k], "tensors[" + std::to_string(k) + "]'s size");
    grad_pointers.push_back(grads[k].Data());
  }
  // Reading grads ran JavaScript (element getters) after the tensors and dOut were checked.
  for (size_t k = 0; k < args.tensors.size(); ++k) {
    args::RequireUnchanged(env, args.tensors[k], "tensors[" + std::to_string(k) + "]");
  }
  args::RequireUnchanged(env, d_out, "dOut");
  const simd::Isa isa = OptionalIsa(info, 8);
  kernels::KronBackwardOn(isa, args.Operands(), d_out.Data(), scale, begin, end,
                          grad_pointers.data());
  return env.Undefined();
}

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("lowRankForward", Napi::Function::New(env, LowRankForward, "lowRankForward"));
  exports.Set("lowRankBackward", Napi::Function::New(env, LowRankBackward, "lowRankBackward"));
  exports.Set("kronForward", Napi::Function::New(env, KronForward, "kronForward"));
  exports.Set("kronBackward", Napi::Function::New(env, KronBackward, "kronBackward"));
}

}  // namespace superlora
