// batchNorm (batch_norm.h) on caller-owned typed arrays, for the native FusedBatchNorm kernel of
// tfjs's cpu backend.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterBatchNorm(Napi::Env env, Napi::Object exports);

}  // namespace superlora
