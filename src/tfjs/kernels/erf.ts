/** Erf (tfjs's Abramowitz–Stegun formula, in double) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const erfConfig: tf.KernelConfig = unaryKernel(tf.Erf, 'erf');
