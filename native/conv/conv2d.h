// 2-D convolution for the tfjs cpu backend (NHWC input, [filter_h, filter_w, in_c, out_c]
// filter, tfjs's Conv2DInfo geometry): forward, and the gradients with respect to the input and
// to the filter, each as im2col blocks times the native GEMM (gemm.h) on the thread pool. A
// filter tap that falls outside the input reads 0 (padding), so any pad_top / pad_left is safe.
#pragma once

#include <cstdint>

#include "../gemm/gemm.h"

namespace superlora::conv {

struct Conv2dGeometry {
  int64_t batch = 0;
  int64_t in_h = 0;
  int64_t in_w = 0;
  int64_t in_c = 0;
  int64_t out_h = 0;
  int64_t out_w = 0;
  int64_t out_c = 0;
  int64_t filter_h = 0;
  int64_t filter_w = 0;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t dilation_h = 1;
  int64_t dilation_w = 1;
  int64_t pad_top = 0;
  int64_t pad_left = 0;

  int64_t InputSize() const { return batch * in_h * in_w * in_c; }
  int64_t OutputSize() const { return batch * out_h * out_w * out_c; }
  int64_t FilterSize() const { return filter_h * filter_w * in_c * out_c; }
};

// out [batch, out_h, out_w, out_c] = act(conv(x, filter) + bias); bias [out_c] or null.
void Conv2dForward(const Conv2dGeometry& g, const float* x, const float* filter, const float* bias,
                   gemm::Activation activation, float* out);

// dx [batch, in_h, in_w, in_c] = the gradient of Σ dy · conv(x, filter) with respect to x
// (tfjs's Conv2DBackpropInput, also conv2dTranspose's forward).
void Conv2dBackpropInput(const Conv2dGeometry& g, const float* dy, const float* filter, float* dx);

// dfilter [filter_h, filter_w, in_c, out_c] = the gradient with respect to the filter
// (tfjs's Conv2DBackpropFilter).
void Conv2dBackpropFilter(const Conv2dGeometry& g, const float* x, const float* dy, float* dfilter);

}  // namespace superlora::conv
