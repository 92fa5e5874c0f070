/**
 * Conversions between SuperLoRA adapters and PEFT adapters (`src/io/peftFile.ts`).
 *
 * A SuperLoRA config that folds each weight by itself (weight grouping, natural fold, M = 2,
 * identity core, no projection or shuffle) is a Kronecker product of K natural factors per target:
 * with K = 1 and a rank it is PEFT's LoRA, with K = 2 PEFT's LoKr (w1 ⊗ w2, on the same √-nearest
 * factorisation of out and in). Those export exactly, as their own factors. Any other config is
 * exported as a LoRA of each target's best rank-r approximation (a truncated SVD of its ΔW): at
 * a given rank for all targets, or at each target's smallest rank within a tolerance (PEFT's
 * `rank_pattern`; or the largest of them for all, with `uniformRank`). Either way the error of
 * every target is measured against the engine's ΔW and reported.
 *
 * Import is exact: each module becomes a target `<module>.weight` of a natural weight-grouped
 * config with one split per Kronecker factor; factors that differ in kind or rank between
 * modules are padded with zeros or made dense, and scalings that differ go into the first factor.
 */
import type { SplitRank, SuperLoraConfig, Target } from '../config';
import { checkPlan, createPlan, type Plan } from '../createPlan';
import { kindOf } from '../valueText';
import type { EngineChoice } from '../engines/engine';
import {
  checkPeftModules,
  denseFactor,
  type KronFactor,
  type PeftModule,
  type PeftType,
} from '../io/peftFile';
import {
  lowRankDecompositionAsync,
  rankForTolerance,
  type LowRankFactors,
} from '../linalg/lowRankDecomposition';
import { naturalFactors, type PlanLayout } from '../plan';

/** The suffix of a Hugging Face Linear weight's name; the rest names the module PEFT adapts. */
const WEIGHT_SUFFIX = '.weight';

export const DEFAULT_PEFT_TOLERANCE = 1e-3;

export interface PeftExportOptions {
  /** Write a LoRA at this rank (a truncated SVD unless the adapter is a LoRA of this rank). */
  rank?: number;
  /** Write a LoRA even for a LoKr-shaped adapter, at the smallest rank within `tolerance`. */
  lora?: boolean;
  /** The largest relative error ‖ΔW − B·A‖_F / ‖ΔW‖_F allowed for any target when the rank is chosen (default 1e-3). */
  tolerance?: number;
  /**
   * When the rank is chosen by `tolerance`: give every target the rank the hardest one needs,
   * instead of each its own smallest (written as PEFT's `rank_pattern`). For LoRA readers that
   * ignore `rank_pattern`.
   */
  uniformRank?: boolean;
  engine?: EngineChoice;
}

export interface PeftExportTarget {
  target: string;
  module: string;
  /** ‖ΔW − ΔW_PEFT‖_F / ‖ΔW‖_F of the exported float32 factors, against the engine's ΔW. */
  relativeError: number;
}

export interface PeftExport {
  type: PeftType;
  /** Every module with scaling 1: its factors are its ΔW. */
  modules: PeftModule[];
  /** True when the adapter's own factors were exported (no approximation). */
  exact: boolean;
  targets: PeftExportTarget[];
}

/** PEFT's module name for a target: its name without `.weight`. */
export function peftModuleName(targetName: string): string {
  return targetName.endsWith(WEIGHT_SUFFIX)
    ? targetName.slice(0, -WEIGHT_SUFFIX.length)
    : targetName;
}

/**
 * The PEFT type a plan's own factors are, or null when it has to be approximated: a natural 2-D
 * fold with the identity core, weight by weight with K = 1 (LoRA) or K = 2 (LoKr), or layer by
 * layer with K = 1 (a LoRA whose targets of one layer share lora_A: each takes its rows of lora_B).
 */
export function exactPeftType(plan: Plan): PeftType | null {
  checkPlan(plan);
  const config = plan.config;
  const natural =
    config.reshape === 'natural' &&
    config.order === 2 &&
    config.core === 'identity' &&
    config.projection === null &&
    !config.shuffle;
  const lowRank = typeof config.rank[0] === 'number';
  if (!natural) return null;
  const grouped = config.grouping === 'weight' || config.grouping === 'layer';
  if (config.splits === 1 && lowRank && grouped) return 'LORA';
  return config.splits === 2 && config.grouping === 'weight' ? 'LOKR' : null;
}

export async function peftFromAdapter(
  plan: Plan,
  params: Float32Array,
  options: PeftExportOptions = {},
): Promise<PeftExport> {
  checkPlan(plan);
  const tolerance = options.tolerance ?? DEFAULT_PEFT_TOLERANCE;
  if (!(tolerance > 0 && tolerance < 1)) {
    throw new RangeError(`Expected a tolerance in (0, 1) but received ${tolerance}`);
  }
  if (options.rank !== undefined && !(Number.isInteger(options.rank) && options.rank >= 1)) {
    throw new RangeError(`Expected a positive integer rank but received ${options.rank}`);
  }
  const delta = await plan.delta(params, { engine: options.engine });
  const views = [...plan.splitByTarget(delta).values()];
  const own = exactPeftType(plan);
  const ownRank = plan.config.rank[0];
  const exactType =
    own === 'LORA' && (options.rank === undefined || options.rank === ownRank)
      ? own
      : own === 'LOKR' && options.rank === undefined && !options.lora
        ? own
        : null;
  const modules = exactType
    ? ownKronModules(plan.layout, params)
    : await truncatedLoraModules(
        plan.targets,
        views,
        options.rank,
        tolerance,
        options.uniformRank === true,
      );
  const targets = plan.targets.map((target, t) => ({
    target: target.name,
    module: peftModuleName(target.name),
    relativeError: moduleError(modules[t] as PeftModule, views[t] as Float32Array),
  }));
  return { type: exactType ?? 'LORA', modules, exact: exactType !== null, targets };
}

/** ‖ΔW − module's ΔW‖_F / ‖ΔW‖_F (0 for a zero ΔW). */
function moduleError(module: PeftModule, delta: Float32Array): number {
  const approximation = kronDense(module.factors);
  let residual = 0;
  let norm = 0;
  for (let i = 0; i < delta.length; i++) {
    const value = delta[i] as number;
    norm += value * value;
    residual += (value - (approximation[i] as number) * module.scaling) ** 2;
  }
  return norm === 0 ? 0 : Math.sqrt(residual / norm);
}

/** F_0 ⊗ F_1 ⊗ ⋯ as a dense row-major matrix, in float64 (numpy.kron order). */
function kronDense(factors: readonly KronFactor[]): Float64Array {
  let rows = 1;
  let cols = 1;
  let result = Float64Array.of(1);
  for (const factor of factors) {
    const dense = denseFactor(factor);
    const next = new Float64Array(rows * factor.rows * cols * factor.cols);
    const nextCols = cols * factor.cols;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const outer = result[i * cols + j] as number;
        for (let k = 0; k < factor.rows; k++) {
          for (let l = 0; l < factor.cols; l++) {
            next[(i * factor.rows + k) * nextCols + j * factor.cols + l] =
              outer * (dense[k * factor.cols + l] as number);
          }
        }
      }
    }
    rows *= factor.rows;
    cols = nextCols;
    result = next;
  }
  return result;
}

/** Where split k of group g keeps its values in the flat vector. */
function splitSlices(layout: PlanLayout, g: number) {
  const group = layout.groups[g];
  const bucket = group && layout.buckets[group.bucket];
  if (!group || !bucket) throw new Error(`Expected group ${g} in the plan`);
  return bucket.splits.map((split) => {
    const [rows, cols] = split.dims as [number, number];
    if (split.rank === 'full') {
      return {
        rows,
        cols,
        rank: null,
        start: (split.fullOffset as number) + group.slot * rows * cols,
      };
    }
    const rank = split.rank;
    return {
      rows,
      cols,
      rank,
      upStart: (split.factorOffsets[0] as number) + group.slot * rows * rank,
      downStart: (split.factorOffsets[1] as number) + group.slot * cols * rank,
    };
  });
}

/**
 * Each target's own Kronecker factors (scale folded into the first): up = A_0, down = A_1ᵀ. A
 * group of several targets (layer grouping, K = 1) stacks their rows in A_0, so each target takes
 * its rows of it and the shared A_1.
 */
function ownKronModules(layout: PlanLayout, params: Float32Array): PeftModule[] {
  const scale = layout.config.scale;
  const modules: PeftModule[] = [];
  layout.groups.forEach((group, g) => {
    const slices = splitSlices(layout, g);
    let firstRow = 0;
    for (const t of group.targets) {
      const target = layout.targets[t] as Target;
      const factors = slices.map((slice, k): KronFactor => {
        const factorScale = k === 0 ? scale : 1;
        const { cols } = slice;
        if (slice.rank === null) {
          const dense = params.slice(slice.start, slice.start + slice.rows * cols);
          return { rows: slice.rows, cols, rank: null, dense: dense.map((v) => v * factorScale) };
        }
        const rank = slice.rank;
        // A group of several targets has one split (K = 1) whose rows are theirs, stacked.
        const rows = group.targets.length > 1 ? target.shape[0] : slice.rows;
        const upStart = slice.upStart + firstRow * rank;
        const up = params.slice(upStart, upStart + rows * rank).map((v) => v * factorScale);
        const down = new Float32Array(rank * cols);
        for (let c = 0; c < cols; c++) {
          for (let j = 0; j < rank; j++) {
            down[j * cols + c] = params[slice.downStart + c * rank + j] as number;
          }
        }
        return { rows, cols, rank, up, down };
      });
      modules[t] = {
        name: peftModuleName(target.name),
        shape: target.shape,
        scaling: 1,
        factors,
      };
      firstRow += target.shape[0];
    }
  });
  return modules;
}

/**
 * Each target's best approximation as one LoRA factor: at `rank` for all, else at each target's
 * smallest rank within `tolerance` (with `uniform`, the largest of those for all).
 */
async function truncatedLoraModules(
  targets: readonly Target[],
  views: readonly Float32Array[],
  rank: number | undefined,
  tolerance: number,
  uniform: boolean,
): Promise<PeftModule[]> {
  // Every target at once: the native decompositions run in parallel on the libuv pool.
  const decompositions = await Promise.all(
    targets.map((target, t) =>
      lowRankDecompositionAsync(views[t] as Float32Array, target.shape[0], target.shape[1]),
    ),
  );
  // PEFT needs r ≥ 1, even for a module whose ΔW is still zero.
  const ownRanks = decompositions.map((d) =>
    Math.max(1, rankForTolerance(d.singularValues, tolerance)),
  );
  const ranks =
    rank !== undefined
      ? ownRanks.map(() => rank)
      : uniform
        ? ownRanks.map(() => Math.max(...ownRanks))
        : ownRanks;
  return decompositions.map((decomposition, t) => {
    const target = targets[t] as Target;
    const [rows, cols] = target.shape;
    const chosen = ranks[t] as number;
    const factors = padToRank(
      decomposition.factors(Math.min(chosen, rows, cols)),
      rows,
      cols,
      chosen,
    );
    return {
      name: peftModuleName(target.name),
      shape: target.shape,
      scaling: 1,
      factors: [{ rows, cols, rank: chosen, up: factors.up, down: factors.down }],
    };
  });
}

/** The same product with zero columns of up and zero rows of down appended up to `rank`. */
function padToRank(
  factors: LowRankFactors,
  rows: number,
  cols: number,
  rank: number,
): LowRankFactors {
  if (factors.rank === rank) return factors;
  const up = new Float32Array(rows * rank);
  for (let r = 0; r < rows; r++) {
    up.set(factors.up.subarray(r * factors.rank, (r + 1) * factors.rank), r * rank);
  }
  const down = new Float32Array(rank * cols);
  down.set(factors.down);
  return { ...factors, rank, up, down };
}

/** The layer a module belongs to: the first all-digit part of its name (`…layer.3.…` → 3), else 0. */
function layerOf(moduleName: string): number {
  const digits = moduleName.split('.').find((part) => /^\d+$/.test(part));
  return digits === undefined ? 0 : Number(digits);
}

/** One split's rank for all modules: the largest rank when every factor is low-rank, else dense. */
function sharedSplitRank(modules: readonly PeftModule[], k: number): SplitRank {
  const ranks = modules.map((m) => (m.factors[k] as KronFactor).rank);
  return ranks.every((r): r is number => r !== null) ? Math.max(...ranks) : 'full';
}

/**
 * A natural weight-grouped plan and parameters with exactly the modules' ΔW, one target
 * `<module>.weight` per module in their order and one split per Kronecker factor. Throws a
 * RangeError when a module's factor shapes are not SuperLoRA's natural fold of its weight (PEFT
 * LoKr with a `decompose_factor`). Dispose the plan when done.
 */
export function adapterFromPeft(modules: readonly PeftModule[]): {
  plan: Plan;
  params: Float32Array;
} {
  if (!Array.isArray(modules as unknown)) {
    throw new TypeError(
      `Expected an array of PEFT modules (readPeftAdapter's modules) but received ${kindOf(modules)}`,
    );
  }
  const first = modules[0];
  if (!first) throw new RangeError('Expected at least one PEFT module');
  checkPeftModules(modules);
  const splits = first.factors.length;
  for (const module of modules) {
    const [out, input] = module.shape;
    const rows = naturalFactors(out, splits);
    const cols = naturalFactors(input, splits);
    const fits =
      module.factors.length === splits &&
      module.factors.every((f, k) => f.rows === rows[k] && f.cols === cols[k]);
    if (!fits) {
      throw new RangeError(
        `Expected the factors of module ${module.name} to be [${rows.map((r, k) => `${r}×${cols[k]}`).join(' ⊗ ')}] (SuperLoRA's natural fold of [${out}, ${input}]) but received [${module.factors.map((f) => `${f.rows}×${f.cols}`).join(' ⊗ ')}]`,
      );
    }
  }
  const uniformScaling = modules.every((m) => m.scaling === first.scaling);
  const config: SuperLoraConfig = {
    grouping: 'weight',
    reshape: 'natural',
    order: 2,
    splits,
    core: 'identity',
    rank: Array.from({ length: splits }, (_, k) => sharedSplitRank(modules, k)),
    scale: uniformScaling ? first.scaling : 1,
  };
  const targets: Target[] = modules.map((m) => ({
    name: `${m.name}${WEIGHT_SUFFIX}`,
    shape: m.shape,
    layer: layerOf(m.name),
  }));
  const plan = createPlan(config, targets);
  const params = new Float32Array(plan.numParams);
  modules.forEach((module, t) => {
    splitSlices(plan.layout, t).forEach((slice, k) => {
      const factor = module.factors[k] as KronFactor;
      const factorScale = k === 0 && !uniformScaling ? module.scaling : 1;
      const { rows, cols } = slice;
      if (slice.rank === null) {
        const dense = denseFactor(factor);
        for (let i = 0; i < rows * cols; i++) {
          params[slice.start + i] = (dense[i] as number) * factorScale;
        }
        return;
      }
      const own = factor as KronFactor & { rank: number };
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < own.rank; j++) {
          params[slice.upStart + r * slice.rank + j] =
            (own.up[r * own.rank + j] as number) * factorScale;
        }
      }
      for (let j = 0; j < own.rank; j++) {
        for (let c = 0; c < cols; c++) {
          params[slice.downStart + c * slice.rank + j] = own.down[j * cols + c] as number;
        }
      }
    });
  });
  return { plan, params };
}
