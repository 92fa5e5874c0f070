/**
 * A FLOP model of the ΔW map (SPEC §3–§8), forward and backward, computed from a plan's layout,
 * so that a benchmark can turn a time into GFLOP/s and compare it with the machine's FMA peak.
 *
 * It counts the leading arithmetic of a reasonable implementation, a multiply-add as 2 FLOP, per
 * group of every bucket; a faster or slower algorithm does not change it. With S = Π_m d_m the
 * size of one split's tensor, M the order, r the rank, K the number of splits:
 *
 * | part | forward | backward |
 * |---|---|---|
 * | full split | 0 (it is a parameter) | 0 |
 * | identity core (CP; M = 2 is LoRA) | 2·S·r, plus r·Π_{m≤j} d_m for each Khatri–Rao step j = 1…M−2 | 2·M·S·r: each factor's gradient is dT against the Khatri–Rao product of the others |
 * | dense core (Tucker), modes contracted in order | Σ_m 2·r·(Π_{i≤m} d_i)·r^{M−1−m} (the last term, 2·S·r, dominates) | 2·(M+1)·S·r: M factor gradients and the core's |
 * | Kronecker of K splits | Σ_{k≥1} Π_{k'≤k} S_{k'} (one multiply per entry of each partial product) | 2·K·Π_k S_k: each split's gradient contracts dT with the others' product |
 * | fastfood (size L, output n) | 2·L·log₂L (two Walsh–Hadamard transforms) + 2·L (signs, Gaussians) + n (normalisation) | the same (F is linear; its transpose costs as much) |
 * | scale ≠ 1 | N | N |
 * | folding, writing, shuffle | 0 (data movement only) | 0 |
 *
 * So LoRA of rank r costs 2·N·r forward and 4·N·r backward, and LoKr about N forward (it is
 * bound by memory, not arithmetic).
 */
import type { BucketPlan, PlanLayout, SplitPlan } from '../plan';

export interface FlopEstimate {
  forward: number;
  backward: number;
  /** Short name of the map's dominant parts, e.g. 'lowrank', 'tucker', 'kron+lowrank+fastfood'. */
  kind: string;
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

function splitForward(split: SplitPlan, denseCore: boolean): number {
  if (split.rank === 'full') return 0;
  const rank = split.rank;
  const dims = split.dims;
  const order = dims.length;
  if (denseCore) {
    let flops = 0;
    for (let m = 0; m < order; m++) {
      flops += 2 * rank * product(dims.slice(0, m + 1)) * rank ** (order - 1 - m);
    }
    return flops;
  }
  if (order === 1) return (dims[0] as number) * rank;
  let flops = 2 * split.size * rank;
  for (let m = 1; m <= order - 2; m++) flops += rank * product(dims.slice(0, m + 1));
  return flops;
}

function splitBackward(split: SplitPlan, denseCore: boolean): number {
  if (split.rank === 'full') return 0;
  const order = split.dims.length;
  return 2 * (denseCore ? order + 1 : order) * split.size * split.rank;
}

function fastfoodFlops(bucket: BucketPlan): number {
  const size = bucket.projectionSize;
  if (size === null) return 0;
  return 2 * size * Math.log2(size) + 2 * size + bucket.virtualLength;
}

function kronForward(bucket: BucketPlan): number {
  let flops = 0;
  let partial = (bucket.splits[0] as SplitPlan).size;
  for (const split of bucket.splits.slice(1)) {
    partial *= split.size;
    flops += partial;
  }
  return flops;
}

function kronBackward(bucket: BucketPlan): number {
  const splits = bucket.splits.length;
  return splits > 1 ? 2 * splits * product(bucket.splits.map((split) => split.size)) : 0;
}

function kindOf(layout: PlanLayout): string {
  const config = layout.config;
  const parts: string[] = [];
  if (config.splits > 1) parts.push('kron');
  if (config.rank.some((rank) => rank !== 'full')) {
    if (config.core === 'dense') parts.push('tucker');
    else parts.push(config.order === 2 ? 'lowrank' : 'cp');
  } else {
    parts.push('dense');
  }
  if (config.projection) parts.push('fastfood');
  if (config.shuffle) parts.push('shuffle');
  return parts.join('+');
}

/** The FLOP model above for a plan's layout. */
export function estimateFlops(layout: PlanLayout): FlopEstimate {
  const denseCore = layout.config.core === 'dense';
  let forward = 0;
  let backward = 0;
  for (const bucket of layout.buckets) {
    const groups = bucket.groups.length;
    let perGroupForward = kronForward(bucket) + fastfoodFlops(bucket);
    let perGroupBackward = kronBackward(bucket) + fastfoodFlops(bucket);
    for (const split of bucket.splits) {
      perGroupForward += splitForward(split, denseCore);
      perGroupBackward += splitBackward(split, denseCore);
    }
    forward += groups * perGroupForward;
    backward += groups * perGroupBackward;
  }
  if (layout.config.scale !== 1) {
    forward += layout.deltaSize;
    backward += layout.deltaSize;
  }
  return { forward, backward, kind: kindOf(layout) };
}
