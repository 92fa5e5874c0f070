import type { IsaName } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { fastfoodGaussians, fastfoodSigns, seededPermutation, StreamTag } from '../../src/rng';
import { expectNativeError } from './expectNativeError';

// The fused fastfood kernels (native/kernels/fastfood.h) at every instruction-set level this CPU
// runs, against SPEC §7 evaluated in float64: as a dense matrix for small L (so forward and
// backward are checked against the same matrix and its transpose), and with the butterfly
// network for large L. Tolerance: SPEC §10b's 1e-4 · max|reference| + 1e-6.

const addon = loadAddon();
const cpu = addon.capabilities().cpu;

const ISAS: IsaName[] = ['portable'];
if (cpu.avx2 && cpu.fma) ISAS.push('avx2');
if (cpu.avx2 && cpu.fma && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) {
  ISAS.push('avx512');
}

const GUARD = 12345;
const SEED = 20240917;

function at(array: ArrayLike<number>, index: number): number {
  return array[index] ?? NaN;
}

interface Tables {
  size: number;
  signs: Float32Array;
  perm: Int32Array;
  gaussians: Float32Array;
}

// Generated once per size: the JS table generators take seconds at L = 2^17 and up.
const tableCache = new Map<number, Tables>();
function tables(size: number): Tables {
  let cached = tableCache.get(size);
  if (cached === undefined) {
    cached = {
      size,
      signs: fastfoodSigns(SEED, size),
      perm: seededPermutation(SEED, StreamTag.permutation, size),
      gaussians: fastfoodGaussians(SEED, size),
    };
    tableCache.set(size, cached);
  }
  return cached;
}

function divisor(t: Tables, n: number): number {
  let sumSq = 0;
  for (const g of t.gaussians) sumSq += g * g;
  return Math.sqrt(n * sumSq);
}

/** F as a dense n × m matrix (row-major), straight from SPEC §7: F = S_n H diag(Gv) P H diag(B) pad. */
function denseF(t: Tables, m: number, n: number): Float64Array {
  const size = t.size;
  // H[i][k] = (−1)^popcount(i & k) is the Sylvester matrix of SPEC §7.
  const h = (i: number, k: number): number => {
    let bits = i & k;
    let parity = 0;
    while (bits !== 0) {
      parity ^= bits & 1;
      bits >>>= 1;
    }
    return parity ? -1 : 1;
  };
  const scale = 1 / divisor(t, n);
  const f = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < size; k++) {
        sum += h(i, k) * at(t.gaussians, k) * h(at(t.perm, k), j);
      }
      f[i * m + j] = sum * at(t.signs, j) * scale;
    }
  }
  return f;
}

function butterflies(data: Float64Array): void {
  for (let half = 1; half < data.length; half *= 2) {
    for (let block = 0; block < data.length; block += 2 * half) {
      for (let i = block; i < block + half; i++) {
        const top = at(data, i);
        const bottom = at(data, i + half);
        data[i] = top + bottom;
        data[i + half] = top - bottom;
      }
    }
  }
}

/** scale · F(z) with the butterfly network in float64. */
function fastForward(t: Tables, z: Float32Array, n: number, scale: number): Float64Array {
  const x = new Float64Array(t.size);
  for (let i = 0; i < z.length; i++) x[i] = at(t.signs, i) * at(z, i);
  butterflies(x);
  const w = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) w[i] = at(t.gaussians, i) * at(x, at(t.perm, i));
  butterflies(w);
  const factor = scale / divisor(t, n);
  return Float64Array.from(w.subarray(0, n), (value) => value * factor);
}

/** scale · Fᵀ(dy) with the butterfly network in float64. */
function fastBackward(t: Tables, dy: Float32Array, m: number, scale: number): Float64Array {
  const x = new Float64Array(t.size);
  x.set(dy);
  butterflies(x);
  const w = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) w[at(t.perm, i)] = at(t.gaussians, i) * at(x, i);
  butterflies(w);
  const factor = scale / divisor(t, dy.length);
  return Float64Array.from({ length: m }, (_, i) => at(w, i) * at(t.signs, i) * factor);
}

function randomFloats(length: number, seed: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * 2);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  // Copied into plain float64 arrays first: one monomorphic loop, fast on 10^6 elements.
  const got = Float64Array.from(actual);
  const want = Float64Array.from(expected);
  let largest = 0;
  for (const value of want) largest = Math.max(largest, Math.abs(value));
  const tolerance = 1e-4 * largest + 1e-6;
  for (let i = 0; i < want.length; i++) {
    const error = Math.abs((got[i] as number) - (want[i] as number));
    if (!(error <= tolerance)) {
      throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]} (tolerance ${tolerance})`);
    }
  }
}

/** A view of `length` floats one float into a guard-filled buffer (misaligned on purpose). */
function guarded(length: number): { view: Float32Array; buffer: Float32Array } {
  const buffer = new Float32Array(length + 9).fill(GUARD);
  return { view: buffer.subarray(1, 1 + length), buffer };
}

function expectGuards(buffer: Float32Array, length: number): void {
  expect(buffer[0]).toBe(GUARD);
  for (let i = 1 + length; i < buffer.length; i++) expect(buffer[i]).toBe(GUARD);
}

/** The (m, n) cases of one L: m = 1, m = n, n = L, n = L/2 + 1, and one in between. */
function cases(size: number): [number, number][] {
  const smallest = Math.floor(size / 2) + 1;
  const middle = Math.floor((smallest + size) / 2);
  const list: [number, number][] = [
    [1, size],
    [size, size],
    [1, smallest],
    [smallest, smallest],
    [Math.ceil(0.1 * middle), middle],
    [Math.ceil(middle / 2) + 1, middle],
  ];
  const seen = new Set<string>();
  return list.filter(([m, n]) => {
    const key = `${m},${n}`;
    if (seen.has(key) || m > n) return false;
    seen.add(key);
    return true;
  });
}

// The float64 references of the large cases, computed once for all instruction sets.
const references = new Map<
  string,
  { z: Float32Array; dy: Float32Array; y: Float64Array; dz: Float64Array }
>();
function fastReference(
  t: Tables,
  m: number,
  n: number,
): { z: Float32Array; dy: Float32Array; y: Float64Array; dz: Float64Array } {
  const key = `${t.size},${m},${n}`;
  let reference = references.get(key);
  if (reference === undefined) {
    const z = randomFloats(m, n);
    const dy = randomFloats(n, m);
    reference = { z, dy, y: fastForward(t, z, n, 0.75), dz: fastBackward(t, dy, m, 0.75) };
    references.set(key, reference);
  }
  return reference;
}

describe.each(ISAS)('fastfood with isa %s', (isa) => {
  const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  test.each(sizes)('forward and backward match the dense SPEC §7 matrix, L = %i', (size) => {
    const t = tables(size);
    for (const [m, n] of cases(size)) {
      const f = denseF(t, m, n);
      const scale = 1.5;
      const z = randomFloats(m, m + 3 * n);
      const dy = randomFloats(n, 7 * m + n);
      const expectedY = Float64Array.from({ length: n }, (_, i) => {
        let sum = 0;
        for (let j = 0; j < m; j++) sum += at(f, i * m + j) * at(z, j);
        return scale * sum;
      });
      const expectedDz = Float64Array.from({ length: m }, (_, j) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += at(f, i * m + j) * at(dy, i);
        return scale * sum;
      });
      const y = guarded(n);
      addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, m, n, scale, y.view, isa);
      expectClose(y.view, expectedY, `L ${size} m ${m} n ${n} y`);
      expectGuards(y.buffer, n);
      const dz = guarded(m);
      addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, n, m, scale, dz.view, isa);
      expectClose(dz.view, expectedDz, `L ${size} m ${m} n ${n} dz`);
      expectGuards(dz.buffer, m);
    }
  });

  // 2^12 is a single row block; 2^17 and up take the cache-blocked column and row passes.
  test.each([2 ** 12, 2 ** 17])('match SPEC §7 in float64 at L = %i', (size) => {
    const t = tables(size);
    for (const [m, n] of cases(size)) {
      const { z, dy, y: expectedY, dz: expectedDz } = fastReference(t, m, n);
      const y = new Float32Array(n);
      addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, m, n, 0.75, y, isa);
      expectClose(y, expectedY, `L ${size} m ${m} n ${n} y`);
      const dz = new Float32Array(m);
      addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, n, m, 0.75, dz, isa);
      expectClose(dz, expectedDz, `L ${size} m ${m} n ${n} dz`);
    }
  });
});

// 2^21 also takes the column panels of more than 16 rows, whose copy is fused with their top levels.
describe.each([20, 21])('fastfood at L = 2^%i', (log) => {
  const size = 2 ** log;
  const t = tables(size);
  const n = Math.floor(0.86 * size) + 1;
  const m = Math.ceil(0.1 * n);
  const z = randomFloats(m, 1);
  const dy = randomFloats(n, 2);

  test('every path agrees with the portable one and with float64', () => {
    const portableY = new Float32Array(n);
    addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, m, n, 2, portableY, 'portable');
    expectClose(portableY, fastForward(t, z, n, 2), 'portable y');
    const portableDz = new Float32Array(m);
    addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, n, m, 2, portableDz, 'portable');
    expectClose(portableDz, fastBackward(t, dy, m, 2), 'portable dz');
    for (const isa of ISAS) {
      const y = new Float32Array(n);
      addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, m, n, 2, y, isa);
      expectClose(y, portableY, `${isa} y`);
      const dz = new Float32Array(m);
      addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, n, m, 2, dz, isa);
      expectClose(dz, portableDz, `${isa} dz`);
    }
  });

  test('1 and 2 threads agree (forward bit-identical; backward folds per-thread accumulators)', () => {
    const previous = addon.getThreads();
    try {
      const ys: Float32Array[] = [];
      const dzs: Float32Array[] = [];
      for (const threads of [1, 2]) {
        addon.setThreads(threads);
        const y = new Float32Array(n);
        addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, m, n, 1, y);
        ys.push(y);
        const dz = new Float32Array(m);
        addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, n, m, 1, dz);
        dzs.push(dz);
      }
      const [one, two] = [ys[0] ?? new Float32Array(0), ys[1] ?? new Float32Array(0)];
      expect(two.length).toBe(n);
      for (let i = 0; i < n; i++) {
        if (two[i] !== one[i])
          throw new Error(`y[${i}]: ${two[i]} with 2 threads, ${one[i]} with 1`);
      }
      expectClose(dzs[1] ?? [], dzs[0] ?? [], 'dz with 2 threads');
    } finally {
      addon.setThreads(previous);
    }
  });
});

describe('fastfood argument checks', () => {
  const t = tables(8);
  const z = new Float32Array(3);
  const y = new Float32Array(6);

  test('the forward checks its arrays, naming each', () => {
    expectNativeError(
      () =>
        addon.fastfoodForward([] as unknown as Float32Array, t.perm, t.gaussians, z, 3, 6, 1, y),
      'TypeError',
      /Expected Float32Array for signs but received Array/,
    );
    expectNativeError(
      () =>
        addon.fastfoodForward(
          t.signs,
          new Float32Array(8) as unknown as Int32Array,
          t.gaussians,
          z,
          3,
          6,
          1,
          y,
        ),
      'TypeError',
      /Expected Int32Array for perm but received Float32Array/,
    );
    expectNativeError(
      () =>
        addon.fastfoodForward(
          t.signs,
          t.perm,
          t.gaussians,
          undefined as unknown as Float32Array,
          3,
          6,
          1,
          y,
        ),
      'TypeError',
      /for z but received undefined/,
    );
    expectNativeError(
      () => addon.fastfoodForward(new Float32Array(6), t.perm, t.gaussians, z, 3, 6, 1, y),
      'RangeError',
      /signs.length to be a power of two .* received length 6/,
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, new Int32Array(4), t.gaussians, z, 3, 6, 1, y),
      'RangeError',
      'Expected perm.length to be 8 (L, from signs) but received length 4',
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, new Float32Array(7), z, 3, 6, 1, y),
      'RangeError',
      'Expected gaussians.length to be 8 (L, from signs) but received length 7',
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, new Float32Array(4), 3, 6, 1, y),
      'RangeError',
      'Expected z.length to be 3 (m) but received length 4',
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 6, 1, new Float32Array(5)),
      'RangeError',
      'Expected y.length to be 6 (n) but received length 5',
    );
  });

  test('perm must be a permutation of [0, L)', () => {
    for (const bad of [
      [0, 1, 2, 3, 4, 5, 6, 6],
      [0, 1, 2, 3, 4, 5, 6, 8],
      [-1, 1, 2, 3, 4, 5, 6, 7],
    ]) {
      expectNativeError(
        () => addon.fastfoodForward(t.signs, Int32Array.from(bad), t.gaussians, z, 3, 6, 1, y),
        'RangeError',
        /Expected perm to be a permutation of \[0, 8\) but perm\[\d\] is -?\d/,
      );
    }
  });

  test('sizes must satisfy 1 ≤ m ≤ n, L/2 < n ≤ L', () => {
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 4, 1, new Float32Array(4)),
      'RangeError',
      /Expected an integer in \[5, 8\] for n but received number 4/,
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 7, 6, 1, y),
      'RangeError',
      /Expected an integer in \[1, 6\] for m but received number 7/,
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 0, 6, 1, y),
      'RangeError',
      /for m but received number 0/,
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 2.5, 6, 1, y),
      'RangeError',
      /for m but received number 2.5/,
    );
    expectNativeError(
      () =>
        addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, '3' as unknown as number, 6, 1, y),
      'TypeError',
      /for m\) but received string '3'/,
    );
  });

  test('scale must be a finite number and isa a known name', () => {
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 6, NaN, y),
      'RangeError',
      'Expected a finite number for scale but received number NaN',
    );
    expectNativeError(
      () =>
        addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 6, null as unknown as number, y),
      'TypeError',
      'Expected a number for scale but received null',
    );
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 6, 1, y, 'neon' as IsaName),
      'RangeError',
      /for isa but received string 'neon'/,
    );
  });

  test('the backward checks dy, n, m and dz the same way', () => {
    const dy = new Float32Array(6);
    const dz = new Float32Array(3);
    expectNativeError(
      () => addon.fastfoodBackward(t.signs, t.perm, t.gaussians, new Float32Array(5), 6, 3, 1, dz),
      'RangeError',
      'Expected dy.length to be 6 (n) but received length 5',
    );
    expectNativeError(
      () => addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, 6, 3, 1, new Float32Array(2)),
      'RangeError',
      'Expected dz.length to be 3 (m) but received length 2',
    );
    expectNativeError(
      () => addon.fastfoodBackward(t.signs, t.perm, t.gaussians, dy, 9, 3, 1, dz),
      'RangeError',
      /for n but received number 9/,
    );
    expectNativeError(
      () =>
        addon.fastfoodBackward(
          t.signs,
          t.perm,
          t.gaussians,
          dy,
          6,
          3,
          1,
          [] as unknown as Float32Array,
        ),
      'TypeError',
      /Expected Float32Array for dz but received Array/,
    );
  });

  test('a detached table throws a TypeError and a rejected call writes nothing', () => {
    const signs = t.signs.slice();
    structuredClone(signs.buffer, { transfer: [signs.buffer] });
    expectNativeError(
      () => addon.fastfoodForward(signs, t.perm, t.gaussians, z, 3, 6, 1, y),
      'TypeError',
      /for signs .*detached/,
    );
    const out = new Float32Array(6).fill(GUARD);
    expectNativeError(
      () => addon.fastfoodForward(t.signs, t.perm, t.gaussians, z, 3, 6, Infinity, out),
      'RangeError',
      /finite number for scale/,
    );
    expect(Array.from(out)).toEqual(new Array(6).fill(GUARD));
  });
});
