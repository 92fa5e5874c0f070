// capabilities(): what this binary and this machine can do (CPU features for kernel dispatch,
// CUDA devices, how the binary was built), so engines and `superlora bench` can choose and
// report without guessing.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterCapabilities(Napi::Env env, Napi::Object exports);

}  // namespace superlora
