/**
 * A SuperLoRA adapter attached to a tfjs model whose Linear weights are named variables in the
 * Hugging Face [out, in] layout (our ViT): one trainable variable holds the flat parameters; a
 * forward computes ΔW_all once (differentiably) and hands the model W + ΔW_t for every target.
 * Merge folds ΔW into the weights for inference; unmerge takes it out again.
 */
import * as tf from '@tensorflow/tfjs';
import type { SuperLoraConfig, Target } from '../config';
import { createPlan, type Plan } from '../createPlan';
import type { EngineChoice, EngineName } from '../engines/engine';
import { loadAdapter, saveAdapter } from '../io/adapterFile';
import { differentiableDelta, type DifferentiableDelta } from './differentiableDelta';

/** What an adapter needs from a model. */
export interface AdaptableModel {
  readonly weights: Map<string, tf.Variable>;
  linearTargets(): Target[];
}

/** The paper's choice: every attention query and value weight. */
export const DEFAULT_TARGET_PATTERNS = ['attention\\.attention\\.(query|value)\\.weight$'];

/** The model's Linear weights whose names match any of the patterns (regular expressions). */
export function selectTargets(model: AdaptableModel, patterns: readonly string[]): Target[] {
  const expressions = patterns.map((pattern) => {
    try {
      return new RegExp(pattern);
    } catch (error) {
      throw new TypeError(
        `Expected a regular expression for target pattern but received ${JSON.stringify(pattern)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
  const targets = model.linearTargets().filter((t) => expressions.some((e) => e.test(t.name)));
  if (targets.length === 0) {
    throw new TypeError(
      `Expected the target patterns ${JSON.stringify(patterns)} to match at least one Linear weight of the model, but none matched`,
    );
  }
  return targets;
}

export interface ModelAdapterOptions {
  engine?: EngineChoice;
}

/** Throws a TypeError naming `source` unless every target of `plan` is a weight of `model` with its shape. */
export function checkTargetsInModel(model: AdaptableModel, plan: Plan, source: string): void {
  for (const target of plan.targets) {
    const weight = model.weights.get(target.name);
    if (!weight || weight.shape[0] !== target.shape[0] || weight.shape[1] !== target.shape[1]) {
      throw new TypeError(
        `${source}: target ${target.name} [${target.shape}] does not exist in the model with that shape` +
          (weight ? ` (the model's is [${weight.shape}])` : ''),
      );
    }
  }
}

export class ModelAdapter {
  /** The flat parameters (SPEC §10 layout), trainable. */
  readonly params: tf.Variable;
  private readonly delta: DifferentiableDelta;
  private readonly offsets = new Map<string, { offset: number; shape: [number, number] }>();
  private merged = false;
  private mergedScale = 1;

  constructor(
    readonly plan: Plan,
    initial: Float32Array,
    options: ModelAdapterOptions = {},
  ) {
    // tf.variable shares the initial tensor's data; the tensor itself would otherwise stay alive.
    const initialTensor = tf.tensor1d(initial);
    this.params = tf.variable(initialTensor, true);
    initialTensor.dispose();
    this.delta = differentiableDelta(plan, options.engine ?? 'auto');
    plan.targets.forEach((target, t) => {
      this.offsets.set(target.name, {
        offset: plan.layout.targetOffsets[t] as number,
        shape: target.shape,
      });
    });
  }

  /** A fresh adapter (ΔW = 0) for the model's weights that match `patterns`. */
  static create(
    model: AdaptableModel,
    config: SuperLoraConfig,
    patterns: readonly string[] = DEFAULT_TARGET_PATTERNS,
    options: ModelAdapterOptions = {},
  ): ModelAdapter {
    const plan = createPlan(config, selectTargets(model, patterns));
    return new ModelAdapter(plan, plan.initParams(), options);
  }

  /** An adapter from a file (SPEC §11); its targets must exist in the model with their shapes. */
  static async load(
    model: AdaptableModel,
    path: string,
    options: ModelAdapterOptions = {},
  ): Promise<ModelAdapter> {
    const { plan, params } = await loadAdapter(path);
    return ModelAdapter.attach(model, plan, params, options, path);
  }

  /**
   * An adapter for a plan and its parameters (the adapter owns the plan from here on); its
   * targets must exist in the model with their shapes, else a TypeError naming `source`.
   */
  static attach(
    model: AdaptableModel,
    plan: Plan,
    params: Float32Array,
    options: ModelAdapterOptions = {},
    source = 'adapter',
  ): ModelAdapter {
    try {
      checkTargetsInModel(model, plan, source);
    } catch (error) {
      plan.dispose();
      throw error;
    }
    return new ModelAdapter(plan, params, options);
  }

  /** Which engine computes ΔW. */
  get engine(): EngineName {
    return this.delta.engine;
  }

  get numParams(): number {
    return this.plan.numParams;
  }

  /**
   * Runs `forward` with a weight override that adds ΔW_t to every target; ΔW_all is computed once
   * per call and is differentiable with respect to `params`. While merged, ΔW is already in the
   * weights and the override is the identity.
   */
  withDelta<T>(forward: (override: (name: string, weight: tf.Tensor) => tf.Tensor) => T): T {
    if (this.merged) return forward((_, weight) => weight);
    const delta = this.delta.apply(this.params as tf.Tensor1D);
    return forward((name, weight) => {
      const entry = this.offsets.get(name);
      if (!entry) return weight;
      const size = entry.shape[0] * entry.shape[1];
      return weight.add(delta.slice(entry.offset, size).reshape(entry.shape));
    });
  }

  private addToModel(model: AdaptableModel, scale: number): void {
    tf.tidy(() => {
      const delta = this.delta.apply(this.params as tf.Tensor1D);
      for (const [name, entry] of this.offsets) {
        const weight = model.weights.get(name);
        if (!weight) throw new Error(`The model has no weight ${name}`);
        const slice = delta
          .slice(entry.offset, entry.shape[0] * entry.shape[1])
          .reshape(entry.shape);
        // A unit scale skips the multiply (the sum is the same either way).
        weight.assign(weight.add(scale === 1 ? slice : slice.mul(scale)));
      }
    });
  }

  /**
   * W += scale · ΔW for every target (inference without the adapter's overhead). A scale other
   * than 1 weakens or strengthens the adapter (between 0 and 1: the weight-space interpolation of
   * WiSE-FT between the base model and the fine-tuned one).
   */
  merge(model: AdaptableModel, scale = 1): void {
    if (this.merged) throw new Error('The adapter is already merged');
    if (!Number.isFinite(scale)) {
      throw new RangeError(`Expected a finite scale for the merge but received ${scale}`);
    }
    this.addToModel(model, scale);
    this.mergedScale = scale;
    this.merged = true;
  }

  /** W −= scale · ΔW with merge's scale: undoes merge, exact up to float32 rounding. */
  unmerge(model: AdaptableModel): void {
    if (!this.merged) throw new Error('The adapter is not merged');
    this.addToModel(model, -this.mergedScale);
    this.merged = false;
  }

  get isMerged(): boolean {
    return this.merged;
  }

  async save(path: string): Promise<void> {
    await saveAdapter(path, this.plan, (await this.params.data()) as Float32Array);
  }

  dispose(): void {
    this.params.dispose();
    this.delta.dispose();
    this.plan.dispose();
  }
}
