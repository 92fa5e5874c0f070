/**
 * DepthwiseConv2dNative, FusedDepthwiseConv2D (tf.fused.depthwiseConv2d) and both their gradients
 * (tf.layers.depthwiseConv2d and separableConv2d, MobileNet's blocks) of float32 NHWC tensors on
 * the addon's direct depthwise loops (native/conv/depthwise_conv2d.h; what is claimed:
 * convKernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { convKernelConfigs } from './convKernels';

const configs = convKernelConfigs({
  depthwise: true,
  kernels: {
    forward: tf.DepthwiseConv2dNative,
    fused: tf.FusedDepthwiseConv2D,
    backpropInput: tf.DepthwiseConv2dNativeBackpropInput,
    backpropFilter: tf.DepthwiseConv2dNativeBackpropFilter,
  },
  addon: {
    forward: 'depthwiseConv2d',
    backpropInput: 'depthwiseConv2dBackpropInput',
    backpropFilter: 'depthwiseConv2dBackpropFilter',
  },
});

export const depthwiseConv2dConfig = configs.forward;
export const fusedDepthwiseConv2dConfig = configs.fused;
export const depthwiseConv2dBackpropInputConfig = configs.backpropInput;
export const depthwiseConv2dBackpropFilterConfig = configs.backpropFilter;
