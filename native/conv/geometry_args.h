// Argument checks shared by the convolution and pooling bindings: the geometry as a Float64Array
// of 15 integers in Conv2dGeometry's field order and array lengths that must match it (outputs that
// must not overlap inputs: args::RequireDisjoint). Each throws a JS RangeError naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>

#include "conv2d.h"

namespace superlora::conv {

// info[index] as a geometry: batch, inHeight, inWidth, inChannels, outHeight, outWidth,
// outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight,
// dilationWidth, padTop, padLeft.
Conv2dGeometry RequireGeometry(const Napi::CallbackInfo& info, size_t index);

// array.length == expected, where `what` says how expected follows from the geometry.
void RequireLength(const Napi::Env& env, const Napi::Float32Array& array, const char* name,
                   int64_t expected, const char* what);

}  // namespace superlora::conv
