// 2-D max pooling for the tfjs cpu backend (NHWC), forward and backward, with tfjs's semantics:
// each window's maximum is its first element (row-major over the in-bounds taps) greater than
// every element before it, starting from −∞, so NaN is never chosen and a window of only −∞ or
// NaN has output −∞ and passes no gradient. The geometry is a convolution's with
// out_c == in_c (the channels); taps outside the input are skipped.
#pragma once

#include "conv2d.h"

namespace superlora::conv {

// out [batch, out_h, out_w, channels] = each window's maximum.
void MaxPoolForward(const Conv2dGeometry& g, const float* x, float* out);

// dx [batch, in_h, in_w, channels] = Σ over windows of dy at the window's maximum's input pixel.
void MaxPoolBackward(const Conv2dGeometry& g, const float* x, const float* dy, float* dx);

}  // namespace superlora::conv
