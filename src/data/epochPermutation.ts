/**
 * The training order: one seeded permutation per epoch, cut into consecutive batches. Everything is
 * a pure function of (count, seed, epoch, step), so a run resumed at (epoch, step) sees exactly the
 * batches it would have seen.
 */
import { dataStream, DataStream, shuffleInPlace } from './dataRng';

function checkCount(value: number, name: string, least: number): void {
  if (!Number.isInteger(value) || value < least || value > 2 ** 31 - 1) {
    throw new RangeError(`Expected an integer ≥ ${least} for ${name} but received ${value}`);
  }
}

/** The order of the `count` samples in `epoch` (0-based): a seeded Fisher–Yates permutation. */
export function epochPermutation(count: number, seed: number, epoch: number): Int32Array {
  checkCount(count, 'count', 0);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return shuffleInPlace(order, dataStream(seed, DataStream.epoch, epoch));
}

/** Batches per epoch; the last one is partial unless `dropLast`. */
export function stepsPerEpoch(count: number, batchSize: number, dropLast = false): number {
  checkCount(count, 'count', 0);
  checkCount(batchSize, 'batchSize', 1);
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** The sample indices of batch `step` (0-based within the epoch): a view into `permutation`. */
export function batchIndices(permutation: Int32Array, step: number, batchSize: number): Int32Array {
  checkCount(batchSize, 'batchSize', 1);
  const steps = Math.ceil(permutation.length / batchSize);
  if (!Number.isInteger(step) || step < 0 || step >= steps) {
    throw new RangeError(`Expected an integer in [0, ${steps}) for step but received ${step}`);
  }
  return permutation.subarray(
    step * batchSize,
    Math.min((step + 1) * batchSize, permutation.length),
  );
}
