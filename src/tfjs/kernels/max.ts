/** Max (NaN-propagating, as tfjs) over one block of adjacent axes of a float32 tensor in the addon (see reductionKernels.ts). */
import * as tf from '@tensorflow/tfjs';
import { reductionKernel } from './reductionKernels';

export const maxConfig: tf.KernelConfig = reductionKernel(tf.Max, 'max', 'reductionIndices');
