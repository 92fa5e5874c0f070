/**
 * BatchMatMul (tf.matMul) on the native GEMM. Claims float32 operands whose shapes plan (see
 * planMatMul); everything else goes to tfjs's own kernel, errors included.
 */
import * as tf from '@tensorflow/tfjs';
import { cpuBackend, float32Values, type KernelArgs } from './cpuBackend';
import { planMatMul, runGemm } from './matMulPlan';
import { CPU_BACKEND, runStock } from './stockKernels';

function batchMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs;
  const backend = cpuBackend(args);
  const aValues = float32Values(backend, a);
  const bValues = float32Values(backend, b);
  if (a === undefined || b === undefined || aValues === null || bValues === null) {
    return runStock(tf.BatchMatMul, args);
  }
  const plan = planMatMul(
    a,
    b,
    args.attrs?.['transposeA'] === true,
    args.attrs?.['transposeB'] === true,
  );
  if (plan === null) return runStock(tf.BatchMatMul, args);
  return runGemm(backend, aValues, bValues, plan);
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: CPU_BACKEND,
  kernelFunc: batchMatMul as tf.KernelFunc,
};
