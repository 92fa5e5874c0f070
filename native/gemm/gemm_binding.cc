#include "gemm_binding.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "../args.h"
#include "../simd/isa.h"
#include "gemm.h"

namespace superlora {
namespace {

// Dimensions beyond this are typos: a Float32Array holds at most 2^32 − 1 floats on 64-bit V8
// builds of today, and keeping every product of two sizes below 2^62 rules out overflow.
constexpr int64_t kMaxDim = int64_t{1} << 31;

// options.<name>, by the rules of args.h: a TypeError for the wrong type, a RangeError for a value
// out of range, both naming "options.<name>".
class Options {
 public:
  Options(const Napi::CallbackInfo& info, size_t index) : env_(info.Env()) {
    const Napi::Value value = info[index];
    if (!value.IsObject() || value.IsArray() || value.IsFunction() || value.IsTypedArray()) {
      throw Napi::TypeError::New(
          env_, "Expected an object for options but received " + args::Describe(value));
    }
    object_ = value.As<Napi::Object>();
  }

  int64_t Integer(const char* name, int64_t fallback, int64_t min, int64_t max,
                  bool required = false) const {
    const Napi::Value value = object_.Get(name);
    const std::string expected = "an integer in [" + std::to_string(min) + ", " +
                                 std::to_string(max) + "] for options." + name;
    if (value.IsUndefined() && !required) return fallback;
    if (!value.IsNumber()) {
      throw Napi::TypeError::New(
          env_, "Expected a number (" + expected + ") but received " + args::Describe(value));
    }
    const double number = value.As<Napi::Number>().DoubleValue();
    // Compared as doubles: casting NaN, ±Infinity or a huge value to int64_t is undefined.
    if (!std::isfinite(number) || std::floor(number) != number ||
        number < static_cast<double>(min) || number > static_cast<double>(max)) {
      throw Napi::RangeError::New(
          env_, "Expected " + expected + " but received " + args::Describe(value));
    }
    return static_cast<int64_t>(number);
  }

  bool Boolean(const char* name) const {
    const Napi::Value value = object_.Get(name);
    if (value.IsUndefined()) return false;
    if (!value.IsBoolean()) {
      throw Napi::TypeError::New(env_, std::string("Expected a boolean for options.") + name +
                                           " but received " + args::Describe(value));
    }
    return value.As<Napi::Boolean>().Value();
  }

  float Number(const char* name, float fallback) const {
    const Napi::Value value = object_.Get(name);
    if (value.IsUndefined()) return fallback;
    if (!value.IsNumber()) {
      throw Napi::TypeError::New(env_, std::string("Expected a number for options.") + name +
                                           " but received " + args::Describe(value));
    }
    const double number = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(number)) {
      throw Napi::RangeError::New(env_, std::string("Expected a finite number for options.") +
                                            name + " but received " + args::Describe(value));
    }
    return static_cast<float>(number);
  }

  // One of `choices` (null-terminated), as its index; `fallback` when absent.
  int Choice(const char* name, const char* const* choices, int fallback) const {
    const Napi::Value value = object_.Get(name);
    if (value.IsUndefined()) return fallback;
    std::string list;
    for (int i = 0; choices[i] != nullptr; ++i) {
      list += std::string(i == 0 ? "" : ", ") + "'" + choices[i] + "'";
    }
    if (value.IsString()) {
      const std::string text = value.As<Napi::String>().Utf8Value();
      for (int i = 0; choices[i] != nullptr; ++i) {
        if (text == choices[i]) return i;
      }
      throw Napi::RangeError::New(env_, std::string("Expected one of ") + list + " for options." +
                                            name + " but received " + args::Describe(value));
    }
    throw Napi::TypeError::New(env_, std::string("Expected one of ") + list + " for options." +
                                         name + " but received " + args::Describe(value));
  }

  // options.<name> as a Float32Array, or an empty handle when it is absent (undefined or null).
  Napi::Float32Array OptionalFloat32Array(const char* name) const {
    const Napi::Value value = object_.Get(name);
    if (value.IsUndefined() || value.IsNull()) return Napi::Float32Array();
    if (!value.IsTypedArray() ||
        value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env_, std::string("Expected Float32Array for options.") + name +
                                           " but received " + args::Describe(value));
    }
    Napi::Float32Array array = value.As<Napi::Float32Array>();
    if (array.ArrayBuffer().IsDetached()) {
      throw Napi::TypeError::New(env_, std::string("Expected Float32Array for options.") + name +
                                           " but received one whose buffer is detached");
    }
    return array;
  }

 private:
  Napi::Env env_;
  Napi::Object object_;
};

// Lengths are compared as doubles: every product of sizes here is below 2^62 and exact in a
// double up to 2^53, beyond which it cannot equal a typed array's length anyway.
void RequireLength(const Napi::Env& env, const char* name, size_t length, double expected,
                   const char* formula) {
  if (static_cast<double>(length) != expected) {
    throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " + formula +
                                         " = " + std::to_string(static_cast<int64_t>(expected)) +
                                         " but received " + std::to_string(length));
  }
}

void RequireNoOverlap(const Napi::Env& env, const Napi::Float32Array& out,
                      const Napi::Float32Array& input, const char* name) {
  if (args::BytesOverlap(out.Data(), out.ByteLength(), input.Data(), input.ByteLength())) {
    throw Napi::RangeError::New(env, std::string("Expected out not to overlap ") + name +
                                         " (the product cannot be computed in place)");
  }
}

const char* const kActivations[] = {"linear", "relu", nullptr};
const char* const kIsas[] = {"portable", "avx2", "avx512", nullptr};

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array a = args::RequireFloat32Array(info, 0, "a");
  Napi::Float32Array b = args::RequireFloat32Array(info, 1, "b");
  Napi::Float32Array out = args::RequireFloat32Array(info, 2, "out");
  const Options options(info, 3);

  gemm::Problem p;
  p.m = options.Integer("m", 0, 0, kMaxDim, true);
  p.n = options.Integer("n", 0, 0, kMaxDim, true);
  p.k = options.Integer("k", 0, 0, kMaxDim, true);
  p.batch = options.Integer("batch", 1, 0, kMaxDim);
  const int64_t batch_a = options.Integer("batchA", p.batch < 1 ? 1 : p.batch, 1, kMaxDim);
  const int64_t batch_b = options.Integer("batchB", p.batch < 1 ? 1 : p.batch, 1, kMaxDim);
  const bool transpose_a = options.Boolean("transposeA");
  const bool transpose_b = options.Boolean("transposeB");
  p.alpha = options.Number("alpha", 1.0f);
  p.activation = static_cast<gemm::Activation>(options.Choice("activation", kActivations, 0));
  const int isa = options.Choice("isa", kIsas, -1);

  const double m = static_cast<double>(p.m);
  const double n = static_cast<double>(p.n);
  const double k = static_cast<double>(p.k);
  RequireLength(env, "a", a.ElementLength(), static_cast<double>(batch_a) * m * k,
                "options.batchA · options.m · options.k");
  RequireLength(env, "b", b.ElementLength(), static_cast<double>(batch_b) * k * n,
                "options.batchB · options.k · options.n");
  RequireLength(env, "out", out.ElementLength(), static_cast<double>(p.batch) * m * n,
                "options.batch · options.m · options.n");
  RequireNoOverlap(env, out, a, "a");
  RequireNoOverlap(env, out, b, "b");

  p.a = gemm::Operand{a.Data(), transpose_a ? p.m : p.k, p.m * p.k, batch_a, transpose_a};
  p.b = gemm::Operand{b.Data(), transpose_b ? p.k : p.n, p.k * p.n, batch_b, transpose_b};
  p.out = out.Data();
  p.ld_out = p.n;
  p.out_batch_stride = p.m * p.n;

  Napi::Float32Array bias = options.OptionalFloat32Array("bias");
  if (!bias.IsEmpty()) {
    p.bias_batch_stride = options.Integer("biasBatchStride", 0, 0, kMaxDim);
    p.bias_row_stride = options.Integer("biasRowStride", 0, 0, kMaxDim);
    p.bias_col_stride = options.Integer("biasColStride", 1, 0, 1);
    if (p.batch > 0 && p.m > 0 && p.n > 0) {
      const double last = static_cast<double>(p.batch - 1) * p.bias_batch_stride +
                          (m - 1) * p.bias_row_stride + (n - 1) * p.bias_col_stride;
      if (static_cast<double>(bias.ElementLength()) < last + 1) {
        throw Napi::RangeError::New(
            env, "Expected options.bias to hold at least " +
                     std::to_string(static_cast<int64_t>(last + 1)) +
                     " floats for these sizes and bias strides but received length " +
                     std::to_string(bias.ElementLength()));
      }
    }
    RequireNoOverlap(env, out, bias, "options.bias");
    p.bias = bias.Data();
    args::RequireUnchanged(env, bias, "options.bias");
  }
  // Reading options ran JavaScript (getters) after the arrays were checked.
  args::RequireUnchanged(env, a, "a");
  args::RequireUnchanged(env, b, "b");
  args::RequireUnchanged(env, out, "out");

  if (isa < 0) {
    gemm::Sgemm(p);
  } else {
    gemm::Sgemm(p, static_cast<simd::Isa>(isa));
  }
  return env.Undefined();
}

}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
}

}  // namespace superlora
