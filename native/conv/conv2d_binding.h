// conv2d, conv2dBackpropInput, conv2dBackpropFilter (conv2d.h) and their depthwise versions
// (depthwise_conv2d.h) on caller-owned Float32Arrays, for the native tfjs cpu-backend convolution
// kernels.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterConv2d(Napi::Env env, Napi::Object exports);

}  // namespace superlora
