#include "args.h"

#include <cmath>

namespace superlora::args {
namespace {

// Largest integer a JS number holds exactly: 2^53 - 1.
constexpr double kMaxSafeInteger = 9007199254740991.0;

std::string ConstructorName(const Napi::Object& object) {
  // A Proxy or an object without a constructor must not turn a type error into a crash, so any
  // failure here falls back to the generic word.
  try {
    Napi::Value constructor = object.Get("constructor");
    if (constructor.IsFunction()) {
      Napi::Value name = constructor.As<Napi::Object>().Get("name");
      if (name.IsString() && !name.As<Napi::String>().Utf8Value().empty()) {
        return name.As<Napi::String>().Utf8Value();
      }
    }
  } catch (const Napi::Error&) {
  }
  return "object";
}

}  // namespace

std::string Describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsBoolean()) {
    return value.As<Napi::Boolean>().Value() ? "boolean true" : "boolean false";
  }
  if (value.IsNumber()) {
    Napi::String text = value.ToString();
    return "number " + text.Utf8Value();
  }
  if (value.IsString()) {
    std::string text = value.As<Napi::String>().Utf8Value();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "string '" + text + "'";
  }
  if (value.IsFunction()) return "function";
  if (value.IsArray()) return "Array";
  if (value.IsObject()) return ConstructorName(value.As<Napi::Object>());
  return "a value of another type";
}

namespace {

// info[index] as a typed array of `type` (named `type_name` in errors) whose buffer is not
// detached.
template <typename T>
Napi::TypedArrayOf<T> RequireTypedArray(const Napi::CallbackInfo& info, size_t index,
                                        const char* name, napi_typedarray_type type,
                                        const char* type_name) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(env, std::string("Expected ") + type_name + " for " + name +
                                        " but received " + Describe(value));
  }
  Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
  // A transferred or detached buffer has no memory behind it; reject it rather than write to
  // a null pointer.
  if (array.ArrayBuffer().IsDetached()) {
    throw Napi::TypeError::New(env, std::string("Expected ") + type_name + " for " + name +
                                        " but received one whose buffer is detached");
  }
  return array;
}

}  // namespace

Napi::Float32Array RequireFloat32Array(const Napi::CallbackInfo& info, size_t index,
                                       const char* name) {
  return RequireTypedArray<float>(info, index, name, napi_float32_array, "Float32Array");
}

Napi::Uint8Array RequireUint8Array(const Napi::CallbackInfo& info, size_t index, const char* name) {
  return RequireTypedArray<uint8_t>(info, index, name, napi_uint8_array, "Uint8Array");
}

Napi::Float64Array RequireFloat64Array(const Napi::CallbackInfo& info, size_t index,
                                       const char* name) {
  return RequireTypedArray<double>(info, index, name, napi_float64_array, "Float64Array");
}

size_t RequirePowerOfTwo(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string("Expected a number (a power of two) for ") + name +
                                        " but received " + Describe(value));
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  const bool isSafePositiveInteger = std::isfinite(number) && number >= 1 &&
                                     number <= kMaxSafeInteger && std::floor(number) == number;
  const size_t integer = isSafePositiveInteger ? static_cast<size_t>(number) : 0;
  if (!isSafePositiveInteger || (integer & (integer - 1)) != 0) {
    throw Napi::RangeError::New(env, std::string("Expected a power of two (1, 2, 4, ...) for ") +
                                         name + " but received " + Describe(value));
  }
  return integer;
}

int64_t RequireIntegerInRange(const Napi::CallbackInfo& info, size_t index, const char* name,
                              int64_t min, int64_t max) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  const std::string expected =
      "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "] for " + name;
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(
        env, "Expected a number (" + expected + ") but received " + Describe(value));
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  // Compare as doubles first: casting NaN, ±Infinity or a huge value to int64_t is undefined.
  if (!std::isfinite(number) || std::floor(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max) || std::fabs(number) > kMaxSafeInteger) {
    throw Napi::RangeError::New(env, "Expected " + expected + " but received " + Describe(value));
  }
  return static_cast<int64_t>(number);
}

void RequireLengthMultipleOf(const Napi::Env& env, size_t length, const char* arrayName,
                             size_t divisor, const char* divisorName) {
  if (length % divisor != 0) {
    throw Napi::RangeError::New(env, std::string("Expected ") + arrayName +
                                         ".length to be a multiple of " + divisorName + " (" +
                                         std::to_string(divisor) + ") but received length " +
                                         std::to_string(length));
  }
}

void RequireUnchangedView(const Napi::Env& env, napi_value array, const void* data, size_t length,
                          const std::string& name) {
  napi_typedarray_type type;
  size_t now_length = 0;
  void* now_data = nullptr;
  napi_value buffer = nullptr;
  size_t offset = 0;
  bool detached = false;
  const bool readable = napi_get_typedarray_info(env, array, &type, &now_length, &now_data, &buffer,
                                                 &offset) == napi_ok &&
                        napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok;
  // A length-tracking view on a shrunk resizable buffer reports a shorter (or zero) length.
  if (!readable || (detached && length > 0) || now_length != length ||
      (length > 0 && now_data != data)) {
    throw Napi::TypeError::New(env, "Expected the buffer of " + name +
                                        " to stay as it was during the call, but it was detached "
                                        "or resized (by a getter of another argument?)");
  }
}

Napi::Float32Array RequireVector(const Napi::CallbackInfo& info, size_t index, const char* name,
                                 int64_t length) {
  Napi::Float32Array array = RequireFloat32Array(info, index, name);
  if (static_cast<int64_t>(array.ElementLength()) != length) {
    throw Napi::RangeError::New(info.Env(), "Expected " + std::to_string(length) + " values for " +
                                                std::string(name) + " but received " +
                                                std::to_string(array.ElementLength()));
  }
  return array;
}

double RequireNumber(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsNumber() || std::isnan(value.As<Napi::Number>().DoubleValue())) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + name +
                                               " but received " + Describe(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

bool BytesOverlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  return a_bytes > 0 && b_bytes > 0 && x < y + b_bytes && y < x + a_bytes;
}

void ThrowOverlap(const Napi::Env& env, const char* out_name, const char* in_name) {
  throw Napi::RangeError::New(env,
                              std::string("Expected ") + out_name + " not to overlap " + in_name);
}

}  // namespace superlora::args
