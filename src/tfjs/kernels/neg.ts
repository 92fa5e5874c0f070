/** Neg (−x) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const negConfig: tf.KernelConfig = unaryKernel(tf.Neg, 'neg');
