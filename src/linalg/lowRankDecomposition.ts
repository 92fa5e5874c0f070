/**
 * The best rank-r approximation of a matrix (Eckart–Young), as LoRA factors `up · down`: from the
 * eigen-decomposition of the Gram matrix of its smaller side, in float64. The singular values are
 * split evenly between the two factors (up = U·√Σ, down = √Σ·Vᵀ), as PEFT's and LyCORIS's
 * SVD-based initialisations do, so both train at the same scale.
 */
import { nativeLinalg } from './nativeLinalg';
import { symmetricEigen } from './symmetricEigen';

export interface LowRankFactors {
  rank: number;
  /** Row-major [rows, rank]. */
  up: Float32Array;
  /** Row-major [rank, cols]. */
  down: Float32Array;
  /** ‖M − up · down‖_F / ‖M‖_F, measured on the float32 factors (0 for a zero matrix). */
  relativeError: number;
}

/** A matrix's singular values, and its best approximation at any rank. */
export interface LowRankDecomposition {
  /** All min(rows, cols) singular values, largest first. */
  singularValues: Float64Array;
  /** The factors of the best rank-`rank` approximation (rank ≤ min(rows, cols)). */
  factors(rank: number): LowRankFactors;
}

/** The smallest rank whose discarded singular values leave a relative error ≤ tolerance. */
export function rankForTolerance(singularValues: Float64Array, tolerance: number): number {
  let total = 0;
  for (const value of singularValues) total += value * value;
  if (total === 0) return 0;
  let tail = 0;
  // Tail sums from the smallest value up, so that cancellation does not hide a small remainder.
  for (let rank = singularValues.length; rank > 0; rank--) {
    tail += singularValues[rank - 1]! ** 2;
    if (Math.sqrt(tail / total) > tolerance) return rank;
  }
  return 0;
}

function checkShape(matrix: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`Expected positive integer rows and cols but received ${rows} × ${cols}`);
  }
  if (matrix.length !== rows * cols) {
    throw new RangeError(
      `Expected ${rows} × ${cols} = ${rows * cols} values for matrix but received ${matrix.length}`,
    );
  }
}

/**
 * `matrix` is row-major [rows, cols]. The Gram matrix and its eigen-decomposition run in the native
 * addon when it loads (`native: false` forces the TypeScript reference).
 */
export function lowRankDecomposition(
  matrix: Float32Array,
  rows: number,
  cols: number,
  options: { native?: boolean } = {},
): LowRankDecomposition {
  checkShape(matrix, rows, cols);
  const native = options.native === false ? null : nativeLinalg();
  if (native) {
    const { values, vectors } = spectrumArrays(rows, cols);
    native.gramSpectrum(matrix, rows, cols, values, vectors);
    return fromSpectrum(matrix, rows, cols, values, vectors);
  }
  const byColumns = cols <= rows;
  const { values, vectors } = symmetricEigen(
    byColumns ? columnGram(matrix, rows, cols) : rowGram(matrix, rows, cols),
    byColumns ? cols : rows,
  );
  return fromSpectrum(matrix, rows, cols, values, vectors);
}

/** Room for the eigenpairs of the Gram matrix of a [rows, cols] matrix's smaller side. */
function spectrumArrays(
  rows: number,
  cols: number,
): { values: Float64Array; vectors: Float64Array } {
  const side = Math.min(rows, cols);
  return { values: new Float64Array(side), vectors: new Float64Array(side * side) };
}

/**
 * lowRankDecomposition off the main thread: the native Gram matrix and eigen-decomposition run on
 * the libuv pool, so several matrices decompose in parallel (one per pool thread, 4 by default:
 * UV_THREADPOOL_SIZE). Without the addon it is the synchronous TypeScript version. `matrix` must
 * not change until the Promise settles.
 */
export async function lowRankDecompositionAsync(
  matrix: Float32Array,
  rows: number,
  cols: number,
): Promise<LowRankDecomposition> {
  checkShape(matrix, rows, cols);
  const native = nativeLinalg();
  if (!native) return lowRankDecomposition(matrix, rows, cols, { native: false });
  const { values, vectors } = spectrumArrays(rows, cols);
  await native.gramSpectrumAsync(matrix, rows, cols, values, vectors);
  return fromSpectrum(matrix, rows, cols, values, vectors);
}

/** The decomposition of `matrix` from the eigenpairs of its smaller side's Gram matrix. */
function fromSpectrum(
  matrix: Float32Array,
  rows: number,
  cols: number,
  values: Float64Array,
  vectors: Float64Array,
): LowRankDecomposition {
  const byColumns = cols <= rows;
  const side = byColumns ? cols : rows;
  const singularValues = values.map((value) => Math.sqrt(Math.max(value, 0)));

  const factors = (rank: number): LowRankFactors => {
    if (!Number.isInteger(rank) || rank < 0 || rank > side) {
      throw new RangeError(`Expected an integer rank in [0, ${side}] but received ${rank}`);
    }
    const up = new Float32Array(rows * rank);
    const down = new Float32Array(rank * cols);
    const projected = new Float64Array(byColumns ? rows : cols);
    for (let i = 0; i < rank; i++) {
      const sigma = singularValues[i]!;
      if (sigma === 0) continue;
      const vector = vectors.subarray(i * side, (i + 1) * side);
      const root = Math.sqrt(sigma);
      if (byColumns) {
        // vector = v_i, and M v_i = σ_i u_i.
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let c = 0; c < cols; c++) sum += matrix[r * cols + c]! * vector[c]!;
          projected[r] = sum;
        }
        for (let r = 0; r < rows; r++) up[r * rank + i] = projected[r]! / root;
        for (let c = 0; c < cols; c++) down[i * cols + c] = vector[c]! * root;
      } else {
        // vector = u_i, and u_iᵀ M = σ_i v_iᵀ.
        projected.fill(0);
        for (let r = 0; r < rows; r++) {
          const weight = vector[r]!;
          for (let c = 0; c < cols; c++) {
            projected[c] = projected[c]! + weight * matrix[r * cols + c]!;
          }
        }
        for (let r = 0; r < rows; r++) up[r * rank + i] = vector[r]! * root;
        for (let c = 0; c < cols; c++) down[i * cols + c] = projected[c]! / root;
      }
    }
    const relativeError = relativeResidual(matrix, rows, cols, up, down, rank);
    return { rank, up, down, relativeError };
  };
  return { singularValues, factors };
}

/** MᵀM, [cols, cols]. */
function columnGram(matrix: Float32Array, rows: number, cols: number): Float64Array {
  const gram = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let i = 0; i < cols; i++) {
      const value = matrix[row + i]!;
      if (value === 0) continue;
      const out = i * cols;
      for (let j = 0; j <= i; j++) gram[out + j] = gram[out + j]! + value * matrix[row + j]!;
    }
  }
  return gram;
}

/** M Mᵀ, [rows, rows]. */
function rowGram(matrix: Float32Array, rows: number, cols: number): Float64Array {
  const gram = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += matrix[i * cols + c]! * matrix[j * cols + c]!;
      gram[i * rows + j] = sum;
    }
  }
  return gram;
}

/** ‖M − up · down‖_F / ‖M‖_F in float64, with up [rows, rank] and down [rank, cols] (0 for a zero M). */
export function relativeResidual(
  matrix: Float32Array,
  rows: number,
  cols: number,
  up: Float32Array,
  down: Float32Array,
  rank: number,
): number {
  let residual = 0;
  let norm = 0;
  const approximation = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    approximation.fill(0);
    for (let i = 0; i < rank; i++) {
      const weight = up[r * rank + i]!;
      if (weight === 0) continue;
      for (let c = 0; c < cols; c++)
        approximation[c] = approximation[c]! + weight * down[i * cols + c]!;
    }
    for (let c = 0; c < cols; c++) {
      const value = matrix[r * cols + c]!;
      norm += value * value;
      residual += (value - approximation[c]!) ** 2;
    }
  }
  return norm === 0 ? 0 : Math.sqrt(residual / norm);
}
