// maxPool, maxPoolBackward, avgPool and avgPoolBackward (pool2d.h) on caller-owned
// Float32Arrays, for the native tfjs cpu-backend pooling kernels.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterPool2d(Napi::Env env, Napi::Object exports);

}  // namespace superlora
