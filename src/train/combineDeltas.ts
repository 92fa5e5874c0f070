/**
 * Combining several adapters' ΔW of one weight into one, as PEFT's `add_weighted_adapter` does
 * (peft/utils/merge_utils.py), on the dense ΔW (PEFT's `*_svd` variants before their SVD):
 *
 * - `linear`: Σ wᵢ·ΔWᵢ.
 * - `magnitude_prune`: each ΔWᵢ keeps its ⌊density·n⌋ largest entries by magnitude, then linear.
 * - `ties` (TIES-Merging, Yadav et al. 2023): magnitude pruning, then a sign elected per entry
 *   (the sign of the pruned Σ ΔWᵢ, + on a tie; or of Σ sign(ΔWᵢ) with `majoritySign: 'frequency'`),
 *   then each entry the weighted sum of the adapters whose nonzero entry has that sign, divided by
 *   how many they are (at least 1).
 * - `dare_linear` / `dare_ties` (DARE, Yu et al. 2023): each entry kept with probability
 *   `density` and rescaled by 1/density (seeded), then linear / the sign election of ties.
 *
 * An adapter without the weight contributes zeros: nothing to the sum, no vote, no count.
 */
import { SplitMix64 } from '../rng';

export const combinationNames = [
  'linear',
  'magnitude_prune',
  'ties',
  'dare_linear',
  'dare_ties',
] as const;
export type CombinationName = (typeof combinationNames)[number];

/** The data stream tag of DARE's drops ('comb'). */
export const DARE_STREAM_TAG = 0x636f6d62;

export interface CombinationOptions {
  combination: CombinationName;
  /** Share of each ΔW kept, in (0, 1]; required by every combination but linear. */
  density?: number;
  /** How ties elects each entry's sign (default 'total'). */
  majoritySign?: 'total' | 'frequency';
  /** Seeds DARE's random drops (default 0). */
  seed?: number;
}

/** Checks the options, naming what is wrong. */
export function checkCombination(options: CombinationOptions): void {
  if (!(combinationNames as readonly string[]).includes(options.combination)) {
    throw new RangeError(
      `Expected one of ${combinationNames.join(', ')} for combination but received ${JSON.stringify(options.combination)}`,
    );
  }
  const { density } = options;
  if (options.combination === 'linear') {
    if (density !== undefined) {
      throw new RangeError('Expected no density with the linear combination: it keeps every entry');
    }
    return;
  }
  if (density === undefined || !(density > 0 && density <= 1)) {
    throw new RangeError(
      `Expected a density in (0, 1] for the ${options.combination} combination but received ${density}`,
    );
  }
}

/** Zeroes all but the ⌊density·n⌋ entries of largest magnitude (the first of equals kept). */
function keepLargest(delta: Float32Array, density: number): Float32Array {
  const keep = Math.floor(density * delta.length);
  const out = new Float32Array(delta.length);
  if (keep === 0) return out;
  const magnitudes = Float32Array.from(delta, Math.abs).sort();
  const threshold = magnitudes[delta.length - keep] as number;
  // Entries above the threshold all stay; of those equal to it, as many as there is room for.
  let above = 0;
  for (const value of delta) if (Math.abs(value) > threshold) above++;
  let equalRoom = keep - above;
  for (let i = 0; i < delta.length; i++) {
    const magnitude = Math.abs(delta[i] as number);
    if (magnitude > threshold || (magnitude === threshold && equalRoom-- > 0)) {
      out[i] = delta[i] as number;
    }
  }
  return out;
}

/** Keeps each entry with probability `density`, rescaled by 1/density. */
function dropAndRescale(delta: Float32Array, density: number, stream: SplitMix64): Float32Array {
  const out = new Float32Array(delta.length);
  for (let i = 0; i < delta.length; i++) {
    if (stream.nextUniform() < density) out[i] = (delta[i] as number) / density;
  }
  return out;
}

/**
 * The combined ΔW of one weight from each adapter's (null: the adapter does not adapt it) and the
 * adapters' weights. `stream` draws DARE's drops; pass one per weight, in a fixed order.
 */
export function combineDeltas(
  deltas: readonly (Float32Array | null)[],
  weights: readonly number[],
  options: CombinationOptions,
  stream: SplitMix64 = new SplitMix64(options.seed ?? 0, DARE_STREAM_TAG),
): Float32Array {
  const present = deltas.find((delta) => delta !== null);
  if (present === undefined) throw new RangeError('Expected at least one ΔW to combine');
  const length = present.length;
  const { combination } = options;
  const density = options.density ?? 1;
  const tasks = deltas.map((delta) => {
    if (delta === null) return null;
    if (delta.length !== length) {
      throw new RangeError(`Expected ΔWs of one length (${length}) but received ${delta.length}`);
    }
    if (combination === 'magnitude_prune' || combination === 'ties') {
      return keepLargest(delta, density);
    }
    if (combination === 'dare_linear' || combination === 'dare_ties') {
      return dropAndRescale(delta, density, stream);
    }
    return delta;
  });
  const out = new Float32Array(length);
  if (combination !== 'ties' && combination !== 'dare_ties') {
    tasks.forEach((task, t) => {
      if (task === null) return;
      const weight = weights[t] as number;
      for (let i = 0; i < length; i++) out[i] = (out[i] as number) + weight * (task[i] as number);
    });
    return out;
  }
  const frequency = options.majoritySign === 'frequency';
  for (let i = 0; i < length; i++) {
    let vote = 0;
    for (const task of tasks) {
      if (task === null) continue;
      const value = task[i] as number;
      vote += frequency ? Math.sign(value) : value;
    }
    // PEFT's rule: a tie (or no vote) elects +.
    const sign = vote >= 0 ? 1 : -1;
    let sum = 0;
    let agreeing = 0;
    tasks.forEach((task, t) => {
      if (task === null) return;
      const value = task[i] as number;
      if (value !== 0 && Math.sign(value) === sign) {
        sum += (weights[t] as number) * value;
        agreeing++;
      }
    });
    out[i] = sum / Math.max(agreeing, 1);
  }
  return out;
}
