/**
 * symmetricEigen against hand-worked cases, matrices built from a known spectrum (Qᵀ diag(λ) Q
 * with Q from Gram–Schmidt, repeated and zero eigenvalues included), and the defining identities
 * A v = λ v and VVᵀ = I on random symmetric matrices; the TypeScript reference and the addon's
 * native/linalg version alike, and the two against each other.
 */
import { nativeLinalg } from '../../src/linalg/nativeLinalg';
import { symmetricEigen } from '../../src/linalg/symmetricEigen';
import { uniforms } from '../vit/tinyVit';
import { randomOrthogonal } from './orthonormal';

function randomSymmetric(n: number, seed: number): Float64Array {
  const values = uniforms(seed, n * n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      a[i * n + j] = values[i * n + j]!;
      a[j * n + i] = values[i * n + j]!;
    }
  }
  return a;
}

type Eigen = typeof symmetricEigen;

const native = nativeLinalg();

function expectDecomposes(eigen: Eigen, a: Float64Array, n: number): void {
  const { values, vectors } = eigen(a, n);
  const scale = Math.max(1, ...Array.from(a, Math.abs));
  for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
  let residual = 0;
  let orthogonality = 0;
  for (let e = 0; e < n; e++) {
    // ‖A v − λ v‖∞ for eigenpair e.
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[e * n + j]!;
      residual = Math.max(residual, Math.abs(av - values[e]! * vectors[e * n + i]!));
    }
    for (let f = 0; f < n; f++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += vectors[e * n + k]! * vectors[f * n + k]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (e === f ? 1 : 0)));
    }
  }
  expect(residual).toBeLessThan(1e-12 * n * scale);
  expect(orthogonality).toBeLessThan(1e-12 * n);
}

describe.each([
  ['TypeScript', symmetricEigen],
  ['native', (matrix: Float64Array, n: number) => native!.symmetricEigen(matrix, n)],
] as [string, Eigen][])('%s symmetricEigen', (_, eigen) => {
  test('the 2 × 2 case worked by hand: [[2, 1], [1, 2]] has eigenvalues 3 and 1 along (1, ±1)/√2', () => {
    const { values, vectors } = eigen(Float64Array.of(2, 1, 1, 2), 2);
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors[1]! / vectors[0]!).toBeCloseTo(1, 14);
    expect(vectors[3]! / vectors[2]!).toBeCloseTo(-1, 14);
  });

  test('a 1 × 1 matrix is its own eigenvalue; the zero matrix has only zeros', () => {
    expect(Array.from(eigen(Float64Array.of(-4.5), 1).values)).toEqual([-4.5]);
    const zero = eigen(new Float64Array(25), 5);
    expect(Array.from(zero.values)).toEqual([0, 0, 0, 0, 0]);
    expectDecomposes(eigen, new Float64Array(25), 5);
  });

  test.each([
    ['distinct', [9, 4, 2.5, 1, 0.25, -0.5, -3, -7]],
    ['repeated and zero', [5, 5, 5, 1, 0, 0, 0, -2]],
    ['widely spread', [1e6, 1e3, 1, 1e-3, 0, 0, 0, 0]],
  ])('a matrix Qᵀ diag(λ) Q built with %s eigenvalues gives them back', (_, spectrum) => {
    const n = spectrum.length;
    const q = randomOrthogonal(n, 41);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += q[k * n + i]! * spectrum[k]! * q[k * n + j]!;
        a[i * n + j] = sum;
      }
    }
    const { values } = eigen(a, n);
    const sorted = [...spectrum].sort((x, y) => y - x);
    const scale = Math.max(...spectrum.map(Math.abs));
    sorted.forEach((lambda, i) =>
      expect(Math.abs(values[i]! - lambda)).toBeLessThan(1e-12 * scale),
    );
    expectDecomposes(eigen, a, n);
  });

  test.each([2, 3, 4, 7, 33, 100])(
    'a random symmetric %i × %i matrix: A v = λ v and the eigenvectors are orthonormal',
    (n) => expectDecomposes(eigen, randomSymmetric(n, n), n),
  );

  test('diagonal and tridiagonal inputs (nothing to reflect) decompose too', () => {
    const diagonal = new Float64Array(16);
    [3, -1, 7, 2].forEach((v, i) => (diagonal[i * 4 + i] = v));
    expect(Array.from(eigen(diagonal, 4).values)).toEqual([7, 3, 2, -1]);
    const tridiagonal = new Float64Array(36);
    for (let i = 0; i < 6; i++) {
      tridiagonal[i * 6 + i] = 2;
      if (i + 1 < 6) tridiagonal[i * 6 + i + 1] = tridiagonal[(i + 1) * 6 + i] = -1;
    }
    // The second-difference matrix: λ_k = 2 − 2 cos(kπ / 7), k = 1 … 6.
    const { values } = eigen(tridiagonal, 6);
    const expected = [6, 5, 4, 3, 2, 1].map((k) => 2 - 2 * Math.cos((k * Math.PI) / 7));
    expected.forEach((lambda, i) => expect(values[i]).toBeCloseTo(lambda, 13));
    expectDecomposes(eigen, tridiagonal, 6);
  });

  test('a wrong size or a non-finite entry is refused, naming it', () => {
    expect(() => eigen(new Float64Array(5), 2)).toThrow(
      'Expected a Float64Array of n × n values for matrix (n = 2) but received 5 values',
    );
    expect(() => eigen(Float64Array.of(1, NaN, NaN, 1), 2)).toThrow(
      'Expected finite values in matrix but entry 1 is NaN',
    );
  });
});

test('the addon has the native version, and it agrees with the TypeScript one on a 200 × 200 matrix', () => {
  expect(native).not.toBeNull();
  const n = 200;
  const a = randomSymmetric(n, 7);
  const reference = symmetricEigen(a, n);
  const fast = native!.symmetricEigen(a, n);
  const scale = Math.abs(reference.values[0]!);
  for (let i = 0; i < n; i++) {
    expect(Math.abs(fast.values[i]! - reference.values[i]!)).toBeLessThan(1e-12 * n * scale);
  }
  // Eigenvectors of distinct eigenvalues agree up to sign.
  for (let e = 0; e < n; e++) {
    let dot = 0;
    for (let k = 0; k < n; k++) dot += fast.vectors[e * n + k]! * reference.vectors[e * n + k]!;
    expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-9);
  }
});

test('the native version scales its input first: entries near the double range do not overflow', () => {
  const n = 6;
  const a = randomSymmetric(n, 3);
  const huge = a.map((value) => value * 2 ** 1000);
  const { values } = native!.symmetricEigen(a, n);
  const scaled = native!.symmetricEigen(huge, n);
  // A power of two scales exactly: the same eigenvalues times 2^1000, bit for bit.
  expect(Array.from(scaled.values)).toEqual(Array.from(values, (value) => value * 2 ** 1000));
  expect(Array.from(scaled.vectors)).toEqual(Array.from(native!.symmetricEigen(a, n).vectors));
});
