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
import { readSafetensors } from '../io/safetensors';
import { ADAPTER_FILE, HEAD_FILE } from '../train/outputFiles';
import { loadViT } from '../vit/io';
import { ViT } from '../vit/model';
import { CLASSIFIER_BIAS, CLASSIFIER_WEIGHT } from '../vit/weights';
import { ModelAdapter } from './modelAdapter';

/** The label names a head file carries, when they are a list of as many strings as it has rows. */
function headLabels(metadata: Record<string, string>, rows: number): string[] | undefined {
  if (metadata.labels === undefined) return undefined;
  try {
    const labels: unknown = JSON.parse(metadata.labels);
    return Array.isArray(labels) &&
      labels.length === rows &&
      labels.every((label) => typeof label === 'string')
      ? labels
      : undefined;
  } catch {
    return undefined;
  }
}

export async function loadAdaptedViT(modelDir: string, adapterPath: string): Promise<ViT> {
  const isDir = existsSync(adapterPath) && statSync(adapterPath).isDirectory();
  const adapterFile = isDir ? join(adapterPath, ADAPTER_FILE) : adapterPath;
  const headFile = isDir ? join(adapterPath, HEAD_FILE) : null;
  const headContents = headFile && existsSync(headFile) ? await readSafetensors(headFile) : null;
  const head = headContents?.tensors ?? null;
  const headWeight = head?.get(CLASSIFIER_WEIGHT);
  const headBias = head?.get(CLASSIFIER_BIAS);
  if (
    head &&
    (headWeight?.dtype !== 'F32' || headBias?.dtype !== 'F32' || headWeight.shape.length !== 2)
  ) {
    throw new TypeError(
      `${headFile}: expected F32 ${CLASSIFIER_WEIGHT} [labels, hidden] and ${CLASSIFIER_BIAS} [labels]`,
    );
  }
  const loaded = await loadViT(modelDir, headWeight ? { numLabels: headWeight.shape[0] } : {});
  const labels =
    headContents && headWeight
      ? headLabels(headContents.metadata, headWeight.shape[0] as number)
      : undefined;
  const vit = labels ? new ViT({ ...loaded.config, id2label: labels }, loaded.weights) : loaded;
  try {
    if (headWeight && headBias) {
      for (const [name, tensor] of [
        [CLASSIFIER_WEIGHT, headWeight],
        [CLASSIFIER_BIAS, headBias],
      ] as const) {
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
