// Depthwise 2-D convolution for the tfjs cpu backend (NHWC input [batch, in_h, in_w, in_c],
// filter [filter_h, filter_w, in_c, multiplier], output channels out_c = in_c · multiplier, as
// tf.depthwiseConv2d): output channel c · multiplier + q of a pixel is Σ over the window's inside
// taps of x[channel c] · filter[tap, c, q]. Forward (with a bias and ReLU epilogue) and both
// gradients, direct loops over the window vectorised across channels: with one input channel per
// output channel there is no GEMM to hand it to.
#pragma once

#include "../gemm/gemm.h"
#include "conv2d.h"

namespace superlora::conv {

// out [batch, out_h, out_w, out_c] = act(depthwise(x, filter) + bias); bias [out_c] or null.
void DepthwiseConv2dForward(const Conv2dGeometry& g, const float* x, const float* filter,
                            const float* bias, gemm::Activation activation, float* out);

// dx [batch, in_h, in_w, in_c]: the gradient with respect to x.
void DepthwiseConv2dBackpropInput(const Conv2dGeometry& g, const float* dy, const float* filter,
                                  float* dx);

// dfilter [filter_h, filter_w, in_c, multiplier]: the gradient with respect to the filter, summed
// in fixed segments of output rows (the same floats on any number of threads).
void DepthwiseConv2dBackpropFilter(const Conv2dGeometry& g, const float* x, const float* dy,
                                   float* dfilter);

}  // namespace superlora::conv
