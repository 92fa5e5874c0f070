/**
 * The factory for the native reduction kernels (Sum, Mean, Max, Min). It claims float32 inputs
 * whose reduced axes form one block once size-1 dimensions are ignored (the last axis, the first,
 * a middle run, or all of them), viewed as [outer, size, inner]; tfjs's own kernels move such axes
 * innermost with a transpose first, which the native layout avoids. Other cases (non-adjacent
 * axes, empty reductions, other dtypes) go to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReduceOpName } from '../../native/addonTypes';
import { outputTensor, zeroedOutputArray } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND, runStock } from './stockKernels';

export interface ReductionLayout {
  outer: number;
  size: number;
  inner: number;
}

/** [outer, size, inner] for reducing `axes` of `shape`, or null when they are not one block. */
export function reductionLayout(
  shape: readonly number[],
  axes: readonly number[],
): ReductionLayout | null {
  const reduced = new Set(axes);
  const layout = { outer: 1, size: 1, inner: 1 };
  let seenReduced = false;
  let seenAfter = false;
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis] as number;
    if (dim === 1) continue;
    if (reduced.has(axis)) {
      if (seenAfter) return null;
      seenReduced = true;
      layout.size *= dim;
    } else if (seenReduced) {
      seenAfter = true;
      layout.inner *= dim;
    } else {
      layout.outer *= dim;
    }
  }
  return layout;
}

/** `axisAttr`: the attribute naming the axes ('axis', or 'reductionIndices' for Max). */
export function reductionKernel(
  kernelName: string,
  op: ReduceOpName,
  axisAttr: 'axis' | 'reductionIndices',
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs;
    const backend = cpuBackend(args);
    const values = float32Values(backend, x);
    if (x === undefined || values === null || values.length === 0)
      return runStock(kernelName, args);
    let axes: number[];
    try {
      axes = tf.util.parseAxisParam(args.attrs?.[axisAttr] as number | number[], x.shape);
    } catch {
      return runStock(kernelName, args);
    }
    const layout = reductionLayout(x.shape, axes);
    if (layout === null) return runStock(kernelName, args);
    let outShape = x.shape.filter((_, axis) => !axes.includes(axis));
    if (args.attrs?.['keepDims'] === true) {
      outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
    }
    const out = zeroedOutputArray(sizeOf(outShape));
    loadAddon().reduceOp(op, values, out, layout.outer, layout.size, layout.inner);
    return outputTensor(backend, outShape, out);
  };
  return { kernelName, backendName: CPU_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc };
}
