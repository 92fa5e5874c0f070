/**
 * Transpose of a float32 tensor in the addon: dimensions that stay adjacent move as one, and
 * runs that stay contiguous are copied whole. Other dtypes go to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, type KernelArgs } from './cpuBackend';
import { MAX_NATIVE_RANK } from './elementwiseKernels';
import { CPU_BACKEND, runStock } from './stockKernels';

function transpose(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const values = float32Values(backend, x);
  const perm = args.attrs?.['perm'];
  if (
    x === undefined ||
    values === null ||
    !Array.isArray(perm) ||
    perm.length !== x.shape.length ||
    x.shape.length > MAX_NATIVE_RANK
  ) {
    return runStock(tf.Transpose, args);
  }
  const axes = perm as number[];
  const sorted = [...axes].sort((p, q) => p - q);
  if (!sorted.every((axis, index) => axis === index)) return runStock(tf.Transpose, args);
  const out = outputArray(values.length);
  loadAddon().transpose(values, out, x.shape, axes);
  return outputTensor(
    backend,
    axes.map((axis) => x.shape[axis] as number),
    out,
  );
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: tf.Transpose,
  backendName: CPU_BACKEND,
  kernelFunc: transpose as tf.KernelFunc,
};
