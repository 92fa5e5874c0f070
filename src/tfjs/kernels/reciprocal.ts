/** Reciprocal (1 / x) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const reciprocalConfig: tf.KernelConfig = unaryKernel(tf.Reciprocal, 'reciprocal');
