/**
 * Accuracy and mean cross-entropy of a classifier over a whole dataset, in batches, with the same
 * preprocessing as training (src/data/batchAt.ts: resize to the model's input, normalise).
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
}

/** `logits(pixels)` is the model in inference mode: [B, C, H, W] → [B, classes]. */
export function evaluateClassifier(
  logits: (pixelValues: tf.Tensor4D) => tf.Tensor2D,
  dataset: Dataset,
  options: EvaluateOptions,
): Evaluation {
  const input = { imageSize: options.imageSize, channels: options.channels };
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < dataset.count; start += options.batchSize) {
    const indices = Array.from(
      { length: Math.min(options.batchSize, dataset.count - start) },
      (_, i) => start + i,
    );
    const [batchCorrect, batchLoss] = tf.tidy(() => {
      const batch = batchAt(dataset, indices, input);
      const output = logits(batch.pixelValues);
      const right = output.argMax(1).equal(batch.labels.toInt()).sum();
      return [
        right.dataSync()[0] as number,
        (crossEntropy(output, batch.labels).dataSync()[0] as number) * indices.length,
      ];
    });
    correct += batchCorrect;
    lossSum += batchLoss;
  }
  return { accuracy: correct / dataset.count, loss: lossSum / dataset.count, count: dataset.count };
}
