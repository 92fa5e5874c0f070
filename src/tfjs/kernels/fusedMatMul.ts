/**
 * _FusedMatMul (tf.fused.matMul: matMul, then + bias, then an activation) on the native GEMM.
 * The product always runs natively when BatchMatMul would. A bias that broadcasts onto the output
 * without growing it (per column, per row, per element, a scalar; batch dimensions all 1 or all
 * equal to the output's) and the activations 'linear' and 'relu' are fused into the GEMM's
 * output pass; any other bias goes through tfjs's Add kernel and any other activation through
 * tfjs's own kernel for it, exactly as tfjs's fused kernel chains them.
 */
import * as tf from '@tensorflow/tfjs';
import { cpuBackend, float32Values, type KernelArgs } from './cpuBackend';
import { planMatMul, runGemm, type GemmEpilogue } from './matMulPlan';
import { CPU_BACKEND, runStock, runStockSingle } from './stockKernels';

interface BiasLayout {
  biasBatchStride: number;
  biasRowStride: number;
  biasColStride: number;
}

/** How the GEMM reads `bias` broadcast onto outShape, or null when it cannot. */
function biasLayout(bias: tf.TensorInfo, outShape: number[]): BiasLayout | null {
  const rank = outShape.length;
  if (bias.shape.length > rank) return null;
  const padded = [...new Array<number>(rank - bias.shape.length).fill(1), ...bias.shape];
  for (let axis = 0; axis < rank; axis++) {
    if (padded[axis] !== 1 && padded[axis] !== outShape[axis]) return null;
  }
  const rows = padded[rank - 2] as number;
  const cols = padded[rank - 1] as number;
  const batchDims = padded.slice(0, rank - 2);
  let biasBatchStride = 0;
  if (batchDims.some((dim) => dim !== 1)) {
    if (batchDims.some((dim, axis) => dim !== outShape[axis])) return null;
    biasBatchStride = rows * cols;
  }
  return {
    biasBatchStride,
    biasRowStride: rows === 1 ? 0 : cols,
    biasColStride: cols === 1 ? 0 : 1,
  };
}

/** tfjs's applyActivation for the activations the GEMM does not fuse, on its own kernels. */
function applyStockActivation(
  args: KernelArgs,
  x: tf.TensorInfo,
  activation: string,
): tf.TensorInfo {
  const { backend } = args;
  switch (activation) {
    case 'relu6':
      return runStockSingle(tf.Relu6, { inputs: { x }, backend });
    case 'elu':
      return runStockSingle(tf.Elu, { inputs: { x }, backend });
    case 'prelu':
      return runStockSingle(tf.Prelu, {
        inputs: { x, alpha: args.inputs['preluActivationWeights'] },
        backend,
      });
    case 'leakyrelu':
      return runStockSingle(tf.LeakyRelu, {
        inputs: { x },
        backend,
        attrs: { alpha: args.attrs?.['leakyreluAlpha'] as number },
      });
    case 'sigmoid':
      return runStockSingle(tf.Sigmoid, { inputs: { x }, backend });
    default:
      throw new Error(`superlora native _FusedMatMul: unexpected activation ${activation}`);
  }
}

const STOCK_ACTIVATIONS = new Set(['relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid']);

function fusedMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b, bias } = args.inputs;
  const attrs = args.attrs ?? {};
  const backend = cpuBackend(args);
  const activation = (attrs['activation'] as string | undefined) ?? 'linear';
  const aValues = float32Values(backend, a);
  const bValues = float32Values(backend, b);
  const nativeActivation = activation === 'linear' || activation === 'relu';
  if (
    a === undefined ||
    b === undefined ||
    aValues === null ||
    bValues === null ||
    (!nativeActivation && !STOCK_ACTIVATIONS.has(activation)) ||
    (bias !== undefined && bias.dtype !== 'float32')
  ) {
    return runStock(tf._FusedMatMul, args);
  }
  const plan = planMatMul(a, b, attrs['transposeA'] === true, attrs['transposeB'] === true);
  if (plan === null) return runStock(tf._FusedMatMul, args);

  const biasValues = bias === undefined ? null : float32Values(backend, bias);
  const layout = bias === undefined ? null : biasLayout(bias, plan.outShape);
  const fuseBias = bias === undefined || (biasValues !== null && layout !== null);
  const epilogue: GemmEpilogue = {};
  if (bias !== undefined && fuseBias && biasValues !== null && layout !== null) {
    Object.assign(epilogue, layout, { bias: biasValues });
  }
  if (fuseBias && nativeActivation) {
    epilogue.activation = activation as 'linear' | 'relu';
    return runGemm(backend, aValues, bValues, plan, epilogue);
  }

  // The rest as tfjs chains it: product, + bias (broadcasting), activation.
  let current = runGemm(backend, aValues, bValues, plan, epilogue);
  if (!fuseBias && bias !== undefined) {
    const sum = runStockSingle(tf.Add, { inputs: { a: current, b: bias }, backend });
    backend.disposeIntermediateTensorInfo(current);
    current = sum;
  }
  if (activation !== 'linear') {
    const activated =
      activation === 'relu'
        ? runStockSingle(tf.Relu, { inputs: { x: current }, backend })
        : applyStockActivation(args, current, activation);
    backend.disposeIntermediateTensorInfo(current);
    current = activated;
  }
  return current;
}

export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: tf._FusedMatMul,
  backendName: CPU_BACKEND,
  kernelFunc: fusedMatMul as tf.KernelFunc,
};
