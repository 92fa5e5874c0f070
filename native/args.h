// Argument checks at the JS boundary. Every check throws a JS TypeError or RangeError that names
// the argument, the value received and what was expected, so a wrong call never reaches a kernel.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace superlora::args {

// A short description of a JS value for error messages: "undefined", "number 3", "Array",
// "Float64Array", "string 'abc'".
std::string Describe(const Napi::Value& value);

// info[index] as a Float32Array whose buffer is not detached.
Napi::Float32Array RequireFloat32Array(const Napi::CallbackInfo& info, size_t index,
                                       const char* name);

// info[index] as a Uint8Array (tfjs's bool tensors) whose buffer is not detached.
Napi::Uint8Array RequireUint8Array(const Napi::CallbackInfo& info, size_t index, const char* name);

// info[index] as one of the strings `choices`, returned as its index: TypeError for a non-string,
// RangeError for another string, each listing the choices.
template <size_t N>
int RequireChoice(const Napi::CallbackInfo& info, size_t index, const char* name,
                  const char* const (&choices)[N]) {
  const Napi::Value value = info[index];
  std::string list;
  for (size_t i = 0; i < N; ++i) list += std::string(i == 0 ? "'" : ", '") + choices[i] + "'";
  const std::string expected = std::string("Expected one of ") + list + " for " + name;
  if (!value.IsString()) {
    throw Napi::TypeError::New(info.Env(), expected + " but received " + Describe(value));
  }
  const std::string text = value.As<Napi::String>().Utf8Value();
  for (size_t i = 0; i < N; ++i) {
    if (text == choices[i]) return static_cast<int>(i);
  }
  throw Napi::RangeError::New(info.Env(), expected + " but received " + Describe(value));
}

// info[index] as a Float64Array whose buffer is not detached.
Napi::Float64Array RequireFloat64Array(const Napi::CallbackInfo& info, size_t index,
                                       const char* name);

// info[index] as a power of two (1, 2, 4, ...) that is a safe integer.
// A Float32Array argument of exactly `length` values (RangeError naming it otherwise).
Napi::Float32Array RequireVector(const Napi::CallbackInfo& info, size_t index, const char* name,
                                 int64_t length);

size_t RequirePowerOfTwo(const Napi::CallbackInfo& info, size_t index, const char* name);

// info[index] as an integer in [min, max] (both within ±2^53): TypeError when it is not a number,
// RangeError when it is not an integer in range.
int64_t RequireIntegerInRange(const Napi::CallbackInfo& info, size_t index, const char* name,
                              int64_t min, int64_t max);

// Throws RangeError unless `length` (of the array called arrayName) is a multiple of `divisor`
// (the argument called divisorName).
void RequireLengthMultipleOf(const Napi::Env& env, size_t length, const char* arrayName,
                             size_t divisor, const char* divisorName);

// Throws TypeError naming the array unless it still has the memory and length it had when it was
// checked. Reading an options object or an array argument can run JavaScript (a getter on a
// property or an element) that detaches, transfers or shrinks a buffer checked before it, and
// node-addon-api's typed arrays keep the pointer and length read at the check, so a kernel would
// then use freed memory. Call it, after the last such read, for every array checked before it.
void RequireUnchangedView(const Napi::Env& env, napi_value array, const void* data, size_t length,
                          const std::string& name);

// info[index] as a number that is not NaN (±∞ pass): TypeError "Expected a number for <name> but
// received ..." otherwise.
double RequireNumber(const Napi::CallbackInfo& info, size_t index, const char* name);

// Whether the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte (an empty range
// shares none).
bool BytesOverlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes);

[[noreturn]] void ThrowOverlap(const Napi::Env& env, const char* out_name, const char* in_name);

// Throws RangeError "Expected <out_name> not to overlap <in_name>" when an output shares memory
// with an input (it would be read after being overwritten).
template <typename Out, typename In>
void RequireDisjoint(const Napi::Env& env, const Napi::TypedArrayOf<Out>& out, const char* out_name,
                     const Napi::TypedArrayOf<In>& input, const char* in_name) {
  if (BytesOverlap(out.Data(), out.ByteLength(), input.Data(), input.ByteLength())) {
    ThrowOverlap(env, out_name, in_name);
  }
}

template <typename T>
void RequireUnchanged(const Napi::Env& env, const Napi::TypedArrayOf<T>& array,
                      const std::string& name) {
  RequireUnchangedView(env, array, array.Data(), array.ElementLength(), name);
}

}  // namespace superlora::args
