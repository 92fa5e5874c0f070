/**
 * The plan (SPEC §3, §4, §7, §10): groups, folds, buckets and the flat parameter layout, computed
 * once from a config and targets. Pure data: every engine and the adapter file read it; it knows
 * nothing about tensors or native code.
 */
import {
  ConfigError,
  resolveConfig,
  validateTargets,
  type ResolvedConfig,
  type SplitRank,
  type Target,
} from './config';

/** A contiguous slice of ΔW_all (before the shuffle) that a group writes. */
export interface Region {
  start: number;
  length: number;
}

export interface GroupPlan {
  index: number;
  /** Indices of the targets whose values this group generates (uniform groups: the ones it overlaps). */
  targets: number[];
  /** n_g: the virtual length, F's output size. */
  virtualLength: number;
  /** m_g: how many values the folded tensor contributes. */
  generatedLength: number;
  /** foldDims[k][m] = d_{k,m}. */
  foldDims: number[][];
  /** The slices of ΔW_all it writes, in order; their lengths sum to at most n_g. */
  regions: Region[];
  bucket: number;
  /** Position of the group inside its bucket. */
  slot: number;
}

export interface SplitPlan {
  rank: SplitRank;
  /** d_{k,0..M−1}. */
  dims: number[];
  /** Offset of `b{b}.s{k}.core` in the flat vector, or null (identity core or full split). */
  coreOffset: number | null;
  /** Offsets of `b{b}.s{k}.f{m}`, empty for a full split. */
  factorOffsets: number[];
  /** Offset of `b{b}.s{k}.full`, or null. */
  fullOffset: number | null;
  /** Number of values of T_gk: Π_m d_{k,m}. */
  size: number;
}

export interface BucketPlan {
  index: number;
  groups: number[];
  virtualLength: number;
  generatedLength: number;
  foldDims: number[][];
  /** D_m = Π_k d_{k,m}. */
  modeSizes: number[];
  /** Π_m D_m ≥ generatedLength; the excess of a square fold is dropped. */
  foldedSize: number;
  splits: SplitPlan[];
  /** Offset and length of this bucket's parameters in the flat vector. */
  paramOffset: number;
  paramCount: number;
  /** L, the fastfood size for this bucket, or null without a projection. */
  projectionSize: number | null;
}

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface PlanLayout {
  config: ResolvedConfig;
  targets: Target[];
  /** Start of each target's row-major ΔW_t in ΔW_all. */
  targetOffsets: number[];
  /** N. */
  deltaSize: number;
  numParams: number;
  groups: GroupPlan[];
  buckets: BucketPlan[];
  paramLayout: ParamEntry[];
  /** The distinct fastfood sizes L, in bucket order. */
  projectionSizes: number[];
}

/** x^p > limit, exactly for integer x, p (rounding is monotonic, so the early exit is safe). */
function powerExceeds(base: number, power: number, limit: number): boolean {
  let value = 1;
  for (let i = 0; i < power; i++) {
    value *= base;
    if (value > limit) return true;
  }
  return false;
}

/** The square fold of SPEC §4: P = M·K digits e, each b or b + 1, whose product is ≥ m. */
export function squareFoldDims(generated: number, order: number, splits: number): number[][] {
  const digits = order * splits;
  let base = Math.max(1, Math.floor(Math.pow(generated, 1 / digits)));
  while (powerExceeds(base, digits, generated)) base--;
  while (!powerExceeds(base + 1, digits, generated)) base++;
  const extents = new Array<number>(digits).fill(base);
  let product = Math.pow(base, digits);
  for (let j = digits - 1; j >= 0 && product < generated; j--) {
    extents[j] = base + 1;
    product = (product / base) * (base + 1);
  }
  const dims: number[][] = [];
  for (let k = 0; k < splits; k++) dims.push(extents.slice(k * order, (k + 1) * order));
  return dims;
}

/** f(x, K) of SPEC §4: K exact factors, each the largest divisor a of the rest with a^K ≤ rest. */
export function naturalFactors(value: number, count: number): number[] {
  if (count === 1) return [value];
  let best = 1;
  for (let a = 1; !powerExceeds(a, count, value); a++) if (value % a === 0) best = a;
  return [best, ...naturalFactors(value / best, count - 1)];
}

function product(values: readonly number[]): number {
  return values.reduce((acc, v) => acc * v, 1);
}

interface GroupDraft {
  targets: number[];
  virtualLength: number;
  regions: Region[];
  naturalRows: number;
  naturalCols: number;
}

function draftGroups(config: ResolvedConfig, targets: Target[], offsets: number[], total: number) {
  const drafts: GroupDraft[] = [];
  const { grouping } = config;
  if (grouping === 'weight') {
    targets.forEach((target, t) => {
      const [rows, cols] = target.shape;
      drafts.push({
        targets: [t],
        virtualLength: rows * cols,
        regions: [{ start: offsets[t] as number, length: rows * cols }],
        naturalRows: rows,
        naturalCols: cols,
      });
    });
  } else if (grouping === 'layer') {
    const byLayer = new Map<string, GroupDraft>();
    targets.forEach((target, t) => {
      const key = `${typeof target.layer}:${String(target.layer)}`;
      const [rows, cols] = target.shape;
      let draft = byLayer.get(key);
      if (!draft) {
        draft = { targets: [], virtualLength: 0, regions: [], naturalRows: 0, naturalCols: cols };
        byLayer.set(key, draft);
        drafts.push(draft);
      } else if (config.reshape === 'natural' && draft.naturalCols !== cols) {
        const first = targets[draft.targets[0] as number] as Target;
        throw new ConfigError(
          `Expected every target of layer ${JSON.stringify(target.layer)} to share its "in" size ` +
            `with reshape "natural" for targets[${t}].shape but received ${JSON.stringify(target.shape)} ` +
            `(${first.name} has in = ${draft.naturalCols})`,
        );
      }
      draft.targets.push(t);
      draft.virtualLength += rows * cols;
      draft.regions.push({ start: offsets[t] as number, length: rows * cols });
      draft.naturalRows += rows;
    });
  } else {
    const count = grouping;
    const chunk = Math.ceil(total / count);
    if (count > total || (count - 1) * chunk >= total) {
      throw new ConfigError(
        `Expected a group count that leaves no group empty (N = ${total}) for config.grouping ` +
          `but received ${count}`,
      );
    }
    for (let g = 0; g < count; g++) {
      const start = g * chunk;
      const end = Math.min(start + chunk, total);
      const overlapping: number[] = [];
      targets.forEach((target, t) => {
        const from = offsets[t] as number;
        if (from < end && from + target.shape[0] * target.shape[1] > start) overlapping.push(t);
      });
      drafts.push({
        targets: overlapping,
        virtualLength: chunk,
        regions: [{ start, length: end - start }],
        naturalRows: 0,
        naturalCols: 0,
      });
    }
  }
  return drafts;
}

function generatedLengthOf(config: ResolvedConfig, virtualLength: number): number {
  if (!config.projection) return virtualLength;
  return Math.max(1, Math.ceil(config.projection.ratio * virtualLength));
}

function nextPowerOfTwo(value: number): number {
  let size = 1;
  while (size < value) size *= 2;
  return size;
}

/** The most float32 values one flat vector may hold: what every engine accepts (2^31 − 1). */
const MAX_FLAT_LENGTH = 2 ** 31 - 1;

/**
 * Refuses a parameter vector no engine can allocate. A high order or rank grows the count as
 * rank^order per group (a dense core), which would otherwise surface as a bare "Invalid typed
 * array length" from the first allocation, naming no setting; this names the settings that grew it.
 */
function checkParamCount(config: ResolvedConfig, numParams: number): void {
  if (numParams <= MAX_FLAT_LENGTH) return;
  const rank = config.rank.every((r) => r === config.rank[0])
    ? String(config.rank[0])
    : JSON.stringify(config.rank);
  const hint = config.core === 'dense' ? ` (a dense core has rank^order values per group)` : '';
  throw new ConfigError(
    `Expected at most 2^31 − 1 adapter parameters for config.order ${config.order} and ` +
      `config.rank ${rank}${hint} but received ${numParams}: lower config.order or config.rank`,
  );
}

/** Validates a config and targets and lays out groups, folds, buckets and parameters. */
export function layoutPlan(userConfig: unknown, userTargets: unknown): PlanLayout {
  const config = resolveConfig(userConfig);
  const targets = validateTargets(userTargets);
  const targetOffsets: number[] = [];
  let deltaSize = 0;
  for (const target of targets) {
    targetOffsets.push(deltaSize);
    deltaSize += target.shape[0] * target.shape[1];
  }
  if (deltaSize > MAX_FLAT_LENGTH) {
    throw new ConfigError(
      `Expected at most 2^31 − 1 adapted values in total for targets but received ${deltaSize}`,
    );
  }

  const groups: GroupPlan[] = [];
  const buckets: BucketPlan[] = [];
  const bucketByKey = new Map<string, BucketPlan>();
  draftGroups(config, targets, targetOffsets, deltaSize).forEach((draft, index) => {
    const generatedLength = generatedLengthOf(config, draft.virtualLength);
    const foldDims =
      config.reshape === 'natural'
        ? naturalFactors(draft.naturalRows, config.splits).map((rowFactor, k) => [
            rowFactor,
            naturalFactors(draft.naturalCols, config.splits)[k] as number,
          ])
        : squareFoldDims(generatedLength, config.order, config.splits);
    const key = JSON.stringify([draft.virtualLength, generatedLength, foldDims]);
    let bucket = bucketByKey.get(key);
    if (!bucket) {
      const modeSizes = Array.from({ length: config.order }, (_, m) =>
        product(foldDims.map((dims) => dims[m] as number)),
      );
      bucket = {
        index: buckets.length,
        groups: [],
        virtualLength: draft.virtualLength,
        generatedLength,
        foldDims,
        modeSizes,
        foldedSize: product(modeSizes),
        splits: [],
        paramOffset: 0,
        paramCount: 0,
        projectionSize: config.projection ? nextPowerOfTwo(draft.virtualLength) : null,
      };
      bucketByKey.set(key, bucket);
      buckets.push(bucket);
    }
    groups.push({
      index,
      targets: draft.targets,
      virtualLength: draft.virtualLength,
      generatedLength,
      foldDims,
      regions: draft.regions,
      bucket: bucket.index,
      slot: bucket.groups.length,
    });
    bucket.groups.push(index);
  });

  const paramLayout: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): number => {
    paramLayout.push({ name, shape, offset });
    const start = offset;
    offset += product(shape);
    return start;
  };
  for (const bucket of buckets) {
    bucket.paramOffset = offset;
    const count = bucket.groups.length;
    bucket.splits = config.rank.map((rank, k): SplitPlan => {
      const dims = bucket.foldDims[k] as number[];
      const prefix = `b${bucket.index}.s${k}`;
      if (rank === 'full') {
        const fullOffset = add(`${prefix}.full`, [count, ...dims]);
        return { rank, dims, coreOffset: null, factorOffsets: [], fullOffset, size: product(dims) };
      }
      const coreOffset =
        config.core === 'dense' ? add(`${prefix}.core`, [count, ...dims.map(() => rank)]) : null;
      const factorOffsets = dims.map((d, m) => add(`${prefix}.f${m}`, [count, d, rank]));
      return { rank, dims, coreOffset, factorOffsets, fullOffset: null, size: product(dims) };
    });
    bucket.paramCount = offset - bucket.paramOffset;
  }
  checkParamCount(config, offset);

  const projectionSizes: number[] = [];
  for (const bucket of buckets) {
    const size = bucket.projectionSize;
    if (size !== null && !projectionSizes.includes(size)) projectionSizes.push(size);
  }
  return {
    config,
    targets,
    targetOffsets,
    deltaSize,
    numParams: offset,
    groups,
    buckets,
    paramLayout,
    projectionSizes,
  };
}
