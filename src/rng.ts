/**
 * SplitMix64 streams and the fixed random tables of SPEC §9, bit-exact with `native/rng.h`.
 *
 * 64-bit words are kept as two unsigned 32-bit halves so the hot loops stay in plain numbers
 * (a BigInt version is ~50× slower, and σ for a ViT-base adapter needs 14 million draws).
 */

/** Stream tags of SPEC §9. `init` is ours: it seeds the default parameter initialisation. */
export const StreamTag = { signs: 1, permutation: 2, gaussian: 3, shuffle: 4, init: 5 } as const;

const GOLDEN_HI = 0x9e3779b9;
const GOLDEN_LO = 0x7f4a7c15;
const MIX1_HI = 0xbf58476d;
const MIX1_LO = 0x1ce4e5b9;
const MIX2_HI = 0x94d049bb;
const MIX2_LO = 0x133111eb;
const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16)) >>> 0;
}

/** A SplitMix64 stream; `hi`/`lo` of the last draw are exposed to avoid allocating per draw. */
export class SplitMix64 {
  private stateHi: number;
  private stateLo: number;
  /** High 32 bits of the last value returned by `next()`. */
  hi = 0;
  /** Low 32 bits of the last value returned by `next()`. */
  lo = 0;

  /** The stream (seed, tag): state = seed · 2^32 + tag. */
  constructor(seed: number, tag: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_32) {
      throw new RangeError(`Expected an integer 0 ≤ seed < 2^32 for seed but received ${seed}`);
    }
    if (!Number.isInteger(tag) || tag < 0 || tag >= TWO_POW_32) {
      throw new RangeError(`Expected an integer 0 ≤ tag < 2^32 for tag but received ${tag}`);
    }
    this.stateHi = seed;
    this.stateLo = tag;
  }

  /** Advances the stream; the draw is left in `hi` and `lo`. */
  next(): void {
    const lo = this.stateLo + GOLDEN_LO;
    this.stateLo = lo >>> 0;
    this.stateHi = (this.stateHi + GOLDEN_HI + (lo >= TWO_POW_32 ? 1 : 0)) >>> 0;
    let zHi = this.stateHi;
    let zLo = this.stateLo;
    // z = (z ^ (z >> 30)) * MIX1
    let xLo = (zLo ^ ((zLo >>> 30) | (zHi << 2))) >>> 0;
    let xHi = (zHi ^ (zHi >>> 30)) >>> 0;
    zLo = Math.imul(xLo, MIX1_LO) >>> 0;
    zHi = (mulHigh32(xLo, MIX1_LO) + Math.imul(xHi, MIX1_LO) + Math.imul(xLo, MIX1_HI)) >>> 0;
    // z = (z ^ (z >> 27)) * MIX2
    xLo = (zLo ^ ((zLo >>> 27) | (zHi << 5))) >>> 0;
    xHi = (zHi ^ (zHi >>> 27)) >>> 0;
    zLo = Math.imul(xLo, MIX2_LO) >>> 0;
    zHi = (mulHigh32(xLo, MIX2_LO) + Math.imul(xHi, MIX2_LO) + Math.imul(xLo, MIX2_HI)) >>> 0;
    // z ^ (z >> 31)
    this.lo = (zLo ^ ((zLo >>> 31) | (zHi << 1))) >>> 0;
    this.hi = (zHi ^ (zHi >>> 31)) >>> 0;
  }

  /** The next draw as a BigInt (for tests and debugging; the tables use `next()`). */
  nextBigInt(): bigint {
    this.next();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** `⌊draw · bound / 2^64⌋` for the next draw: the high word of the 128-bit product, bound ≤ 2^32. */
  nextBelow(bound: number): number {
    this.next();
    const boundLow = bound & 0xffff;
    const boundHigh = Math.floor(bound / 65536);
    // lo · bound, shifted down by 32 bits, computed exactly in 16-bit pieces.
    const carry = Math.floor(
      (this.lo * boundHigh + Math.floor((this.lo * boundLow) / 65536)) / 65536,
    );
    const upper = this.hi * boundLow + carry;
    return Math.floor((this.hi * boundHigh + Math.floor(upper / 65536)) / 65536);
  }

  /** The top 53 bits of the next draw as a double in [0, 1). */
  nextUniform(): number {
    this.next();
    return (this.hi * 2097152 + (this.lo >>> 11)) * 2 ** -53;
  }

  /** A standard normal by Box–Muller from the next two draws, in double (SPEC §9). */
  nextGaussian(): number {
    // u1 in (0, 1] so that its log is finite; both sums are exact in double.
    const u1 = this.nextUniform() + 2 ** -53;
    const u2 = this.nextUniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/**
 * The seed of the `call`-th dropout mask (call ≥ 1) of a forward seeded with `forwardSeed`: one
 * distinct seed per call site and forward, the same for the same forward seed. tfjs's
 * tf.dropout(x, rate, noiseShape, seed) draws its mask from it.
 */
export function dropoutSeed(forwardSeed: number, call: number): number {
  return forwardSeed * 1000003 + call;
}

/** B ∈ {±1}^L: −1 where the top bit of draw i is set. */
export function fastfoodSigns(seed: number, length: number): Float32Array {
  const stream = new SplitMix64(seed, StreamTag.signs);
  const signs = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    stream.next();
    signs[i] = stream.hi >= 0x80000000 ? -1 : 1;
  }
  return signs;
}

/** Gv ∈ R^L, float32 rounding of the double Box–Muller normals. */
export function fastfoodGaussians(seed: number, length: number): Float32Array {
  const stream = new SplitMix64(seed, StreamTag.gaussian);
  const gaussians = new Float32Array(length);
  for (let i = 0; i < length; i++) gaussians[i] = stream.nextGaussian();
  return gaussians;
}

/** The seeded Fisher–Yates permutation of SPEC §9 (π with tag 2, σ with tag 4). */
export function seededPermutation(seed: number, tag: number, length: number): Int32Array {
  if (!Number.isInteger(length) || length < 0 || length > 2 ** 31 - 1) {
    throw new RangeError(`Expected a permutation length in [0, 2^31) but received ${length}`);
  }
  const stream = new SplitMix64(seed, tag);
  const perm = new Int32Array(length);
  for (let i = 0; i < length; i++) perm[i] = i;
  for (let i = length - 1; i >= 1; i--) {
    const j = stream.nextBelow(i + 1);
    const swap = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = swap;
  }
  return perm;
}
