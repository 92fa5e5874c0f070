/**
 * A SuperLoRA adapter attached to a tfjs model whose Linear weights are named variables: in the
 * Hugging Face [out, in] layout (our ViT), or in another layout the model maps ΔW_t into (a tfjs
 * LayersModel's [..., in, out] kernels, `layersModel.ts`). One trainable variable holds the flat
 * parameters; a forward computes ΔW_all once (differentiably) and hands the model W + ΔW_t for
 * every target. Merge folds ΔW into the weights for inference; unmerge takes it out again.
 */
import * as tf from '@tensorflow/tfjs';
import type { SuperLoraConfig, Target } from '../config';
import { checkPlan, createPlan, type Plan } from '../createPlan';
import type { EngineChoice, EngineName } from '../engines/engine';
import { checkVector } from '../engines/checkVector';
import { kindOf } from '../valueText';
import { loadAdapter, saveAdapter } from '../io/adapterFile';
import { differentiableDelta, type DifferentiableDelta } from './differentiableDelta';

/** What an adapter needs from a model. */
export interface AdaptableModel {
  /** The model's weights by name; the adapter reads and (merging) assigns its targets'. */
  readonly weights: Map<string, tf.Variable>;
  /** Every weight an adapter may target, each as a matrix [out, in]. */
  linearTargets(): Target[];
  /**
   * ΔW_t, a [out, in] matrix, in the layout the model stores weight `name` in. Absent: every
   * target is stored as [out, in] (the Hugging Face layout).
   */
  toWeightLayout?(name: string, delta: tf.Tensor2D): tf.Tensor;
}

/** The paper's choice: every attention query and value weight. */
export const DEFAULT_TARGET_PATTERNS = ['attention\\.attention\\.(query|value)\\.weight$'];

/** The model's Linear weights whose names match any of the patterns (regular expressions). */
export function selectTargets(model: AdaptableModel, patterns: readonly string[]): Target[] {
  checkAdaptableModel(model);
  if (!Array.isArray(patterns as unknown)) {
    throw new TypeError(
      `Expected an array of target patterns (regular expressions) but received ${kindOf(patterns)}`,
    );
  }
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
  const candidates = model.linearTargets();
  const targets = candidates.filter((t) => expressions.some((e) => e.test(t.name)));
  if (targets.length === 0) {
    const names = candidates.slice(0, 12).map((t) => t.name);
    if (candidates.length > names.length) names.push(`… ${candidates.length - names.length} more`);
    throw new TypeError(
      `Expected the target patterns ${JSON.stringify(patterns)} to match at least one Linear weight of the model, but none matched (its weights: ${names.join(', ')})`,
    );
  }
  return targets;
}

/** Throws a TypeError unless `model` has what an adapter needs (see {@link AdaptableModel}). */
function checkAdaptableModel(model: unknown): asserts model is AdaptableModel {
  const candidate = model as Partial<AdaptableModel> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    !(candidate.weights instanceof Map) ||
    typeof candidate.linearTargets !== 'function'
  ) {
    throw new TypeError(
      `Expected an adaptable model ({ weights: Map, linearTargets() }: a ViT, or an AdaptableLayersModel for a tfjs Layers model) but received ${kindOf(model)}`,
    );
  }
}

export interface ModelAdapterOptions {
  engine?: EngineChoice;
}

/**
 * Throws a TypeError naming `source` unless every target of `plan` is a 2-D weight of `model` with
 * its shape. Callers run it before touching any weight, so a mismatch never leaves a model half
 * changed.
 */
export function checkTargetsInModel(model: AdaptableModel, plan: Plan, source: string): void {
  checkAdaptableModel(model);
  // A model with its own layout declares each weight's [out, in] shape in linearTargets.
  const declared = model.toWeightLayout
    ? new Map(model.linearTargets().map((t) => [t.name, t.shape as readonly number[]]))
    : null;
  for (const target of plan.targets) {
    const weight = model.weights.get(target.name);
    const shape = weight && (declared ? declared.get(target.name) : weight.shape);
    if (
      !shape ||
      shape.length !== 2 ||
      shape[0] !== target.shape[0] ||
      shape[1] !== target.shape[1]
    ) {
      throw new TypeError(
        `${source}: target ${target.name} [${target.shape}] does not exist in the model with that shape` +
          (shape ? ` (the model's is [${shape}])` : ''),
      );
    }
  }
}

/**
 * Throws unless `params` is a Float32Array of exactly `plan.numParams` values. Checked up front:
 * tfjs would otherwise accept a longer vector as a variable of the wrong shape, and a shorter one
 * or another array type would fail only later, deep inside a forward, with tfjs's own message.
 */
function checkParams(plan: Plan, params: unknown, source: string): void {
  checkVector('params', params, plan.numParams, { lengthName: 'plan.numParams', source });
}

/** What merge did, so that unmerge can undo exactly that. */
interface MergeRecord {
  /** The model merge changed; unmerge refuses any other. */
  readonly model: AdaptableModel;
  readonly scale: number;
  /**
   * The parameters at merge time. Unmerge recomputes ΔW from them rather than from `params`
   * (which training may have changed since), and the engines are deterministic, so it subtracts
   * exactly the ΔW merge added. We keep the parameters, not ΔW itself: they are numParams floats
   * against ΔW's deltaSize (ViT-base query + value: a few thousand against 14 million).
   */
  readonly params: tf.Tensor1D;
}

export class ModelAdapter {
  /** The flat parameters (SPEC §10 layout), trainable. */
  readonly params: tf.Variable;
  private readonly delta: DifferentiableDelta;
  private readonly offsets = new Map<string, { offset: number; shape: [number, number] }>();
  private mergeRecord: MergeRecord | null = null;

  constructor(
    readonly plan: Plan,
    initial: Float32Array,
    options: ModelAdapterOptions = {},
  ) {
    checkPlan(plan);
    checkParams(plan, initial, 'ModelAdapter');
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
      checkParams(plan, params, source);
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
   * per call and is differentiable with respect to `params`. The override takes and returns a
   * target's weight as [out, in], whatever layout the model stores it in. While merged, ΔW is
   * already in the weights and the override is the identity.
   */
  withDelta<T>(forward: (override: (name: string, weight: tf.Tensor) => tf.Tensor) => T): T {
    if (this.mergeRecord) return forward((_, weight) => weight);
    const delta = this.delta.apply(this.params as tf.Tensor1D);
    return forward((name, weight) => {
      const slice = this.targetDelta(delta, name);
      return slice ? weight.add(slice) : weight;
    });
  }

  /** ΔW_t of target `name` from ΔW_all, as [out, in]; null for a weight not adapted. */
  private targetDelta(delta: tf.Tensor1D, name: string): tf.Tensor2D | null {
    const entry = this.offsets.get(name);
    if (!entry) return null;
    return delta
      .slice(entry.offset, entry.shape[0] * entry.shape[1])
      .as2D(entry.shape[0], entry.shape[1]);
  }

  /**
   * W += scale · ΔW(params) for every target. All the sums are computed before the first assign
   * (which cannot fail once checkTargetsInModel has passed), so an error leaves the model as it was.
   */
  private addToModel(model: AdaptableModel, params: tf.Tensor1D, scale: number): void {
    tf.tidy(() => {
      const delta = this.delta.apply(params);
      const updates: [tf.Variable, tf.Tensor][] = [];
      for (const name of this.offsets.keys()) {
        const weight = model.weights.get(name) as tf.Variable;
        const matrix = this.targetDelta(delta, name) as tf.Tensor2D;
        const slice = model.toWeightLayout ? model.toWeightLayout(name, matrix) : matrix;
        // A unit scale skips the multiply (the sum is the same either way).
        updates.push([weight, weight.add(scale === 1 ? slice : slice.mul(scale))]);
      }
      for (const [weight, value] of updates) weight.assign(value);
    });
  }

  /**
   * W += scale · ΔW for every target (inference without the adapter's overhead). A scale other
   * than 1 weakens or strengthens the adapter (between 0 and 1: the weight-space interpolation of
   * WiSE-FT between the base model and the fine-tuned one). Every target's name and shape is
   * checked before any weight changes.
   */
  merge(model: AdaptableModel, scale = 1): void {
    if (this.mergeRecord) throw new Error('The adapter is already merged');
    if (!Number.isFinite(scale)) {
      throw new RangeError(`Expected a finite scale for the merge but received ${scale}`);
    }
    checkTargetsInModel(model, this.plan, 'merge');
    const params = this.params.clone() as tf.Tensor1D;
    try {
      this.addToModel(model, params, scale);
    } catch (error) {
      params.dispose();
      throw error;
    }
    this.mergeRecord = { model, scale, params };
  }

  /**
   * W −= scale · ΔW with merge's scale and merge's parameters (even if `params` changed since):
   * undoes merge, exact up to the float32 rounding of W + ΔW − ΔW. Only the model merge changed
   * is accepted; subtracting ΔW from any other would corrupt it.
   */
  unmerge(model: AdaptableModel): void {
    const record = this.mergeRecord;
    if (!record) throw new Error('The adapter is not merged');
    if (model !== record.model) {
      throw new TypeError(
        'unmerge: Expected model to be the model this adapter was merged into but received a different one',
      );
    }
    this.addToModel(model, record.params, -record.scale);
    record.params.dispose();
    this.mergeRecord = null;
  }

  get isMerged(): boolean {
    return this.mergeRecord !== null;
  }

  async save(path: string): Promise<void> {
    await saveAdapter(path, this.plan, (await this.params.data()) as Float32Array);
  }

  dispose(): void {
    this.mergeRecord?.params.dispose();
    this.mergeRecord = null;
    this.params.dispose();
    this.delta.dispose();
    this.plan.dispose();
  }
}
