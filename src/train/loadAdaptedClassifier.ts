/**
 * An image classifier (a ViT or a tfjs Layers model) with fine-tuning results applied for inference: each adapter merged into the weights
 * (W += s · ΔW, no per-call overhead) and, when one of them has one, its classifier head. An
 * adapter path is anything readAdapterSource takes: an adapter .safetensors file, a `finetune`
 * output folder (adapter.safetensors + head.safetensors) or a PEFT LoRA / LoKr folder. The head's
 * label names (its `labels` metadata, as `finetune` writes them) become the model's labels.
 *
 * Several adapters are merged one after the other, each with its own scale (llama.cpp's repeated
 * `--lora-scaled`, PEFT's `add_weighted_adapter` with combination_type "linear" on the weights):
 * W + Σ sᵢ · ΔWᵢ, for adapters of the same base model whose targets may differ or overlap. A model
 * has one head, so at most one of them may bring one. `combination` chooses PEFT's other ways to
 * combine them (TIES, DARE, magnitude pruning; combineDeltas.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { SplitMix64 } from '../rng';
import {
  checkCombination,
  combineDeltas,
  DARE_STREAM_TAG,
  type CombinationOptions,
} from './combineDeltas';
import { readAdapterSource, type AdapterSource } from './adapterSource';
import type { ViT } from '../vit/model';
import { checkTargetsInModel, ModelAdapter, type AdaptableModel } from '../tfjs/modelAdapter';
import type { ImageClassifier } from './imageClassifier';
import { loadImageClassifier, type LoadClassifierOptions } from './loadImageClassifier';
import { ViTClassifier } from './vitClassifier';

/** One adapter to merge, and the factor of its ΔW (default 1; the head is used as trained). */
export interface AdapterToMerge {
  path: string;
  scale?: number;
}

export interface LoadAdaptedOptions extends LoadClassifierOptions {
  /** The scale of a single adapter given as a path (default 1). */
  scale?: number;
  /**
   * How several adapters' ΔW combine (combineDeltas.ts; default linear: W + Σ sᵢ·ΔWᵢ). The others
   * work on each weight's dense ΔW and need a density.
   */
  combination?: CombinationOptions;
}

/** A Hugging Face ViT folder with the adapters merged (see loadAdaptedClassifier). */
export async function loadAdaptedViT(
  modelDir: string,
  adapters: string | readonly AdapterToMerge[],
  options: LoadAdaptedOptions = {},
): Promise<ViT> {
  const classifier = await loadAdaptedClassifier(modelDir, adapters, options);
  if (!(classifier instanceof ViTClassifier)) {
    classifier.dispose();
    throw new TypeError(
      `Expected a Hugging Face ViT folder but ${modelDir} is a tfjs Layers model: use loadAdaptedClassifier`,
    );
  }
  return classifier.vit;
}

/** The model `modelPath` names (loadImageClassifier) with the adapters merged. */
export async function loadAdaptedClassifier(
  modelPath: string,
  adapters: string | readonly AdapterToMerge[],
  options: LoadAdaptedOptions = {},
): Promise<ImageClassifier> {
  const toMerge: readonly AdapterToMerge[] =
    typeof adapters === 'string' ? [{ path: adapters, scale: options.scale }] : adapters;
  if (toMerge.length === 0) {
    throw new RangeError('Expected at least one adapter to merge but received none');
  }
  toMerge.forEach(({ path, scale = 1 }) => {
    if (!Number.isFinite(scale)) {
      throw new RangeError(`Expected a finite scale for ${path} but received ${scale}`);
    }
  });
  const combination = options.combination ?? { combination: 'linear' };
  checkCombination(combination);
  const sources: AdapterSource[] = [];
  // Plans not yet handed to a ModelAdapter, which disposes its own.
  const unattached = new Set<AdapterSource>();
  let classifier: ImageClassifier | null = null;
  try {
    for (const adapter of toMerge) {
      const source = await readAdapterSource(adapter.path);
      sources.push(source);
      unattached.add(source);
    }
    const withHead = sources.filter((source) => source.head !== null);
    if (withHead.length > 1) {
      throw new RangeError(
        `Expected at most one adapter with a classifier head but ${withHead.map((source) => source.headPath).join(' and ')} each bring one: give the others as their adapter file`,
      );
    }
    const [headSource] = withHead;
    const head = headSource?.head ?? null;
    classifier = await loadImageClassifier(modelPath, { inputRange: options.inputRange });
    if (head && headSource?.headPath) classifier.setHead(head, headSource.headPath);
    const model = classifier.adaptable;
    if (combination.combination !== 'linear') {
      const scales = toMerge.map((adapter) => adapter.scale ?? 1);
      await addCombinedDeltas(model, sources, scales, combination);
      return classifier;
    }
    for (const [i, source] of sources.entries()) {
      const adapter = ModelAdapter.attach(
        model,
        source.plan,
        source.params,
        {},
        source.adapterPath,
      );
      unattached.delete(source);
      try {
        adapter.merge(model, toMerge[i]?.scale ?? 1);
      } finally {
        adapter.dispose();
      }
    }
    return classifier;
  } catch (error) {
    classifier?.dispose();
    throw error;
  } finally {
    for (const source of unattached) source.plan.dispose();
  }
}

/**
 * W += combine(s₁·ΔW₁, …) for every weight any adapter adapts, from each adapter's dense ΔW; the
 * weights in sorted order, so DARE's drops follow from the seed alone.
 */
async function addCombinedDeltas(
  model: AdaptableModel,
  sources: readonly AdapterSource[],
  scales: readonly number[],
  combination: CombinationOptions,
): Promise<void> {
  const perAdapter: Map<string, Float32Array>[] = [];
  for (const source of sources) {
    checkTargetsInModel(model, source.plan, source.adapterPath);
    perAdapter.push(source.plan.splitByTarget(await source.plan.delta(source.params)));
  }
  const names = [...new Set(perAdapter.flatMap((deltas) => [...deltas.keys()]))].sort();
  const stream = new SplitMix64(combination.seed ?? 0, DARE_STREAM_TAG);
  const shapes = new Map(model.linearTargets().map((t) => [t.name, t.shape as [number, number]]));
  for (const name of names) {
    const deltas = perAdapter.map((deltas) => deltas.get(name) ?? null);
    const combined = combineDeltas(deltas, scales, combination, stream);
    const weight = model.weights.get(name) as tf.Variable;
    tf.tidy(() => {
      const delta = tf.tensor2d(combined, shapes.get(name));
      weight.assign(weight.add(model.toWeightLayout ? model.toWeightLayout(name, delta) : delta));
    });
  }
}
