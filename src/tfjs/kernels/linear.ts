/**
 * The fused Linear of src/vit/fusedOps.ts, x [rows, in] · weight [out, in]ᵀ + bias [out], on the
 * native GEMM with the bias added in its epilogue. Its gradient is plain matMuls and a sum
 * (fusedOps.ts), each run only when the backward pass needs it.
 */
import type * as tf from '@tensorflow/tfjs';
import { LINEAR } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Inputs, type KernelArgs } from './cpuBackend';
import { planMatMul, runGemm } from './matMulPlan';
import { CPU_BACKEND } from './stockKernels';

function linear(args: KernelArgs): tf.TensorInfo {
  const [x, weight, bias] = requireFloat32Inputs(args, LINEAR, ['x', 'weight', 'bias']) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const xInfo = args.inputs['x'] as tf.TensorInfo;
  const weightInfo = args.inputs['weight'] as tf.TensorInfo;
  const plan =
    xInfo.shape.length === 2 && weightInfo.shape.length === 2
      ? planMatMul(xInfo, weightInfo, false, true)
      : null;
  if (plan === null || bias.length !== plan.n) {
    throw new Error(
      `${LINEAR}: expected x [rows, in], weight [out, in] and bias [out] but received [${xInfo.shape.join(', ')}], [${weightInfo.shape.join(', ')}] and ${bias.length} values`,
    );
  }
  return runGemm(cpuBackend(args), x, weight, plan, {
    bias,
    biasBatchStride: 0,
    biasRowStride: 0,
    biasColStride: 1,
    activation: 'linear',
  });
}

export const linearConfig: tf.KernelConfig = {
  kernelName: LINEAR,
  backendName: CPU_BACKEND,
  kernelFunc: linear as tf.KernelFunc,
};
