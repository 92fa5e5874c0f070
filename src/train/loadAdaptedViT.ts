/**
 * A ViT with fine-tuning results applied for inference: each adapter merged into the weights
 * (W += s · ΔW, no per-call overhead) and, when one of them has one, its classifier head. An
 * adapter path is anything readAdapterSource takes: an adapter .safetensors file, a `finetune`
 * output folder (adapter.safetensors + head.safetensors) or a PEFT LoRA / LoKr folder. The head's
 * label names (its `labels` metadata, as `finetune` writes them) become the model's id2label.
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
import { applyHead } from './headFile';
import { readAdapterSource, type AdapterSource } from './adapterSource';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { checkTargetsInModel, ModelAdapter } from '../tfjs/modelAdapter';

/** One adapter to merge, and the factor of its ΔW (default 1; the head is used as trained). */
export interface AdapterToMerge {
  path: string;
  scale?: number;
}

export interface LoadAdaptedOptions {
  /** The scale of a single adapter given as a path (default 1). */
  scale?: number;
  /**
   * How several adapters' ΔW combine (combineDeltas.ts; default linear: W + Σ sᵢ·ΔWᵢ). The others
   * work on each weight's dense ΔW and need a density.
   */
  combination?: CombinationOptions;
}

export async function loadAdaptedViT(
  modelDir: string,
  adapters: string | readonly AdapterToMerge[],
  options: LoadAdaptedOptions = {},
): Promise<ViT> {
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
  let vit: ViT | null = null;
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
    const loaded = await loadViT(modelDir, head ? { numLabels: head.weight.shape[0] } : {});
    vit = head?.labels
      ? new ViT({ ...loaded.config, id2label: head.labels }, loaded.weights)
      : loaded;
    if (head && headSource?.headPath) applyHead(vit, head, headSource.headPath);
    if (combination.combination !== 'linear') {
      const scales = toMerge.map((adapter) => adapter.scale ?? 1);
      await addCombinedDeltas(vit, sources, scales, combination);
      return vit;
    }
    for (const [i, source] of sources.entries()) {
      const adapter = ModelAdapter.attach(vit, source.plan, source.params, {}, source.adapterPath);
      unattached.delete(source);
      try {
        adapter.merge(vit, toMerge[i]?.scale ?? 1);
      } finally {
        adapter.dispose();
      }
    }
    return vit;
  } catch (error) {
    vit?.dispose();
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
  vit: ViT,
  sources: readonly AdapterSource[],
  scales: readonly number[],
  combination: CombinationOptions,
): Promise<void> {
  const perAdapter: Map<string, Float32Array>[] = [];
  for (const source of sources) {
    checkTargetsInModel(vit, source.plan, source.adapterPath);
    perAdapter.push(source.plan.splitByTarget(await source.plan.delta(source.params)));
  }
  const names = [...new Set(perAdapter.flatMap((deltas) => [...deltas.keys()]))].sort();
  const stream = new SplitMix64(combination.seed ?? 0, DARE_STREAM_TAG);
  for (const name of names) {
    const deltas = perAdapter.map((deltas) => deltas.get(name) ?? null);
    const combined = combineDeltas(deltas, scales, combination, stream);
    const weight = vit.weights.get(name) as tf.Variable;
    tf.tidy(() => weight.assign(weight.add(tf.tensor(combined, weight.shape))));
  }
}
