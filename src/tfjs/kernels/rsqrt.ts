/** Rsqrt (1 / Math.sqrt(x), in double) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const rsqrtConfig: tf.KernelConfig = unaryKernel(tf.Rsqrt, 'rsqrt');
