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
 * has one head, so at most one of them may bring one.
 */
import { applyHead } from './headFile';
import { readAdapterSource, type AdapterSource } from './adapterSource';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { ModelAdapter } from '../tfjs/modelAdapter';

/** One adapter to merge, and the factor of its ΔW (default 1; the head is used as trained). */
export interface AdapterToMerge {
  path: string;
  scale?: number;
}

export async function loadAdaptedViT(
  modelDir: string,
  adapters: string | readonly AdapterToMerge[],
  options: { scale?: number } = {},
): Promise<ViT> {
  const toMerge: readonly AdapterToMerge[] =
    typeof adapters === 'string' ? [{ path: adapters, scale: options.scale }] : adapters;
  if (toMerge.length === 0) {
    throw new RangeError('Expected at least one adapter to merge but received none');
  }
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
    for (const source of unattached) source.plan.dispose();
    vit?.dispose();
    throw error;
  }
}
