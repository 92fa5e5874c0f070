/**
 * Concat of float32 tensors: each input copied into its box of the output in the addon (one
 * memcpy per contiguous run). Empty results, single non-empty inputs, other dtypes and shape
 * errors go to tfjs's kernel, which returns or throws exactly what it always does.
 */
import * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { MAX_NATIVE_RANK } from './elementwiseKernels';
import { CPU_BACKEND, runStock } from './stockKernels';

function concat(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const backend = cpuBackend(args);
  const inputs = Object.values(args.inputs).filter((t): t is tf.TensorInfo => t !== undefined);
  const first = inputs[0];
  if (first === undefined || first.shape.length > MAX_NATIVE_RANK) return runStock(tf.Concat, args);
  let axis: number;
  let outShape: number[];
  try {
    axis = tf.util.parseAxisParam(args.attrs?.['axis'] as number, first.shape)[0] as number;
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    outShape = tf.backend_util.computeOutShape(shapes, axis);
  } catch {
    return runStock(tf.Concat, args);
  }
  const nonEmpty = inputs.filter((t) => sizeOf(t.shape) > 0);
  const values = nonEmpty.map((t) => float32Values(backend, t));
  if (sizeOf(outShape) === 0 || nonEmpty.length < 2 || values.some((v) => v === null)) {
    return runStock(tf.Concat, args);
  }
  const out = outputArray(sizeOf(outShape));
  const addon = loadAddon();
  const begin = new Array<number>(outShape.length).fill(0);
  const zeros = new Array<number>(outShape.length).fill(0);
  nonEmpty.forEach((input, index) => {
    addon.copyBox(
      values[index] as Float32Array,
      input.shape,
      zeros,
      out,
      outShape,
      [...begin],
      input.shape,
    );
    begin[axis] = (begin[axis] as number) + (input.shape[axis] as number);
  });
  return outputTensor(backend, outShape, out);
}

export const concatConfig: tf.KernelConfig = {
  kernelName: tf.Concat,
  backendName: CPU_BACKEND,
  kernelFunc: concat as tf.KernelFunc,
};
