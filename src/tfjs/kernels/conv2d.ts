/**
 * Conv2D, FusedConv2D (tf.fused.conv2d: + bias, then an activation), Conv2DBackpropInput and
 * Conv2DBackpropFilter of float32 NHWC tensors on the addon's im2col + GEMM convolution
 * (native/conv/conv2d.h), the layers of a tfjs CNN and their gradients. tfjs's cpu kernels loop
 * over every output element and filter tap in JavaScript; the filter gradient alone took about a
 * second per step of a small MNIST CNN.
 *
 * Claimed: float32 tensors in NHWC (dataFormat 'NHWC', which tf.layers uses), any strides,
 * dilations (forward; tfjs's gradients refuse dilations > 1 themselves), 'same', 'valid', numeric
 * and explicit padding. FusedConv2D is claimed with no bias or a bias of [outChannels] values, and
 * the activations 'linear' and 'relu', fused into the GEMM's output pass. Everything else (NCHW,
 * other dtypes, other biases and activations) goes to tfjs's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { CPU_BACKEND, runStock } from './stockKernels';

export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

/** The attributes that fix a convolution's geometry, as tfjs's conv kernels receive them. */
interface ConvAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode: RoundingMode;
}

/** The attributes, or null when the native kernels do not claim them (NCHW data). */
function convAttrs(args: KernelArgs): ConvAttrs | null {
  const attrs = args.attrs ?? {};
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') return null;
  return {
    strides: attrs['strides'] as ConvAttrs['strides'],
    dilations: (attrs['dilations'] as ConvAttrs['dilations'] | undefined) ?? 1,
    pad: attrs['pad'] as Pad,
    dimRoundingMode: attrs['dimRoundingMode'] as RoundingMode,
  };
}

/**
 * tfjs's Conv2DInfo (a pooling's too) as the addon's geometry: batch, inHeight, inWidth,
 * inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight,
 * strideWidth, dilationHeight, dilationWidth, padTop, padLeft.
 */
export function geometryArray(info: tf.backend_util.Conv2DInfo): Float64Array {
  return Float64Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
}

/** The addon's geometry and the output shape of a convolution with these shapes and attributes. */
export function conv2dGeometry(
  inShape: Shape4,
  filterShape: Shape4,
  attrs: ConvAttrs,
): { geometry: Float64Array; outShape: Shape4 } {
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return { geometry: geometryArray(info), outShape: info.outShape };
}

/** A rank-4 shape (tfjs hands 2-D convolutions and poolings 4-D tensors). */
export function isShape4(shape: readonly number[] | undefined): shape is Shape4 {
  return shape !== undefined && shape.length === 4;
}

/** Conv2D and FusedConv2D: `activation` 'linear' or 'relu', bias [outChannels] or none. */
function forward(
  args: KernelArgs,
  kernelName: string,
  activation: string,
  bias: tf.TensorInfo | undefined,
): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter } = args.inputs;
  const backend = cpuBackend(args);
  const attrs = convAttrs(args);
  const xValues = float32Values(backend, x);
  const filterValues = float32Values(backend, filter);
  const biasValues = bias === undefined ? null : float32Values(backend, bias);
  if (
    attrs === null ||
    xValues === null ||
    filterValues === null ||
    !isShape4(x?.shape) ||
    !isShape4(filter?.shape) ||
    (activation !== 'linear' && activation !== 'relu') ||
    (bias !== undefined &&
      (biasValues === null || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3]))
  ) {
    return runStock(kernelName, args);
  }
  const { geometry, outShape } = conv2dGeometry(x.shape, filter.shape, attrs);
  const out = outputArray(sizeOf(outShape));
  loadAddon().conv2d(
    xValues,
    filterValues,
    biasValues,
    out,
    geometry,
    activation === 'relu' ? 1 : 0,
  );
  return outputTensor(backend, outShape, out);
}

function conv2d(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  return forward(args, tf.Conv2D, 'linear', undefined);
}

function fusedConv2d(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const activation = (args.attrs?.['activation'] as string | undefined) ?? 'linear';
  return forward(args, tf.FusedConv2D, activation, args.inputs['bias']);
}

function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, filter } = args.inputs;
  const backend = cpuBackend(args);
  const attrs = convAttrs(args);
  const inputShape = args.attrs?.['inputShape'] as number[] | undefined;
  const dyValues = float32Values(backend, dy);
  const filterValues = float32Values(backend, filter);
  if (
    attrs === null ||
    dyValues === null ||
    filterValues === null ||
    !isShape4(inputShape) ||
    !isShape4(dy?.shape) ||
    !isShape4(filter?.shape)
  ) {
    return runStock(tf.Conv2DBackpropInput, args);
  }
  // tfjs's gradient kernels take no dilations: the forward pass's were 1.
  const { geometry, outShape } = conv2dGeometry(inputShape, filter.shape, {
    ...attrs,
    dilations: 1,
  });
  if (!outShape.every((dim, axis) => dim === dy.shape[axis])) {
    return runStock(tf.Conv2DBackpropInput, args);
  }
  const dx = outputArray(sizeOf(inputShape));
  loadAddon().conv2dBackpropInput(dyValues, filterValues, dx, geometry);
  return outputTensor(backend, [...inputShape], dx);
}

function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x, dy } = args.inputs;
  const backend = cpuBackend(args);
  const attrs = convAttrs(args);
  const filterShape = args.attrs?.['filterShape'] as number[] | undefined;
  const xValues = float32Values(backend, x);
  const dyValues = float32Values(backend, dy);
  if (
    attrs === null ||
    xValues === null ||
    dyValues === null ||
    !isShape4(filterShape) ||
    !isShape4(x?.shape) ||
    !isShape4(dy?.shape)
  ) {
    return runStock(tf.Conv2DBackpropFilter, args);
  }
  const { geometry, outShape } = conv2dGeometry(x.shape, filterShape, { ...attrs, dilations: 1 });
  if (!outShape.every((dim, axis) => dim === dy.shape[axis])) {
    return runStock(tf.Conv2DBackpropFilter, args);
  }
  const dfilter = outputArray(sizeOf(filterShape));
  loadAddon().conv2dBackpropFilter(xValues, dyValues, dfilter, geometry);
  return outputTensor(backend, [...filterShape], dfilter);
}

function config(kernelName: string, kernelFunc: (args: KernelArgs) => unknown): tf.KernelConfig {
  return { kernelName, backendName: CPU_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc };
}

export const conv2dConfig = config(tf.Conv2D, conv2d);
export const fusedConv2dConfig = config(tf.FusedConv2D, fusedConv2d);
export const conv2dBackpropInputConfig = config(tf.Conv2DBackpropInput, conv2dBackpropInput);
export const conv2dBackpropFilterConfig = config(tf.Conv2DBackpropFilter, conv2dBackpropFilter);
