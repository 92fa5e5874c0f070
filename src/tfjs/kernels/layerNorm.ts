/**
 * The fused LayerNorm of src/vit/fusedOps.ts on the addon (native/ops/fused_ops.h): forward, and
 * the input and gain gradients (the bias gradient is a plain sum). Statistics in double, one pass
 * over memory each.
 */
import type * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { LAYER_NORM, LAYER_NORM_GAMMA_GRAD, LAYER_NORM_INPUT_GRAD } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Values, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

function layerNorm(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs;
  const backend = cpuBackend(args);
  const xValues = requireFloat32Values(backend, x, LAYER_NORM, 'x');
  const width = xValues.length === 0 ? 0 : ((x as tf.TensorInfo).shape.at(-1) as number);
  const rows = width === 0 ? 0 : xValues.length / width;
  const y = new Float32Array(xValues.length);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  loadAddon().layerNorm(
    xValues,
    requireFloat32Values(backend, gamma, LAYER_NORM, 'gamma'),
    requireFloat32Values(backend, beta, LAYER_NORM, 'beta'),
    args.attrs?.['eps'] as number,
    y,
    mean,
    rstd,
  );
  const shape = [...(x as tf.TensorInfo).shape];
  return [
    backend.makeTensorInfo(shape, 'float32', y),
    backend.makeTensorInfo([rows], 'float32', mean),
    backend.makeTensorInfo([rows], 'float32', rstd),
  ];
}

function layerNormInputGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x, gamma, mean, rstd } = args.inputs;
  const backend = cpuBackend(args);
  const xValues = requireFloat32Values(backend, x, LAYER_NORM_INPUT_GRAD, 'x');
  const dx = new Float32Array(xValues.length);
  loadAddon().layerNormInputGrad(
    requireFloat32Values(backend, dy, LAYER_NORM_INPUT_GRAD, 'dy'),
    xValues,
    requireFloat32Values(backend, gamma, LAYER_NORM_INPUT_GRAD, 'gamma'),
    requireFloat32Values(backend, mean, LAYER_NORM_INPUT_GRAD, 'mean'),
    requireFloat32Values(backend, rstd, LAYER_NORM_INPUT_GRAD, 'rstd'),
    dx,
  );
  return backend.makeTensorInfo([...(x as tf.TensorInfo).shape], 'float32', dx);
}

function layerNormGammaGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x, mean, rstd } = args.inputs;
  const backend = cpuBackend(args);
  const width = (x as tf.TensorInfo).shape.at(-1) as number;
  const dgamma = new Float32Array(width);
  loadAddon().layerNormGammaGrad(
    requireFloat32Values(backend, dy, LAYER_NORM_GAMMA_GRAD, 'dy'),
    requireFloat32Values(backend, x, LAYER_NORM_GAMMA_GRAD, 'x'),
    requireFloat32Values(backend, mean, LAYER_NORM_GAMMA_GRAD, 'mean'),
    requireFloat32Values(backend, rstd, LAYER_NORM_GAMMA_GRAD, 'rstd'),
    dgamma,
  );
  return backend.makeTensorInfo([width], 'float32', dgamma);
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
