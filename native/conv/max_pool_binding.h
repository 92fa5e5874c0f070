// maxPool and maxPoolBackward (max_pool.h) on caller-owned Float32Arrays, for the native tfjs
// cpu-backend pooling kernels.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterMaxPool(Napi::Env env, Napi::Object exports);

}  // namespace superlora
