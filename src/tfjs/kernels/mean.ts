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

/** dy spread over xShape (its shape dyShape, 1 on the averaged axes) and divided by count. */
function meanGrad(args: KernelArgs): tf.TensorInfo {
  const [dy] = requireFloat32Inputs(args, MEAN_GRAD, ['dy']) as [Float32Array];
  const xShape = args.attrs?.['xShape'] as number[];
  const dyShape = args.attrs?.['dyShape'] as number[];
  const dx = outputArray(sizeOf(xShape));
  loadAddon().meanBackward(dy, dyShape, xShape, args.attrs?.['count'] as number, dx);
  return outputTensor(cpuBackend(args), [...xShape], dx);
}

export const meanGradConfig = nativeKernelConfig(MEAN_GRAD, meanGrad);
