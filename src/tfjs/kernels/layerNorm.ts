/**
 * The fused LayerNorm of src/vit/fusedOps.ts on the addon (native/ops/fused_ops.h): forward, and
 * the input and gain gradients (the bias gradient is a plain sum). Statistics in double, one pass
 * over memory each.
 */
import type * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { LAYER_NORM, LAYER_NORM_GAMMA_GRAD, LAYER_NORM_INPUT_GRAD } from '../../vit/fusedOps';
import { cpuBackend, lastAxisRows, requireFloat32Inputs, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

function layerNorm(args: KernelArgs): tf.TensorInfo[] {
  const [x, gamma, beta] = requireFloat32Inputs(args, LAYER_NORM, ['x', 'gamma', 'beta']) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const shape = (args.inputs['x'] as tf.TensorInfo).shape;
  const [rows] = lastAxisRows(shape);
  const y = outputArray(x.length);
  const mean = outputArray(rows);
  const rstd = outputArray(rows);
  loadAddon().layerNorm(x, gamma, beta, args.attrs?.['eps'] as number, y, mean, rstd);
  const backend = cpuBackend(args);
  return [
    outputTensor(backend, [...shape], y),
    outputTensor(backend, [rows], mean),
    outputTensor(backend, [rows], rstd),
  ];
}

function layerNormInputGrad(args: KernelArgs): tf.TensorInfo {
  const [dy, x, gamma, mean, rstd] = requireFloat32Inputs(args, LAYER_NORM_INPUT_GRAD, [
    'dy',
    'x',
    'gamma',
    'mean',
    'rstd',
  ]) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const dx = outputArray(x.length);
  loadAddon().layerNormInputGrad(dy, x, gamma, mean, rstd, dx);
  const shape = (args.inputs['x'] as tf.TensorInfo).shape;
  return outputTensor(cpuBackend(args), [...shape], dx);
}

function layerNormGammaGrad(args: KernelArgs): tf.TensorInfo {
  const [dy, x, mean, rstd] = requireFloat32Inputs(args, LAYER_NORM_GAMMA_GRAD, [
    'dy',
    'x',
    'mean',
    'rstd',
  ]) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const [, width] = lastAxisRows((args.inputs['x'] as tf.TensorInfo).shape);
  const dgamma = outputArray(width);
  loadAddon().layerNormGammaGrad(dy, x, mean, rstd, dgamma);
  return outputTensor(cpuBackend(args), [width], dgamma);
}

export const layerNormConfig: tf.KernelConfig = {
  kernelName: LAYER_NORM,
  backendName: CPU_BACKEND,
  kernelFunc: layerNorm as tf.KernelFunc,
};

export const layerNormInputGradConfig: tf.KernelConfig = {
  kernelName: LAYER_NORM_INPUT_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: layerNormInputGrad as tf.KernelFunc,
};

export const layerNormGammaGradConfig: tf.KernelConfig = {
  kernelName: LAYER_NORM_GAMMA_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: layerNormGammaGrad as tf.KernelFunc,
};
