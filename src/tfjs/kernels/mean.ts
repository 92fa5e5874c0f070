/** Mean (as tfjs: Σ of x / n, each quotient rounded to float32) over one block of adjacent axes of a float32 tensor in the addon (see reductionKernels.ts). */
import * as tf from '@tensorflow/tfjs';
import { reductionKernel } from './reductionKernels';

export const meanConfig: tf.KernelConfig = reductionKernel(tf.Mean, 'mean', 'axis');
