/**
 * Flattens a plan layout (src/plan.ts) and its fixed tables into the descriptor that
 * `new addon.NativePlan(descriptor)` compiles: numbers and typed arrays only, so that the native
 * side reads it without walking JS objects. Tables are generated natively from the seed; only
 * those an adapter file supplied (FixedTables.isFromFile) travel in the descriptor.
 */
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import type { NativePlanDescriptor } from './addonTypes';

/** The descriptor format this TypeScript writes; the addon checks it (native/engine/plan_descriptor.h). */
export const PLAN_DESCRIPTOR_FORMAT = 1;

export function buildPlanDescriptor(layout: PlanLayout, tables: FixedTables): NativePlanDescriptor {
  const { config, buckets, groups } = layout;
  const order = config.order;
  const splits = config.splits;
  const bucketCount = buckets.length;

  const bucketFoldDims = new Int32Array(bucketCount * splits * order);
  const splitCoreOffset = new Float64Array(bucketCount * splits).fill(-1);
  const splitFullOffset = new Float64Array(bucketCount * splits).fill(-1);
  const splitFactorOffset = new Float64Array(bucketCount * splits * order).fill(-1);
  buckets.forEach((bucket, b) => {
    bucket.splits.forEach((split, k) => {
      const at = b * splits + k;
      split.dims.forEach((dim, m) => {
        bucketFoldDims[at * order + m] = dim;
      });
      if (split.coreOffset !== null) splitCoreOffset[at] = split.coreOffset;
      if (split.fullOffset !== null) splitFullOffset[at] = split.fullOffset;
      split.factorOffsets.forEach((offset, m) => {
        splitFactorOffset[at * order + m] = offset;
      });
    });
  });

  const regions = groups.flatMap((group) => group.regions);
  const fileSizes = layout.projectionSizes.filter((size) => tables.isFromFile('fastfood', size));
  const fileTables = fileSizes.map((size) => tables.fastfood(size));
  const concatFloat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  const filePerm = new Int32Array(fileSizes.reduce((sum, size) => sum + size, 0));
  let permOffset = 0;
  for (const table of fileTables) {
    filePerm.set(table.perm, permOffset);
    permOffset += table.perm.length;
  }

  return {
    format: PLAN_DESCRIPTOR_FORMAT,
    deltaSize: layout.deltaSize,
    numParams: layout.numParams,
    order,
    splits,
    denseCore: config.core === 'dense' ? 1 : 0,
    scale: config.scale,
    seed: config.seed,
    shuffle: config.shuffle ? 1 : 0,
    ranks: Int32Array.from(config.rank, (rank) => (rank === 'full' ? 0 : rank)),
    bucketVirtualLength: Float64Array.from(buckets, (bucket) => bucket.virtualLength),
    bucketGeneratedLength: Float64Array.from(buckets, (bucket) => bucket.generatedLength),
    bucketProjectionSize: Float64Array.from(buckets, (bucket) => bucket.projectionSize ?? 0),
    bucketGroupCount: Int32Array.from(buckets, (bucket) => bucket.groups.length),
    bucketFoldDims,
    splitCoreOffset,
    splitFullOffset,
    splitFactorOffset,
    groupBucket: Int32Array.from(groups, (group) => group.bucket),
    groupSlot: Int32Array.from(groups, (group) => group.slot),
    groupRegionCount: Int32Array.from(groups, (group) => group.regions.length),
    regionStart: Float64Array.from(regions, (region) => region.start),
    regionLength: Float64Array.from(regions, (region) => region.length),
    fileTableSizes: Float64Array.from(fileSizes),
    fileTableSigns: concatFloat(fileTables.map((table) => table.signs)),
    fileTablePerm: filePerm,
    fileTableGaussians: concatFloat(fileTables.map((table) => table.gaussians)),
    fileShuffle:
      config.shuffle && tables.isFromFile('shuffle') ? tables.shuffle() : new Int32Array(0),
  };
}
