/**
 * Step (tf.step; ReLU's gradient is dy · step(x)) on float32 tensors in the addon, for the
 * default alpha 0: x > 0 ? 1 : 0, NaN stays NaN. Another alpha or dtype goes to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './cpuBackend';
import { unaryKernel } from './elementwiseKernels';
import { runStock } from './stockKernels';

const nativeStep = unaryKernel(tf.Step, 'step');

export const stepConfig: tf.KernelConfig = {
  ...nativeStep,
  kernelFunc: ((args: KernelArgs) =>
    (args.attrs?.['alpha'] ?? 0) === 0
      ? nativeStep.kernelFunc(args as Parameters<tf.KernelFunc>[0])
      : runStock(tf.Step, args)) as tf.KernelFunc,
};
