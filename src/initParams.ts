/**
 * Default initialisation of the flat parameter vector (SPEC §10): seeded normals, with the mode-0
 * factor (or the full tensor) of the last split at zero so that ΔW_all = 0 at step 0 while every
 * other tensor is non-zero, and so every tensor gets gradient after the first step.
 */
import type { PlanLayout } from './plan';
import { SplitMix64, StreamTag } from './rng';

export function initParams(layout: PlanLayout, seed: number = layout.config.seed): Float32Array {
  const params = new Float32Array(layout.numParams);
  const stream = new SplitMix64(seed, StreamTag.init);
  const fill = (offset: number, count: number, std: number): void => {
    for (let i = 0; i < count; i++) params[offset + i] = std * stream.nextGaussian();
  };
  const lastSplit = layout.config.splits - 1;
  for (const bucket of layout.buckets) {
    const groupCount = bucket.groups.length;
    bucket.splits.forEach((split, k) => {
      if (split.rank === 'full') {
        if (k !== lastSplit) {
          fill(
            split.fullOffset as number,
            groupCount * split.size,
            1 / Math.sqrt(split.dims[0] as number),
          );
        }
        return;
      }
      const rank = split.rank;
      if (split.coreOffset !== null) {
        fill(split.coreOffset, groupCount * rank ** split.dims.length, 1 / Math.sqrt(rank));
      }
      split.dims.forEach((d, m) => {
        if (k === lastSplit && m === 0) return;
        fill(split.factorOffsets[m] as number, groupCount * d * rank, 1 / Math.sqrt(d));
      });
    });
  }
  return params;
}
