/**
 * The whole ΔW map (SPEC §3–§8) as a composition of tfjs ops: the reference every faster engine is
 * checked against, and the engine used inside tfjs graphs on GPU backends. Its backward is tfjs
 * autodiff of this forward, so it is exact by construction.
 */
import * as tf from '@tensorflow/tfjs';
import type { BucketPlan, PlanLayout, SplitPlan } from '../plan';
import type { FixedTables } from '../tables';

/** Unnormalised Sylvester Walsh–Hadamard transform along the last axis of [rows, L]. */
export function fwhtRows(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, size] = x.shape;
  let y: tf.Tensor = x;
  for (let half = 1; half < size; half *= 2) {
    const pairs = y.reshape([rows, size / (2 * half), 2, half]);
    const [low, high] = tf.unstack(pairs, 2) as [tf.Tensor, tf.Tensor];
    y = tf.stack([low.add(high), low.sub(high)], 2);
  }
  return y.reshape([rows, size]);
}

function sliceParams(params: tf.Tensor1D, offset: number, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return params.slice(offset, size).reshape(shape);
}

/** T_gk for every group of a bucket: [G, d_0, …, d_{M−1}] (SPEC §5). */
function splitTensor(
  params: tf.Tensor1D,
  split: SplitPlan,
  groupCount: number,
  denseCore: boolean,
): tf.Tensor {
  const dims = split.dims;
  if (split.rank === 'full')
    return sliceParams(params, split.fullOffset as number, [groupCount, ...dims]);
  const rank = split.rank;
  const factors = dims.map((d, m) =>
    sliceParams(params, split.factorOffsets[m] as number, [groupCount, d, rank]),
  );
  if (denseCore) {
    // Contract the leading mode each time and rotate it to the back: after M steps the modes are
    // back in order. X [G, j_m, rest] → Xᵀ·A_mᵀ = [G, rest, d_m].
    let x = sliceParams(params, split.coreOffset as number, [groupCount, ...dims.map(() => rank)]);
    dims.forEach((d, m) => {
      const rest = x.size / (groupCount * rank);
      const contracted = tf.matMul(
        x.reshape([groupCount, rank, rest]),
        factors[m] as tf.Tensor3D,
        true,
        true,
      );
      x = contracted.reshape([groupCount, ...x.shape.slice(2), d]);
    });
    return x;
  }
  // Identity core (CP): Σ_j Π_m A_m[i_m, j], built as a growing Khatri–Rao product.
  if (dims.length === 1) return (factors[0] as tf.Tensor).sum(2);
  let khatriRao = factors[0] as tf.Tensor;
  let rows = dims[0] as number;
  for (let m = 1; m < dims.length - 1; m++) {
    const d = dims[m] as number;
    khatriRao = khatriRao
      .expandDims(2)
      .mul((factors[m] as tf.Tensor).expandDims(1))
      .reshape([groupCount, rows * d, rank]);
    rows *= d;
  }
  const last = factors[dims.length - 1] as tf.Tensor3D;
  return tf.matMul(khatriRao as tf.Tensor3D, last, false, true).reshape([groupCount, ...dims]);
}

/** N-d Kronecker product of [G, p…] and [G, q…] (SPEC §6): split 0 is the most significant digit. */
function kron(left: tf.Tensor, right: tf.Tensor): tf.Tensor {
  const groupCount = left.shape[0] as number;
  const p = left.shape.slice(1);
  const q = right.shape.slice(1);
  const leftShape = [groupCount, ...p.flatMap((d) => [d, 1])];
  const rightShape = [groupCount, ...q.flatMap((d) => [1, d])];
  return left
    .reshape(leftShape)
    .mul(right.reshape(rightShape))
    .reshape([groupCount, ...p.map((d, m) => d * (q[m] as number))]);
}

/** Constant tensors a graph needs; owned by the caller, disposed with it. */
export interface DeltaGraphConstants {
  fastfood: Map<
    number,
    { signs: tf.Tensor1D; perm: tf.Tensor1D; gaussians: tf.Tensor1D; sumSq: number }
  >;
  /** ΔW_all[i] = Z[writeIndex[i]], Z the bucket outputs concatenated; null when it is Z's prefix. */
  writeIndex: tf.Tensor1D | null;
}

/** Where each entry of ΔW_all is read from in the concatenated bucket outputs (shuffle included). */
export function writeIndexOf(layout: PlanLayout, shuffle: Int32Array | null): Int32Array | null {
  const index = new Int32Array(layout.deltaSize);
  const bucketBase: number[] = [];
  let base = 0;
  for (const bucket of layout.buckets) {
    bucketBase.push(base);
    base += bucket.groups.length * bucket.virtualLength;
  }
  for (const group of layout.groups) {
    const bucket = layout.buckets[group.bucket] as BucketPlan;
    let source = (bucketBase[group.bucket] as number) + group.slot * bucket.virtualLength;
    for (const region of group.regions) {
      for (let i = 0; i < region.length; i++) index[region.start + i] = source++;
    }
  }
  const composed = shuffle ? shuffle.map((s) => index[s] as number) : index;
  for (let i = 0; i < composed.length; i++) if (composed[i] !== i) return composed;
  return null;
}

export function createDeltaGraphConstants(
  layout: PlanLayout,
  tables: FixedTables,
): DeltaGraphConstants {
  const fastfood: DeltaGraphConstants['fastfood'] = new Map();
  for (const size of layout.projectionSizes) {
    const table = tables.fastfood(size);
    let sumSq = 0;
    for (const g of table.gaussians) sumSq += g * g;
    fastfood.set(size, {
      signs: tf.tensor1d(table.signs, 'float32'),
      perm: tf.tensor1d(table.perm, 'int32'),
      gaussians: tf.tensor1d(table.gaussians, 'float32'),
      sumSq,
    });
  }
  const index = writeIndexOf(layout, layout.config.shuffle ? tables.shuffle() : null);
  return { fastfood, writeIndex: index ? tf.tensor1d(index, 'int32') : null };
}

export function disposeDeltaGraphConstants(constants: DeltaGraphConstants): void {
  for (const table of constants.fastfood.values()) {
    tf.dispose([table.signs, table.perm, table.gaussians]);
  }
  constants.writeIndex?.dispose();
}

/** F applied to every row of z [G, m]: [G, n] (SPEC §7). */
function fastfood(
  z: tf.Tensor2D,
  virtualLength: number,
  table: DeltaGraphConstants['fastfood'] extends Map<number, infer T> ? T : never,
): tf.Tensor2D {
  const [rows, generated] = z.shape;
  const size = table.signs.shape[0];
  const padded =
    generated < size
      ? z.pad([
          [0, 0],
          [0, size - generated],
        ])
      : z;
  const mixed = fwhtRows(padded.mul(table.signs) as tf.Tensor2D);
  const spread = tf.gather(mixed, table.perm, 1).mul(table.gaussians) as tf.Tensor2D;
  const projected = fwhtRows(spread).slice([0, 0], [rows, virtualLength]);
  return projected.mul(1 / Math.sqrt(virtualLength * table.sumSq));
}

/** A function params [numParams] → ΔW_all [N], built from tfjs ops (differentiable). */
export function deltaGraph(
  layout: PlanLayout,
  constants: DeltaGraphConstants,
): (params: tf.Tensor1D) => tf.Tensor1D {
  const denseCore = layout.config.core === 'dense';
  return (params) => {
    const outputs = layout.buckets.map((bucket) => {
      const groupCount = bucket.groups.length;
      let folded = splitTensor(params, bucket.splits[0] as SplitPlan, groupCount, denseCore);
      for (const split of bucket.splits.slice(1)) {
        folded = kron(folded, splitTensor(params, split, groupCount, denseCore));
      }
      let values = folded.reshape([groupCount, bucket.foldedSize]) as tf.Tensor2D;
      if (bucket.foldedSize > bucket.generatedLength) {
        values = values.slice([0, 0], [groupCount, bucket.generatedLength]);
      }
      if (bucket.projectionSize !== null) {
        const table = constants.fastfood.get(bucket.projectionSize);
        if (!table) throw new Error(`Missing fastfood table for L = ${bucket.projectionSize}`);
        values = fastfood(values, bucket.virtualLength, table);
      }
      return values.reshape([-1]);
    });
    const concatenated = outputs.length === 1 ? (outputs[0] as tf.Tensor) : tf.concat(outputs);
    const placed = constants.writeIndex
      ? tf.gather(concatenated, constants.writeIndex)
      : concatenated.slice(0, layout.deltaSize);
    return (layout.config.scale === 1 ? placed : placed.mul(layout.config.scale)) as tf.Tensor1D;
  };
}
