/** The fused exact GELU of src/vit/fusedOps.ts and its gradient, on the addon. */
import type * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { GELU, GELU_GRAD } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Values, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

function gelu(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const backend = cpuBackend(args);
  const values = requireFloat32Values(backend, x, GELU, 'x');
  const y = new Float32Array(values.length);
  loadAddon().gelu(values, y);
  return backend.makeTensorInfo([...(x as tf.TensorInfo).shape], 'float32', y);
}

function geluGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs;
  const backend = cpuBackend(args);
  const values = requireFloat32Values(backend, x, GELU_GRAD, 'x');
  const dx = new Float32Array(values.length);
  loadAddon().geluBackward(requireFloat32Values(backend, dy, GELU_GRAD, 'dy'), values, dx);
  return backend.makeTensorInfo([...(x as tf.TensorInfo).shape], 'float32', dx);
}

export const geluConfig: tf.KernelConfig = {
  kernelName: GELU,
  backendName: CPU_BACKEND,
  kernelFunc: gelu as tf.KernelFunc,
};

export const geluGradConfig: tf.KernelConfig = {
  kernelName: GELU_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: geluGrad as tf.KernelFunc,
};
