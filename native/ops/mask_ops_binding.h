// compare, logicalAnd, select and clipByValue (mask_ops.h) on caller-owned typed arrays, for the
// native tfjs cpu-backend kernels of clipped activations and their gradients.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterMaskOps(Napi::Env env, Napi::Object exports);

}  // namespace superlora
