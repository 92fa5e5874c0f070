import type { IsaName } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { expectNativeError } from './expectNativeError';

const addon = loadAddon();
const cpu = addon.capabilities().cpu;

/** Every instruction-set path this CPU runs (the addon would lower the others to these). */
const ISAS: IsaName[] = ['portable'];
if (cpu.avx2 && cpu.fma) ISAS.push('avx2');
if (cpu.avx2 && cpu.fma && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) {
  ISAS.push('avx512');
}

/** H_size from its definition: H_1 = [1], H_2k = [[H_k, H_k], [H_k, -H_k]]. Row-major. */
function denseHadamard(size: number): Float64Array {
  let matrix = new Float64Array([1]);
  for (let k = 1; k < size; k *= 2) {
    const next = new Float64Array(4 * k * k);
    for (let row = 0; row < k; row++) {
      for (let col = 0; col < k; col++) {
        const value = matrix[row * k + col] ?? NaN;
        next[row * 2 * k + col] = value;
        next[row * 2 * k + col + k] = value;
        next[(row + k) * 2 * k + col] = value;
        next[(row + k) * 2 * k + col + k] = -value;
      }
    }
    matrix = next;
  }
  return matrix;
}

/** Each row of data (rows of `size`) multiplied by H_size, in float64. */
function denseTransform(data: Float32Array, size: number): Float64Array {
  const hadamard = denseHadamard(size);
  const out = new Float64Array(data.length);
  for (let start = 0; start < data.length; start += size) {
    for (let row = 0; row < size; row++) {
      let sum = 0;
      for (let col = 0; col < size; col++) {
        sum += (hadamard[row * size + col] ?? NaN) * (data[start + col] ?? NaN);
      }
      out[start + row] = sum;
    }
  }
  return out;
}

/** Deterministic small integers in [-8, 8]: every partial sum is exact in float32. */
function integerData(length: number, seed: number): Float32Array {
  const data = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = ((state >>> 24) % 17) - 8;
  }
  return data;
}

const SIZES = Array.from({ length: 11 }, (_, log) => 2 ** log); // 1, 2, 4, ..., 1024

/** The butterfly network in float64, for sizes where the dense matrix would be slow. */
function fastTransform(data: Float32Array, size: number): Float64Array {
  const out = Float64Array.from(data);
  for (let start = 0; start < out.length; start += size) {
    for (let half = 1; half < size; half *= 2) {
      for (let block = start; block < start + size; block += 2 * half) {
        for (let i = block; i < block + half; i++) {
          const top = out[i] ?? NaN;
          const bottom = out[i + half] ?? NaN;
          out[i] = top + bottom;
          out[i + half] = top - bottom;
        }
      }
    }
  }
  return out;
}

/** Exact equality, reporting the first differing index (toEqual on 10^6 floats is unreadable). */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const GUARD = 12345;

describe('fwht (CPU)', () => {
  test.each(SIZES)('matches multiplication by the dense Hadamard matrix, size %i', (size) => {
    for (const rows of [1, 3]) {
      const data = integerData(rows * size, size * 31 + rows);
      const expected = denseTransform(data, size);
      addon.fwht(data, size);
      expect(Array.from(data)).toEqual(Array.from(expected));
    }
  });

  test('matches the dense matrix on random floats within float32 rounding', () => {
    const size = 256;
    const data = Float32Array.from({ length: 2 * size }, (_, i) => Math.sin(i * 12.9898) * 3.7);
    const expected = denseTransform(data, size);
    addon.fwht(data, size);
    for (let i = 0; i < data.length; i++) {
      expect(Math.abs((data[i] ?? NaN) - (expected[i] ?? NaN))).toBeLessThan(1e-3);
    }
  });

  test('applied twice multiplies by size (H * H = size * I)', () => {
    const size = 64;
    const original = integerData(4 * size, 7);
    const data = original.slice();
    addon.fwht(data, size);
    addon.fwht(data, size);
    expect(Array.from(data)).toEqual(Array.from(original, (value) => value * size));
  });

  test('transforms only the view it is given, not the rest of the buffer', () => {
    const buffer = new Float32Array(16).fill(1);
    const view = buffer.subarray(4, 12);
    addon.fwht(view, 8);
    expect(Array.from(buffer)).toEqual([1, 1, 1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  });

  test('accepts an empty array (zero rows)', () => {
    const data = new Float32Array(0);
    expect(() => addon.fwht(data, 4)).not.toThrow();
  });
});

// Each instruction-set path has its own register kernels (in-lane shuffles below the vector
// width, whole chunks holding several small rows, a scalar tail, cache-blocked passes above
// 2^16), so every path is checked on its own. Integer data keep every partial sum exact in
// float32, so any difference is a wrong index or a missed row, never rounding.
describe.each(ISAS)('fwht with isa %s', (isa) => {
  const sizes = Array.from({ length: 13 }, (_, log) => 2 ** log); // 1 ... 4096
  test.each(sizes)('matches the dense Hadamard matrix, size %i, at every alignment', (size) => {
    // 37 rows of a small size leave a tail that fills no whole vector chunk.
    const rowCounts = size <= 64 ? [1, 3, 37] : size <= 1024 ? [1, 3] : [1];
    for (const rows of rowCounts) {
      for (const offset of [0, 1, 3]) {
        const buffer = new Float32Array(rows * size + offset + 16).fill(GUARD);
        const view = buffer.subarray(offset, offset + rows * size);
        view.set(integerData(rows * size, size * 7 + rows * 3 + offset));
        const expected = size <= 1024 ? denseTransform(view, size) : fastTransform(view, size);
        addon.fwht(view, size, isa);
        expectSame(view, expected, `size ${size} rows ${rows} offset ${offset}`);
        for (let i = 0; i < offset; i++) expect(buffer[i]).toBe(GUARD);
        for (let i = offset + rows * size; i < buffer.length; i++) expect(buffer[i]).toBe(GUARD);
      }
    }
  });

  // 2^21 and 2^22 reach the column panels of more than 16 rows (copy fused with their top levels).
  test.each([2 ** 14, 2 ** 16, 2 ** 17, 2 ** 20, 2 ** 21, 2 ** 22])(
    'matches the float64 butterfly network exactly on integers, size %i',
    (size) => {
      // Values in [-2, 2]: every partial sum stays an integer below 2^24, exact in float32.
      const data = Float32Array.from(integerData(size, size + 1), (value) => value % 3);
      const expected = fastTransform(data, size);
      addon.fwht(data, size, isa);
      expectSame(data, expected, `size ${size}`);
    },
  );

  test('two unaligned rows of 2^21 (fused column panels) are transformed independently', () => {
    const size = 2 ** 21;
    const offset = 3;
    const buffer = new Float32Array(2 * size + offset + 16).fill(GUARD);
    const view = buffer.subarray(offset, offset + 2 * size);
    view.set(Float32Array.from(integerData(2 * size, 77), (value) => value % 3));
    const expected = fastTransform(view, size);
    addon.fwht(view, size, isa);
    expectSame(view, expected, 'two rows of 2^21 at offset 3');
    for (let i = 0; i < offset; i++) expect(buffer[i]).toBe(GUARD);
    for (let i = offset + 2 * size; i < buffer.length; i++) expect(buffer[i]).toBe(GUARD);
  });

  // Row blocks of a work array that is not 64-byte aligned run in an aligned scratch block; an
  // aligned one runs in place. A Node Float32Array's own alignment is up to the allocator, so
  // every one of the 16 float offsets within a cache line is tried: exactly one is aligned.
  test.each([
    [2 ** 9, 4],
    [2 ** 14, 1],
    [2 ** 16, 2],
    [2 ** 17, 1],
  ])(
    'size %i × %i rows: the same exact result at each of the 16 offsets in a cache line',
    (size, rows) => {
      const source = Float32Array.from(integerData(rows * size, size + rows), (value) => value % 3);
      const expected = fastTransform(source, size);
      const buffer = new Float32Array(rows * size + 32);
      for (let offset = 0; offset < 16; offset++) {
        buffer.fill(GUARD);
        const view = buffer.subarray(offset, offset + rows * size);
        view.set(source);
        addon.fwht(view, size, isa);
        expectSame(view, expected, `size ${size} rows ${rows} offset ${offset}`);
        expect(buffer[offset - 1] ?? GUARD).toBe(GUARD);
        expect(buffer[offset + rows * size]).toBe(GUARD);
      }
    },
  );

  test('two rows above the single-block size are transformed independently', () => {
    const size = 2 ** 17;
    const data = Float32Array.from(integerData(2 * size, 99), (value) => value % 3);
    const expected = fastTransform(data, size);
    addon.fwht(data, size, isa);
    expectSame(data, expected, 'two rows of 2^17');
  });
});

describe('fwht instruction sets and threads', () => {
  test('every path agrees with the portable one on random floats of size 2^20', () => {
    const size = 2 ** 20;
    const input = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 12.9898) * 3.7);
    const reference = input.slice();
    addon.fwht(reference, size, 'portable');
    let largest = 0;
    for (const value of reference) largest = Math.max(largest, Math.abs(value));
    for (const isa of ISAS) {
      const data = input.slice();
      addon.fwht(data, size, isa);
      let worst = 0;
      for (let i = 0; i < size; i++) {
        worst = Math.max(worst, Math.abs((data[i] ?? NaN) - (reference[i] ?? NaN)));
      }
      expect(worst).toBeLessThanOrEqual(1e-5 * largest);
    }
  });

  test('1 and 2 threads give bit-identical results (2^20 and many rows of 2^12)', () => {
    const previous = addon.getThreads();
    try {
      for (const [length, size] of [
        [2 ** 20, 2 ** 20],
        [2 ** 20, 2 ** 12],
      ] as const) {
        const input = Float32Array.from({ length }, (_, i) => Math.cos(i * 0.37) * 2.5);
        const results: Float32Array[] = [];
        for (const threads of [1, 2]) {
          addon.setThreads(threads);
          const data = input.slice();
          addon.fwht(data, size);
          results.push(data);
        }
        expectSame(results[1] ?? [], results[0] ?? [], `length ${length} size ${size}`);
      }
    } finally {
      addon.setThreads(previous);
    }
  });

  test('isa that is not a string throws a TypeError naming isa', () => {
    expectNativeError(
      () => addon.fwht(new Float32Array(4), 4, 2 as unknown as IsaName),
      'TypeError',
      "Expected one of 'portable', 'avx2', 'avx512' for isa but received number 2",
    );
  });

  test('an unknown isa throws a RangeError naming isa', () => {
    expectNativeError(
      () => addon.fwht(new Float32Array(4), 4, 'sse4' as IsaName),
      'RangeError',
      "Expected one of 'portable', 'avx2', 'avx512' for isa but received string 'sse4'",
    );
  });
});

describe('fwht argument checks', () => {
  test.each([
    ['an Array', [1, 2, 3, 4], /Expected Float32Array for data but received Array/],
    [
      'a Float64Array',
      new Float64Array(4),
      /Expected Float32Array for data but received Float64Array/,
    ],
    ['undefined', undefined, /Expected Float32Array for data but received undefined/],
    ['a number', 4, /Expected Float32Array for data but received number 4/],
  ])('data as %s throws a TypeError naming data', (_, data, message) => {
    expectNativeError(() => addon.fwht(data as unknown as Float32Array, 4), 'TypeError', message);
  });

  test('a detached buffer throws a TypeError naming data', () => {
    const data = new Float32Array(8);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expectNativeError(() => addon.fwht(data, 4), 'TypeError', /for data .*detached/);
  });

  test.each([3, 0, -4, 1.5, 6, NaN, Infinity, 2 ** 60 + 1])(
    'size %p (not a power of two) throws a RangeError naming size',
    (size) => {
      const data = new Float32Array(12);
      expectNativeError(
        () => addon.fwht(data, size),
        'RangeError',
        /power of two .*for size but received number/,
      );
    },
  );

  test.each([
    ['a string', '4'],
    ['undefined', undefined],
  ])('size as %s throws a TypeError naming size', (_, size) => {
    expectNativeError(
      () => addon.fwht(new Float32Array(4), size as unknown as number),
      'TypeError',
      /for size but received/,
    );
  });

  test('a size that does not divide data.length throws a RangeError naming both', () => {
    const data = new Float32Array(12);
    expectNativeError(
      () => addon.fwht(data, 8),
      'RangeError',
      'Expected data.length to be a multiple of size (8) but received length 12',
    );
  });

  test('a rejected call leaves the data untouched', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expectNativeError(() => addon.fwht(data, 4), 'RangeError', /multiple of size/);
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
