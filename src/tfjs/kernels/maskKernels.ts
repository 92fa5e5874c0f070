/**
 * The kernels of clipped activations and their gradients in the addon (native/ops/mask_ops.h):
 * ClipByValue (tf.clipByValue; tf.layers.reLU({ maxValue }) and ReLU6 are relu then a clip),
 * whose gradient is select(logicalAnd(x ≥ min, x ≤ max), dy, zerosLike(dy)): the comparisons
 * Greater, GreaterEqual, Less, LessEqual, Equal and NotEqual of float32 tensors into bool ones,
 * LogicalAnd, Select and ZerosLike. tfjs's cpu kernels compare a tensor with a scalar through
 * per-element index arithmetic; in a MobileNet-style step these were 70 % of the time once the
 * convolutions were native. Claimed: operands of the output's size or of one element (other
 * broadcasts, dtypes and NaN clip bounds go to tfjs's kernels); the results are tfjs's, bit for
 * bit. Also the one-pass gradients of ClipByValue and Relu (src/tfjs/kernels/nativeGradients.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import {
  boolValues,
  cpuBackend,
  float32Values,
  requireFloat32Inputs,
  sizeOf,
  type KernelArgs,
} from './cpuBackend';
import { CLIP_BY_VALUE_GRAD, RELU_GRAD } from './nativeGradients';
import { boolOutputArray, outputArray, outputTensor, zeroedOutputArray } from './outputPool';
import { nativeKernelConfig, runStock } from './stockKernels';

type CompareName = 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual';

/** The broadcast shape of a and b when each has its size or one element, else null. */
function elementwiseShape(a: tf.TensorInfo, b: tf.TensorInfo): number[] | null {
  let shape: number[];
  try {
    shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  } catch {
    return null;
  }
  const size = sizeOf(shape);
  const fits = (info: tf.TensorInfo): boolean => {
    const length = sizeOf(info.shape);
    return length === size || length === 1;
  };
  return fits(a) && fits(b) ? shape : null;
}

function compareKernel(kernelName: string, op: CompareName): tf.KernelConfig {
  return nativeKernelConfig(kernelName, (args) => {
    const { a, b } = args.inputs;
    const backend = cpuBackend(args);
    const aValues = float32Values(backend, a);
    const bValues = float32Values(backend, b);
    const shape = a && b ? elementwiseShape(a, b) : null;
    if (aValues === null || bValues === null || shape === null) return runStock(kernelName, args);
    const out = boolOutputArray(sizeOf(shape));
    loadAddon().compare(op, aValues, bValues, out);
    return outputTensor(backend, shape, out);
  });
}

export const greaterConfig = compareKernel(tf.Greater, 'greater');
export const greaterEqualConfig = compareKernel(tf.GreaterEqual, 'greaterEqual');
export const lessConfig = compareKernel(tf.Less, 'less');
export const lessEqualConfig = compareKernel(tf.LessEqual, 'lessEqual');
export const equalConfig = compareKernel(tf.Equal, 'equal');
export const notEqualConfig = compareKernel(tf.NotEqual, 'notEqual');

export const logicalAndConfig = nativeKernelConfig(tf.LogicalAnd, (args) => {
  const { a, b } = args.inputs;
  const backend = cpuBackend(args);
  const aValues = boolValues(backend, a);
  const bValues = boolValues(backend, b);
  const shape = a && b ? elementwiseShape(a, b) : null;
  if (aValues === null || bValues === null || shape === null) {
    return runStock(tf.LogicalAnd, args);
  }
  const out = boolOutputArray(sizeOf(shape));
  loadAddon().logicalAnd(aValues, bValues, out);
  return outputTensor(backend, shape, out);
});

export const selectConfig = nativeKernelConfig(tf.Select, (args) => {
  const { condition, t, e } = args.inputs;
  const backend = cpuBackend(args);
  const conditionValues = boolValues(backend, condition);
  const tValues = float32Values(backend, t);
  const eValues = float32Values(backend, e);
  if (
    conditionValues === null ||
    tValues === null ||
    eValues === null ||
    conditionValues.length !== tValues.length ||
    eValues.length !== tValues.length
  ) {
    return runStock(tf.Select, args);
  }
  const out = outputArray(tValues.length);
  loadAddon().select(conditionValues, tValues, eValues, out);
  return outputTensor(backend, [...(t as tf.TensorInfo).shape], out);
});

export const clipByValueConfig = nativeKernelConfig(tf.ClipByValue, (args) => {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const values = float32Values(backend, x);
  const min = args.attrs?.['clipValueMin'];
  const max = args.attrs?.['clipValueMax'];
  if (
    values === null ||
    typeof min !== 'number' ||
    typeof max !== 'number' ||
    Number.isNaN(min) ||
    Number.isNaN(max)
  ) {
    return runStock(tf.ClipByValue, args);
  }
  const out = outputArray(values.length);
  loadAddon().clipByValue(values, min, max, out);
  return outputTensor(backend, [...(x as tf.TensorInfo).shape], out);
});

export const zerosLikeConfig = nativeKernelConfig(tf.ZerosLike, (args) => {
  const { x } = args.inputs;
  if (x === undefined || x.dtype !== 'float32') return runStock(tf.ZerosLike, args);
  return outputTensor(cpuBackend(args), [...x.shape], zeroedOutputArray(sizeOf(x.shape)));
});

/** The output of a gradient kernel of inputs dy and x: dx, shaped as x. */
function gradientKernel(
  kernelName: string,
  run: (x: Float32Array, dy: Float32Array, dx: Float32Array, args: KernelArgs) => void,
): tf.KernelConfig {
  return nativeKernelConfig(kernelName, (args) => {
    const [dy, x] = requireFloat32Inputs(args, kernelName, ['dy', 'x']) as [
      Float32Array,
      Float32Array,
    ];
    const dx = outputArray(x.length);
    run(x, dy, dx, args);
    return outputTensor(cpuBackend(args), [...(args.inputs['x'] as tf.TensorInfo).shape], dx);
  });
}

/** ClipByValue's gradient (src/tfjs/kernels/nativeGradients.ts claims the cases). */
export const clipByValueGradConfig = gradientKernel(CLIP_BY_VALUE_GRAD, (x, dy, dx, args) => {
  const min = args.attrs?.['clipValueMin'] as number;
  const max = args.attrs?.['clipValueMax'] as number;
  loadAddon().clipByValueBackward(x, dy, min, max, dx);
});

/** Relu's gradient, dy · step(x). */
export const reluGradConfig = gradientKernel(RELU_GRAD, (x, dy, dx) => {
  loadAddon().reluBackward(x, dy, dx);
});
