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
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { nativeKernelConfig, runStock } from './stockKernels';

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
