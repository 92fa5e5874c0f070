/**
 * native/rng.h against src/rng.ts and the SPEC §9 known answers: the integer tables (B, π, σ) must
 * be bit-identical; Gv may differ in the last float32 bit across math libraries (SPEC §9).
 */
import { loadAddon } from '../../src/native/loadAddon';
import {
  StreamTag,
  SplitMix64,
  fastfoodGaussians,
  fastfoodSigns,
  seededPermutation,
} from '../../src/rng';
import { expectNativeError } from './expectNativeError';

const addon = loadAddon();

/** Distance in float32 units in the last place (same sign assumed; both are finite). */
function ulps(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat32(0, a);
  view.setFloat32(4, b);
  return Math.abs(view.getInt32(0) - view.getInt32(4));
}

describe('native/rng.h (SPEC §9)', () => {
  test('known answers for seed 1', () => {
    const tables = addon.nativeTables(1, 10);
    expect(Array.from(tables.signs.subarray(0, 8))).toEqual([1, 1, -1, -1, -1, -1, -1, 1]);
    expect(Array.from(tables.perm)).toEqual([2, 8, 0, 1, 4, 5, 9, 3, 6, 7]);
    [-0.22034281, -3.18402724, -1.2596608, 0.6372933].forEach((expected, i) =>
      expect(tables.gaussians[i]).toBeCloseTo(expected, 6),
    );
    expect(Array.from(addon.nativePermutation(1, StreamTag.permutation, 10))).toEqual([
      2, 8, 0, 1, 4, 5, 9, 3, 6, 7,
    ]);
  });

  test('SplitMix64 draws equal src/rng.ts, including seeds and tags at the 32-bit edges', () => {
    for (const [seed, tag] of [
      [0, 0],
      [1, 2],
      [4294967295, 4],
      [4294967295, 4294967295],
      [123456789, 5],
    ] as const) {
      const stream = new SplitMix64(seed, tag);
      const draws = addon.nativeDraws(seed, tag, 300);
      // The addon builds it in Node's main realm, so instanceof fails under jest: check the name.
      expect(draws.constructor.name).toBe('BigUint64Array');
      for (const draw of draws) expect(draw).toBe(stream.nextBigInt());
    }
  });

  test.each([
    [0, 1],
    [1, 8],
    [7, 1000],
    [20261129, 4096],
    [4294967295, 65536],
  ])('seed %i, size %i: B and π are bit-identical to src/rng.ts, Gv within 1 ulp', (seed, size) => {
    const native = addon.nativeTables(seed, size);
    expect(native.signs).toEqual(fastfoodSigns(seed, size));
    expect(native.perm).toEqual(seededPermutation(seed, StreamTag.permutation, size));
    const gaussians = fastfoodGaussians(seed, size);
    let worst = 0;
    for (let i = 0; i < size; i++) {
      worst = Math.max(worst, ulps(native.gaussians[i] as number, gaussians[i] as number));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  test('σ (tag 4) of a million-entry ΔW_all is bit-identical to src/rng.ts', () => {
    const length = 1 << 20;
    const native = addon.nativePermutation(5, StreamTag.shuffle, length);
    const reference = seededPermutation(5, StreamTag.shuffle, length);
    let firstDifference = -1;
    for (let i = 0; i < length && firstDifference < 0; i++) {
      if (native[i] !== reference[i]) firstDifference = i;
    }
    expect(firstDifference).toBe(-1);
  });

  test('arguments are checked and named', () => {
    expectNativeError(() => addon.nativeTables(-1, 4), 'RangeError', /for seed/);
    expectNativeError(() => addon.nativeTables(2 ** 32, 4), 'RangeError', /for seed/);
    expectNativeError(
      () => addon.nativeTables('1' as unknown as number, 4),
      'TypeError',
      /for seed/,
    );
    expectNativeError(() => addon.nativeTables(1, 1.5), 'RangeError', /for size/);
    expectNativeError(() => addon.nativePermutation(1, 2, -3), 'RangeError', /for length/);
    expectNativeError(() => addon.nativeDraws(1, 2 ** 40, 3), 'RangeError', /for tag/);
  });
});
