/**
 * Accuracy, mean cross-entropy and the confusion matrix of a classifier over a whole dataset, in
 * batches, with the same preprocessing as training (src/data/batchAt.ts: resize to the model's
 * input, normalise); and each class's accuracy from the matrix.
 */
import * as tf from '@tensorflow/tfjs';
import { batchAt } from '../data/batchAt';
import type { Dataset } from '../data/dataset';
import { crossEntropy } from './trainLoop';

export interface EvaluateOptions {
  batchSize: number;
  /** The model's input: image side and channels. */
  imageSize: number;
  channels: number;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  count: number;
  /** confusion[label][prediction]: how many images of each class were predicted as each class. */
  confusion: number[][];
}

export interface ClassResult {
  label: string;
  /** Images of this class. */
  count: number;
  /** Share of them predicted as this class (recall); null for a class without images. */
  accuracy: number | null;
  /** The class its images were most often predicted as instead, with how many; null if none. */
  mistakenFor: { label: string; count: number } | null;
}

/** `logits(pixels)` is the model in inference mode: [B, C, H, W] → [B, classes]. */
export function evaluateClassifier(
  logits: (pixelValues: tf.Tensor4D) => tf.Tensor2D,
  dataset: Dataset,
  options: EvaluateOptions,
): Evaluation {
  const input = { imageSize: options.imageSize, channels: options.channels };
  const classes = dataset.numClasses;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  for (let start = 0; start < dataset.count; start += options.batchSize) {
    const indices = Array.from(
      { length: Math.min(options.batchSize, dataset.count - start) },
      (_, i) => start + i,
    );
    const [predicted, batchLoss] = tf.tidy(() => {
      const batch = batchAt(dataset, indices, input);
      const output = logits(batch.pixelValues);
      return [
        output.argMax(1).dataSync() as Int32Array,
        (crossEntropy(output, batch.labels).dataSync()[0] as number) * indices.length,
      ] as const;
    });
    indices.forEach((sample, i) => {
      const row = confusion[dataset.labels[sample] as number] as number[];
      const prediction = predicted[i] as number;
      row[prediction] = (row[prediction] ?? 0) + 1;
    });
    lossSum += batchLoss;
  }
  const correct = confusion.reduce((sum, row, c) => sum + (row[c] as number), 0);
  return {
    accuracy: correct / dataset.count,
    loss: lossSum / dataset.count,
    count: dataset.count,
    confusion,
  };
}

/** Each class's image count, accuracy and most frequent wrong prediction, in label order. */
export function classResults(
  confusion: readonly (readonly number[])[],
  labels: readonly string[],
): ClassResult[] {
  return confusion.map((row, c) => {
    const count = row.reduce((sum, n) => sum + n, 0);
    let mistakenFor: ClassResult['mistakenFor'] = null;
    row.forEach((n, p) => {
      if (p !== c && n > 0 && (mistakenFor === null || n > mistakenFor.count)) {
        mistakenFor = { label: labels[p] ?? String(p), count: n };
      }
    });
    return {
      label: labels[c] ?? String(c),
      count,
      accuracy: count === 0 ? null : (row[c] as number) / count,
      mistakenFor,
    };
  });
}
