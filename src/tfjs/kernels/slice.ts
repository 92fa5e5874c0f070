/**
 * Slice of a float32 tensor in the addon, for boxes that are not one contiguous run (tfjs copies
 * those element by element through index arithmetic; contiguous ones it returns as a view of the
 * input without copying, and stay with tfjs's kernel). Other dtypes go to tfjs's kernel too.
 */
import * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { MAX_NATIVE_RANK } from './elementwiseKernels';
import { CPU_BACKEND, runStock } from './stockKernels';

export function slice(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const values = float32Values(backend, x);
  if (x === undefined || values === null || x.shape.length > MAX_NATIVE_RANK) {
    return runStock(tf.Slice, args);
  }
  let begin: number[];
  let size: number[];
  try {
    const parsed = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      args.attrs?.['begin'] as number[],
      args.attrs?.['size'] as number[],
    );
    begin = parsed[0] as number[];
    size = parsed[1] as number[];
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  } catch {
    return runStock(tf.Slice, args);
  }
  if (sizeOf(size) === 0 || tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    return runStock(tf.Slice, args);
  }
  const out = outputArray(sizeOf(size));
  loadAddon().copyBox(
    values,
    x.shape,
    begin,
    out,
    size,
    new Array<number>(size.length).fill(0),
    size,
  );
  return outputTensor(backend, size, out);
}

export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: CPU_BACKEND,
  kernelFunc: slice as tf.KernelFunc,
};
