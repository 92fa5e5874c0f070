import { loadAddon } from '../../src/native/loadAddon';
import { expectNativeError } from './expectNativeError';

const addon = loadAddon();

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
