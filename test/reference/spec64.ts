/**
 * An independent float64 evaluation of SPEC §5–§8, written from the page with plain loops:
 * Tucker as the explicit sum over every core index, Kronecker by the digit formula, fastfood as a
 * dense matrix built from its definition. Slow on purpose; tests use it on small plans only.
 * It shares only the layout (groups, folds, offsets) with the library, which is tested separately.
 */
import type { GroupPlan, PlanLayout, SplitPlan } from '../../src/plan';
import type { FixedTables } from '../../src/tables';

/** Row-major multi-index → flat index. */
function flatIndex(index: number[], dims: number[]): number {
  return index.reduce((acc, i, m) => acc * (dims[m] as number) + i, 0);
}

/** Every multi-index of a shape, last index fastest. */
export function* multiIndices(dims: number[]): Generator<number[]> {
  const count = dims.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < count; flat++) {
    const index = new Array<number>(dims.length);
    let rest = flat;
    for (let m = dims.length - 1; m >= 0; m--) {
      index[m] = rest % (dims[m] as number);
      rest = Math.floor(rest / (dims[m] as number));
    }
    yield index;
  }
}

/** T_gk as a flat float64 array (SPEC §5), for the group in slot `slot` of its bucket. */
export function splitTensor64(
  params: ArrayLike<number>,
  split: SplitPlan,
  slot: number,
  denseCore: boolean,
): Float64Array {
  const dims = split.dims;
  const out = new Float64Array(split.size);
  if (split.rank === 'full') {
    const base = (split.fullOffset as number) + slot * split.size;
    for (let i = 0; i < split.size; i++) out[i] = params[base + i] as number;
    return out;
  }
  const rank = split.rank;
  const order = dims.length;
  const factor = (m: number, row: number, col: number): number =>
    params[
      (split.factorOffsets[m] as number) + (slot * (dims[m] as number) + row) * rank + col
    ] as number;
  const coreSize = rank ** order;
  const core = (j: number[]): number => {
    if (!denseCore) return j.every((v) => v === j[0]) ? 1 : 0;
    return params[
      (split.coreOffset as number) +
        slot * coreSize +
        flatIndex(
          j,
          j.map(() => rank),
        )
    ] as number;
  };
  for (const i of multiIndices(dims)) {
    let sum = 0;
    for (const j of multiIndices(dims.map(() => rank))) {
      const c = core(j);
      if (c === 0) continue;
      let term = c;
      for (let m = 0; m < order; m++) term *= factor(m, i[m] as number, j[m] as number);
      sum += term;
    }
    out[flatIndex(i, dims)] = sum;
  }
  return out;
}

/** T_g = ⊗_k T_gk by SPEC §6's digit formula. */
export function kronecker64(splits: Float64Array[], splitDims: number[][]): Float64Array {
  const order = (splitDims[0] as number[]).length;
  const modeSizes = Array.from({ length: order }, (_, m) =>
    splitDims.reduce((acc, dims) => acc * (dims[m] as number), 1),
  );
  const out = new Float64Array(modeSizes.reduce((a, b) => a * b, 1));
  for (const i of multiIndices(modeSizes)) {
    let value = 1;
    splitDims.forEach((dims, k) => {
      // i_m = Σ_k i_{k,m} · Π_{k'>k} d_{k',m}: digit k of i_m in the mixed radix (d_{0,m}, d_{1,m}, …).
      const digits = i.map((im, m) => {
        let below = 1;
        for (let k2 = k + 1; k2 < splitDims.length; k2++)
          below *= (splitDims[k2] as number[])[m] as number;
        return Math.floor(im / below) % (dims[m] as number);
      });
      value *= (splits[k] as Float64Array)[flatIndex(digits, dims)] as number;
    });
    out[flatIndex(i, modeSizes)] = value;
  }
  return out;
}

/** The Sylvester Hadamard matrix H_L as rows, from its recursive definition. */
export function hadamardMatrix(size: number): number[][] {
  let h = [[1]];
  while (h.length < size) {
    h = [...h.map((row) => [...row, ...row]), ...h.map((row) => [...row, ...row.map((v) => -v)])];
  }
  return h;
}

/** The dense n × m matrix of F (SPEC §7), built from its definition. */
export function fastfoodMatrix64(
  tables: FixedTables,
  size: number,
  n: number,
  m: number,
): number[][] {
  const table = tables.fastfood(size);
  const h = hadamardMatrix(size);
  let sumSq = 0;
  for (const g of table.gaussians) sumSq += g * g;
  const norm = 1 / Math.sqrt(n * sumSq);
  // F = S · H · diag(Gv) · Pπ · H · diag(B) · Pad, with (Pπ u)[i] = u[π[i]].
  const matrix: number[][] = [];
  for (let row = 0; row < n; row++) {
    const line = new Array<number>(m).fill(0);
    for (let i = 0; i < size; i++) {
      const hw = (h[row] as number[])[i] as number;
      const g = table.gaussians[i] as number;
      const p = table.perm[i] as number;
      for (let col = 0; col < m; col++) {
        line[col] =
          (line[col] as number) +
          hw * g * ((h[p] as number[])[col] as number) * (table.signs[col] as number);
      }
    }
    matrix.push(line.map((v) => v * norm));
  }
  return matrix;
}

/** One group's output, length n_g. */
function groupOutput64(
  layout: PlanLayout,
  tables: FixedTables,
  params: ArrayLike<number>,
  group: GroupPlan,
): Float64Array {
  const bucket = layout.buckets[group.bucket];
  if (!bucket) throw new Error('bad bucket');
  const denseCore = layout.config.core === 'dense';
  const splitTensors = bucket.splits.map((split) =>
    splitTensor64(params, split, group.slot, denseCore),
  );
  const folded = kronecker64(splitTensors, bucket.foldDims);
  const z = folded.subarray(0, group.generatedLength);
  if (bucket.projectionSize === null) return Float64Array.from(z);
  const f = fastfoodMatrix64(
    tables,
    bucket.projectionSize,
    group.virtualLength,
    group.generatedLength,
  );
  return Float64Array.from(f, (row) =>
    row.reduce((acc, v, col) => acc + v * (z[col] as number), 0),
  );
}

/** ΔW_all in float64 (SPEC §8). */
export function delta64(
  layout: PlanLayout,
  tables: FixedTables,
  params: ArrayLike<number>,
): Float64Array {
  const v = new Float64Array(layout.deltaSize);
  for (const group of layout.groups) {
    const output = groupOutput64(layout, tables, params, group);
    let position = 0;
    for (const region of group.regions) {
      for (let i = 0; i < region.length; i++) v[region.start + i] = output[position++] as number;
    }
  }
  const shuffled = layout.config.shuffle
    ? Float64Array.from(tables.shuffle(), (s) => v[s] as number)
    : v;
  return shuffled.map((x) => x * layout.config.scale);
}

/**
 * dL/dparams by central differences of delta64. ΔW is affine in each single parameter (every
 * parameter appears at most once in every product), so central differences are exact up to rounding.
 */
export function gradient64(
  layout: PlanLayout,
  tables: FixedTables,
  params: ArrayLike<number>,
  dDelta: ArrayLike<number>,
): Float64Array {
  const base = Float64Array.from(params);
  const grad = new Float64Array(base.length);
  const step = 0.5;
  for (let p = 0; p < base.length; p++) {
    const saved = base[p] as number;
    base[p] = saved + step;
    const plus = delta64(layout, tables, base);
    base[p] = saved - step;
    const minus = delta64(layout, tables, base);
    base[p] = saved;
    let sum = 0;
    for (let i = 0; i < plus.length; i++)
      sum += (dDelta[i] as number) * ((plus[i] as number) - (minus[i] as number));
    grad[p] = sum / (2 * step);
  }
  return grad;
}

/** SPEC §10b: |a − ref| ≤ 1e-4 · max|ref| + 1e-6 in every entry; returns the worst violation ratio. */
export function specTolerance(
  actual: ArrayLike<number>,
  reference: ArrayLike<number>,
): { ok: boolean; worst: number; at: number } {
  let maxRef = 0;
  for (let i = 0; i < reference.length; i++)
    maxRef = Math.max(maxRef, Math.abs(reference[i] as number));
  const tolerance = 1e-4 * maxRef + 1e-6;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < reference.length; i++) {
    const ratio = Math.abs((actual[i] as number) - (reference[i] as number)) / tolerance;
    if (!(ratio <= worst)) {
      worst = ratio;
      at = i;
    }
  }
  return { ok: actual.length === reference.length && worst <= 1, worst, at };
}
