/**
 * Softmax over the last axis of a float32 tensor in the addon, computing what tfjs's cpu kernel
 * composes from Max, Sub, Exp, Sum and RealDiv (each step rounded to float32 where tfjs stores
 * it), in one pass per row. Other dtypes and axes (tfjs supports only the last) go to tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND, runStock } from './stockKernels';

function softmax(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { logits } = args.inputs;
  const backend = cpuBackend(args);
  const values = float32Values(backend, logits);
  if (logits === undefined || values === null || values.length === 0) {
    return runStock(tf.Softmax, args);
  }
  const rank = logits.shape.length;
  const dim = args.attrs?.['dim'];
  if (rank === 0 || (dim !== -1 && dim !== rank - 1)) return runStock(tf.Softmax, args);
  const cols = logits.shape[rank - 1] as number;
  const out = outputArray(values.length);
  loadAddon().softmax(values, out, values.length / cols, cols);
  return outputTensor(backend, [...logits.shape], out);
}

export const softmaxConfig: tf.KernelConfig = {
  kernelName: tf.Softmax,
  backendName: CPU_BACKEND,
  kernelFunc: softmax as tf.KernelFunc,
};
