/**
 * A ViT with a fine-tuning result applied for inference: the adapter merged into the weights
 * (W += ΔW, no per-call overhead) and, when the run saved one, its classifier head.
 * `adapterPath` is an adapter .safetensors file or a `finetune` output folder
 * (adapter.safetensors + head.safetensors). The head's label names (its `labels` metadata, as
 * `finetune` writes them) become the model's id2label.
 */
import { applyHead, readHeadFile } from '../train/headFile';
import { adapterAndHead } from '../train/outputFiles';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { ModelAdapter } from './modelAdapter';

export async function loadAdaptedViT(modelDir: string, adapterPath: string): Promise<ViT> {
  const { adapterFile, headFile } = adapterAndHead(adapterPath);
  const head = headFile ? await readHeadFile(headFile) : null;
  const loaded = await loadViT(modelDir, head ? { numLabels: head.weight.shape[0] } : {});
  const vit = head?.labels
    ? new ViT({ ...loaded.config, id2label: head.labels }, loaded.weights)
    : loaded;
  try {
    if (head && headFile) applyHead(vit, head, headFile);
    const adapter = await ModelAdapter.load(vit, adapterFile);
    adapter.merge(vit);
    adapter.dispose();
    return vit;
  } catch (error) {
    vit.dispose();
    throw error;
  }
}
