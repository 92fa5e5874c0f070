/**
 * Conversions between SuperLoRA adapters and PEFT LoRA adapters (`src/io/peftLoraFile.ts`).
 *
 * To PEFT: a LoRA-shaped config (weight grouping, natural fold, M = 2, K = 1, identity core, no
 * projection or shuffle) is exported exactly, its factors as they are; any other config is
 * exported as the best rank-r approximation of each target's ΔW (a truncated SVD), at one rank for
 * all targets, chosen so that every target's relative Frobenius error is within a tolerance
 * (or given). Either way the error of every target is measured and reported.
 *
 * From PEFT: each module becomes a target `<module>.weight`; the factors become a LoRA config's
 * parameters, exactly (modules of different ranks or scalings are padded to the largest rank with
 * zeros and carry their scaling in lora_B).
 */
import type { ResolvedConfig, SuperLoraConfig, Target } from '../config';
import { createPlan, type Plan } from '../createPlan';
import type { EngineChoice } from '../engines/engine';
import type { PeftLoraModule } from '../io/peftLoraFile';
import {
  lowRankDecomposition,
  rankForTolerance,
  relativeResidual,
  type LowRankFactors,
} from '../linalg/lowRankDecomposition';

/** The suffix of a Hugging Face Linear weight's name; the rest names the module PEFT adapts. */
const WEIGHT_SUFFIX = '.weight';

export const DEFAULT_PEFT_TOLERANCE = 1e-3;

export interface PeftExportOptions {
  /** One rank for every module. Default: the config's own rank for a LoRA-shaped config, else the smallest rank that meets `tolerance`. */
  rank?: number;
  /** The largest relative error ‖ΔW − B·A‖_F / ‖ΔW‖_F allowed for any target when the rank is chosen (default 1e-3). */
  tolerance?: number;
  engine?: EngineChoice;
}

export interface PeftExportTarget {
  target: string;
  module: string;
  /** ‖ΔW − B·A‖_F / ‖ΔW‖_F of the exported float32 factors, against the engine's ΔW. */
  relativeError: number;
}

export interface PeftExport {
  modules: PeftLoraModule[];
  rank: number;
  /** True when the adapter's own LoRA factors were exported (no approximation). */
  exact: boolean;
  targets: PeftExportTarget[];
}

/** PEFT's module name for a target: its name without `.weight`. */
export function peftModuleName(targetName: string): string {
  return targetName.endsWith(WEIGHT_SUFFIX)
    ? targetName.slice(0, -WEIGHT_SUFFIX.length)
    : targetName;
}

/** Whether a config is plain LoRA, whose factors PEFT stores as they are (SPEC §2's preset). */
export function isLoraShaped(config: ResolvedConfig): boolean {
  return (
    config.grouping === 'weight' &&
    config.reshape === 'natural' &&
    config.order === 2 &&
    config.splits === 1 &&
    config.core === 'identity' &&
    config.projection === null &&
    !config.shuffle &&
    typeof config.rank[0] === 'number'
  );
}

export async function peftLoraFromAdapter(
  plan: Plan,
  params: Float32Array,
  options: PeftExportOptions = {},
): Promise<PeftExport> {
  const tolerance = options.tolerance ?? DEFAULT_PEFT_TOLERANCE;
  if (!(tolerance > 0 && tolerance < 1)) {
    throw new RangeError(`Expected a tolerance in (0, 1) but received ${tolerance}`);
  }
  if (options.rank !== undefined && !(Number.isInteger(options.rank) && options.rank >= 1)) {
    throw new RangeError(`Expected a positive integer rank but received ${options.rank}`);
  }
  const delta = await plan.delta(params, { engine: options.engine });
  const views = [...plan.splitByTarget(delta).values()];
  const ownRank = isLoraShaped(plan.config) ? (plan.config.rank[0] as number) : null;
  const exact = ownRank !== null && (options.rank === undefined || options.rank === ownRank);
  const factors = exact
    ? ownLoraFactors(plan, params)
    : truncatedFactors(plan.targets, views, options.rank, tolerance);
  const rank = factors[0]?.rank ?? 1;
  const modules = plan.targets.map((target, t): PeftLoraModule => {
    const { up, down } = factors[t] as LowRankFactors;
    return { name: peftModuleName(target.name), rank, shape: target.shape, up, down, scaling: 1 };
  });
  const targets = plan.targets.map((target, t) => ({
    target: target.name,
    module: peftModuleName(target.name),
    relativeError: relativeResidual(
      views[t] as Float32Array,
      target.shape[0],
      target.shape[1],
      (factors[t] as LowRankFactors).up,
      (factors[t] as LowRankFactors).down,
      rank,
    ),
  }));
  return { modules, rank, exact, targets };
}

/** A LoRA config's factors: up = scale · f0 [out, r], down = f1ᵀ [r, in]. */
function ownLoraFactors(plan: Plan, params: Float32Array): LowRankFactors[] {
  const { layout } = plan;
  const scale = layout.config.scale;
  return layout.targets.map((target, t) => {
    const group = layout.groups[t];
    const split = group && layout.buckets[group.bucket]?.splits[0];
    if (!group || !split || group.targets.length !== 1 || group.targets[0] !== t) {
      throw new Error(`Expected group ${t} to be target ${t} of a weight-grouped plan`);
    }
    const rank = split.rank as number;
    const [rows, cols] = target.shape;
    const upStart = (split.factorOffsets[0] as number) + group.slot * rows * rank;
    const downStart = (split.factorOffsets[1] as number) + group.slot * cols * rank;
    const up = params.slice(upStart, upStart + rows * rank).map((value) => value * scale);
    const down = new Float32Array(rank * cols);
    for (let c = 0; c < cols; c++) {
      for (let j = 0; j < rank; j++)
        down[j * cols + c] = params[downStart + c * rank + j] as number;
    }
    return { rank, up, down, relativeError: 0 };
  });
}

/** Each target's best approximation at one rank: the given one, or the smallest within tolerance everywhere. */
function truncatedFactors(
  targets: readonly Target[],
  views: readonly Float32Array[],
  rank: number | undefined,
  tolerance: number,
): LowRankFactors[] {
  const decompositions = targets.map((target, t) =>
    lowRankDecomposition(views[t] as Float32Array, target.shape[0], target.shape[1]),
  );
  // PEFT needs r ≥ 1, even for an adapter whose ΔW is still zero.
  const chosen =
    rank ??
    Math.max(1, ...decompositions.map((d) => rankForTolerance(d.singularValues, tolerance)));
  return decompositions.map((decomposition, t) => {
    const [rows, cols] = (targets[t] as Target).shape;
    const kept = Math.min(chosen, rows, cols);
    return padToRank(decomposition.factors(kept), rows, cols, chosen);
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

/**
 * A LoRA plan and parameters with exactly the modules' ΔW = scaling · up · down, one target
 * `<module>.weight` per module in their order. Dispose the plan when done.
 */
export function adapterFromPeftLora(modules: readonly PeftLoraModule[]): {
  plan: Plan;
  params: Float32Array;
} {
  const first = modules[0];
  if (!first) throw new RangeError('Expected at least one PEFT LoRA module');
  const uniform = modules.every((m) => m.rank === first.rank && m.scaling === first.scaling);
  const rank = Math.max(...modules.map((m) => m.rank));
  const config: SuperLoraConfig = {
    grouping: 'weight',
    reshape: 'natural',
    order: 2,
    splits: 1,
    core: 'identity',
    rank,
    scale: uniform ? first.scaling : 1,
  };
  const targets: Target[] = modules.map((m) => ({
    name: `${m.name}${WEIGHT_SUFFIX}`,
    shape: m.shape,
    layer: layerOf(m.name),
  }));
  const plan = createPlan(config, targets);
  const params = new Float32Array(plan.numParams);
  const { layout } = plan;
  modules.forEach((module, t) => {
    const group = layout.groups[t];
    const split = group && layout.buckets[group.bucket]?.splits[0];
    if (!group || !split) throw new Error(`Expected a group and split for target ${t}`);
    const [rows, cols] = module.shape;
    const upStart = (split.factorOffsets[0] as number) + group.slot * rows * rank;
    const downStart = (split.factorOffsets[1] as number) + group.slot * cols * rank;
    const upScale = uniform ? 1 : module.scaling;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < module.rank; j++) {
        params[upStart + r * rank + j] = (module.up[r * module.rank + j] as number) * upScale;
      }
    }
    for (let j = 0; j < module.rank; j++) {
      for (let c = 0; c < cols; c++) {
        params[downStart + c * rank + j] = module.down[j * cols + c] as number;
      }
    }
  });
  return { plan, params };
}
