/**
 * A ViT with a fine-tuning result applied for inference: the adapter merged into the weights
 * (W += ΔW, no per-call overhead) and, when the path has one, its classifier head. `adapterPath`
 * is anything readAdapterSource takes: an adapter .safetensors file, a `finetune` output folder
 * (adapter.safetensors + head.safetensors) or a PEFT LoRA / LoKr folder. The head's label names
 * (its `labels` metadata, as `finetune` writes them) become the model's id2label. `scale`
 * multiplies ΔW (default 1; the head is used as trained).
 */
import { applyHead } from './headFile';
import { readAdapterSource } from './adapterSource';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { ModelAdapter } from '../tfjs/modelAdapter';

export async function loadAdaptedViT(
  modelDir: string,
  adapterPath: string,
  options: { scale?: number } = {},
): Promise<ViT> {
  const source = await readAdapterSource(adapterPath);
  const { head, headPath } = source;
  let vit: ViT;
  try {
    const loaded = await loadViT(modelDir, head ? { numLabels: head.weight.shape[0] } : {});
    vit = head?.labels
      ? new ViT({ ...loaded.config, id2label: head.labels }, loaded.weights)
      : loaded;
  } catch (error) {
    source.plan.dispose();
    throw error;
  }
  let adapter: ModelAdapter | null = null;
  try {
    if (head && headPath) applyHead(vit, head, headPath);
    adapter = ModelAdapter.attach(vit, source.plan, source.params, {}, source.adapterPath);
    adapter.merge(vit, options.scale ?? 1);
    return vit;
  } catch (error) {
    if (!adapter) source.plan.dispose();
    vit.dispose();
    throw error;
  } finally {
    adapter?.dispose();
  }
}
