// fwht(data, size): the CPU Walsh–Hadamard transform, in place on a Float32Array.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterFwht(Napi::Env env, Napi::Object exports);

}  // namespace superlora
