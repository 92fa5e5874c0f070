/** The fused exact GELU of src/vit/fusedOps.ts and its gradient, on the addon. */
import type * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { GELU, GELU_GRAD } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Inputs, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

function gelu(args: KernelArgs): tf.TensorInfo {
  const [x] = requireFloat32Inputs(args, GELU, ['x']) as [Float32Array];
  const y = outputArray(x.length);
  loadAddon().gelu(x, y);
  const shape = (args.inputs['x'] as tf.TensorInfo).shape;
  return outputTensor(cpuBackend(args), [...shape], y);
}

function geluGrad(args: KernelArgs): tf.TensorInfo {
  const [dy, x] = requireFloat32Inputs(args, GELU_GRAD, ['dy', 'x']) as [
    Float32Array,
    Float32Array,
  ];
  const dx = outputArray(x.length);
  loadAddon().geluBackward(dy, x, dx);
  const shape = (args.inputs['x'] as tf.TensorInfo).shape;
  return outputTensor(cpuBackend(args), [...shape], dx);
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
