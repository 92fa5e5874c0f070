/**
 * The public plan object: the layout of `plan.ts`, its fixed tables, and the engines that compute
 * ΔW_all and its gradient for it (created on first use and kept, so repeated steps pay no setup).
 */
import type { ResolvedConfig, SuperLoraConfig, Target } from './config';
import { checkVector } from './engines/checkVector';
import { kindOf } from './valueText';
import { createEngine, resolveEngineChoice } from './engines/createEngine';
import type { CudaEngine } from './engines/cuda';
import type { DeltaEngine, EngineChoice, EngineName } from './engines/engine';
import type { NativeEngine } from './engines/native';
import type { TfjsEngine } from './engines/tfjs';
import { initParams } from './initParams';
import { layoutPlan, type ParamEntry, type PlanLayout } from './plan';
import { FixedTables, type TableOverrides } from './tables';

export interface EngineOptions {
  /** Which engine computes the map; `auto` (the default) picks the fastest available here. */
  engine?: EngineChoice;
}

export interface PlanOptions {
  /** Tables read from an adapter file; they replace the seeded ones (SPEC §11). */
  tables?: TableOverrides;
}

/**
 * Throws a TypeError naming the field unless `options` has PlanOptions' shape: tables of the wrong
 * kind (from JavaScript, or a cast) would otherwise be ignored, and the seeded tables used instead.
 */
function checkPlanOptions(options: unknown): void {
  const isObject = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const fail = (what: string, expected: string, value: unknown): never => {
    const received = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TypeError(`Expected ${expected} for ${what} but received ${received}`);
  };
  if (!isObject(options)) fail('options', 'an object { tables? }', options);
  const { tables } = options as PlanOptions;
  if (tables === undefined) return;
  if (!isObject(tables)) fail('options.tables', 'an object { fastfood?, shuffle? }', tables);
  if (tables.fastfood !== undefined && !(tables.fastfood instanceof Map)) {
    fail('options.tables.fastfood', 'a Map from size to table', tables.fastfood);
  }
  if (tables.shuffle !== undefined && !(tables.shuffle instanceof Int32Array)) {
    fail('options.tables.shuffle', 'an Int32Array', tables.shuffle);
  }
}

/** Throws a TypeError naming `name` unless `value` is a Plan; for the API's plan arguments. */
export function checkPlan(value: unknown, name = 'plan'): asserts value is Plan {
  if (!(value instanceof Plan)) {
    throw new TypeError(
      `Expected a Plan (from createPlan or loadAdapter) for ${name} but received ${kindOf(value)}`,
    );
  }
}

export class Plan {
  readonly layout: PlanLayout;
  readonly tables: FixedTables;
  private readonly engines = new Map<EngineName, DeltaEngine>();
  private disposed = false;

  constructor(
    config: SuperLoraConfig | ResolvedConfig,
    targets: readonly Target[],
    options: PlanOptions = {},
  ) {
    checkPlanOptions(options);
    this.layout = layoutPlan(config, targets);
    this.tables = new FixedTables(this.layout, options.tables);
  }

  get config(): ResolvedConfig {
    return this.layout.config;
  }

  get targets(): Target[] {
    return this.layout.targets;
  }

  /** Length of the flat trainable vector (SPEC §10), the adapter's parameter count. */
  get numParams(): number {
    return this.layout.numParams;
  }

  /** N, the length of ΔW_all. */
  get deltaSize(): number {
    return this.layout.deltaSize;
  }

  get paramLayout(): ParamEntry[] {
    return this.layout.paramLayout;
  }

  /** The default initialisation (SPEC §10), seeded by `seed` or the config's seed. */
  initParams(seed?: number): Float32Array {
    return initParams(this.layout, seed);
  }

  /**
   * The engine for a choice, created once per plan. A named engine comes typed as itself, with its
   * own calls: `deltaInto` / `deltaBackwardInto` on native and cuda, `cudaPlan()` on cuda.
   */
  engine(choice: 'cuda'): CudaEngine;
  engine(choice: 'native'): NativeEngine;
  engine(choice: 'tfjs'): TfjsEngine;
  engine(choice?: EngineChoice): DeltaEngine;
  engine(choice: EngineChoice = 'auto'): DeltaEngine {
    if (this.disposed) throw new Error('This plan was disposed');
    const name = resolveEngineChoice(choice);
    let engine = this.engines.get(name);
    if (!engine) {
      engine = createEngine(name, this.layout, this.tables);
      this.engines.set(name, engine);
    }
    return engine;
  }

  /** ΔW_all for a flat parameter vector. */
  delta(params: Float32Array, options: EngineOptions = {}): Promise<Float32Array> {
    return this.engine(options.engine).delta(params);
  }

  /** dL/dparams, in the flat layout, for dL/dΔW_all. */
  deltaBackward(
    params: Float32Array,
    dDelta: Float32Array,
    options: EngineOptions = {},
  ): Promise<Float32Array> {
    return this.engine(options.engine).deltaBackward(params, dDelta);
  }

  /**
   * Views of ΔW_all, one per target, row-major [out, in]. `delta` must be a Float32Array of exactly
   * deltaSize values: subarray would silently clip a short one into truncated (even empty) views,
   * and a longer one is not ΔW_all of this plan.
   */
  splitByTarget(delta: Float32Array): Map<string, Float32Array> {
    checkVector('delta', delta, this.deltaSize, {
      lengthName: 'plan.deltaSize',
      source: 'splitByTarget',
    });
    const views = new Map<string, Float32Array>();
    this.layout.targets.forEach((target, t) => {
      const start = this.layout.targetOffsets[t] as number;
      views.set(target.name, delta.subarray(start, start + target.shape[0] * target.shape[1]));
    });
    return views;
  }

  /** Frees every engine's resources. */
  dispose(): void {
    for (const engine of this.engines.values()) engine.dispose();
    this.engines.clear();
    this.disposed = true;
  }
}

/** Validates a config (SPEC §2) and targets (SPEC §1) and lays out the adapter. */
export function createPlan(
  config: SuperLoraConfig | ResolvedConfig,
  targets: readonly Target[],
  options: PlanOptions = {},
): Plan {
  return new Plan(config, targets, options);
}
