/**
 * A fine-tuning run's classifier head (`head.safetensors`): F32 `classifier.weight` [labels, hidden]
 * and `classifier.bias` [labels], with the label names as JSON in the `labels` metadata.
 */
import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors';
import type { ViT } from '../vit/model';
import { CLASSIFIER_BIAS, CLASSIFIER_WEIGHT } from '../vit/weights';

export const HEAD_FORMAT = 'superlora-head';

export interface ClassifierHead {
  weight: SafeTensor<'F32'>;
  bias: SafeTensor<'F32'>;
  /** One name per row of the weight, when the file carries them. */
  labels?: string[];
}

/** The head as a tensor map under the model's parameter names. */
export function headTensors(head: ClassifierHead): Map<string, SafeTensor<'F32'>> {
  return new Map<string, SafeTensor<'F32'>>([
    [CLASSIFIER_WEIGHT, head.weight],
    [CLASSIFIER_BIAS, head.bias],
  ]);
}

/** Sets the model's classifier to the head; throws a TypeError naming `source` when the shapes differ. */
export function applyHead(vit: ViT, head: ClassifierHead, source: string): void {
  for (const [name, tensor] of headTensors(head)) {
    const variable = vit.weights.get(name) as tf.Variable;
    if (variable.shape.join() !== tensor.shape.join()) {
      throw new TypeError(
        `${source}: ${name} has shape [${tensor.shape}] but the model needs [${variable.shape}]`,
      );
    }
    variable.assign(tf.tensor(tensor.data, tensor.shape, 'float32'));
  }
}

/** Checks that the two tensors form a head; throws a TypeError naming `source` otherwise. */
export function classifierHead(
  tensors: ReadonlyMap<string, SafeTensor>,
  source: string,
  labels?: string[],
): ClassifierHead {
  const weight = tensors.get(CLASSIFIER_WEIGHT);
  const bias = tensors.get(CLASSIFIER_BIAS);
  if (
    weight?.dtype !== 'F32' ||
    bias?.dtype !== 'F32' ||
    weight.shape.length !== 2 ||
    bias.shape.length !== 1 ||
    bias.shape[0] !== weight.shape[0]
  ) {
    throw new TypeError(
      `${source}: expected F32 ${CLASSIFIER_WEIGHT} [labels, hidden] and ${CLASSIFIER_BIAS} [labels]`,
    );
  }
  const rows = weight.shape[0] as number;
  return labels?.length === rows ? { weight, bias, labels } : { weight, bias };
}

export async function readHeadFile(path: string): Promise<ClassifierHead> {
  const { metadata, tensors } = await readSafetensors(path);
  return classifierHead(tensors, path, parseLabels(metadata.labels));
}

export async function writeHeadFile(path: string, head: ClassifierHead): Promise<void> {
  await writeSafetensors(path, headTensors(head), {
    format: HEAD_FORMAT,
    ...(head.labels ? { labels: JSON.stringify(head.labels) } : {}),
  });
}

/** A JSON list of strings, or undefined for anything else. */
export function parseLabels(json: string | undefined): string[] | undefined {
  if (json === undefined) return undefined;
  try {
    const labels: unknown = JSON.parse(json);
    return Array.isArray(labels) && labels.every((label) => typeof label === 'string')
      ? labels
      : undefined;
  } catch {
    return undefined;
  }
}
