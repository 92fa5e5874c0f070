/**
 * Conv2D, FusedConv2D (tf.fused.conv2d), Conv2DBackpropInput and Conv2DBackpropFilter of float32
 * NHWC tensors on the addon's im2col + GEMM convolution (native/conv/conv2d.h): the layers of a
 * tfjs CNN and their gradients (what is claimed: convKernels.ts). tfjs's cpu kernels loop over
 * every output element and filter tap in JavaScript; their filter gradient took 10 s of an MNIST
 * CNN's 11 s training step (bench/cnn-step.js).
 */
import * as tf from '@tensorflow/tfjs';
import { convKernelConfigs } from './convKernels';

const configs = convKernelConfigs({
  depthwise: false,
  kernels: {
    forward: tf.Conv2D,
    fused: tf.FusedConv2D,
    backpropInput: tf.Conv2DBackpropInput,
    backpropFilter: tf.Conv2DBackpropFilter,
  },
  addon: {
    forward: 'conv2d',
    backpropInput: 'conv2dBackpropInput',
    backpropFilter: 'conv2dBackpropFilter',
  },
});

export const conv2dConfig = configs.forward;
export const fusedConv2dConfig = configs.fused;
export const conv2dBackpropInputConfig = configs.backpropInput;
export const conv2dBackpropFilterConfig = configs.backpropFilter;
