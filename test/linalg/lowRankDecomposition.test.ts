/**
 * lowRankDecomposition on matrices built with known singular values (tall, wide, square, rank
 * deficient): it returns those values, its rank-r factors leave exactly the Eckart–Young error
 * √(Σ_{i>r} σ_i²) / ‖M‖, split σ evenly between the factors, and reproduce M at full rank.
 */
import {
  lowRankDecomposition,
  lowRankDecompositionAsync,
  rankForTolerance,
  relativeResidual,
} from '../../src/linalg/lowRankDecomposition';
import { nativeLinalg } from '../../src/linalg/nativeLinalg';
import { uniforms } from '../vit/tinyVit';
import { matrixWithSingularValues } from './orthonormal';

const shapes: Array<[string, number, number, number[]]> = [
  ['tall', 12, 5, [8, 4, 2, 1, 0.5]],
  ['wide', 4, 10, [3, 3, 1, 0.01]],
  ['square, rank 2', 7, 7, [5, 2]],
];
// Each shape through the addon's Gram and eigen-decomposition, and through the TypeScript ones.
const cases = shapes.flatMap(([name, ...rest]) =>
  [true, false].map(
    (native) =>
      [`${name} (${native ? 'native' : 'TypeScript'})`, ...rest, native] as [
        string,
        number,
        number,
        number[],
        boolean,
      ],
  ),
);

describe.each(cases)('a %s matrix', (_, rows, cols, sigma, native) => {
  const m = Float32Array.from(matrixWithSingularValues(rows, cols, sigma, 17));
  const decomposition = lowRankDecomposition(m, rows, cols, { native });
  const total = sigma.reduce((sum, s) => sum + s * s, 0);

  test('has the singular values it was built with (zeros after its rank)', () => {
    const expected = [...sigma, ...Array(Math.min(rows, cols) - sigma.length).fill(0)];
    expect(decomposition.singularValues.length).toBe(Math.min(rows, cols));
    expected.forEach((s, i) =>
      expect(Math.abs(decomposition.singularValues[i]! - s)).toBeLessThan(1e-5),
    );
  });

  test.each([0, 1, 2])('leaves the Eckart–Young error at rank %i, σ split evenly', (rank) => {
    const factors = decomposition.factors(rank);
    expect(factors.up.length).toBe(rows * rank);
    expect(factors.down.length).toBe(rank * cols);
    const tail = sigma.slice(rank).reduce((sum, s) => sum + s * s, 0);
    expect(factors.relativeError).toBeCloseTo(Math.sqrt(tail / total), 5);
    for (let i = 0; i < rank; i++) {
      let upNorm = 0;
      let downNorm = 0;
      for (let r = 0; r < rows; r++) upNorm += factors.up[r * rank + i]! ** 2;
      for (let c = 0; c < cols; c++) downNorm += factors.down[i * cols + c]! ** 2;
      expect(Math.sqrt(upNorm)).toBeCloseTo(Math.sqrt(sigma[i]!), 5);
      expect(Math.sqrt(downNorm)).toBeCloseTo(Math.sqrt(sigma[i]!), 5);
    }
  });

  test('reproduces the matrix at its rank', () => {
    const factors = decomposition.factors(sigma.length);
    expect(factors.relativeError).toBeLessThan(1e-6);
    expect(relativeResidual(m, rows, cols, factors.up, factors.down, factors.rank)).toBe(
      factors.relativeError,
    );
  });
});

test('rankForTolerance: the smallest rank whose tail is within tolerance, worked by hand', () => {
  const sigma = Float64Array.of(4, 3); // ‖M‖² = 25; rank 1 leaves 3/5 = 0.6
  expect(rankForTolerance(sigma, 0.6)).toBe(1);
  expect(rankForTolerance(sigma, 0.59)).toBe(2);
  expect(rankForTolerance(sigma, 1)).toBe(0);
  expect(rankForTolerance(Float64Array.of(0, 0), 0.1)).toBe(0);
});

test('a zero matrix has zero factors and no error; bad sizes and ranks are refused', () => {
  const zero = lowRankDecomposition(new Float32Array(6), 2, 3);
  expect(Array.from(zero.singularValues)).toEqual([0, 0]);
  const factors = zero.factors(2);
  expect(factors.relativeError).toBe(0);
  expect(Array.from(factors.up)).toEqual([0, 0, 0, 0]);
  expect(() => lowRankDecomposition(new Float32Array(5), 2, 3)).toThrow(
    'Expected 2 × 3 = 6 values for matrix but received 5',
  );
  expect(() => zero.factors(3)).toThrow('Expected an integer rank in [0, 2] but received 3');
});

test.each([
  [300, 40],
  [40, 300],
])(
  'native and TypeScript agree on a random %i × %i matrix: the Gram matrix, the singular values, the factors',
  (rows, cols) => {
    const native = nativeLinalg();
    expect(native).not.toBeNull();
    const m = Float32Array.from(uniforms(rows + cols, rows * cols));
    const byColumns = cols <= rows;
    const side = Math.min(rows, cols);
    const gram = native!.gramMatrix(m, rows, cols, byColumns);
    // Independently: Σ over the long side of products, in double.
    for (const [i, j] of [
      [0, 0],
      [side - 1, 0],
      [side - 1, side - 2],
      [3, 17],
    ] as const) {
      let sum = 0;
      for (let k = 0; k < Math.max(rows, cols); k++) {
        sum += byColumns
          ? m[k * cols + i]! * m[k * cols + j]!
          : m[i * cols + k]! * m[j * cols + k]!;
      }
      expect(gram[i * side + j]).toBeCloseTo(sum, 9);
      expect(gram[j * side + i]).toBe(gram[i * side + j]);
    }
    const fast = lowRankDecomposition(m, rows, cols);
    const reference = lowRankDecomposition(m, rows, cols, { native: false });
    const largest = reference.singularValues[0]!;
    reference.singularValues.forEach((sigma, i) =>
      expect(Math.abs(fast.singularValues[i]! - sigma)).toBeLessThan(1e-9 * largest),
    );
    for (const rank of [1, 8, side]) {
      expect(fast.factors(rank).relativeError).toBeCloseTo(
        reference.factors(rank).relativeError,
        6,
      );
    }
    expect(() => native!.gramMatrix(m, rows, cols + 1, byColumns)).toThrow(
      `Expected ${rows} × ${cols + 1} values for matrix but received ${rows * cols}`,
    );
    expect(() => native!.gramMatrix(m, rows, cols, 1 as unknown as boolean)).toThrow(
      'Expected a boolean for byColumns but received number 1',
    );
  },
);

test('lowRankDecompositionAsync: several matrices at once on the pool, each exactly the synchronous result', async () => {
  const shapes = [
    [120, 30],
    [30, 120],
    [64, 64],
    [9, 1],
  ] as const;
  const matrices = shapes.map(([rows, cols], i) =>
    Float32Array.from(uniforms(50 + i, rows * cols)),
  );
  const results = await Promise.all(
    shapes.map(([rows, cols], i) => lowRankDecompositionAsync(matrices[i]!, rows, cols)),
  );
  shapes.forEach(([rows, cols], i) => {
    const sync = lowRankDecomposition(matrices[i]!, rows, cols);
    expect(Array.from(results[i]!.singularValues)).toEqual(Array.from(sync.singularValues));
    const rank = Math.min(rows, cols, 4);
    expect(results[i]!.factors(rank).up).toEqual(sync.factors(rank).up);
    expect(results[i]!.factors(rank).down).toEqual(sync.factors(rank).down);
  });
  await expect(lowRankDecompositionAsync(new Float32Array(5), 2, 3)).rejects.toThrow(
    'Expected 2 × 3 = 6 values for matrix but received 5',
  );
  await expect(lowRankDecompositionAsync(Float32Array.of(1, NaN), 1, 2)).rejects.toThrow(
    'Expected finite values in matrix but entry 1 is NaN',
  );
});
