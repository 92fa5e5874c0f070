// tuneAllocator: glibc malloc settings for the tfjs cpu backend's allocation pattern.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterAllocator(Napi::Env env, Napi::Object exports);

}  // namespace superlora
