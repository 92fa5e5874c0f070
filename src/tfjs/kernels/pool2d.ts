/**
 * MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad (tf.maxPool, tf.avgPool and their gradients;
 * tf.layers.maxPooling2d, averagePooling2d) of float32 NHWC tensors in the addon
 * (native/conv/pool2d.h), computing what tfjs's cpu kernels compute: each window's maximum is its
 * first strictly greater element, row-major (so the gradient goes where tfjs sends it); the
 * average is over the window's inside taps, and its gradient divides by the full window, as
 * tfjs's does. tfjs's MaxPoolGrad finds every window's maximum again and then, for each input
 * element, walks every window that could hold it through index arithmetic in JavaScript: it was
 * 95 % of a small CNN's training step once the convolutions were native. Other dtypes go to
 * tfjs's kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { geometryArray, isShape4, poolInfo } from './convGeometry';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { nativeKernelConfig, runStock } from './stockKernels';

/** MaxPool or AvgPool: out = each window's maximum or mean. */
function poolForward(kernelName: string, addonFunction: 'maxPool' | 'avgPool') {
  return (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs;
    const backend = cpuBackend(args);
    const xValues = float32Values(backend, x);
    if (xValues === null || !isShape4(x?.shape)) return runStock(kernelName, args);
    const info = poolInfo(x.shape, args);
    const out = outputArray(sizeOf(info.outShape));
    loadAddon()[addonFunction](xValues, out, geometryArray(info));
    return outputTensor(backend, info.outShape, out);
  };
}

/** MaxPoolGrad or AvgPoolGrad: dx [input's shape] from dy [the pooling's output shape]. */
function poolBackward(kernelName: string, pooling: 'max' | 'avg') {
  return (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { dy, input } = args.inputs;
    const backend = cpuBackend(args);
    const dyValues = float32Values(backend, dy);
    const xValues = float32Values(backend, input);
    if (dyValues === null || xValues === null || !isShape4(input?.shape)) {
      return runStock(kernelName, args);
    }
    const info = poolInfo(input.shape, args);
    if (!info.outShape.every((dim, axis) => dim === dy?.shape[axis])) {
      return runStock(kernelName, args);
    }
    const dx = outputArray(xValues.length);
    const geometry = geometryArray(info);
    if (pooling === 'max') loadAddon().maxPoolBackward(dyValues, xValues, dx, geometry);
    else loadAddon().avgPoolBackward(dyValues, dx, geometry);
    return outputTensor(backend, [...input.shape], dx);
  };
}

export const maxPoolConfig = nativeKernelConfig(tf.MaxPool, poolForward(tf.MaxPool, 'maxPool'));
export const maxPoolGradConfig = nativeKernelConfig(
  tf.MaxPoolGrad,
  poolBackward(tf.MaxPoolGrad, 'max'),
);
export const avgPoolConfig = nativeKernelConfig(tf.AvgPool, poolForward(tf.AvgPool, 'avgPool'));
export const avgPoolGradConfig = nativeKernelConfig(
  tf.AvgPoolGrad,
  poolBackward(tf.AvgPoolGrad, 'avg'),
);
