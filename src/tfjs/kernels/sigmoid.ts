/** Sigmoid (1 / (1 + e^−x), in double) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const sigmoidConfig: tf.KernelConfig = unaryKernel(tf.Sigmoid, 'sigmoid');
