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

Napi::Float32Array RequireFloat32Array(const Napi::CallbackInfo& info, size_t index,
                                       const char* name) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(
        env, std::string("Expected Float32Array for ") + name + " but received " + Describe(value));
  }
  Napi::Float32Array array = value.As<Napi::Float32Array>();
  // A transferred or detached buffer has no memory behind it; reject it rather than write to
  // a null pointer.
  if (array.ArrayBuffer().IsDetached()) {
    throw Napi::TypeError::New(env, std::string("Expected Float32Array for ") + name +
                                        " but received one whose buffer is detached");
  }
  return array;
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

void RequireLengthMultipleOf(const Napi::Env& env, size_t length, const char* arrayName,
                             size_t divisor, const char* divisorName) {
  if (length % divisor != 0) {
    throw Napi::RangeError::New(env, std::string("Expected ") + arrayName +
                                         ".length to be a multiple of " + divisorName + " (" +
                                         std::to_string(divisor) + ") but received length " +
                                         std::to_string(length));
  }
}

}  // namespace superlora::args
