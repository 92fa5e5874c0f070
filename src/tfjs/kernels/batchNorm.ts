/**
 * FusedBatchNorm (tf.batchNorm; tf.layers.batchNormalization, which normalises with the batch's
 * moments in training and the moving ones in inference) in the addon (native/ops/batch_norm.h):
 * out = offset + (x − mean) · scale / √(variance + ε) over x's last axis, computed in double as
 * tfjs's cpu kernel computes it, so the result is that kernel's bit for bit. tfjs's kernel walks
 * four cycling parameter indices per element in JavaScript: it was a quarter of a MobileNet-style
 * training step once the convolutions and ReLU6 were native. Claimed: float32 tensors whose
 * parameters have x's last dimension or one element, all of one rank (tfjs's own checks), and a
 * ε that is not NaN; anything else goes to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import {
  cpuBackend,
  float32Values,
  requireFloat32Inputs,
  sizeOf,
  type KernelArgs,
} from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { nativeKernelConfig, runStock } from './stockKernels';
import { BATCH_NORM_INPUT_GRAD, BATCH_NORM_PARAMS_GRAD } from './nativeGradients';

/** tfjs's default when the attribute is absent. */
const DEFAULT_VARIANCE_EPSILON = 0.001;

function batchNorm(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x, mean, variance, scale, offset } = args.inputs;
  const backend = cpuBackend(args);
  const xValues = float32Values(backend, x);
  if (x === undefined || xValues === null || mean === undefined || variance === undefined) {
    return runStock(tf.FusedBatchNorm, args);
  }
  const channels = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
  const rank = mean.shape.length;
  /** A parameter's values when the native kernel can take it; undefined for an absent one. */
  const parameter = (info: tf.TensorInfo | undefined): Float32Array | null | undefined => {
    if (info === undefined) return undefined;
    const values = float32Values(backend, info);
    const fits = values !== null && info.shape.length === rank;
    return fits && (values.length === channels || values.length === 1) ? values : null;
  };
  const params = [mean, variance, scale, offset].map(parameter);
  const epsilon = args.attrs?.['varianceEpsilon'] ?? DEFAULT_VARIANCE_EPSILON;
  if (
    channels === 0 ||
    params.includes(null) ||
    typeof epsilon !== 'number' ||
    Number.isNaN(epsilon)
  ) {
    return runStock(tf.FusedBatchNorm, args);
  }
  const [meanValues, varianceValues, scaleValues, offsetValues] = params;
  const out = outputArray(sizeOf(x.shape));
  loadAddon().batchNorm(
    xValues,
    channels,
    meanValues!,
    varianceValues!,
    scaleValues ?? null,
    offsetValues ?? null,
    epsilon,
    out,
  );
  return outputTensor(backend, [...x.shape], out);
}

export const batchNormConfig = nativeKernelConfig(tf.FusedBatchNorm, batchNorm);

/** The optional scale input's values, or null when it is absent. */
function optionalScale(args: KernelArgs, kernelName: string): Float32Array | null {
  if (args.inputs['scale'] === undefined) return null;
  const [scale] = requireFloat32Inputs(args, kernelName, ['scale']) as [Float32Array];
  return scale;
}

/** FusedBatchNorm's gradient for x (src/tfjs/kernels/nativeGradients.ts claims the cases). */
function batchNormInputGrad(args: KernelArgs): tf.TensorInfo {
  const [dy, variance] = requireFloat32Inputs(args, BATCH_NORM_INPUT_GRAD, ['dy', 'variance']) as [
    Float32Array,
    Float32Array,
  ];
  const dx = outputArray(dy.length);
  loadAddon().batchNormInputBackward(
    dy,
    variance.length,
    variance,
    optionalScale(args, BATCH_NORM_INPUT_GRAD),
    args.attrs?.['varianceEpsilon'] as number,
    dx,
  );
  return outputTensor(cpuBackend(args), [...(args.inputs['dy'] as tf.TensorInfo).shape], dx);
}

/** FusedBatchNorm's gradients for mean, variance, scale and offset, as rows of [4, channels]. */
function batchNormParamsGrad(args: KernelArgs): tf.TensorInfo {
  const [x, dy, mean, variance] = requireFloat32Inputs(args, BATCH_NORM_PARAMS_GRAD, [
    'x',
    'dy',
    'mean',
    'variance',
  ]) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const channels = mean.length;
  const out = outputArray(4 * channels);
  loadAddon().batchNormParamsBackward(
    x,
    dy,
    channels,
    mean,
    variance,
    optionalScale(args, BATCH_NORM_PARAMS_GRAD),
    args.attrs?.['varianceEpsilon'] as number,
    out,
  );
  return outputTensor(cpuBackend(args), [4, channels], out);
}

export const batchNormInputGradConfig = nativeKernelConfig(
  BATCH_NORM_INPUT_GRAD,
  batchNormInputGrad,
);
export const batchNormParamsGradConfig = nativeKernelConfig(
  BATCH_NORM_PARAMS_GRAD,
  batchNormParamsGrad,
);
