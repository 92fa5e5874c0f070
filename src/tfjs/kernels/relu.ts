/** Relu (Math.max(0, x)) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const reluConfig: tf.KernelConfig = unaryKernel(tf.Relu, 'relu');
