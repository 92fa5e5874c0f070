// gemm(a, b, out, options): the batched CPU GEMM of gemm.h on caller-owned Float32Arrays.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterGemm(Napi::Env env, Napi::Object exports);

}  // namespace superlora
