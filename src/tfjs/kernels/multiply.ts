/** Multiply with tfjs's broadcasting on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { binaryKernel } from './elementwiseKernels';

export const multiplyConfig: tf.KernelConfig = binaryKernel(tf.Multiply, 'mul');
