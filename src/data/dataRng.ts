/**
 * Seeded streams for the data pipeline: splits, subsets, epoch shuffles and augmentation. Each use
 * gets its own purpose tag and up to two indices (class, epoch, step), so that drawing more for one
 * purpose never shifts another, and a resumed run can rebuild any stream from (seed, epoch, step)
 * alone.
 */
import { SplitMix64 } from '../rng';

/** Purpose tags; distinct from SPEC §9's tags 1–5 so no data stream equals an adapter table's. */
export const DataStream = {
  split: 0x64617401,
  subset: 0x64617402,
  epoch: 0x64617403,
  augment: 0x64617404,
  synthetic: 0x64617405,
  resizedCrop: 0x64617406,
  colorJitter: 0x64617407,
} as const;

const TWO_POW_32 = 4294967296;

function checkIndex(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_POW_32) {
    throw new RangeError(
      `Expected an integer 0 ≤ ${name} < 2^32 for ${name} but received ${value}`,
    );
  }
}

/**
 * The stream for (seed, purpose, first, second). The first draw of (seed, purpose) is XORed with
 * the indices to form a new 64-bit state: distinct indices give distinct states, and SplitMix64's
 * output mixing makes neighbouring states' streams unrelated.
 */
export function dataStream(seed: number, purpose: number, first = 0, second = 0): SplitMix64 {
  checkIndex(seed, 'seed');
  checkIndex(first, 'first');
  checkIndex(second, 'second');
  const base = new SplitMix64(seed, purpose);
  base.next();
  return new SplitMix64((base.hi ^ first) >>> 0, (base.lo ^ second) >>> 0);
}

/** Fisher–Yates over `values` in place with draws from `stream`. */
export function shuffleInPlace(values: Int32Array, stream: SplitMix64): Int32Array {
  for (let i = values.length - 1; i >= 1; i--) {
    const j = stream.nextBelow(i + 1);
    const swap = values[i] as number;
    values[i] = values[j] as number;
    values[j] = swap;
  }
  return values;
}
