/**
 * The geometry of tfjs's 2-D convolution and pooling kernels, as the addon's convolution and
 * pooling functions (native/conv/) take it: tfjs's own Conv2DInfo, so that padding, output sizes
 * and rounding are exactly tfjs's.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './cpuBackend';

export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

/** The attributes that fix a convolution's geometry, as tfjs's conv kernels receive them. */
export interface ConvAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode: RoundingMode;
}

/**
 * A kernel's convolution attributes (dilations 1 where it has none: tfjs's Conv2D gradients), or
 * null for channels-first data, which the native kernels do not claim.
 */
export function convAttrs(args: KernelArgs): ConvAttrs | null {
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
 * tfjs's Conv2DInfo as the addon's geometry: batch, inHeight, inWidth, inChannels, outHeight,
 * outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight,
 * dilationWidth, padTop, padLeft.
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

/**
 * The addon's geometry and the output shape of a convolution (depthwise: filter [fh, fw, in,
 * multiplier], in · multiplier output channels) with these shapes and attributes.
 */
export function convGeometry(
  inShape: Shape4,
  filterShape: Shape4,
  attrs: ConvAttrs,
  depthwise = false,
): { geometry: Float64Array; outShape: Shape4 } {
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return { geometry: geometryArray(info), outShape: info.outShape };
}

/** tfjs's pooling geometry for x's shape and a pooling kernel's attributes. */
export function poolInfo(xShape: Shape4, args: KernelArgs): tf.backend_util.Conv2DInfo {
  const attrs = args.attrs ?? {};
  return tf.backend_util.computePool2DInfo(
    xShape,
    attrs['filterSize'] as number | [number, number],
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as Pad,
    attrs['dimRoundingMode'] as RoundingMode,
  );
}

/** A rank-4 shape (tfjs hands 2-D convolutions and poolings 4-D tensors). */
export function isShape4(shape: readonly number[] | undefined): shape is Shape4 {
  return shape !== undefined && shape.length === 4;
}
