import {
  SplitMix64,
  StreamTag,
  fastfoodGaussians,
  fastfoodSigns,
  seededPermutation,
} from '../src/rng';

const MASK = (1n << 64n) - 1n;

/** SPEC §9 written directly with BigInt. */
function referenceDraws(seed: bigint, tag: bigint, count: number): bigint[] {
  let state = (seed << 32n) + tag;
  const draws: bigint[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    draws.push(z ^ (z >> 31n));
  }
  return draws;
}

describe('SPEC §9 tables', () => {
  test('known answers for seed 1', () => {
    expect(Array.from(fastfoodSigns(1, 8))).toEqual([1, 1, -1, -1, -1, -1, -1, 1]);
    expect(Array.from(seededPermutation(1, StreamTag.permutation, 10))).toEqual([
      2, 8, 0, 1, 4, 5, 9, 3, 6, 7,
    ]);
    const gaussians = fastfoodGaussians(1, 4);
    [-0.22034281, -3.18402724, -1.2596608, 0.6372933].forEach((expected, i) =>
      expect(gaussians[i]).toBeCloseTo(expected, 6),
    );
  });

  test('SplitMix64 in 32-bit halves equals the 64-bit BigInt definition', () => {
    for (const [seed, tag] of [
      [0, 0],
      [1, 2],
      [4294967295, 4],
      [123456789, 5],
    ] as const) {
      const stream = new SplitMix64(seed, tag);
      for (const expected of referenceDraws(BigInt(seed), BigInt(tag), 500)) {
        expect(stream.nextBigInt()).toBe(expected);
      }
    }
  });

  test('nextBelow is the high word of the 128-bit product, for bounds up to 2^32', () => {
    const draws = referenceDraws(99n, 2n, 2000);
    const stream = new SplitMix64(99, 2);
    const bounds = [1, 2, 3, 65535, 65536, 65537, 1_000_003, 2 ** 31, 4294967295, 4294967296];
    draws.forEach((draw, i) => {
      const bound = bounds[i % bounds.length] as number;
      expect(stream.nextBelow(bound)).toBe(Number((draw * BigInt(bound)) >> 64n));
    });
  });

  test('Gv follows Box–Muller on draws 2i, 2i+1; B follows the top bit', () => {
    const draws = referenceDraws(5n, 3n, 64);
    const gaussians = fastfoodGaussians(5, 32);
    for (let i = 0; i < 32; i++) {
      const u1 = Number((draws[2 * i]! >> 11n) + 1n) * 2 ** -53;
      const u2 = Number(draws[2 * i + 1]! >> 11n) * 2 ** -53;
      expect(gaussians[i]).toBe(
        Math.fround(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)),
      );
    }
    const signDraws = referenceDraws(5n, 1n, 100);
    expect(Array.from(fastfoodSigns(5, 100))).toEqual(signDraws.map((d) => (d >> 63n ? -1 : 1)));
  });

  test('tables of different sizes share prefixes; permutations are permutations', () => {
    expect(Array.from(fastfoodSigns(9, 16)).slice(0, 8)).toEqual(Array.from(fastfoodSigns(9, 8)));
    expect(Array.from(fastfoodGaussians(9, 16)).slice(0, 8)).toEqual(
      Array.from(fastfoodGaussians(9, 8)),
    );
    const perm = seededPermutation(9, StreamTag.shuffle, 1000);
    expect(Array.from(perm).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  test('bad seeds are rejected with the value', () => {
    expect(() => new SplitMix64(-1, 1)).toThrow(/seed.*-1/);
    expect(() => new SplitMix64(2 ** 32, 1)).toThrow(RangeError);
  });
});
