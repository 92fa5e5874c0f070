/**
 * SplitV (tf.split, and the gradient of tf.concat) as tfjs's kernel does it, one slice per piece,
 * but with the native Slice, so pieces that are not contiguous are copied in the addon.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs } from './cpuBackend';
import { slice } from './slice';
import { CPU_BACKEND, runStock } from './stockKernels';

function splitV(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs;
  if (x === undefined || x.dtype !== 'float32') return runStock(tf.SplitV, args);
  let axis: number;
  let sizes: number[];
  try {
    axis = tf.util.parseAxisParam(args.attrs?.['axis'] as number, x.shape)[0] as number;
    const requested = args.attrs?.['numOrSizeSplits'] as number | number[];
    // prepareSplitSize fills in a −1 entry in place; hand it a copy.
    sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      Array.isArray(requested) ? [...requested] : requested,
      axis,
    );
  } catch {
    return runStock(tf.SplitV, args);
  }
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((pieceSize) => {
    const size = [...x.shape];
    size[axis] = pieceSize;
    const piece = slice({
      inputs: { x },
      backend: args.backend,
      attrs: { begin: [...begin], size },
    });
    begin[axis] = (begin[axis] as number) + pieceSize;
    return piece as tf.TensorInfo;
  });
}

export const splitVConfig: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: CPU_BACKEND,
  kernelFunc: splitV as tf.KernelFunc,
};
