// fwht(data, size, isa?): the CPU Walsh–Hadamard transform, in place on a Float32Array.
#pragma once

#include <napi.h>

#include <cstddef>

#include "simd/isa.h"

namespace superlora {

void RegisterFwht(Napi::Env env, Napi::Object exports);

// The optional isa argument at info[index] of the FWHT and fastfood test hooks: 'portable',
// 'avx2' or 'avx512' (the kernels lower it to what the CPU supports); simd::ActiveIsa() when
// absent or undefined. TypeError for a non-string, RangeError for another string.
simd::Isa OptionalIsaArgument(const Napi::CallbackInfo& info, size_t index);

}  // namespace superlora
