/**
 * ViT checkpoints as Hugging Face writes them: a directory with `config.json` and
 * `model.safetensors`. Reads `ViTForImageClassification` checkpoints (names under `vit.` plus
 * `classifier.*`) and bare `ViTModel` ones (no prefix, a pooler, no classifier; a fresh head is
 * made); writes the former.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import { parseJsonText } from '../io/parseJsonText';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors';
import { widenToFloat32 } from '../io/widenToFloat32';
import {
  defaultLabels,
  parseViTConfigJson,
  vitConfigToJson,
  ViTFormatError,
  type ViTConfig,
} from './config';
import { initialVariables, ViT } from './model';
import {
  CLASSIFIER_BIAS,
  CLASSIFIER_WEIGHT,
  sameShape,
  VIT_PREFIX,
  vitWeightSpecs,
} from './weights';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

export interface LoadViTOptions {
  /**
   * The task's number of labels. When the checkpoint has no classifier (a ViTModel), or one
   * with a different number of rows, a fresh head of this size is initialised (HF's
   * `ignore_mismatched_sizes` behaviour); otherwise the checkpoint's head is kept.
   */
  numLabels?: number;
  /** Seeds a fresh head. Default 0. */
  seed?: number;
}

/** Tensors of a checkpoint that the classifier does not use: ViTModel's pooler and mask token. */
function isIgnored(name: string): boolean {
  const bare = name.startsWith(VIT_PREFIX) ? name.slice(VIT_PREFIX.length) : name;
  return bare.startsWith('pooler.') || bare === 'embeddings.mask_token';
}

function isHead(name: string): boolean {
  return name === CLASSIFIER_WEIGHT || name === CLASSIFIER_BIAS;
}

/** A model folder's `config.json`, checked (the input size and channels, before the weights load). */
export async function readViTConfig(dir: string): Promise<ViTConfig> {
  const configPath = path.join(dir, CONFIG_FILE);
  let json: unknown;
  const text = await readFile(configPath, 'utf8');
  try {
    json = parseJsonText(text);
  } catch (error) {
    throw new ViTFormatError(`${configPath}: not valid JSON: ${(error as Error).message}`);
  }
  return parseViTConfigJson(json, configPath);
}

export async function loadViT(dir: string, options: LoadViTOptions = {}): Promise<ViT> {
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  let config = await readViTConfig(dir);
  const { tensors } = await readSafetensors(weightsPath);

  // A ViTForImageClassification checkpoint names its backbone under `vit.`; ViTModel does not.
  const names = [...tensors.keys()];
  const prefixed = names.some((name) => name.startsWith(VIT_PREFIX));
  const byName = new Map<string, SafeTensor>();
  for (const [name, tensor] of tensors) {
    if (isIgnored(name)) continue;
    const canonical = prefixed || isHead(name) ? name : VIT_PREFIX + name;
    byName.set(canonical, tensor);
  }

  const checkpointHead = byName.get(CLASSIFIER_WEIGHT);
  const headRows = checkpointHead?.shape[0];
  const requested = options.numLabels;
  if (requested !== undefined && (!Number.isSafeInteger(requested) || requested < 1)) {
    throw new RangeError(`Expected an integer ≥ 1 for numLabels but received ${requested}`);
  }
  const freshHead =
    checkpointHead === undefined || (requested !== undefined && requested !== headRows);
  if (freshHead) {
    const numLabels = requested ?? config.numLabels;
    if (numLabels !== config.numLabels) {
      config = { ...config, numLabels, id2label: defaultLabels(numLabels) };
    }
    // The old head, if any, is replaced rather than checked.
    byName.delete(CLASSIFIER_WEIGHT);
    byName.delete(CLASSIFIER_BIAS);
  }

  const weights = new Map<string, tf.Variable>();
  try {
    for (const spec of vitWeightSpecs(config)) {
      if (freshHead && isHead(spec.name)) continue;
      // Report the name as the file spells it.
      const fileName =
        prefixed || isHead(spec.name) ? spec.name : spec.name.slice(VIT_PREFIX.length);
      const tensor = byName.get(spec.name);
      if (tensor === undefined) {
        throw new ViTFormatError(
          `${weightsPath}: tensor ${JSON.stringify(fileName)} is missing (expected shape [${spec.shape.join(', ')}] for this config.json)`,
        );
      }
      byName.delete(spec.name);
      if (!sameShape(tensor.shape, spec.shape)) {
        throw new ViTFormatError(
          `${weightsPath}: Expected shape [${spec.shape.join(', ')}] (from config.json) for tensor ${JSON.stringify(fileName)} but received [${tensor.shape.join(', ')}]`,
        );
      }
      const values = widenToFloat32(tensor);
      if (!values) {
        throw new ViTFormatError(
          `${weightsPath}: Expected dtype F32, F16 or BF16 for tensor ${JSON.stringify(fileName)} but received ${tensor.dtype}`,
        );
      }
      const initial = tf.tensor(values, spec.shape, 'float32');
      weights.set(spec.name, tf.variable(initial));
      initial.dispose();
    }
    const extra = [...byName.keys()];
    if (extra.length > 0) {
      const shown = extra
        .slice(0, 5)
        .map((name) => JSON.stringify(name))
        .join(', ');
      throw new ViTFormatError(
        `${weightsPath}: ${extra.length} tensor(s) that a ViT with this config.json does not have: ${shown}${extra.length > 5 ? ', …' : ''}`,
      );
    }
    if (freshHead) {
      const seed = options.seed ?? 0;
      for (const [name, variable] of initialVariables(config, seed, isHead)) {
        weights.set(name, variable);
      }
    }
  } catch (error) {
    for (const variable of weights.values()) variable.dispose();
    throw error;
  }
  // Keep HF's parameter order whatever order the file had.
  const ordered = new Map<string, tf.Variable>();
  for (const spec of vitWeightSpecs(config)) {
    ordered.set(spec.name, weights.get(spec.name) as tf.Variable);
  }
  return new ViT(config, ordered);
}

/**
 * Writes `dir/config.json` and `dir/model.safetensors` (each atomically) as a HF
 * ViTForImageClassification checkpoint that `from_pretrained` loads.
 */
export async function saveViT(dir: string, vit: ViT): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, SafeTensor>();
  for (const spec of vitWeightSpecs(vit.config)) {
    const variable = vit.weights.get(spec.name);
    if (variable === undefined) throw new Error(`ViT: no parameter ${JSON.stringify(spec.name)}`);
    tensors.set(spec.name, {
      dtype: 'F32',
      shape: spec.shape,
      data: (await variable.data()) as Float32Array,
    });
  }
  // HF's save_pretrained marks PyTorch checkpoints so; transformers refuses files without a format.
  await writeSafetensors(path.join(dir, WEIGHTS_FILE), tensors, { format: 'pt' });
  await writeFileAtomic(
    path.join(dir, CONFIG_FILE),
    `${JSON.stringify(vitConfigToJson(vit.config), null, 2)}\n`,
  );
}
