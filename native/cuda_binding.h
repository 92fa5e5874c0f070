// The CUDA entry points. They are exported by every build so that the JS surface never changes
// shape; without CUDA compiled in they throw an Error that says so.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterCuda(Napi::Env env, Napi::Object exports);

}  // namespace superlora
