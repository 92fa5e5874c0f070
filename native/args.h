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

// info[index] as a power of two (1, 2, 4, ...) that is a safe integer.
size_t RequirePowerOfTwo(const Napi::CallbackInfo& info, size_t index, const char* name);

// info[index] as an integer in [min, max] (both within ±2^53): TypeError when it is not a number,
// RangeError when it is not an integer in range.
int64_t RequireIntegerInRange(const Napi::CallbackInfo& info, size_t index, const char* name,
                              int64_t min, int64_t max);

// Throws RangeError unless `length` (of the array called arrayName) is a multiple of `divisor`
// (the argument called divisorName).
void RequireLengthMultipleOf(const Napi::Env& env, size_t length, const char* arrayName,
                             size_t divisor, const char* divisorName);

}  // namespace superlora::args
