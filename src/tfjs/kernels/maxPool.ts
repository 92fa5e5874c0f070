/**
 * MaxPool and MaxPoolGrad (tf.maxPool and its gradient, tf.layers.maxPooling2d) of float32 NHWC
 * tensors in the addon (native/conv/max_pool.h), with tfjs's choice of each window's maximum (the
 * first strictly greater element, row-major) and so the same gradient. tfjs's MaxPoolGrad finds
 * every window's maximum again and then, for each input element, walks every window that could
 * hold it through index arithmetic in JavaScript: it was 95 % of a small CNN's training step once
 * the convolutions were native. Other dtypes go to tfjs's kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { geometryArray, isShape4, type Pad, type RoundingMode } from './conv2d';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { CPU_BACKEND, runStock } from './stockKernels';

/** tfjs's pooling geometry for x's shape and the kernel's attributes. */
function poolInfo(
  xShape: [number, number, number, number],
  args: KernelArgs,
): tf.backend_util.Conv2DInfo {
  const attrs = args.attrs ?? {};
  return tf.backend_util.computePool2DInfo(
    xShape,
    attrs['filterSize'] as number | [number, number],
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as Pad,
    attrs['dimRoundingMode'] as RoundingMode,
  );
}

function maxPool(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const xValues = float32Values(backend, x);
  if (xValues === null || !isShape4(x?.shape)) return runStock(tf.MaxPool, args);
  const info = poolInfo(x.shape, args);
  const out = outputArray(sizeOf(info.outShape));
  loadAddon().maxPool(xValues, out, geometryArray(info));
  return outputTensor(backend, info.outShape, out);
}

function maxPoolGrad(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, input } = args.inputs;
  const backend = cpuBackend(args);
  const dyValues = float32Values(backend, dy);
  const xValues = float32Values(backend, input);
  if (dyValues === null || xValues === null || !isShape4(input?.shape)) {
    return runStock(tf.MaxPoolGrad, args);
  }
  const info = poolInfo(input.shape, args);
  if (!info.outShape.every((dim, axis) => dim === dy?.shape[axis])) {
    return runStock(tf.MaxPoolGrad, args);
  }
  const dx = outputArray(xValues.length);
  loadAddon().maxPoolBackward(dyValues, xValues, dx, geometryArray(info));
  return outputTensor(backend, [...input.shape], dx);
}

export const maxPoolConfig: tf.KernelConfig = {
  kernelName: tf.MaxPool,
  backendName: CPU_BACKEND,
  kernelFunc: maxPool as tf.KernelFunc,
};

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: CPU_BACKEND,
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
