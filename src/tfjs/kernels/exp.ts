/** Exp (in double, rounded once) on float32 tensors in the addon; other dtypes go to tfjs's kernel. */
import * as tf from '@tensorflow/tfjs';
import { unaryKernel } from './elementwiseKernels';

export const expConfig: tf.KernelConfig = unaryKernel(tf.Exp, 'exp');
