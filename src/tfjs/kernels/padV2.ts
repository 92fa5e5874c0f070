/**
 * PadV2 (tf.pad, and the gradient of tf.slice) of a float32 tensor: the padded array is filled with
 * the constant and the input copied into its box in the addon (tfjs places every element through
 * index arithmetic). Other dtypes go to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { MAX_NATIVE_RANK } from './elementwiseKernels';
import { CPU_BACKEND, runStock } from './stockKernels';

function padV2(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const values = float32Values(backend, x);
  const paddings = args.attrs?.['paddings'] as [number, number][] | undefined;
  const constantValue = (args.attrs?.['constantValue'] as number | undefined) ?? 0;
  if (
    x === undefined ||
    values === null ||
    !Array.isArray(paddings) ||
    paddings.length !== x.shape.length ||
    x.shape.length > MAX_NATIVE_RANK ||
    paddings.some((pair) => !Array.isArray(pair) || pair[0] < 0 || pair[1] < 0)
  ) {
    return runStock(tf.PadV2, args);
  }
  const start = paddings.map((pair) => pair[0]);
  const outShape = paddings.map((pair, axis) => pair[0] + (x.shape[axis] as number) + pair[1]);
  const out = outputArray(sizeOf(outShape)).fill(constantValue);
  loadAddon().copyBox(
    values,
    x.shape,
    new Array<number>(x.shape.length).fill(0),
    out,
    outShape,
    start,
    x.shape,
  );
  return outputTensor(backend, outShape, out);
}

export const padV2Config: tf.KernelConfig = {
  kernelName: tf.PadV2,
  backendName: CPU_BACKEND,
  kernelFunc: padV2 as tf.KernelFunc,
};
