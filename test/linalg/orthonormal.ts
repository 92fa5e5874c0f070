/** Test matrices with a known spectrum, built independently of the code under test. */
import { uniforms } from '../vit/tinyVit';

/** A random n × n orthogonal matrix (row-major), by Gram–Schmidt on seeded uniforms (twice, for accuracy). */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  const q = Float64Array.from(uniforms(seed, n * n));
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += q[i * n + k]! * q[j * n + k]!;
        for (let k = 0; k < n; k++) q[i * n + k] = q[i * n + k]! - dot * q[j * n + k]!;
      }
      let norm = 0;
      for (let k = 0; k < n; k++) norm += q[i * n + k]! ** 2;
      norm = Math.sqrt(norm);
      for (let k = 0; k < n; k++) q[i * n + k] = q[i * n + k]! / norm;
    }
  }
  return q;
}

/** Σ_i u_i σ_i v_iᵀ with u_i, v_i the rows of random orthogonal matrices: [rows, cols], float64. */
export function matrixWithSingularValues(
  rows: number,
  cols: number,
  singularValues: readonly number[],
  seed: number,
): Float64Array {
  const u = randomOrthogonal(rows, seed);
  const v = randomOrthogonal(cols, seed + 1);
  const m = new Float64Array(rows * cols);
  singularValues.forEach((sigma, i) => {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        m[r * cols + c] = m[r * cols + c]! + u[i * rows + r]! * sigma * v[i * cols + c]!;
      }
    }
  });
  return m;
}
