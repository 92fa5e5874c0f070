// 2-D max and average pooling for the tfjs cpu backend (NHWC), forward and backward, as tfjs's cpu
// kernels compute them. The geometry is a convolution's with out_c == in_c (the channels); taps
// in the padding are skipped.
//  - Max: each window's maximum is its first element (row-major over the inside taps) greater
//    than every element before it, starting from −∞, so NaN is never chosen and a window of only
//    −∞ or NaN has output −∞ and passes no gradient.
//  - Average: the sum of the inside taps (in double) over their count. Its gradient is, as tfjs's
//    AvgPoolGrad computes it, the sum of dy over the windows holding the pixel times
//    1 / (filter_h · filter_w), which differs from the forward's divisor where a window overlaps
//    the padding.
#pragma once

#include "conv2d.h"

namespace superlora::conv {

// out [batch, out_h, out_w, channels] = each window's maximum.
void MaxPoolForward(const Conv2dGeometry& g, const float* x, float* out);

// dx [batch, in_h, in_w, channels] = Σ over windows of dy at the window's maximum's input pixel.
void MaxPoolBackward(const Conv2dGeometry& g, const float* x, const float* dy, float* dx);

// out [batch, out_h, out_w, channels] = each window's mean over its inside taps.
void AvgPoolForward(const Conv2dGeometry& g, const float* x, float* out);

// dx [batch, in_h, in_w, channels] = Σ over windows holding the pixel of dy / (filter_h ·
// filter_w).
void AvgPoolBackward(const Conv2dGeometry& g, const float* dy, float* dx);

}  // namespace superlora::conv
