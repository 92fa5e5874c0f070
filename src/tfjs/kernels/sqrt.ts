/** Sqrt on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const sqrtConfig: tf.KernelConfig = unaryKernel(tf.Sqrt, 'sqrt');
