/**
 * The fused row softmax of src/vit/fusedOps.ts on the addon: the forward is the native Softmax
 * kernel of softmax.ts over the last axis, the backward one pass.
 */
import type * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { SOFTMAX, SOFTMAX_GRAD } from '../../vit/fusedOps';
import { cpuBackend, lastAxisRows, requireFloat32Inputs, type KernelArgs } from './cpuBackend';
import { softmaxConfig } from './softmax';
import { CPU_BACKEND } from './stockKernels';

function rowSoftmax(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  return (softmaxConfig.kernelFunc as (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[])({
    ...args,
    attrs: { dim: -1 },
  });
}

function rowSoftmaxGrad(args: KernelArgs): tf.TensorInfo {
  const [dy, y] = requireFloat32Inputs(args, SOFTMAX_GRAD, ['dy', 'y']) as [
    Float32Array,
    Float32Array,
  ];
  const shape = (args.inputs['y'] as tf.TensorInfo).shape;
  const [rows, cols] = lastAxisRows(shape);
  const dx = outputArray(y.length);
  loadAddon().softmaxBackward(dy, y, dx, rows, cols);
  return outputTensor(cpuBackend(args), [...shape], dx);
}

export const rowSoftmaxConfig: tf.KernelConfig = {
  kernelName: SOFTMAX,
  backendName: CPU_BACKEND,
  kernelFunc: rowSoftmax as tf.KernelFunc,
};

export const rowSoftmaxGradConfig: tf.KernelConfig = {
  kernelName: SOFTMAX_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: rowSoftmaxGrad as tf.KernelFunc,
};
