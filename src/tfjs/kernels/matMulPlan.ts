/**
 * The shape logic shared by the native BatchMatMul and _FusedMatMul kernels: tfjs BatchMatMul's
 * rules (inner sizes, broadcast of the batch dimensions, flattened batches indexed modulo each
 * operand's batch count), and the native GEMM call that computes them.
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmOptions } from '../../native/addonTypes';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { sizeOf, type CpuBackend } from './cpuBackend';

export interface MatMulPlan {
  outShape: number[];
  m: number;
  n: number;
  k: number;
  batch: number;
  batchA: number;
  batchB: number;
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * How tfjs's cpu BatchMatMul computes a · b, or null for cases the native path leaves to it: ranks
 * below 2, mismatched inner sizes or batch shapes that do not broadcast (tfjs throws its own
 * errors), empty batches, and batch shapes whose broadcast has more matrices than the larger
 * operand (e.g. [2, 1] with [1, 3]: tfjs's flattened indexing then fills only part of the output).
 *
 * Like tfjs, output matrix i uses a's matrix i mod batchA and b's i mod batchB. That equals
 * NumPy broadcasting whenever one operand has a single matrix or both have the same batch shape;
 * for other shapes it is what tfjs computes, and the native kernel computes the same.
 */
export function planMatMul(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan | null {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const aRows = a.shape[aRank - 2] as number;
  const aCols = a.shape[aRank - 1] as number;
  const bRows = b.shape[bRank - 2] as number;
  const bCols = b.shape[bRank - 1] as number;
  const k = transposeA ? aRows : aCols;
  if ((transposeB ? bCols : bRows) !== k) return null;
  const m = transposeA ? aCols : aRows;
  const n = transposeB ? bRows : bCols;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const batch = Math.max(batchA, batchB);
  if (batchA === 0 || batchB === 0 || sizeOf(outer) !== batch) return null;
  return {
    outShape: [...outer, m, n],
    m,
    n,
    k,
    batch,
    batchA,
    batchB,
    transposeA,
    transposeB,
  };
}

export interface GemmEpilogue {
  bias?: Float32Array;
  biasBatchStride?: number;
  biasRowStride?: number;
  biasColStride?: number;
  activation?: 'linear' | 'relu';
}

/** Runs the plan on the native GEMM into a new float32 tensor of the backend. */
export function runGemm(
  backend: CpuBackend,
  aValues: Float32Array,
  bValues: Float32Array,
  plan: MatMulPlan,
  epilogue: GemmEpilogue = {},
): tf.TensorInfo {
  const out = outputArray(plan.batch * plan.m * plan.n);
  const options: GemmOptions = {
    m: plan.m,
    n: plan.n,
    k: plan.k,
    batch: plan.batch,
    batchA: plan.batchA,
    batchB: plan.batchB,
    transposeA: plan.transposeA,
    transposeB: plan.transposeB,
    ...epilogue,
  };
  loadAddon().gemm(aValues, bValues, out, options);
  return outputTensor(backend, plan.outShape, out);
}
