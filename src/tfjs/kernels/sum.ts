/** Sum (accumulated in double, as tfjs) over one block of adjacent axes of a float32 tensor in the addon (see reductionKernels.ts). */
import * as tf from '@tensorflow/tfjs';
import { reductionKernel } from './reductionKernels';

export const sumConfig: tf.KernelConfig = reductionKernel(tf.Sum, 'sum', 'axis');
