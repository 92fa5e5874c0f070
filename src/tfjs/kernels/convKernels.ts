/**
 * The four kernels of a tfjs 2-D convolution family (plain or depthwise): the forward, the fused
 * forward (+ bias, then an activation), and the gradients with respect to the input and to the
 * filter, each on its addon function. Claimed: float32 NHWC tensors with any strides, dilations,
 * 'same', 'valid', numeric and explicit padding; the fused forward with no bias or one of
 * [outChannels] values and the activations 'linear' and 'relu', fused into the output pass.
 * Everything else (NCHW, other dtypes, biases and activations) goes to tfjs's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { Addon } from '../../native/addonTypes';
import { loadAddon } from '../../native/loadAddon';
import { convAttrs, convGeometry, isShape4, type Shape4 } from './convGeometry';
import { cpuBackend, float32Values, sizeOf, type KernelArgs } from './cpuBackend';
import { outputArray, outputTensor } from './outputPool';
import { nativeKernelConfig, runStock } from './stockKernels';

export interface ConvFamily {
  depthwise: boolean;
  kernels: { forward: string; fused: string; backpropInput: string; backpropFilter: string };
  addon: {
    forward: 'conv2d' | 'depthwiseConv2d';
    backpropInput: 'conv2dBackpropInput' | 'depthwiseConv2dBackpropInput';
    backpropFilter: 'conv2dBackpropFilter' | 'depthwiseConv2dBackpropFilter';
  };
}

export interface ConvKernelConfigs {
  forward: tf.KernelConfig;
  fused: tf.KernelConfig;
  backpropInput: tf.KernelConfig;
  backpropFilter: tf.KernelConfig;
}

function sameShape(a: readonly number[], b: readonly number[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((dim, axis) => dim === b[axis]);
}

export function convKernelConfigs(family: ConvFamily): ConvKernelConfigs {
  const { depthwise, kernels } = family;
  const addon = (): Addon => loadAddon();
  /** Output channels of a filter: out (plain) or in · multiplier (depthwise). */
  const outChannels = (filter: Shape4): number => (depthwise ? filter[2] * filter[3] : filter[3]);

  const forward = (
    args: KernelArgs,
    kernelName: string,
    activation: string,
    bias: tf.TensorInfo | undefined,
  ): tf.TensorInfo | tf.TensorInfo[] => {
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
        (biasValues === null ||
          bias.shape.length !== 1 ||
          bias.shape[0] !== outChannels(filter.shape)))
    ) {
      return runStock(kernelName, args);
    }
    const { geometry, outShape } = convGeometry(x.shape, filter.shape, attrs, depthwise);
    const out = outputArray(sizeOf(outShape));
    addon()[family.addon.forward](
      xValues,
      filterValues,
      biasValues,
      out,
      geometry,
      activation === 'relu' ? 1 : 0,
    );
    return outputTensor(backend, outShape, out);
  };

  const backpropInput = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
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
      !isShape4(filter?.shape)
    ) {
      return runStock(kernels.backpropInput, args);
    }
    const { geometry, outShape } = convGeometry(inputShape, filter.shape, attrs, depthwise);
    if (!sameShape(outShape, dy?.shape)) return runStock(kernels.backpropInput, args);
    const dx = outputArray(sizeOf(inputShape));
    addon()[family.addon.backpropInput](dyValues, filterValues, dx, geometry);
    return outputTensor(backend, [...inputShape], dx);
  };

  const backpropFilter = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
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
      !isShape4(x?.shape)
    ) {
      return runStock(kernels.backpropFilter, args);
    }
    const { geometry, outShape } = convGeometry(x.shape, filterShape, attrs, depthwise);
    if (!sameShape(outShape, dy?.shape)) return runStock(kernels.backpropFilter, args);
    const dfilter = outputArray(sizeOf(filterShape));
    addon()[family.addon.backpropFilter](xValues, dyValues, dfilter, geometry);
    return outputTensor(backend, [...filterShape], dfilter);
  };

  return {
    forward: nativeKernelConfig(kernels.forward, (args) =>
      forward(args, kernels.forward, 'linear', undefined),
    ),
    fused: nativeKernelConfig(kernels.fused, (args) =>
      forward(
        args,
        kernels.fused,
        (args.attrs?.['activation'] as string | undefined) ?? 'linear',
        args.inputs['bias'],
      ),
    ),
    backpropInput: nativeKernelConfig(kernels.backpropInput, backpropInput),
    backpropFilter: nativeKernelConfig(kernels.backpropFilter, backpropFilter),
  };
}
