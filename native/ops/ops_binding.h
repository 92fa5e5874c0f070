// unaryOp, binaryOp, reduceOp, transpose, softmax, copyBox (ops.h), layerNorm,
// layerNormInputGrad, layerNormGammaGrad, gelu, geluBackward, softmaxBackward (fused_ops.h): on
// caller-owned Float32Arrays, for the native tfjs cpu-backend kernels.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterOps(Napi::Env env, Napi::Object exports);

}  // namespace superlora
