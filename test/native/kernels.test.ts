import type { IsaName } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { expectNativeError } from './expectNativeError';

// The streaming kernels (native/kernels/lowrank.h, kron.h) at every instruction-set level this
// CPU runs, against plain float64 loops written from the definitions. Inputs are small integers
// and scales are powers of two, so every sum is exact in float32 whatever order a kernel adds in:
// any difference is a wrong index, a missed tail or a stray write, never rounding.

const addon = loadAddon();
const cpu = addon.capabilities().cpu;

const ISAS: IsaName[] = ['portable'];
if (cpu.avx2 && cpu.fma) ISAS.push('avx2');
if (cpu.avx2 && cpu.fma && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) {
  ISAS.push('avx512');
}

const GUARD = 12345;

function at(array: ArrayLike<number>, index: number): number {
  return array[index] ?? NaN;
}

/** Deterministic integers in [-range, range]. */
function integers(length: number, seed: number, range = 3): Float32Array {
  const data = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = ((state >>> 16) % (2 * range + 1)) - range;
  }
  return data;
}

/**
 * A view of `length` floats starting `offset` floats into a guard-filled buffer, so that kernels
 * see every alignment and any write outside the view shows up in the guards.
 */
function guarded(length: number, offset: number): { view: Float32Array; buffer: Float32Array } {
  const buffer = new Float32Array(length + offset + 32).fill(GUARD);
  return { view: buffer.subarray(offset, offset + length), buffer };
}

function expectGuardsIntact(buffer: Float32Array, view: Float32Array): void {
  const start = view.byteOffset / 4 - buffer.byteOffset / 4;
  for (let i = 0; i < buffer.length; i++) {
    if (i >= start && i < start + view.length) continue;
    if (buffer[i] !== GUARD) throw new Error(`write outside the view at ${i - start}`);
  }
}

/** Equal as arrays, reporting the first differing index (toEqual on 10^5 floats is unreadable). */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (at(actual, i) !== at(expected, i)) {
      throw new Error(`${what}[${i}]: got ${at(actual, i)}, expected ${at(expected, i)}`);
    }
  }
}

// ---- low rank: T = A · Y, A [rows × rank], Y [rank × cols] ----

interface LowRankCase {
  rows: number;
  cols: number;
  rank: number;
  begin: number;
  end: number;
  scale: number;
}

function lowRankReference(
  a: Float32Array,
  y: Float32Array,
  { cols, rank, scale, begin, end }: LowRankCase,
): Float64Array {
  const out = new Float64Array(end - begin);
  for (let e = begin; e < end; e++) {
    const i = Math.floor(e / cols);
    const c = e % cols;
    let sum = 0;
    for (let j = 0; j < rank; j++) sum += at(a, i * rank + j) * at(y, j * cols + c);
    out[e - begin] = scale * sum;
  }
  return out;
}

/** dA rows touched (overwritten; others keep their values) and dY + scale · Aᵀ · dOut. */
function lowRankBackwardReference(
  a: Float32Array,
  y: Float32Array,
  dOut: Float32Array,
  dA: Float32Array,
  dY: Float32Array,
  { cols, rank, scale, begin, end }: LowRankCase,
): { dA: Float64Array; dY: Float64Array } {
  const expectedDA = Float64Array.from(dA);
  const expectedDY = Float64Array.from(dY);
  if (end > begin) {
    for (let i = begin / cols; i <= Math.floor((end - 1) / cols); i++) {
      for (let j = 0; j < rank; j++) expectedDA[i * rank + j] = 0;
    }
  }
  for (let e = begin; e < end; e++) {
    const i = Math.floor(e / cols);
    const c = e % cols;
    const g = scale * at(dOut, e - begin);
    for (let j = 0; j < rank; j++) {
      expectedDA[i * rank + j] = at(expectedDA, i * rank + j) + g * at(y, j * cols + c);
      expectedDY[j * cols + c] = at(expectedDY, j * cols + c) + g * at(a, i * rank + j);
    }
  }
  return { dA: expectedDA, dY: expectedDY };
}

function lowRankCases(): LowRankCase[] {
  const cases: LowRankCase[] = [];
  const shapes: [number, number, number][] = [
    // rows, cols, rank: tails of every width, ranks around the tile sizes (4, 6, 8), long ranks
    [1, 1, 1],
    [3, 1, 5],
    [7, 3, 2],
    [13, 17, 1],
    [6, 16, 8],
    [9, 48, 8],
    [25, 64, 6],
    [19, 100, 7],
    [31, 33, 9],
    [12, 129, 16],
    [20, 768, 8],
    [8, 200, 64],
    [5, 70, 200],
    [3, 40, 600], // past the rank whose scaled rows of A fit on the stack
    [2, 9000, 16], // wide folds: columns cut into chunks
    [2, 20000, 8],
  ];
  for (const [rows, cols, rank] of shapes) {
    const total = rows * cols;
    const mid = Math.floor(rows / 2) * cols;
    cases.push({ rows, cols, rank, begin: 0, end: total, scale: 1 });
    cases.push({ rows, cols, rank, begin: mid, end: total, scale: -0.5 });
    // Ends mid-row (the prefix of a square fold), from the first row and from a later one.
    cases.push({
      rows,
      cols,
      rank,
      begin: 0,
      end: Math.max(1, total - Math.ceil(cols / 3)),
      scale: 2,
    });
    cases.push({ rows, cols, rank, begin: mid, end: Math.min(total, mid + 1), scale: 0.25 });
    cases.push({ rows, cols, rank, begin: mid, end: mid, scale: 1 });
  }
  return cases;
}

describe.each(ISAS)('lowRank kernels (%s)', (isa) => {
  test.each(lowRankCases())('forward and backward: %j', (c) => {
    const seed = c.rows * 7919 + c.cols * 31 + c.rank;
    const a = integers(c.rows * c.rank, seed);
    const y = integers(c.rank * c.cols, seed + 1);
    const n = c.end - c.begin;
    const offset = (c.cols + c.rank) % 16;

    const out = guarded(n, offset);
    addon.lowRankForward(a, y, c.cols, c.rank, c.scale, c.begin, c.end, out.view, isa);
    expectSame(out.view, lowRankReference(a, y, c), 'out');
    expectGuardsIntact(out.buffer, out.view);

    const dOut = integers(n, seed + 2);
    const dA = guarded(c.rows * c.rank, (offset + 5) % 16);
    dA.view.set(integers(c.rows * c.rank, seed + 3));
    const dY = guarded(c.rank * c.cols, (offset + 11) % 16);
    dY.view.set(integers(c.rank * c.cols, seed + 4));
    const expected = lowRankBackwardReference(a, y, dOut, dA.view, dY.view, c);
    addon.lowRankBackward(
      a,
      y,
      dOut,
      c.cols,
      c.rank,
      c.scale,
      c.begin,
      c.end,
      dA.view,
      dY.view,
      isa,
    );
    expectSame(dA.view, expected.dA, 'dA');
    expectSame(dY.view, expected.dY, 'dY');
    expectGuardsIntact(dA.buffer, dA.view);
    expectGuardsIntact(dY.buffer, dY.view);
  });

  test.each([
    ['whole rows', 0, 260 * 1024],
    ['a cut last row', 1024, 260 * 1024 - 100],
  ])('a large output (the streaming-store path) at every float offset: %s', (_, begin, end) => {
    // Past the streaming threshold with cols a multiple of 16: whatever the output's alignment,
    // the kernel stores the first columns of every row normally and streams the aligned rest.
    const c: LowRankCase = { rows: 260, cols: 1024, rank: 3, begin, end, scale: -2 };
    const a = integers(c.rows * c.rank, 5);
    const y = integers(c.rank * c.cols, 6);
    const expected = lowRankReference(a, y, c);
    for (let offset = 0; offset < 16; offset++) {
      const out = guarded(c.end - c.begin, offset);
      addon.lowRankForward(a, y, c.cols, c.rank, c.scale, c.begin, c.end, out.view, isa);
      expectSame(out.view, expected, `out (offset ${offset})`);
      expectGuardsIntact(out.buffer, out.view);
    }
  });

  test('random floats agree with float64 within float32 rounding', () => {
    const c: LowRankCase = {
      rows: 37,
      cols: 301,
      rank: 24,
      begin: 301,
      end: 37 * 301 - 5,
      scale: 0.37,
    };
    const a = Float32Array.from({ length: c.rows * c.rank }, (_, i) => Math.sin(i * 1.7));
    const y = Float32Array.from({ length: c.rank * c.cols }, (_, i) => Math.cos(i * 0.3));
    const out = new Float32Array(c.end - c.begin);
    addon.lowRankForward(a, y, c.cols, c.rank, c.scale, c.begin, c.end, out, isa);
    const expected = lowRankReference(a, y, c);
    let worst = 0;
    for (let i = 0; i < out.length; i++) {
      worst = Math.max(worst, Math.abs(at(out, i) - at(expected, i)));
    }
    expect(worst).toBeLessThan(1e-5 * c.rank);
  });
});

// ---- Kronecker: T = T_0 ⊗ … ⊗ T_{K−1}, split 0 the most significant digit of every mode ----

interface KronCase {
  dims: number[]; // dims[k · order + m]
  order: number;
  begin: number;
  end: number;
  scale: number;
}

function splitSizes(dims: number[], order: number): number[] {
  const sizes: number[] = [];
  for (let k = 0; k < dims.length / order; k++) {
    let size = 1;
    for (let m = 0; m < order; m++) size *= at(dims, k * order + m);
    sizes.push(size);
  }
  return sizes;
}

function kronTotal(dims: number[]): number {
  return dims.reduce((product, d) => product * d, 1);
}

/** For flat index e of T, the flat index into each T_k (row-major over its own modes). */
function splitIndices(e: number, dims: number[], order: number): number[] {
  const splits = dims.length / order;
  const modeSizes: number[] = [];
  for (let m = 0; m < order; m++) {
    let size = 1;
    for (let k = 0; k < splits; k++) size *= at(dims, k * order + m);
    modeSizes.push(size);
  }
  const index: number[] = new Array<number>(order).fill(0);
  let rest = e;
  for (let m = order - 1; m >= 0; m--) {
    index[m] = rest % at(modeSizes, m);
    rest = Math.floor(rest / at(modeSizes, m));
  }
  const digits: number[][] = Array.from({ length: splits }, () => new Array<number>(order).fill(0));
  for (let m = 0; m < order; m++) {
    let im = at(index, m);
    for (let k = splits - 1; k >= 0; k--) {
      const d = at(dims, k * order + m);
      (digits[k] as number[])[m] = im % d;
      im = Math.floor(im / d);
    }
  }
  return digits.map((digit, k) => {
    let flat = 0;
    for (let m = 0; m < order; m++) flat = flat * at(dims, k * order + m) + at(digit, m);
    return flat;
  });
}

function kronReference(tensors: Float32Array[], c: KronCase): Float64Array {
  const out = new Float64Array(c.end - c.begin);
  for (let e = c.begin; e < c.end; e++) {
    const indices = splitIndices(e, c.dims, c.order);
    let value = c.scale;
    tensors.forEach((tensor, k) => (value *= at(tensor, at(indices, k))));
    out[e - c.begin] = value;
  }
  return out;
}

function kronBackwardReference(
  tensors: Float32Array[],
  dOut: Float32Array,
  grads: Float32Array[],
  c: KronCase,
): Float64Array[] {
  const expected = grads.map((grad) => Float64Array.from(grad));
  for (let e = c.begin; e < c.end; e++) {
    const indices = splitIndices(e, c.dims, c.order);
    tensors.forEach((_, k) => {
      let value = c.scale * at(dOut, e - c.begin);
      tensors.forEach((other, k2) => {
        if (k2 !== k) value *= at(other, at(indices, k2));
      });
      const target = expected[k] as Float64Array;
      target[at(indices, k)] = at(target, at(indices, k)) + value;
    });
  }
  return expected;
}

function kronCases(): KronCase[] {
  const shapes: [number[], number][] = [
    // [dims, order]
    [[5], 1], // K = 1, order 1: a scaled copy
    [[3, 4, 5], 3], // K = 1, order 3
    [[7, 9], 1], // order 1: one long row, u ⊗ w
    [[2, 3, 4, 5], 2], // K = 2, rows shorter than a vector
    [[4, 6, 5, 13], 2], // K = 2, odd row length
    [[3, 2, 1, 70], 2], // a last split long enough to stand alone
    [[2, 3, 2, 3, 2, 3], 2], // K = 3 of tiny dims
    [[3, 4, 2, 5, 2, 30], 2], // K = 3, w = the last split's rows
    [[2, 1, 2, 2, 2, 3, 2, 2, 4, 3, 2, 5], 3], // K = 4, order 3
    [[1, 2, 1, 3, 1, 2, 2, 1, 5, 1, 2, 3, 1, 1, 2, 1, 1, 2], 6], // order 6, dims of 1
    [[3, 1, 2, 1, 1, 1, 1, 1, 1, 70], 1], // K = 10, order 1, only the last two matter
    [[3, 3, 3, 3, 3, 4, 4, 4], 4], // a square fold: K = 2, order 4
    [[2, 2, 3, 4, 30, 2, 2, 3], 2], // K = 4, w = kron of the last two splits
  ];
  const cases: KronCase[] = [];
  for (const [dims, order] of shapes) {
    const total = kronTotal(dims);
    cases.push({ dims, order, begin: 0, end: total, scale: 1 });
    cases.push({
      dims,
      order,
      begin: Math.floor(total / 3),
      end: total - Math.floor(total / 5),
      scale: -0.5,
    });
    cases.push({ dims, order, begin: total - 1, end: total, scale: 2 });
    cases.push({ dims, order, begin: 1, end: Math.min(total, 4), scale: 0.25 });
    cases.push({ dims, order, begin: Math.floor(total / 2), end: Math.floor(total / 2), scale: 1 });
  }
  return cases;
}

describe.each(ISAS)('kron kernels (%s)', (isa) => {
  test.each(kronCases())('forward and backward: %j', (c) => {
    const sizes = splitSizes(c.dims, c.order);
    const tensors = sizes.map((size, k) => integers(size, 101 * k + c.dims.length, 2));
    const n = c.end - c.begin;
    const offset = (c.begin + c.dims.length) % 16;

    const out = guarded(n, offset);
    addon.kronForward(tensors, c.dims, c.order, c.scale, c.begin, c.end, out.view, isa);
    expectSame(out.view, kronReference(tensors, c), 'out');
    expectGuardsIntact(out.buffer, out.view);

    const dOut = integers(n, 77 + c.begin, 2);
    const grads = sizes.map((size, k) => {
      const grad = guarded(size, (offset + 3 * k + 1) % 16);
      grad.view.set(integers(size, 991 * k + 5));
      return grad;
    });
    const expected = kronBackwardReference(
      tensors,
      dOut,
      grads.map((grad) => grad.view),
      c,
    );
    addon.kronBackward(
      tensors,
      c.dims,
      c.order,
      dOut,
      c.scale,
      c.begin,
      c.end,
      grads.map((grad) => grad.view),
      isa,
    );
    grads.forEach((grad, k) => {
      expectSame(grad.view, expected[k] as Float64Array, `grads[${k}]`);
      expectGuardsIntact(grad.buffer, grad.view);
    });
  });

  test.each([
    ['LoKr on a 768 × 768 weight', [24, 24, 32, 32]],
    ['LoNKr on a 768 × 768 weight', [8, 8, 8, 8, 12, 12]],
  ])('%s: dims %j, a range of whole and cut rows', (_, dims) => {
    const order = 2;
    const sizes = splitSizes(dims, order);
    const tensors = sizes.map((size, k) => integers(size, 7 + k, 2));
    const c: KronCase = { dims, order, begin: 768 * 100 + 5, end: 768 * 131 + 700, scale: 0.5 };
    const out = new Float32Array(c.end - c.begin);
    addon.kronForward(tensors, dims, order, c.scale, c.begin, c.end, out, isa);
    expectSame(out, kronReference(tensors, c), 'out');
    const dOut = integers(c.end - c.begin, 3, 2);
    const grads = sizes.map((size) => new Float32Array(size));
    const expected = kronBackwardReference(tensors, dOut, grads, c);
    addon.kronBackward(tensors, dims, order, dOut, c.scale, c.begin, c.end, grads, isa);
    grads.forEach((grad, k) => expectSame(grad, expected[k] as Float64Array, `grads[${k}]`));
  });
});

// ---- argument checks ----

describe('lowRankForward / lowRankBackward argument checks', () => {
  const a = new Float32Array(4 * 2); // 4 rows, rank 2
  const y = new Float32Array(2 * 3); // cols 3
  const out = new Float32Array(12);

  test.each([
    [
      'a as an Array',
      [[1, 2], y, 3, 2, 1, 0, 12, out],
      'TypeError',
      /Float32Array for a but received Array/,
    ],
    [
      'y as undefined',
      [a, undefined, 3, 2, 1, 0, 12, out],
      'TypeError',
      /for y but received undefined/,
    ],
    ['cols 0', [a, y, 0, 2, 1, 0, 12, out], 'RangeError', /for cols but received number 0/],
    ['rank 1.5', [a, y, 3, 1.5, 1, 0, 12, out], 'RangeError', /for rank but received number 1.5/],
    [
      'scale as a string',
      [a, y, 3, 2, '1', 0, 12, out],
      'TypeError',
      /number for scale but received string/,
    ],
    ['scale NaN', [a, y, 3, 2, NaN, 0, 12, out], 'RangeError', /finite number for scale/],
    [
      'begin off a row',
      [a, y, 3, 2, 1, 4, 12, out],
      'RangeError',
      /begin to be a multiple of cols \(3\) but received 4/,
    ],
    ['end before begin', [a, y, 3, 2, 1, 6, 5, out], 'RangeError', /for end but received number 5/],
    [
      'a too short for the rows',
      [a, y, 3, 2, 1, 0, 13, new Float32Array(13)],
      'RangeError',
      /a\.length to be at least 10/,
    ],
    [
      'y too short',
      [a, new Float32Array(5), 3, 2, 1, 0, 12, out],
      'RangeError',
      /y\.length to be at least 6/,
    ],
    [
      'out too short',
      [a, y, 3, 2, 1, 0, 12, new Float32Array(11)],
      'RangeError',
      /out\.length to be at least 12/,
    ],
    [
      'out as a Float64Array',
      [a, y, 3, 2, 1, 0, 12, new Float64Array(12)],
      'TypeError',
      /Float32Array for out but received Float64Array/,
    ],
    [
      'an unknown isa',
      [a, y, 3, 2, 1, 0, 12, out, 'sse9'],
      'RangeError',
      /for isa but received string 'sse9'/,
    ],
    [
      'isa as a number',
      [a, y, 3, 2, 1, 0, 12, out, 2],
      'TypeError',
      /for isa but received number 2/,
    ],
    ['a huge rank', [a, y, 3, 2 ** 52, 1, 0, 12, out], 'RangeError', /a\.length to be at least/],
  ] as const)('forward with %s throws', (_, args, name, message) => {
    const call = addon.lowRankForward as (...values: readonly unknown[]) => void;
    expectNativeError(() => call(...args), name, message);
  });

  test('a detached output throws a TypeError naming out', () => {
    const detached = new Float32Array(12);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expectNativeError(
      () => addon.lowRankForward(a, y, 3, 2, 1, 0, 12, detached),
      'TypeError',
      /for out .*detached/,
    );
  });

  test.each([
    ['dOut too short', [11, 8, 6], /dOut\.length to be at least 12/],
    ['dA too short', [12, 7, 6], /dA\.length to be at least 8/],
    ['dY too short', [12, 8, 5], /dY\.length to be at least 6/],
  ])('backward with %s throws a RangeError', (_, lengths, message) => {
    const [dOut, dA, dY] = lengths.map((length) => new Float32Array(length)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    expectNativeError(
      () => addon.lowRankBackward(a, y, dOut, 3, 2, 1, 0, 12, dA, dY),
      'RangeError',
      message,
    );
  });

  test('a rejected call leaves the output untouched', () => {
    const target = new Float32Array(12).fill(7);
    expectNativeError(
      () => addon.lowRankForward(a, new Float32Array(5), 3, 2, 1, 0, 12, target),
      'RangeError',
      /y\.length/,
    );
    expect(Array.from(target)).toEqual(new Array<number>(12).fill(7));
  });
});

describe('kronForward / kronBackward argument checks', () => {
  const tensors = [new Float32Array(6), new Float32Array(20)];
  const dims = [2, 3, 4, 5]; // T_0 2 × 3, T_1 4 × 5: T is 8 × 15
  const out = new Float32Array(120);

  test.each([
    [
      'tensors not an Array',
      [tensors[0], dims, 2, 1, 0, 120, out],
      'TypeError',
      /Array of Float32Array for tensors/,
    ],
    ['no tensors', [[], [], 2, 1, 0, 0, out], 'RangeError', /at least one Float32Array in tensors/],
    [
      'tensors[1] an Array',
      [[tensors[0], [1]], dims, 2, 1, 0, 120, out],
      'TypeError',
      /Float32Array for tensors\[1\] but received Array/,
    ],
    [
      'dims not an Array',
      [tensors, 'dims', 2, 1, 0, 120, out],
      'TypeError',
      /Array of integers for dims/,
    ],
    [
      'order 0',
      [tensors, dims, 0, 1, 0, 120, out],
      'RangeError',
      /for order but received number 0/,
    ],
    [
      'dims of the wrong length',
      [tensors, [2, 3, 4], 2, 1, 0, 120, out],
      'RangeError',
      /dims\.length to be tensors\.length times order \(4\) but received length 3/,
    ],
    [
      'a zero dim',
      [tensors, [2, 0, 4, 5], 2, 1, 0, 120, out],
      'RangeError',
      /positive integer for dims\[1\] but received number 0/,
    ],
    [
      'a string dim',
      [tensors, [2, 3, '4', 5], 2, 1, 0, 120, out],
      'TypeError',
      /positive integer for dims\[2\] but received string/,
    ],
    [
      'tensors[1] too short',
      [[tensors[0], new Float32Array(19)], dims, 2, 1, 0, 120, out],
      'RangeError',
      /tensors\[1\]\.length to be at least 20/,
    ],
    [
      'end past the product',
      [tensors, dims, 2, 1, 0, 121, new Float32Array(121)],
      'RangeError',
      /end to be at most the product size \(120\) but received 121/,
    ],
    [
      'out too short',
      [tensors, dims, 2, 1, 0, 120, new Float32Array(119)],
      'RangeError',
      /out\.length to be at least 120/,
    ],
    [
      'an unknown isa',
      [tensors, dims, 2, 1, 0, 120, out, 'neon'],
      'RangeError',
      /for isa but received string 'neon'/,
    ],
  ] as const)('forward with %s throws', (_, args, name, message) => {
    const call = addon.kronForward as (...values: readonly unknown[]) => void;
    expectNativeError(() => call(...args), name, message);
  });

  test('dims far beyond the tensors throw a RangeError naming the tensor', () => {
    const big = [new Float32Array(1), new Float32Array(1)];
    expectNativeError(
      () => addon.kronForward(big, [2 ** 30, 1, 2 ** 30, 1], 2, 1, 0, 0, out),
      'RangeError',
      /tensors\[0\]\.length to be at least 1073741824/,
    );
  });

  test.each([
    ['one gradient missing', [new Float32Array(6)], /grads\.length to be tensors\.length \(2\)/],
    [
      'grads[0] too short',
      [new Float32Array(5), new Float32Array(20)],
      /grads\[0\]\.length to be at least 6/,
    ],
  ])('backward with %s throws a RangeError', (_, grads, message) => {
    expectNativeError(
      () => addon.kronBackward(tensors, dims, 2, new Float32Array(120), 1, 0, 120, grads),
      'RangeError',
      message,
    );
  });

  test('backward with dOut too short throws a RangeError naming dOut', () => {
    expectNativeError(
      () =>
        addon.kronBackward(tensors, dims, 2, new Float32Array(9), 1, 0, 10, [
          new Float32Array(6),
          new Float32Array(20),
        ]),
      'RangeError',
      /dOut\.length to be at least 10/,
    );
  });
});
