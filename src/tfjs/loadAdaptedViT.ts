/**
 * A ViT with a fine-tuning result applied for inference: the adapter merged into the weights
 * (W += ΔW, no per-call overhead) and, when the run saved one, its classifier head.
 * `adapterPath` is an adapter .safetensors file or a `finetune` output folder
 * (adapter.safetensors + head.safetensors). The head's label names (its `labels` metadata, as
 * `finetune` writes them) become the model's id2label.
 */
import { existsSync, statSync } from 'fs';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { headTensors, readHeadFile } from '../train/headFile';
import { ADAPTER_FILE, HEAD_FILE } from '../train/outputFiles';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { ModelAdapter } from './modelAdapter';

export async function loadAdaptedViT(modelDir: string, adapterPath: string): Promise<ViT> {
  const isDir = existsSync(adapterPath) && statSync(adapterPath).isDirectory();
  const adapterFile = isDir ? join(adapterPath, ADAPTER_FILE) : adapterPath;
  const headFile = isDir ? join(adapterPath, HEAD_FILE) : null;
  const head = headFile && existsSync(headFile) ? await readHeadFile(headFile) : null;
  const loaded = await loadViT(modelDir, head ? { numLabels: head.weight.shape[0] } : {});
  const vit = head?.labels
    ? new ViT({ ...loaded.config, id2label: head.labels }, loaded.weights)
    : loaded;
  try {
    if (head) {
      for (const [name, tensor] of headTensors(head)) {
        const variable = vit.weights.get(name) as tf.Variable;
        if (variable.shape.join() !== tensor.shape.join()) {
          throw new TypeError(
            `${headFile}: ${name} has shape [${tensor.shape}] but the model needs [${variable.shape}]`,
          );
        }
        variable.assign(tf.tensor(tensor.data as Float32Array, tensor.shape, 'float32'));
      }
    }
    const adapter = await ModelAdapter.load(vit, adapterFile);
    adapter.merge(vit);
    adapter.dispose();
    return vit;
  } catch (error) {
    vit.dispose();
    throw error;
  }
}
