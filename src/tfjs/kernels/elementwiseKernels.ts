/**
 * Factories for the native elementwise kernels (one KernelConfig per file uses them): unary
 * operations on float32 tensors, and binary operations with tfjs's broadcasting. Anything else
 * (another dtype, shapes that do not broadcast, ranks above the addon's 8) goes to tfjs's own
 * kernel, errors included.
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryOpName, UnaryOpName } from '../../native/addonTypes';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND, runStock } from './stockKernels';

/** The addon's limit on tensor rank. */
export const MAX_NATIVE_RANK = 8;

export function unaryKernel(kernelName: string, op: UnaryOpName): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs;
    const backend = cpuBackend(args);
    const values = float32Values(backend, x);
    if (x === undefined || values === null) return runStock(kernelName, args);
    const out = outputArray(values.length);
    loadAddon().unaryOp(op, values, out);
    return outputTensor(backend, [...x.shape], out);
  };
  return { kernelName, backendName: CPU_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc };
}

export function binaryKernel(kernelName: string, op: BinaryOpName): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { a, b } = args.inputs;
    const backend = cpuBackend(args);
    const aValues = float32Values(backend, a);
    const bValues = float32Values(backend, b);
    if (a === undefined || b === undefined || aValues === null || bValues === null) {
      return runStock(kernelName, args);
    }
    let shape: number[];
    try {
      shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return runStock(kernelName, args);
    }
    if (shape.length > MAX_NATIVE_RANK) return runStock(kernelName, args);
    const out = outputArray(sizeOf(shape));
    loadAddon().binaryOp(op, aValues, a.shape, bValues, b.shape, out);
    return outputTensor(backend, shape, out);
  };
  return { kernelName, backendName: CPU_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc };
}
