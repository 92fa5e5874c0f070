/**
 * A tiny training setup that needs no dataset package: a ViT on 8×8 single-channel images of the
 * synthetic stripes dataset (4 classes). It trains in milliseconds per step, so `bench memory` runs
 * it for a thousand steps and the training tests interrupt and resume it.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AugmentOptions } from '../data/batchAt';
import { stripesDataset } from '../data/stripesDataset';
import type { ViTConfig } from '../vit/config';
import { createViT, type ViT } from '../vit/model';
import { classificationTask, type Forward } from './classificationTask';
import type { TrainTask } from './trainLoop';

export const STRIPES_SIDE = 8;
export const STRIPES_CLASSES = 4;

/** A ViT for stripes: 4 px patches, 2 heads, MLP twice the hidden size; the rest as given. */
export function stripesViT(
  config: Pick<ViTConfig, 'hiddenSize' | 'numHiddenLayers'> & Partial<ViTConfig>,
  seed: number,
): ViT {
  return createViT(
    {
      imageSize: STRIPES_SIDE,
      patchSize: 4,
      numChannels: 1,
      numAttentionHeads: 2,
      intermediateSize: 2 * config.hiddenSize,
      numLabels: STRIPES_CLASSES,
      ...config,
    },
    { seed },
  );
}

export interface StripesTaskOptions {
  forward: Forward;
  variables: Map<string, tf.Variable>;
  trainCount: number;
  testCount: number;
  batchSize: number;
  augment: AugmentOptions | false;
  seed: number;
}

/** Classification of stripes: train and test sets drawn with seeds 1 and 2, evaluated in one batch. */
export function stripesTask(options: StripesTaskOptions): TrainTask {
  return classificationTask({
    forward: options.forward,
    variables: options.variables,
    train: stripesDataset(options.trainCount, STRIPES_SIDE, STRIPES_CLASSES, 1),
    test: stripesDataset(options.testCount, STRIPES_SIDE, STRIPES_CLASSES, 2),
    batchSize: options.batchSize,
    evalBatchSize: options.testCount,
    imageSize: STRIPES_SIDE,
    channels: 1,
    augment: options.augment,
    seed: options.seed,
  });
}
