/**
 * An image-classification TrainTask over a Dataset: seeded epoch shuffles with full batches,
 * augmentation and dropout as pure functions of the step, and evaluation over the whole test set
 * (and the validation set, when there is one).
 */
import * as tf from '@tensorflow/tfjs';
import { batchAt, type AugmentOptions } from '../data/batchAt';
import type { Dataset } from '../data/dataset';
import { batchIndices, epochPermutation, stepsPerEpoch } from '../data/epochPermutation';
import { evaluateClassifier } from './evaluateClassifier';
import type { TrainTask } from './trainLoop';

export type Forward = (pixelValues: tf.Tensor4D, training: boolean, seed: number) => tf.Tensor2D;

export interface ClassificationTaskOptions {
  forward: Forward;
  variables: Map<string, tf.Variable>;
  train: Dataset;
  /** Evaluated during training instead of `test`, when given. */
  validation?: Dataset | null;
  test: Dataset;
  batchSize: number;
  evalBatchSize: number;
  /** The model's input: image side and channels. */
  imageSize: number;
  channels: number;
  augment: AugmentOptions | false;
  seed: number;
}

export function classificationTask(options: ClassificationTaskOptions): TrainTask {
  const { train, test, batchSize, seed } = options;
  if (train.count < batchSize) {
    throw new RangeError(
      `Expected at least ${batchSize} training images (the batch size) but the training set has ${train.count}`,
    );
  }
  const perEpoch = stepsPerEpoch(train.count, batchSize, true);
  let permutation: { epoch: number; order: Int32Array } | null = null;
  const input = { imageSize: options.imageSize, channels: options.channels };

  return {
    variables: options.variables,
    batchSize,
    trainBatch(step) {
      const epoch = Math.floor(step / perEpoch);
      const inEpoch = step % perEpoch;
      if (permutation?.epoch !== epoch)
        permutation = { epoch, order: epochPermutation(train.count, seed, epoch) };
      const indices = batchIndices(permutation.order, inEpoch, batchSize);
      const batch = batchAt(train, indices, {
        ...input,
        augment: options.augment,
        seed,
        epoch,
        step: inEpoch,
      });
      return {
        logits: options.forward(batch.pixelValues, true, seed * 1_000_003 + step),
        labels: batch.labels,
      };
    },
    evaluate: async () => evaluateOn(test),
    ...(options.validation ? { validate: async () => evaluateOn(options.validation!) } : {}),
  };

  function evaluateOn(dataset: Dataset): { loss: number; accuracy: number } {
    const { accuracy, loss } = evaluateClassifier(
      (pixelValues) => options.forward(pixelValues, false, 0),
      dataset,
      { ...input, batchSize: options.evalBatchSize },
    );
    return { accuracy, loss };
  }
}
