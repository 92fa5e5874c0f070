/**
 * Mean (as tfjs: Σ of x / n, each quotient rounded to float32) over one block of adjacent axes of
 * a float32 tensor in the addon (see reductionKernels.ts), and its one-pass gradient
 * (nativeGradients.ts claims the cases).
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { cpuBackend, requireFloat32Inputs, sizeOf, type KernelArgs } from './cpuBackend';
import { MEAN_GRAD } from './nativeGradients';
import { outputArray, outputTensor } from './outputPool';
import { reductionKernel } from './reductionKernels';
import { nativeKernelConfig } from './stockKernels';

export const meanConfig: tf.KernelConfig = reductionKernel(tf.Mean, 'mean', 'axis');

/** dy spread over xShape: each averaged axis 1 in dy's shape, divided by their element count. */
function meanGrad(args: KernelArgs): tf.TensorInfo {
  const [dy] = requireFloat32Inputs(args, MEAN_GRAD, ['dy']) as [Float32Array];
  const xShape = args.attrs?.['xShape'] as number[];
  const axes = args.attrs?.['axes'] as number[];
  const dyShape = xShape.map((dim, axis) => (axes.includes(axis) ? 1 : dim));
  const count = axes.reduce((product, axis) => product * (xShape[axis] as number), 1);
  const dx = outputArray(sizeOf(xShape));
  loadAddon().meanBackward(dy, dyShape, [...xShape], count, dx);
  return outputTensor(cpuBackend(args), [...xShape], dx);
}

export const meanGradConfig = nativeKernelConfig(MEAN_GRAD, meanGrad);
